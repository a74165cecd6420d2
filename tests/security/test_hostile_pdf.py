"""Hostile PDFs: pages of 14400x14400 pt are drawn at their token size, the budget is checked
before any page is rendered, and an 800 MB font program is refused without being unpacked."""

from __future__ import annotations

from pathlib import Path

import pytest

from glmv_ui.errors import MediaBudgetError
from glmv_ui.media import ingest
from tests.mediafiles import pdf_file
from tests.security.hostile import (
    font_bomb_pdf,
    huge_pages_pdf,
    ingest_probe,
    jpeg_in_pdf,
    pattern_pdf,
    probe,
    progressive_jpeg,
    raw_pdf,
)

pytestmark = pytest.mark.slow
# Room for 30 pages (the default caps a document at 16 images).
_WIDE = (
    "from glmv_ui.config import MediaLimits\nfrom glmv_ui.media import ingest\n"
    "limits = MediaLimits(max_images=64, max_pdf_pages=64)"
)


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
        f"earlier = ingest([{str(pdf_file(tmp_path, 'earlier.pdf', pages=27))!r}], limits)",
    )
    assert result.error_type == "MediaBudgetError", result
    assert result.error.startswith(f"{path.name}: would bring"), result
    assert result.peak_mb < 100, result


def test_thirty_huge_pages_alone_fit_at_their_token_size(tmp_path: Path) -> None:
    path = huge_pages_pdf(tmp_path, 30)
    warm = pdf_file(tmp_path, "warm.pdf", pages=1)
    result = probe(
        f"parts = ingest([{str(path)!r}], limits); result = [[p.kind, p.size, 0] for p in parts]",
        f"{_WIDE}\ningest([{str(warm)!r}], limits)",
    )
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


def test_a_progressive_jpeg_inside_a_pdf_is_refused_before_the_page_is_drawn(
    tmp_path: Path,
) -> None:
    # The 1 MB progressive CMYK JPEG as a DCTDecode image: MuPDF would hold its 488 MB of
    # coefficients (issue: +542 MB). The page's images are sized from their headers first.
    path = jpeg_in_pdf(tmp_path, progressive_jpeg(tmp_path))
    assert path.stat().st_size < 2 * 2**20
    result = ingest_probe(path, pdf_file(tmp_path, "warm.pdf", pages=1))
    assert result.error_type == "MediaBudgetError", result
    assert result.error == (
        f"{path.name}: has on page 1 an image (object 5) of 7999x7999 pixels that would take "
        "488 MB to decode, more than the 256 MB an image may take; save the PDF with smaller "
        "images and upload that"
    )
    assert result.peak_mb < 32, result


def test_a_pdf_image_within_the_limit_is_drawn(tmp_path: Path) -> None:
    path = jpeg_in_pdf(tmp_path, progressive_jpeg(tmp_path, 3000, "RGB"))
    result = ingest_probe(path, pdf_file(tmp_path, "warm.pdf", pages=1))
    assert result.error == "", result
    assert [kind for kind, _size, _ in result.result] == ["image"]
    assert result.peak_mb < 200, result


def test_a_flate_image_whose_pixels_pass_the_limit_is_refused(tmp_path: Path) -> None:
    # 9000x9000 RGB (232 MB) passes alone; the same picture's dictionary claiming CMYK is
    # 309 MB: sizes come from the dictionary too, not only from JPEG headers.
    import zlib

    import pymupdf

    row = bytes(9000 * 4)
    stream = zlib.compress(row * 9000, 9)
    content = b"q 300 0 0 300 72 72 cm /Im0 Do Q"
    data = raw_pdf(
        [
            b"<< /Type /Catalog /Pages 2 0 R >>",
            b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
            b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Resources << /XObject "
            b"<< /Im0 4 0 R >> >> /Contents 5 0 R >>",
            b"<< /Type /XObject /Subtype /Image /Width 9000 /Height 9000 /BitsPerComponent 8 "
            b"/ColorSpace /DeviceCMYK /Filter /FlateDecode /Length %d >>\nstream\n"
            % len(stream)
            + stream
            + b"\nendstream",
            b"<< /Length %d >>\nstream\n" % len(content) + content + b"\nendstream",
        ]
    )
    path = tmp_path / "flate.pdf"
    path.write_bytes(data)
    with pymupdf.open(path) as doc:
        assert doc[0].get_images(full=True)[0][2:4] == (9000, 9000)
    result = ingest_probe(path, pdf_file(tmp_path, "warm.pdf", pages=1))
    assert result.error_type == "MediaBudgetError", result
    assert (
        "has on page 1 an image (object 4) of 9000x9000 pixels that would take 309 MB"
        in result.error
    ), result
    assert result.peak_mb < 32, result


@pytest.mark.parametrize(
    ("step", "matrix"), [("0.01", ""), ("10", "0.01 0 0 0.01 0 0")], ids=["step", "matrix"]
)
def test_a_tiling_pattern_of_tiny_cells_is_refused_unrendered(
    tmp_path: Path, step: str, matrix: str
) -> None:
    # 0.01 pt cells over a letter page are 4.8 billion tiles (issue: 95 s of CPU for one page);
    # a 10 pt step scaled by 0.01 through the pattern matrix is the same thing.
    path = pattern_pdf(tmp_path, step, matrix)
    assert path.stat().st_size < 1024
    with pytest.raises(
        MediaBudgetError,
        match=r"pattern-.*\.pdf: holds a fill pattern \(object "
        r"4\) with cells of 0\.\d+ pt, which would be "
        r"drawn [\d,]+ times over a page",
    ):
        ingest([path])


def test_a_pattern_of_ordinary_cells_is_drawn(tmp_path: Path) -> None:
    [part] = ingest([pattern_pdf(tmp_path, "1")])  # 484,704 tiles: a fine hatch, drawn
    assert part.kind == "image"
    assert part.image is not None
    from PIL import ImageStat

    # black cells (their seams blend a little): far from the white of an empty page
    assert max(ImageStat.Stat(part.image).mean) < 200


def test_a_jpeg_2000_image_is_sized_from_its_codestream(tmp_path: Path) -> None:
    # OpenJPEG holds 32-bit samples: 5000x5000 RGB is 286 MB (from a 2 kB stream); 3000x3000
    # (103 MB) is drawn.
    import pymupdf
    from PIL import Image

    for side in (5000, 3000):
        picture = tmp_path / f"flat-{side}.jp2"
        Image.new("RGB", (side, side), (30, 140, 200)).save(
            picture, quality_mode="rates", quality_layers=[200], irreversible=True
        )
        doc = pymupdf.open()
        doc.new_page().insert_image(pymupdf.Rect(72, 72, 372, 372), filename=str(picture))
        doc.save(tmp_path / f"jpx-{side}.pdf")
        doc.close()
    with pytest.raises(
        MediaBudgetError,
        match=r"jpx-5000\.pdf: has on page 1 an image \(object "
        r"5\) of 5000x5000 pixels that would take 286 MB",
    ):
        ingest([tmp_path / "jpx-5000.pdf"])
    [part] = ingest([tmp_path / "jpx-3000.pdf"])
    assert part.kind == "image"
    assert part.page == 1
