"""Hostile PDFs: pages of 14400x14400 pt are drawn at their token size, the budget is checked
before any page is rendered, and an 800 MB font program is refused without being unpacked."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.mediafiles import pdf_file
from tests.security.hostile import font_bomb_pdf, huge_pages_pdf, ingest_probe, probe

pytestmark = pytest.mark.slow
# Room for 30 pages (the default caps a document at 16 images).
_WIDE = ("from glmv_ui.config import MediaLimits\nfrom glmv_ui.media import ingest\n"
         "limits = MediaLimits(max_images=64, max_pdf_pages=64)")


def test_seven_huge_pages_are_drawn_at_their_token_size(tmp_path: Path) -> None:
    path = huge_pages_pdf(tmp_path, 7)
    assert path.stat().st_size < 20_000
    result = ingest_probe(path, pdf_file(tmp_path, "warm.pdf", pages=1))
    assert result.error == "", result
    assert len(result.result) == 7
    for _kind, (width, height), _ in result.result:
        assert width * height <= 1500 * 784 * 1.05  # ~1500 tokens, not 10000x10000 px
    assert result.peak_mb < 400, result
    assert result.kept_mb < 64, result


def test_thirty_huge_pages_are_judged_before_any_is_rendered(tmp_path: Path) -> None:
    path = huge_pages_pdf(tmp_path, 30)
    # In a conversation that already holds ~40k visual tokens, 30 pages cannot fit: the refusal
    # comes from the page sizes, before one page is rendered.
    result = probe(
        f"parts = ingest([{str(path)!r}], limits, existing=earlier)",
        f"{_WIDE}\n"
        f"earlier = ingest([{str(pdf_file(tmp_path, 'earlier.pdf', pages=27))!r}], limits)")
    assert result.error_type == "MediaBudgetError", result
    assert result.error.startswith(f"{path.name}: would bring"), result
    assert result.peak_mb < 100, result


def test_thirty_huge_pages_alone_fit_at_their_token_size(tmp_path: Path) -> None:
    path = huge_pages_pdf(tmp_path, 30)
    warm = pdf_file(tmp_path, "warm.pdf", pages=1)
    result = probe(f"parts = ingest([{str(path)!r}], limits); "
                   "result = [[p.kind, p.size, 0] for p in parts]",
                   f"{_WIDE}\ningest([{str(warm)!r}], limits)")
    assert result.error == "", result
    assert len(result.result) == 30
    assert result.peak_mb < 400, result


def test_an_800_mb_font_program_is_refused_by_name(tmp_path: Path) -> None:
    path = font_bomb_pdf(tmp_path, 800)
    assert path.stat().st_size < 2 * 2**20
    result = ingest_probe(path, pdf_file(tmp_path, "warm.pdf", pages=1))
    assert result.error_type == "MediaBudgetError", result
    assert result.error.startswith(f"{path.name}: holds a font of more than 64 MB"), result
    assert result.peak_mb < 200, result


def test_a_real_embedded_font_still_renders(tmp_path: Path) -> None:
    path = font_bomb_pdf(tmp_path, 0)
    result = ingest_probe(path, pdf_file(tmp_path, "warm.pdf", pages=1))
    assert result.error == "", result
    assert len(result.result) == 1
