"""Comparisons of settings and models on the tiny checkpoints, joined by input."""

from __future__ import annotations

from pathlib import Path

import pytest

from glmv_ui.engines.local import LocalEngine
from glmv_ui.errors import ConfigError
from glmv_ui.nb.batch import read_results
from glmv_ui.nb.compare import compare

FILES = [
    "images/chelsea-rgb.png",
    "images/coffee.webp",
    "images/camera-grayscale.png",
    "images/truncated-hubble.jpg",
]


@pytest.fixture(scope="module")
def engine(tiny41) -> LocalEngine:
    return LocalEngine(tiny41)


@pytest.mark.slow  # a batch of generations per setting
def test_two_settings_side_by_side(engine: LocalEngine, corpus: Path, tmp_path: Path) -> None:
    files = [str(corpus / f) for f in FILES]
    results = tmp_path / "compare.jsonl"
    cmp = compare(
        engine,
        files,
        "What is it?",
        {"short": {"max_new_tokens": 2}, "long": {"max_new_tokens": 10}},
        temperature=0.0,
        progress=False,
        results_file=results,
    )
    assert cmp.labels == ["short", "long"]
    assert len(cmp.rows) == 4
    for row in cmp.rows[:3]:
        short, long = row.results
        assert short.setting == "short"
        assert long.setting == "long"
        assert 1 <= short.generated_tokens <= 2 < long.generated_tokens <= 10
        # Greedy decoding: the short answer is where the long one starts.
        assert long.answer.startswith(short.answer.split()[0]) if short.answer.split() else True
        assert row.agreement == (1.0 if short.answer == long.answer else 0.5)
    failed = cmp.rows[3]
    assert [r.status for r in failed.results] == ["error", "error"]
    assert failed.agreement == 0.0
    rows = cmp.records()
    assert set(rows[0]) >= {
        "answer[short]",
        "answer[long]",
        "generated[short]",
        "first_token_s[long]",
        "agreement",
    }
    assert rows[3]["answer[long]"].startswith("(error: truncated-hubble.jpg")
    totals = cmp.totals()
    assert totals["short"]["answered"] == 3
    assert totals["short"]["generated_tokens"] < totals["long"]["generated_tokens"]
    assert "agreement" in cmp._repr_html_()
    # Both settings share the results file, told apart by their label.
    assert len(read_results(results)) == 8


@pytest.mark.slow  # a batch of generations per setting
def test_settings_that_do_not_change_greedy_answers_agree(
    engine: LocalEngine, corpus: Path
) -> None:
    files = [str(corpus / f) for f in FILES[:3]]
    cmp = compare(
        engine,
        files,
        "Say.",
        {"seed 1": {"seed": 1}, "seed 2": {"seed": 2}},
        temperature=0.0,
        max_new_tokens=5,
        progress=False,
    )
    assert [row.agreement for row in cmp.rows] == [1.0, 1.0, 1.0]
    assert cmp.agreement == 1.0


@pytest.mark.slow  # loads and runs both models
def test_two_models(tiny41, tiny45, corpus: Path) -> None:
    files = [str(corpus / f) for f in FILES[:2]]
    cmp = compare(
        tiny41,
        files,
        "Say.",
        {"4.1V": {}, "4.5V": {"model": tiny45}},
        max_new_tokens=3,
        progress=False,
    )
    assert cmp.runs["4.1V"].record.family == "glm4v"
    assert cmp.runs["4.5V"].record.family == "glm4v_moe"
    assert all(r.ok for row in cmp.rows for r in row.results)


def test_one_setting_is_not_a_comparison(engine: LocalEngine, corpus: Path) -> None:
    with pytest.raises(ConfigError, match="at least two"):
        compare(engine, [str(corpus / FILES[0])], "x", {"only": {}})
