"""A GUI-agent answer: the action's own box and its element are drawn and listed with the
point."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from glmv_ui.config import AppConfig
from glmv_ui.engines.scripted import ScriptedEngine
from tests.mediafiles import shapes_image
from tests.page_drive import open_page, send, shot

pytestmark = [pytest.mark.browser, pytest.mark.slow]

GUI = (
    "<think>The Dinners tab is at the top left.</think><answer>CLICK(point=(150, 340), "
    "box=[[100,300,200,380]], element_info='Dinners')</answer>"
)


def test_a_gui_action_shows_its_box_and_element(
    tmp_path: Path, launch_app: Any, chromium: Any
) -> None:
    from playwright.sync_api import expect

    demo = launch_app(
        AppConfig(model="glm4v", engine="scripted"), ScriptedEngine("glm4v", [GUI], chunk_size=16)
    )
    page = open_page(chromium, demo)
    send(page, "Open the dinners menu.", [shapes_image(tmp_path)])
    chat = page.locator("#glmv-chat")
    legend = chat.locator("table")
    expect(legend).to_contain_text('CLICK "Dinners"')
    expect(legend).to_contain_text("150, 340 · [100, 300, 200, 380]")
    expect(chat).to_contain_text("Actions drawn on shapes.png")
    expect(chat.locator("img")).to_have_count(2)  # the upload strip, then the drawn actions
    legend.scroll_into_view_if_needed()
    shot(page, "gui_action")
