"""While a reply streams, the page shows it: Stop lit and the only control that ends it, the
input busy, Regenerate/Undo/Clear disabled; when it ends, everything comes back."""

from __future__ import annotations

import re
import threading
from pathlib import Path
from typing import Any

import pytest

from glmv_ui.config import AppConfig
from glmv_ui.engines.scripted import ScriptedEngine
from tests.page_drive import open_page, send, shot

pytestmark = [pytest.mark.browser, pytest.mark.slow]


class _Engine(ScriptedEngine):
    """Keeps each request's cancel event, so the test can wait until Stop reached the server."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.cancels: list[threading.Event] = []
        self.started = threading.Event()

    def stream(self, request: Any, cancel: threading.Event | None = None) -> Any:
        cancel = cancel or threading.Event()
        self.cancels.append(cancel)
        self.started.set()
        return super().stream(request, cancel)


LONG = (
    "<think>Counting slowly.</think><answer>"
    + " ".join(f"word{i}" for i in range(200))
    + "</answer>"
)


def test_a_streaming_reply_shows_the_generating_state(launch_app: Any, chromium: Any) -> None:
    from playwright.sync_api import expect

    gate = threading.Event()
    engine = ScriptedEngine("glm4v", [LONG], chunk_size=6, pause=gate, pause_after=12)
    demo = launch_app(AppConfig(model="glm4v", engine="scripted"), engine)
    page = open_page(chromium, demo)
    stop, regen = page.locator("#glmv-stop"), page.locator("#glmv-regenerate")
    undo, clear = page.locator("#glmv-undo"), page.locator("#glmv-clear")
    # Idle: nothing to stop.
    expect(stop).to_be_disabled()
    send(page, "Count for me.")
    chat = page.locator("#glmv-chat")
    expect(chat).to_contain_text("word0")
    expect(stop).to_be_enabled()
    expect(stop).to_have_class(re.compile("glmv-busy"))
    for button in (regen, undo, clear):
        expect(button).to_be_disabled()
    expect(page.locator("#glmv-input textarea")).to_have_attribute(
        "placeholder", "A reply is being written… Stop ends it"
    )
    expect(page.locator("#glmv-input .submit-button")).to_be_hidden()  # no send while busy
    expect(page.locator("#glmv-status")).to_contain_text("Writing a reply")
    edit = chat.locator("button[aria-label='Edit']:enabled")
    expect(edit).to_have_count(0)  # no message can be edited while the reply streams
    shot(page, "busy_streaming")
    # The held reply goes on and ends by itself: the page is idle again.
    gate.set()
    expect(chat).to_contain_text("word199")
    expect(stop).to_be_disabled()
    for button in (regen, undo, clear):
        expect(button).to_be_enabled()
    expect(page.locator("#glmv-input .submit-button")).to_be_visible()
    expect(page.locator("#glmv-status")).to_be_hidden()
    expect(edit).to_have_count(1)
    shot(page, "busy_done")


def test_stop_ends_the_reply_and_says_it_is_partial(launch_app: Any, chromium: Any) -> None:
    from playwright.sync_api import expect

    gate = threading.Event()
    engine = _Engine("glm4v", [LONG], chunk_size=6, pause=gate, pause_after=12)
    demo = launch_app(AppConfig(model="glm4v", engine="scripted"), engine)
    page = open_page(chromium, demo)
    send(page, "Count for me.")
    chat = page.locator("#glmv-chat")
    expect(chat).to_contain_text("word0")
    page.locator("#glmv-stop").click()
    assert engine.cancels[-1].wait(60), "Stop never reached the server"
    gate.set()
    expect(chat).to_contain_text("Stopped: the answer is partial.")
    expect(page.locator("#glmv-stop")).to_be_disabled()
    expect(page.locator("#glmv-regenerate")).to_be_enabled()
    assert "word199" not in chat.inner_text()
    shot(page, "busy_stopped")


def test_undo_while_a_reply_streams_says_why_nothing_happened(launch_app: Any) -> None:
    """Undo is disabled on the page while a reply streams; sent anyway (an API client), it
    removes nothing and says why, and the reply goes on to its end."""
    from gradio_client import Client

    gate = threading.Event()
    engine = _Engine("glm4v", [LONG], chunk_size=6, pause=gate, pause_after=12)
    demo = launch_app(AppConfig(model="glm4v", engine="scripted"), engine)
    client = Client(demo.local_url, verbose=False)
    job = client.submit({"text": "Count for me.", "files": []}, api_name="/chat")
    assert engine.started.wait(60), "the reply never started"
    out = client.predict(api_name="/undo")
    notice = out[-1]
    text = notice.get("value", "") if isinstance(notice, dict) else str(notice)
    assert "Nothing was undone: a reply is still being written" in text
    gate.set()
    job.result(timeout=60)
    (state,) = demo.glmv_sessions.values()
    assert len(state.turns) == 1
    assert "word199" in state.turns[0].raw


def test_a_file_attached_while_a_reply_streams_is_read_at_once(
    corpus: Path, launch_app: Any, chromium: Any
) -> None:
    """An encrypted PDF attached 'during' a long reply shows its password field while the reply
    still streams, the reply goes on undisturbed, and the next message is kept for sending."""
    from playwright.sync_api import expect

    gate = threading.Event()
    engine = _Engine("glm4v", [LONG], chunk_size=6, pause=gate, pause_after=12)
    demo = launch_app(AppConfig(model="glm4v", engine="scripted"), engine)
    page = open_page(chromium, demo)
    send(page, "Count for me.")
    chat = page.locator("#glmv-chat")
    expect(chat).to_contain_text("word0")
    pdf = corpus / "pdf" / "encrypted-libreoffice-writer-password.pdf"
    page.locator("#glmv-input input[type=file]").set_input_files([str(pdf)])
    page.locator("#glmv-input textarea").fill("What does the page say?")
    expect(page.locator("#glmv-attach-info")).to_contain_text("is encrypted")
    expect(page.locator("#glmv-password input")).to_be_visible()
    expect(page.locator("#glmv-stop")).to_be_enabled()  # still streaming
    assert "word199" not in chat.inner_text()
    shot(page, "attach_while_streaming")
    gate.set()
    expect(chat).to_contain_text("word199")
    # The reply ended; the message being written and its file are still there.
    expect(page.locator("#glmv-input textarea")).to_have_value("What does the page say?")
    expect(page.locator("#glmv-password input")).to_be_visible()
    assert len(engine.requests) == 1
