"""Drive an app process through gradio_client as an API user: wait for its model, send a
message, press Stop once the reply streams, read the conversation back."""

from __future__ import annotations

import json
import os
import signal
import subprocess
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tests.serve_helpers import ServerProcess, wait_ready


@dataclass
class ProcessGroup(ServerProcess):
    """A server started in its own session; :meth:`stop` ends every process in it (make's
    children, the GPU worker that ``spaces`` forks, which a plain terminate would orphan)."""

    def stop(self) -> None:
        if self.process.poll() is None or _group_alive(self.process.pid):
            try:
                os.killpg(self.process.pid, signal.SIGTERM)
            except ProcessLookupError:
                return
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(timeout=15)


def _group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    return True


def start_group(
    argv: Sequence[str], log: Path, *, env: dict[str, str], cwd: Path, port: int
) -> ProcessGroup:
    with open(log, "wb") as out:
        process = subprocess.Popen(
            list(argv),
            cwd=str(cwd),
            env={**os.environ, **env},
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    return ProcessGroup(process, port, log)


def wait_for_model(app: ServerProcess, *, timeout_s: float = 240.0) -> Any:
    """A gradio_client Client once the app serves and its model has loaded."""
    from gradio_client import Client

    box: list[Any] = []

    def ready() -> bool:
        try:
            if not box:
                box.append(Client(app.base_url + "/", verbose=False))
            status = box[0].predict(api_name="/model_status")
        except Exception:  # noqa: BLE001 - not serving yet
            return False
        assert "Could not load" not in status, status
        return "loaded in" in status or "remote server" in status

    wait_ready(app, ready, timeout_s=timeout_s, what="the app's model")
    return box[0]


def _message_text(message: dict[str, Any]) -> str:
    content = message.get("content")
    parts = content if isinstance(content, list) else [content]
    return "".join(p.get("text", "") for p in parts if isinstance(p, dict))


def _answer_text(messages: list[dict[str, Any]]) -> str:
    last = messages[-1] if messages else {}
    if last.get("role") != "assistant" or last.get("metadata"):
        return ""
    content = last.get("content")
    parts = content if isinstance(content, list) else [content]
    return "".join(p.get("text", "") for p in parts if isinstance(p, dict))


def reply_then_stop(client: Any, message: dict[str, Any]) -> None:
    """Send ``message``, wait for the reply's first streamed text (thinking or answer), press
    Stop, and wait for the reply to end. The reply may run to 2048 new tokens (the most the tiny
    checkpoints take; their default is short), so Stop, not the limit, ends it."""
    job = client.submit(message, max_new_tokens=2048, api_name="/chat")
    for output in job:
        messages = output[0]
        # Streamed text: the thinking or the answer (not the empty block that stands in for
        # the answer while the model reads the question).
        if messages and messages[-1]["role"] == "assistant" and _message_text(messages[-1]):
            break
    client.predict(api_name="/stop")
    job.result(timeout=180)


def exported_turns(client: Any) -> list[dict[str, Any]]:
    """The conversation's turns, as the JSON export writes them."""
    path = client.predict("json", api_name="/export")
    turns: list[dict[str, Any]] = json.loads(Path(path).read_text(encoding="utf-8"))["turns"]
    return turns
