"""Settings.from_inputs converts each value by its field's declared type (Gradio sends numbers
as floats, an API client may send strings, None, or leave a field out)."""

from __future__ import annotations

import math

import pytest

from glmv_ui.ui.settings import Settings


def test_each_value_takes_its_fields_type() -> None:
    s = Settings.from_inputs(
        thinking=0,
        thinking_budget=512.0,  # a slider's float for an int field
        temperature="0.7",
        top_k=3.9,
        seed=None,  # not a number: the field keeps its default
        system_prompt=None,
        pdf_first="2",
        video_end=12,
        image_mp=math.nan,
        unknown="ignored",
    )
    assert s.thinking is False
    assert s.thinking_budget == 512
    assert type(s.thinking_budget) is int
    assert s.temperature == 0.7
    assert s.top_k == 3
    assert type(s.top_k) is int
    assert s.seed == -1
    assert s.system_prompt == ""
    assert s.pdf_first == 2
    assert s.video_end == 12.0
    assert type(s.video_end) is float
    assert s.image_mp is None


def test_values_that_are_no_numbers_keep_the_defaults() -> None:
    s = Settings.from_inputs(max_new_tokens="lots", top_p=[0.5], pdf_last=math.inf)
    assert (s.max_new_tokens, s.top_p, s.pdf_last) == (None, None, 0)
    assert Settings.from_inputs() == Settings()


def test_an_imported_record_is_checked_by_its_fields_resolved_types(tmp_path) -> None:
    import json

    from glmv_ui.config import Sampling
    from glmv_ui.engines.base import Stats
    from glmv_ui.errors import ConversationError
    from glmv_ui.export import FORMAT, read_json
    from glmv_ui.importer import _json_kinds

    assert _json_kinds(Sampling)["seed"] == ("int", "None")
    assert _json_kinds(Sampling)["thinking"] == ("bool",)
    assert _json_kinds(Stats)["finish_reason"] == ("str", "None")
    assert _json_kinds(Stats)["elapsed_s"] == ("float",)
    turn = {"text": "hi", "raw": "hello", "stats": {"finish_reason": 3}}
    path = tmp_path / "c.json"
    path.write_text(json.dumps({"format": FORMAT, "version": 1, "turns": [turn]}))
    with pytest.raises(ConversationError) as refused:
        read_json(str(path))
    assert "'finish_reason' must be a string or null, not a number" in str(refused.value)
