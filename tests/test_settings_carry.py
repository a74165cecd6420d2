"""Generation settings across a model switch (pure): untouched ones take the new model's
defaults, changed ones stay, clamped to what the new model accepts; tiny checkpoints answer
short."""

from __future__ import annotations

import pytest

from glmv_ui.config import SAMPLING_RANGES, TINY_MAX_NEW_TOKENS, default_sampling, is_tiny_model
from glmv_ui.ui.settings import Settings, carry_settings, model_ranges


def _values(carry):
    return {c.name: (c.value, c.reason) for c in carry.fields}


@pytest.mark.slow  # imports Gradio for a pure function
def test_a_changed_value_survives_a_switch_and_untouched_ones_follow_the_model() -> None:
    from glmv_ui.ui.panel import carry_notes  # imports Gradio

    old, new = default_sampling("glm4v_moe"), default_sampling("glm4v")
    shown = {
        "temperature": old.temperature,
        "top_p": old.top_p,
        "top_k": 2.0,
        "repetition_penalty": 1.1,
        "max_new_tokens": 32.0,
        "thinking_budget": 0.0,
    }
    carry = carry_settings(shown, old, new, model_ranges("zai-org/GLM-4.1V-9B-Thinking"))
    values = _values(carry)
    assert values["max_new_tokens"] == (32.0, "kept")
    assert values["temperature"] == (new.temperature, "default")
    assert values["top_p"] == (new.top_p, "default")
    assert carry.clamped() == ()
    notes = carry_notes(carry, "GLM-4.1V", "en", switched=True)
    assert notes == ["Settings you had not changed now use GLM-4.1V's defaults."]


@pytest.mark.slow  # imports Gradio for a pure function
def test_a_value_the_new_model_does_not_accept_is_clamped_and_said() -> None:
    from glmv_ui.ui.panel import carry_notes  # imports Gradio

    old, new = default_sampling("glm4v_moe"), default_sampling("glm4v", "tiny-glm41v")
    shown = {"max_new_tokens": 8000.0, "temperature": 0.9}
    carry = carry_settings(shown, old, new, model_ranges("tiny-glm41v"))
    values = _values(carry)
    assert values["max_new_tokens"] == (2048.0, "clamped")
    assert values["temperature"] == (0.9, "kept")
    assert values["top_p"] == (new.top_p, "default")  # not shown: untouched
    en = carry_notes(carry, "tiny-glm41v", "en", switched=True)
    assert en[0] == (
        "**Max new tokens** was 8000, more than tiny-glm41v accepts (at most 2048): it is now 2048."
    )
    zh = carry_notes(carry, "tiny-glm41v", "zh", switched=True)
    assert "最大生成 token 数" in zh[0]
    assert "2048" in zh[0]


@pytest.mark.slow  # imports Gradio for a pure function
def test_thinking_turned_off_is_said_when_the_new_model_always_thinks() -> None:
    from glmv_ui.ui.panel import carry_notes  # imports Gradio

    old, new = default_sampling("glm4v_moe"), default_sampling("glm4v")
    carry = carry_settings({}, old, new, dict(SAMPLING_RANGES), thinking=False, family="glm4v")
    assert carry.thinking_forced
    assert "always thinks" in carry_notes(carry, "x", "en", switched=False)[0]
    assert not carry_settings(
        {}, old, new, dict(SAMPLING_RANGES), thinking=True, family="glm4v"
    ).thinking_forced


@pytest.mark.slow  # imports Gradio for a pure function
def test_tiny_checkpoints_answer_short_and_the_real_ones_keep_theirs() -> None:
    from glmv_ui.ui.settings import sampling_note

    assert is_tiny_model("tiny-glm41v")
    assert is_tiny_model("/cache/tiny/tiny-glm45v-v3/")
    assert not is_tiny_model("zai-org/GLM-4.5V")
    assert default_sampling("glm4v", "tiny-glm41v").max_new_tokens == TINY_MAX_NEW_TOKENS
    assert default_sampling("glm4v_moe", "zai-org/GLM-4.5V").max_new_tokens == 16384
    assert default_sampling("glm4v").max_new_tokens == 8192
    assert Settings().sampling("glm4v", "tiny-glm41v").max_new_tokens == TINY_MAX_NEW_TOKENS
    assert model_ranges("tiny-glm45v")["max_new_tokens"].maximum == 2048
    assert f"{TINY_MAX_NEW_TOKENS} new tokens" in sampling_note("glm4v", "en", "tiny-glm41v")
    assert "Tiny" not in sampling_note("glm4v", "en", "zai-org/GLM-4.1V-9B-Thinking")


def test_settings_carried_reads_numbers_only() -> None:
    shown = Settings.carried(temperature=0.5, top_p="x", max_new_tokens=None)
    assert shown["temperature"] == 0.5
    assert shown["top_p"] is None
    assert shown["max_new_tokens"] is None
    assert set(shown) >= {"top_k", "thinking_budget"}
