"""A model switch keeps the user's generation settings: a value the new model does not accept
is clamped and the page says which and why; untouched settings take the new model's defaults."""

from __future__ import annotations

from typing import Any

import pytest

from glmv_ui.config import AppConfig
from glmv_ui.engines.scripted import ScriptedEngine
from tests.page_drive import open_page, shot

pytestmark = [pytest.mark.browser, pytest.mark.slow]


def test_settings_survive_a_model_switch(launch_app: Any, chromium: Any) -> None:
    from playwright.sync_api import expect

    # Switching is the operator's: on, and used by an operator login.
    demo = launch_app(
        AppConfig(
            model="glm4v_moe", engine="scripted", model_switch=True, auth="op:pw-op", operators="op"
        ),
        ScriptedEngine("glm4v_moe"),
    )
    page = open_page(chromium, demo, login=("op", "pw-op"))
    tokens = page.locator("#glmv-max-new-tokens input[type=number]")
    temperature = page.locator("#glmv-temperature input[type=number]")
    expect(temperature).to_have_value("0.3")
    tokens.fill("8000")
    tokens.press("Enter")
    page.locator("#glmv-model-acc").click()
    choice = page.locator("#glmv-model-choice input")
    choice.fill("tiny-glm41v")
    choice.press("Enter")
    expect(page.locator("#glmv-model-estimate")).to_contain_text("tiny-glm41v")
    load = page.locator("#glmv-model-load")
    box = load.bounding_box()
    assert box is not None, box
    assert box["height"] >= 32, box  # a button, not a status strip
    load.click()
    status = page.locator("#glmv-model-status")
    expect(status).to_contain_text("loaded in")
    notice = page.locator("#glmv-notice")
    expect(notice).to_contain_text(
        "Max new tokens was 8000, more than tiny-glm41v accepts (at most 2048): it is now 2048."
    )
    expect(notice).to_contain_text("Settings you had not changed now use tiny-glm41v")
    expect(tokens).to_have_value("2048")
    expect(temperature).to_have_value("1")  # untouched: GLM-4.1V's default
    expect(page.locator("#glmv-sampling-note")).to_contain_text("Tiny test checkpoint")
    shot(page, "switch_settings")
