"""Batch runs on the tiny checkpoint over real corpus files: a table, failures recorded, resume,
exports with a run record, seeds."""

from __future__ import annotations

import csv
import json
import sys
from pathlib import Path

import pytest

from glmv_ui.engines.local import LocalEngine
from glmv_ui.errors import ConfigError
from glmv_ui.nb.batch import BatchResult, read_results, run_batch

GOOD = [
    "images/animated-24frames.gif",
    "images/astronaut-16bit-rgb.png",
    "images/camera-16bit-gray.png",
    "images/camera-grayscale.png",
    "images/chelsea-rgb.png",
    "images/cmyk-chelsea.jpg",
    "images/coffee.webp",
    "images/exif-orientation6-rocket.jpg",
    "images/multipage-gray-2pages.tif",
    "images/skimage-logo-rgba.png",
    "pdf/pdflatex-4-pages.pdf",
    "pdf/rotated-pages-habibi.pdf",
    "pdf/cmyk-image.pdf",
    "pptx/python-pptx-4-slides-3-images.pptx",
    "video/h264-3s.mov",
    "video/vp9-noaudio-4s.webm",
    "video/one-second-25frames.mp4",
    "video/single-frame.mp4",
    "video/mpeg4-5s.avi",
    "video/h264-aac-6s-640x360.mp4",
]
BAD = "images/truncated-hubble.jpg"
MAX_NEW = 4


@pytest.fixture(scope="module")
def engine(tiny41) -> LocalEngine:
    return LocalEngine(tiny41)


@pytest.mark.slow  # a deck goes through LibreOffice, and 21 files are decoded
def test_a_batch_of_21_corpus_files_records_the_damaged_one_and_goes_on(
    engine: LocalEngine, corpus: Path, tmp_path: Path
) -> None:
    files = (
        [str(corpus / f) for f in GOOD[:10]]
        + [str(corpus / BAD)]
        + [str(corpus / f) for f in GOOD[10:]]
    )
    run = run_batch(engine, files, "What is shown?", max_new_tokens=MAX_NEW, seed=3, progress=False)
    assert len(run.results) == 21
    assert [r.source for r in run.results] == files
    bad = run.results[10]
    assert bad.status == "error"
    assert not bad.ok
    assert "truncated-hubble.jpg" in bad.error
    assert "damaged" in bad.error
    assert run.failures == [bad]
    for r in run.results[:10] + run.results[11:]:  # every file after the failure answered too
        assert r.status == "done", (r.source, r.error)
        assert r.visual_tokens > 0
        assert r.prompt_tokens > r.visual_tokens
        assert 1 <= r.generated_tokens <= MAX_NEW
        assert r.time_to_first_token_s is not None
        assert r.time_to_first_token_s > 0
        assert r.seed == 3
    # Without pandas the table is the list of records; with it, a DataFrame of the same rows.
    table = run.table()
    rows = table.to_dict("records") if hasattr(table, "to_dict") else table
    assert [row["status"] for row in rows].count("error") == 1
    assert set(rows[0]) >= {
        "answer",
        "thinking_chars",
        "boxes",
        "visual_tokens",
        "generated_tokens",
        "time_to_first_token_s",
        "tokens_per_s",
    }
    assert "20 answered, 1 failed" in run.summary()
    assert "truncated-hubble.jpg" in run._repr_html_()

    paths = run.export(tmp_path / "out", "corpus")
    lines = paths["jsonl"].read_text().splitlines()
    assert [BatchResult.from_json(line) for line in lines] == run.results
    with paths["csv"].open(newline="") as fh:
        csv_rows = list(csv.DictReader(fh))
    assert len(csv_rows) == 21
    assert csv_rows[10]["status"] == "error"
    assert int(csv_rows[0]["generated_tokens"]) == run.results[0].generated_tokens
    record = json.loads(paths["record"].read_text())
    assert record["model"] == "tiny-glm41v"
    assert record["seed"] == 3
    assert record["sampling"]["max_new_tokens"] == MAX_NEW
    assert record["inputs"] == 21
    assert record["prompts"] == ["What is shown?"]
    assert record["packages"]["torch"][0].isdigit()
    assert record["packages"]["transformers"][0].isdigit()
    assert record["finished"] >= record["started"]


