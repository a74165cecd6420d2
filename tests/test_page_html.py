"""An answer holding an HTML page: its preview sits right under the conversation, above the
input, not under the buttons."""

from __future__ import annotations

from typing import Any

import pytest

from glmv_ui.config import AppConfig
from glmv_ui.engines.scripted import ScriptedEngine
from tests.page_drive import open_page, send, shot

pytestmark = [pytest.mark.browser, pytest.mark.slow]

HTML_REPLY = (
    "<think>A simple landing page.</think><answer>Here is the page:\n"
    "<!DOCTYPE html>\n<html>\n<head><title>Brightlane</title>\n"
    "<style>body{font-family:sans-serif;margin:0}h1{color:#4f46e5}</style></head>\n"
    '<body>\n<h1 id="hero">Ship better software</h1>\n<p>Plan, build, track.</p>\n'
    "</body>\n</html>\nOpen it in a browser.</answer>"
)


def test_the_html_preview_sits_next_to_its_answer(launch_app: Any, chromium: Any) -> None:
    from playwright.sync_api import expect

    demo = launch_app(
        AppConfig(model="glm4v", engine="scripted"),
        ScriptedEngine("glm4v", [HTML_REPLY], chunk_size=16),
    )
    page = open_page(chromium, demo)
    send(page, "Make me a landing page.")
    group = page.locator("#glmv-html").first
    expect(group).to_be_visible()
    expect(page.locator("#glmv-chat")).to_contain_text("Open it in a browser.")
    frame = page.frame_locator("#glmv-html-preview iframe").frame_locator("iframe")
    expect(frame.locator("#hero")).to_have_text("Ship better software")
    chat = page.locator("#glmv-chat").bounding_box()
    html = group.bounding_box()
    field = page.locator("#glmv-input").bounding_box()
    assert chat
    assert html
    assert field
    # Right under the conversation, above the input.
    assert chat["y"] + chat["height"] <= html["y"] + 1 < field["y"], (chat, html, field)
    assert html["y"] - (chat["y"] + chat["height"]) < 40
    group.scroll_into_view_if_needed()
    shot(page, "html_answer")
