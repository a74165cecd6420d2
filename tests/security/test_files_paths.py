"""Server files a caller names by path (Gradio's FileData), through the launched app: a path is
used only if its real path lies in Gradio's upload folder (or a folder the app made for the
caller); any other is refused before Gradio or a handler reads a byte of it, by its base name
only, and with the same words whether or not the file exists."""

from __future__ import annotations

import json
import logging
import os
import uuid
from pathlib import Path
from typing import Any

import httpx
import pytest

from glmv_ui import export
from glmv_ui.conversation import Conversation, Turn
from glmv_ui.ui.uploads import upload_folder
from tests.helpers import red_image

pytestmark = pytest.mark.slow

REFUSED = "{name}: was not uploaded to this app: attach the file from your computer"


def _file(path: str) -> dict[str, Any]:
    return {"path": path, "meta": {"_type": "gradio.FileData"}, "orig_name": "c.json"}


def _calls(path: str) -> dict[str, dict[str, Any]]:
    """Every endpoint that takes a file, as an API caller names them."""
    return {
        "import_conversation": {"data": [_file(path)]},
        "preview_attachments": {"data": [{"text": "hi", "files": [_file(path)]}]},
        "chat": {"data": [{"text": "hi", "files": [_file(path)]}]},
    }


def _copies_in_upload_folder(content: bytes) -> list[Path]:
    found = []
    for root, _, names in os.walk(upload_folder()):
        for name in names:
            path = Path(root) / name
            if path.is_symlink():
                continue  # the test's own link, not a copy
            try:
                if path.stat().st_size == len(content) and path.read_bytes() == content:
                    found.append(path)
            except OSError:
                continue
    return found


def _secret_export(folder: Path) -> tuple[Path, bytes]:
    text = export.to_json(
        Conversation(
            [Turn(text="PRIVATE QUESTION", raw="<answer>PRIVATE 1234</answer>", status="done")],
            model="m",
        )
    )
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"conv-{uuid.uuid4().hex[:8]}.json"
    path.write_text(text, encoding="utf-8")
    return path, text.encode()


def _event_text(base: str, api: str, body: dict[str, Any]) -> str:
    """The finished event's stream, for a call the server accepted."""
    with httpx.Client(base_url=base, timeout=60) as client:
        started = client.post(f"/gradio_api/call/{api}", json=body)
        assert started.status_code == 200, started.text
        event = started.json()["event_id"]
        return client.get(f"/gradio_api/call/{api}/{event}").text


def test_paths_outside_the_upload_folder_are_refused_by_base_name(
    scripted_app: Any, tmp_path: Path, capfd: Any, caplog: Any
) -> None:
    caplog.set_level(logging.INFO, logger="glmv_ui")
    demo, _ = scripted_app
    base = demo.local_url.rstrip("/")
    secret, content = _secret_export(tmp_path / "private")
    picture = tmp_path / "private" / "secret.png"
    red_image().save(picture)
    # A symlink inside the upload folder to a file outside it: the real path decides.
    link_dir = Path(upload_folder()) / uuid.uuid4().hex
    link_dir.mkdir(parents=True)
    (link_dir / "linked.json").symlink_to(secret)
    # A file the app made for another session (its media folder): not this caller's.
    registry_root = Path(_media_root()) / "other-instance"
    other, _ = _secret_export(registry_root)
    cases = {
        str(secret): secret.name,  # exists, outside
        str(tmp_path / "private" / "nope.json"): "nope.json",  # does not exist
        str(picture): "secret.png",
        f"{upload_folder()}/../../{secret.relative_to('/')}": secret.name,  # climbs out
        str(link_dir / "linked.json"): "linked.json",
        str(other): other.name,
        "relative/x.json": "x.json",
        f"file://{secret}": secret.name,
        "http://127.0.0.1:9/conv.json": "conv.json",  # Gradio would fetch it
    }
    try:
        with httpx.Client(base_url=base, timeout=30) as client:
            client.get("/")
            for path, name in cases.items():
                for api, body in _calls(path).items():
                    for route in (f"/gradio_api/call/{api}", "/gradio_api/queue/join"):
                        sent = (
                            dict(body, fn_index=0, session_hash="s" * 10)
                            if route.endswith("join")
                            else body
                        )
                        answer = client.post(route, json=sent)
                        assert answer.status_code == 422, (path, api, route, answer.text)
                        message = answer.json()["detail"][0]["message"]
                        assert message == REFUSED.format(name=name), (path, message)
                        assert "/" not in message
                        assert "Errno" not in message
        assert _copies_in_upload_folder(content) == []  # nothing was copied, so nothing read
        # Ordinary refusals: a line each in the log, no traceback anywhere.
        assert "Traceback" not in capfd.readouterr().err
        assert not any(r.exc_info for r in caplog.records)
        assert any("was not uploaded" in r.getMessage() for r in caplog.records)
    finally:
        (link_dir / "linked.json").unlink()
        link_dir.rmdir()


def _media_root() -> str:
    from glmv_ui.ui.state import media_root

    return str(media_root())


def test_an_uploaded_export_is_imported_and_a_gone_upload_says_so_plainly(
    scripted_app: Any, tmp_path: Path
) -> None:
    from gradio_client import Client, handle_file

    demo, _ = scripted_app
    mine, _ = _secret_export(tmp_path)
    client = Client(demo.local_url, verbose=False)
    shown = client.predict(handle_file(str(mine)), api_name="/import_conversation")
    assert "Imported 1 turn." in json.dumps(shown, ensure_ascii=False)
    assert "PRIVATE 1234" in json.dumps(shown, ensure_ascii=False)
    # Inside the upload folder but gone (uploads expire): the handler's own words, no path.
    gone = f"{upload_folder()}/{uuid.uuid4().hex}/gone.json"
    text = _event_text(demo.local_url.rstrip("/"), "import_conversation", {"data": [_file(gone)]})
    assert "gone.json: cannot be read: the uploaded copy is gone" in text
    assert upload_folder() not in text
    assert "Errno" not in text


def test_a_picture_uploaded_by_the_caller_is_previewed(scripted_app: Any, tmp_path: Path) -> None:
    from gradio_client import Client, handle_file

    demo, _ = scripted_app
    picture = tmp_path / "mine.png"
    red_image().save(picture)
    client = Client(demo.local_url, verbose=False, download_files=False)
    out = client.predict(
        {"text": "hi", "files": [handle_file(str(picture))]}, api_name="/preview_attachments"
    )
    shown = json.dumps(out, ensure_ascii=False)
    assert "mine.png" in shown
    assert "was not uploaded" not in shown
    assert "available" in shown  # the cost of the message, against the budget
