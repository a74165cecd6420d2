"""Decks -> slide images, through real LibreOffice and through the python-pptx fallback."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from glmv_ui.config import MediaLimits
from glmv_ui.errors import MediaError, UnsupportedMediaError
from glmv_ui.media import MediaOptions, ingest
from glmv_ui.media.slides import FALLBACK_NOTE, find_soffice, render_slides
from tests.mediafiles import pptx_file


@pytest.mark.office
def test_libreoffice_renders_each_slide(tmp_path: Path) -> None:
    path = pptx_file(tmp_path, "upload-7f3a.pptx", slides=3)
    before = set(tmp_path.iterdir())
    parts = ingest(
        [path], names=["Quarterly; rm -rf ~.pptx"], options=MediaOptions(page_range=(2, 3))
    )
    assert [p.slide for p in parts] == [2, 3]
    assert all(p.page_count == 3 and p.image.mode == "RGB" for p in parts)
    assert parts[0].label == "Quarterly; rm -rf ~.pptx slide 2"
    assert parts[0].size[0] > parts[0].size[1]  # 4:3 landscape
    assert set(tmp_path.iterdir()) == before  # nothing written next to the upload


@pytest.mark.office
def test_libreoffice_refuses_a_damaged_deck_and_works_after(tmp_path: Path) -> None:
    bad = tmp_path / "broken.ppt"
    bad.write_bytes(b"\xd0\xcf\x11\xe0" + b"\x00" * 600)
    with pytest.raises(UnsupportedMediaError, match=r"broken.ppt: cannot be opened as a"):
        render_slides(bad, "broken.ppt")
    assert len(render_slides(pptx_file(tmp_path, slides=1), "ok.pptx")) == 1


@pytest.mark.slow  # runs a converter subprocess
def test_timeout_kills_the_converter(tmp_path: Path) -> None:
    fake = tmp_path / "slow-soffice"
    fake.write_text("#!/bin/sh\nsleep 30 &\nsleep 30\n")
    fake.chmod(0o755)
    with pytest.raises(MediaError, match=r"deck.pptx: took longer than 0.5 s to convert"):
        render_slides(
            pptx_file(tmp_path), "deck.pptx", MediaLimits(office_timeout_s=0.5), soffice=str(fake)
        )


def test_fallback_draws_summaries_with_a_note(tmp_path: Path) -> None:
    parts = render_slides(pptx_file(tmp_path, slides=2), "deck.pptx", soffice=None)
    assert [p.slide for p in parts] == [1, 2]
    assert parts[0].notes == (FALLBACK_NOTE,)
    img = parts[0].image
    colours = img.convert("RGB").getcolors(maxcolors=1 << 16)
    assert colours is not None
    assert len(colours) > 20


def test_fallback_cap_and_env_override(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("GLMV_SOFFICE", "")
    assert find_soffice() is None
    parts = ingest([pptx_file(tmp_path, slides=4)], MediaLimits(max_pdf_pages=2))
    assert [p.slide for p in parts] == [1, 2]
    assert str(parts[0].notes[1]) == "slides 1\u20132 of 4 used; choose a slide range to see others"


def test_empty_and_corrupt_decks_are_refused(tmp_path: Path) -> None:
    from pptx import Presentation

    empty = tmp_path / "empty.pptx"
    Presentation().save(empty)
    with pytest.raises(MediaError, match=r"empty.pptx: has no slides"):
        ingest([empty])
    corrupt = tmp_path / "corrupt.pptx"
    corrupt.write_bytes(b"PK\x03\x04 truncated")
    with pytest.raises(UnsupportedMediaError, match=r"corrupt.pptx: is damaged"):
        ingest([corrupt])


def test_soffice_is_installed_here() -> None:
    # The office tests above run for real; CI installs LibreOffice too.
    assert shutil.which("soffice") or shutil.which("libreoffice")
