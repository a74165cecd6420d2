"""Faults reach callers as one clear message: a full disk refuses the upload and leaves no partial
file (a small tmpfs holds the app's upload and temporary folders); no server path or library
text reaches an API caller."""

from __future__ import annotations

import base64
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.serve_helpers import free_port, http_ok, start_process, wait_ready

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    """A 3 MB tmpfs (root can mount one here; the test fails, not skips, where it cannot)."""
    where = tmp_path / "disk"
    where.mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=3m", "tmpfs", str(where)], check=True)
    try:
        yield where
    finally:
        subprocess.run(["umount", str(where)], check=True)


def _used(folder: Path) -> int:
    return sum(p.stat().st_size for p in folder.rglob("*") if p.is_file())


def test_a_full_disk_refuses_the_upload_clearly_and_keeps_no_partial_file(
    small_disk: Path, tmp_path: Path
) -> None:
    port = free_port()
    env = {"GRADIO_TEMP_DIR": str(small_disk / "gradio"), "TMPDIR": str(small_disk)}
    server = start_process(
        [sys.executable, "app.py", "--engine", "scripted", "--model", "glm4v", "--port", str(port)],
        tmp_path / "app.log",
        port=port,
        cwd=ROOT,
        env=env,
    )
    try:
        wait_ready(server, lambda: http_ok(server.base_url), what="the app")
        before = _used(small_disk)
        big = b"\0" * (5 * 2**20)  # more than the disk holds
        with httpx.Client(timeout=60) as client:
            refused = client.post(
                server.base_url + "/gradio_api/upload", files={"files": ("big.bin", big)}
            )
            assert refused.status_code == 507, (refused.status_code, refused.text)
            assert "disk is full" in refused.json()["detail"]
            assert _used(small_disk) <= before + 4096, "a partial upload was left on disk"
            small = client.post(
                server.base_url + "/gradio_api/upload", files={"files": ("small.txt", b"hello")}
            )
            assert small.status_code == 200, small.text  # later uploads still work

        # ask's files by URL: a data: URL larger than the disk is refused the same way.
        from gradio_client import Client

        payload = base64.b64encode(b"\0" * (4 * 2**20)).decode()
        caller = Client(server.base_url, verbose=False)
        with pytest.raises(Exception) as caught:  # noqa: PT011 - the client raises a plain Exception
            caller.predict("hi", [f"data:image/png;base64,{payload}"], api_name="/ask")
        message = str(caught.value)
        assert "disk is full" in message, message[:500]
        assert str(small_disk) not in message
        assert "Errno" not in message
        assert _used(small_disk) <= before + 4096
        log = (tmp_path / "app.log").read_text(errors="replace")
        assert "Traceback" not in log, log[-3000:]
    finally:
        server.stop()
