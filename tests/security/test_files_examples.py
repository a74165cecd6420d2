"""The page's example buttons hand out the package's example files: Gradio copies them into its
cache when the page is built, so they pass the rule for caller-named files (see
glmv_ui/ui/uploads.py) and are previewed like an upload."""

from __future__ import annotations

from typing import Any

import pytest

from glmv_ui.examples import EXAMPLES
from tests.page_drive import open_page

pytestmark = [pytest.mark.slow, pytest.mark.browser]


def test_an_example_button_attaches_its_file(scripted_app: Any, chromium: Any) -> None:
    from playwright.sync_api import expect

    demo, _ = scripted_app
    page = open_page(chromium, demo)
    try:
        page.locator("#glmv-examples").get_by_text("Examples", exact=False).first.click()
        first = EXAMPLES[0]
        page.locator("#glmv-examples").get_by_text(first.prompt_en[:30]).first.click()
        info = page.locator("#glmv-attach-info")
        expect(info).to_contain_text("available")  # the cost of the attached picture
        expect(page.locator("#glmv-attach-preview img").first).to_be_visible()
        expect(page.get_by_text("was not uploaded")).to_have_count(0)
    finally:
        page.close()