@pytest.mark.slow  # a batch of generations
def test_a_resumed_run_skips_what_is_done(
    engine: LocalEngine, corpus: Path, tmp_path: Path
) -> None:
    files = [str(corpus / f) for f in GOOD[:6]] + [str(corpus / BAD)]
    results = tmp_path / "results.jsonl"
    first = run_batch(
        engine, files[:4], "Describe.", results_file=results, max_new_tokens=MAX_NEW, progress=False
    )
    assert first.skipped == 0
    assert len(results.read_text().splitlines()) == 4
    # An interrupted write leaves half a line: it is ignored, not fatal.
    with results.open("a") as fh:
        fh.write('{"key": "cut sh')
    second = run_batch(
        engine, files, "Describe.", results_file=results, max_new_tokens=MAX_NEW, progress=False
    )
    assert second.skipped == 4
    # The first four come from the file unchanged (their timings too), the rest are new.
    assert second.results[:4] == first.results
    assert [r.status for r in second.results] == ["done"] * 6 + ["error"]
    saved = read_results(results)
    assert len(saved) == 7
    assert {r.key for r in second.results} == set(saved)
    # A third run finds everything there; the failed file is asked again only when told to.
    third = run_batch(
        engine, files, "Describe.", results_file=results, max_new_tokens=MAX_NEW, progress=False
    )
    assert third.skipped == 7
    assert third.results == second.results
    retried = run_batch(
        engine,
        files,
        "Describe.",
        results_file=results,
        retry_errors=True,
        max_new_tokens=MAX_NEW,
        progress=False,
    )
    assert retried.skipped == 6
    assert retried.results[-1].status == "error"
    # 4 + the cut line + 3, then the retried failure: appended, and the newest wins.
    assert len(results.read_text().splitlines()) == 9
    assert read_results(results)[retried.results[-1].key] == retried.results[-1]


@pytest.mark.slow  # a batch of generations
def test_a_different_prompt_is_a_different_item(
    engine: LocalEngine, corpus: Path, tmp_path: Path
) -> None:
    files = [str(corpus / f) for f in GOOD[:2]]
    results = tmp_path / "r.jsonl"
    run_batch(engine, files, "One.", results_file=results, max_new_tokens=2, progress=False)
    again = run_batch(engine, files, "Two.", results_file=results, max_new_tokens=2, progress=False)
    assert again.skipped == 0
    assert len(read_results(results)) == 4


@pytest.mark.slow  # a batch of generations
def test_a_prompt_per_input_and_a_folder(engine: LocalEngine, corpus: Path) -> None:
    prompts = {"chelsea-rgb.png": "The cat?", "coffee.webp": "The cup?"}
    files = [str(corpus / "images" / name) for name in prompts]
    run = run_batch(engine, files, prompts, max_new_tokens=2, progress=False)
    assert [r.prompt for r in run.results] == ["The cat?", "The cup?"]
    with pytest.raises(ConfigError, match="2 prompts for 1 inputs"):
        run_batch(engine, files[:1], ["a", "b"], progress=False)
    folder = run_batch(
        engine, corpus / "video", "When?", pattern="*.webm", max_new_tokens=2, progress=False
    )
    assert [r.name for r in folder.results] == ["vp9-noaudio-4s.webm"]


@pytest.mark.slow  # several full generations
def test_the_same_seed_gives_the_same_answers(engine: LocalEngine, corpus: Path) -> None:
    files = [str(corpus / f) for f in GOOD[:3]]
    options = {"max_new_tokens": 8, "temperature": 1.0, "top_k": 0, "top_p": 1.0}
    a = run_batch(engine, files, "Say.", seed=11, progress=False, **options)
    b = run_batch(engine, files, "Say.", seed=11, progress=False, **options)
    c = run_batch(engine, files, "Say.", seed=12, progress=False, **options)
    assert [r.answer for r in a.results] == [r.answer for r in b.results]
    assert [r.answer for r in a.results] != [r.answer for r in c.results]


def test_without_pandas_the_table_is_a_list_of_records(
    engine: LocalEngine, corpus: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    run = run_batch(engine, [str(corpus / GOOD[4])], "Say.", max_new_tokens=2, progress=False)
    monkeypatch.setitem(sys.modules, "pandas", None)  # import pandas now raises ImportError
    table = run.table()
    assert isinstance(table, list)
    assert table[0]["source"].endswith("chelsea-rgb.png")
    assert table[0]["generated_tokens"] == run.results[0].generated_tokens
