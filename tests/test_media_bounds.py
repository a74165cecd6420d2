"""Large uploads stay within bounded memory: the 117-page PDF, the 15-minute video, a bomb.

Each runs in a fresh interpreter that first warms up on a small file of the same kind, so the
measured growth of the peak resident set is the large file's own cost, not library start-up.
"""

from __future__ import annotations

import pytest

from tests.mediafiles import Measured, measure


def _measure(warm: str, big: str) -> Measured:
    return measure(
        f"parts = ingest([{big!r}]); result = [len(parts), sum(len(p.frames) for p in parts)]",
        f"from glmv_ui.media import ingest; ingest([{warm!r}])",
    )


@pytest.mark.slow
def test_117_page_pdf_renders_in_bounded_memory(corpus):
    result = _measure(
        str(corpus / "pdf" / "pdflatex-4-pages.pdf"),
        str(corpus / "pdf" / "GeoTopo-komprimiert-117pages.pdf"),
    )
    assert result.result == [16, 0]
    # 16 pages of ~1.2 megapixels are ~56 MB as RGB images; pages are rendered one at a time,
    # so the peak stays near what is kept, far below rendering the whole document.
    assert result.rss_growth_mb < 250, result


@pytest.mark.slow
def test_15_minute_video_samples_in_bounded_memory(corpus):
    result = _measure(
        str(corpus / "video" / "one-second-25frames.mp4"),
        str(corpus / "video" / "long-15min-96x64-2fps.mp4"),
    )
    assert result.result == [1, 600]
    # Each picked frame is converted to its small output image at once; no decoded frame
    # (nor its decoder buffers) is kept: 600 frames of 84x56 px cost a few MB.
    assert result.rss_growth_mb < 64, result


@pytest.mark.slow  # builds a huge image
def test_an_image_bomb_upload_is_refused_from_its_header(corpus):
    # 30000x30000 at one bit a pixel: a small file that decodes to 2.7 GB as RGB.
    result = _measure(
        str(corpus / "images" / "chelsea-rgb.png"),
        str(corpus / "images" / "bomb-valid-30000x30000-1bit.png"),
    )
    assert result.error_type == "MediaBudgetError"
    assert result.error.startswith("bomb-valid-30000x30000-1bit.png: has too many pixels")
    assert result.rss_growth_mb < 64, result
