"""How uploads are read travels as one frozen record, from every caller to ``ingest``."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from glmv_ui.config import MediaLimits
from glmv_ui.engines.scripted import ScriptedEngine
from glmv_ui.errors import ConfigError
from glmv_ui.media import MediaOptions
from glmv_ui.nb.batch import run_record
from glmv_ui.nb.helpers import split_options
from glmv_ui.session import Session
from glmv_ui.ui.settings import MediaChoice
from tests.mediafiles import pdf_file


def test_the_options_are_a_frozen_record() -> None:
    options = MediaOptions(page_range=(2, 3), password="s3cret")
    with pytest.raises(dataclasses.FrozenInstanceError):
        options.page_range = (1, 1)  # type: ignore[misc]
    assert options.chosen() == {"page_range": (2, 3)}  # a run record never holds the password


def test_notebook_keywords_become_the_record_and_a_wrong_name_is_refused() -> None:
    sampling, media = split_options({"temperature": 0.2, "video_fps": 1.0, "page_range": (1, 2)})
    assert sampling == {"temperature": 0.2}
    assert media == MediaOptions(video_fps=1.0, page_range=(1, 2))
    with pytest.raises(ConfigError, match=r"unknown option.*pages"):
        split_options({"pages": (1, 2)})
    with pytest.raises(ConfigError, match=r"unknown media option.*pages"):
        MediaOptions.from_keywords({"pages": (1, 2)})


def test_the_page_range_chosen_in_the_app_reaches_the_reader(tmp_path: Path) -> None:
    choice = MediaChoice(MediaLimits(), page_range=(2, 3))
    assert choice.options("pw") == MediaOptions(password="pw", page_range=(2, 3))
    session = Session(ScriptedEngine("glm4v"))
    parts = session.attach([str(pdf_file(tmp_path, pages=5))], choice.options())
    assert [p.page for p in parts] == [2, 3]


def test_a_run_record_writes_the_chosen_options_only() -> None:
    engine = ScriptedEngine("glm4v")
    record = run_record(
        engine, Session(engine).sampling, MediaOptions(video_fps=2.0, password="x"), ["p"], 1
    )
    assert record.media_options == {"video_fps": 2.0}
    assert "password" not in record.to_json()
