"""The command-line chat, run as a real process on a tiny checkpoint."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow  # each test runs the CLI in a subprocess

ROOT = Path(__file__).resolve().parent.parent


def _env() -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONUNBUFFERED"] = "1"
    return env


def _png(tmp_path: Path) -> Path:
    from PIL import Image

    path = tmp_path / "red.png"
    Image.new("RGB", (64, 48), "red").save(path)
    return path


def test_one_shot_prompt_with_an_image(tmp_path):
    out = subprocess.run(
        [
            sys.executable,
            "-m",
            "glmv_ui",
            "chat",
            "--model",
            "tiny-glm45v",
            "--image",
            str(_png(tmp_path)),
            "--prompt",
            "what colour?",
            "--max-new-tokens",
            "8",
            "--color",
            "never",
        ],
        cwd=ROOT,
        env=_env(),
        capture_output=True,
        text=True,
        timeout=240,
    )
    assert out.returncode == 0, out.stderr
    assert "attached: red.png" in out.stdout
    assert "8 generated" in out.stdout
    assert "visual" in out.stdout


def test_multi_turn_and_ctrl_c_stops_the_answer_not_the_program(tmp_path):
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "glmv_ui",
            "chat",
            "--model",
            "tiny-glm41v",
            "--max-new-tokens",
            "100000",
            "--color",
            "never",
        ],
        cwd=ROOT,
        env=_env(),
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        bufsize=1,
    )
    assert proc.stdin
    assert proc.stdout
    try:

        def read_until(marker: str) -> str:
            seen = ""
            while marker not in seen:
                ch = proc.stdout.read(1)
                assert ch, f"process ended before {marker!r}; got {seen[-300:]!r}"
                seen += ch
            return seen

        read_until("you> ")
        proc.stdin.write("tell me a very long story\n")
        proc.stdin.flush()
        read_until("glm> ")
        proc.stdout.read(40)  # the reply is streaming
        proc.send_signal(signal.SIGINT)
        text = read_until("you> ")
        assert "[stopped]" in text
        assert "generated" in text
        proc.stdin.write("/undo\n")
        proc.stdin.flush()
        assert "removed: 'tell me a very long story'" in read_until("you> ")
        proc.stdin.write("/exit\n")
        proc.stdin.flush()
        assert proc.wait(timeout=60) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.wait(timeout=60)
        proc.stdin.close()
        proc.stdout.close()
