"""PDF pages -> RGB parts at a token-budgeted resolution, with every cap said out loud."""

from __future__ import annotations

from pathlib import Path

import pytest

from glmv_ui.config import MediaLimits
from glmv_ui.errors import MediaError, PasswordRequiredError, UnsupportedMediaError
from glmv_ui.media import MediaOptions, ingest
from glmv_ui.media.budget import TOKEN_PIXELS
from glmv_ui.media.pdf import page_zoom, render_pdf
from glmv_ui.reasons import reason
from tests.mediafiles import pdf_file


def test_pages_render_near_the_token_budget(tmp_path: Path) -> None:
    parts = ingest([pdf_file(tmp_path, pages=3)], MediaLimits(pdf_tokens_per_page=1000))
    assert [p.page for p in parts] == [1, 2, 3]
    assert all(p.page_count == 3 and p.image.mode == "RGB" for p in parts)
    w, h = parts[0].size
    assert 0.8 < w * h / (1000 * TOKEN_PIXELS) < 1.2
    assert parts[0].label == "doc.pdf p. 1"


def test_zoom_follows_the_token_budget_up_to_the_dpi_ceiling() -> None:
    # The token budget wins over the legibility floor: no fixed dpi makes a page bigger than
    # its budget (a 14400 pt page at 50 dpi would be 10000 px a side).
    assert page_zoom(595, 842, 10) == pytest.approx((10 * 784 / (595 * 842)) ** 0.5)
    assert page_zoom(14400, 14400, 1500) == pytest.approx((1500 * 784) ** 0.5 / 14400)
    assert page_zoom(595, 842, 1500) * 72 > 50
    assert page_zoom(595, 842, 10**6) == pytest.approx(200 / 72)
    assert page_zoom(4, 4, 1500) > 200 / 72  # a 4 pt page from an image-to-PDF tool


def test_cap_is_reported_never_silent(tmp_path: Path) -> None:
    parts = ingest([pdf_file(tmp_path, pages=7)], MediaLimits(max_pdf_pages=3))
    assert [p.page for p in parts] == [1, 2, 3]
    (note,) = parts[0].notes
    assert note == reason(
        "note.pages_capped", range=reason("range.pages", first=1, last=3, total=7)
    )
    assert str(note) == "pages 1\u20133 of 7 used; choose a page range to see others"


def test_page_range_and_bad_range(tmp_path: Path) -> None:
    path = pdf_file(tmp_path, pages=5)
    parts = ingest([path], options=MediaOptions(page_range=(2, 4)))
    assert [p.page for p in parts] == [2, 3, 4]
    assert str(parts[0].notes[0]) == "pages 2\u20134 of 5 used"
    with pytest.raises(MediaError, match=r"doc.pdf: cannot show pages 7-9: .* from 1 to 5"):
        ingest([path], options=MediaOptions(page_range=(7, 9)))


def test_rotated_page_comes_out_upright(tmp_path: Path) -> None:
    parts = ingest([pdf_file(tmp_path, pages=2, rotate={2: 90})])
    (w1, h1), (w2, h2) = parts[0].size, parts[1].size
    assert h1 > w1
    assert w2 > h2
    # "Page 2" is drawn near the top-left of the unrotated page; turned 90 deg clockwise it
    # lands near the top-right: dark pixels there, none in the bottom-left.
    img = parts[1].image.convert("L")
    top_right = img.crop((w2 * 3 // 4, 0, w2, h2 // 2))
    bottom_left = img.crop((0, h2 // 2, w2 // 4, h2))
    assert top_right.getextrema()[0] < 100
    assert bottom_left.getextrema()[0] > 200


def test_password_missing_wrong_and_right(tmp_path: Path) -> None:
    path = pdf_file(tmp_path, "secret.pdf", pages=1, password="s3cret")
    with pytest.raises(PasswordRequiredError, match=r"secret.pdf: is protected by a password"):
        ingest([path])
    with pytest.raises(PasswordRequiredError, match=r"secret.pdf: cannot be opened with that"):
        ingest([path], options=MediaOptions(password="nope"))
    assert len(ingest([path], options=MediaOptions(password="s3cret"))) == 1


@pytest.mark.parametrize(
    ("content", "pattern"),
    [
        (b"", "x.pdf: is empty"),
        (b"<html>not a pdf</html>", "x.pdf: does not hold PDF data"),
        (b"%PDF-1.4\n1 0 obj\n<<", "x.pdf: is (damaged|not a readable PDF)"),
    ],
)
def test_broken_files_are_refused(tmp_path: Path, content: bytes, pattern: str) -> None:
    path = tmp_path / "x.pdf"
    path.write_bytes(content)
    with pytest.raises(MediaError, match=pattern):
        ingest([path])


def test_render_pdf_checks_the_signature_itself(tmp_path: Path) -> None:
    path = tmp_path / "page.pdf"
    path.write_text("plain text")
    with pytest.raises(UnsupportedMediaError, match=r"page.pdf: does not hold PDF data"):
        render_pdf(path, "page.pdf")


def test_slide_numbering(tmp_path: Path) -> None:
    parts = render_pdf(pdf_file(tmp_path, pages=2), "deck.pptx", numbering="slide")
    assert [(p.slide, p.page) for p in parts] == [(1, None), (2, None)]
