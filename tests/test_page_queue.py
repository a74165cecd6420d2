"""A message sent while every generation slot is taken says it is waiting, and starts by itself
when a slot frees."""

from __future__ import annotations

import threading
from typing import Any

import pytest

from glmv_ui.config import AppConfig
from glmv_ui.engines.scripted import ScriptedEngine
from tests.page_drive import open_page, send, shot

pytestmark = [pytest.mark.browser, pytest.mark.slow]

LONG = "<think>Busy.</think><answer>" + " ".join(f"word{i}" for i in range(120)) + "</answer>"


def test_a_queued_message_says_it_is_waiting(launch_app: Any, chromium: Any) -> None:
    from playwright.sync_api import expect

    gate = threading.Event()
    engine = ScriptedEngine(
        "glm4v",
        [LONG, "<think>Ok.</think><answer>Your turn now.</answer>"],
        chunk_size=6,
        pause=gate,
        pause_after=10,
    )
    demo = launch_app(AppConfig(model="glm4v", engine="scripted", concurrency=1), engine)
    first = open_page(chromium, demo)
    send(first, "Take the only slot.")
    expect(first.locator("#glmv-chat")).to_contain_text("word0")
    expect(first.locator("#glmv-queued")).to_be_hidden()  # it streams: not waiting
    second = open_page(chromium, demo)
    send(second, "Me too, please.")
    queued = second.locator("#glmv-queued")
    expect(queued).to_be_visible()
    expect(queued).to_contain_text("Waiting for a free slot")
    # Said after a moment (a request that starts at once never flashes it): fully shown now.
    second.wait_for_function(
        "() => getComputedStyle(document.querySelector('#glmv-queued')).opacity === '1'"
    )
    shot(second, "queued")
    gate.set()
    expect(second.locator("#glmv-chat")).to_contain_text("Your turn now.")
    expect(queued).to_be_hidden()
    expect(first.locator("#glmv-chat")).to_contain_text("word119")
