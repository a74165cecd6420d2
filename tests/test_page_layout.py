"""The first view: the title once, the conversation first; on a phone the input is in view
without scrolling when the page opens."""

from __future__ import annotations

from typing import Any

import pytest

from glmv_ui.config import AppConfig
from glmv_ui.engines.scripted import ScriptedEngine
from tests.page_drive import open_page, shot

pytestmark = [pytest.mark.browser, pytest.mark.slow]


@pytest.mark.parametrize(
    ("width", "height", "name"), [(1400, 1000, "desktop"), (390, 844, "phone")]
)
def test_the_first_view_shows_the_title_once_and_the_input(
    width: int, height: int, name: str, launch_app: Any, chromium: Any
) -> None:
    from playwright.sync_api import expect

    demo = launch_app(AppConfig(model="glm4v", engine="scripted"), ScriptedEngine("glm4v"))
    page = open_page(chromium, demo, width, height)
    expect(page.locator("#glmv-chat")).to_contain_text("Ask a question, or drop an image")
    assert page.locator("body").inner_text().count("GLM-V Workbench") == 1
    box = page.locator("#glmv-input textarea").bounding_box()
    assert box is not None, box
    assert box["y"] + box["height"] <= height, box
    chat = page.locator("#glmv-chat").bounding_box()
    assert chat is not None, chat
    assert chat["height"] >= 0.3 * height, chat
    assert page.evaluate("window.scrollY") == 0
    shot(page, f"first_view_{name}")
