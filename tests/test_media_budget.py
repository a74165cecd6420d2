"""Token estimates follow the processor's resize rule; the conversation rules hold."""

from __future__ import annotations

from pathlib import Path

import pytest
from PIL import Image

from glmv_ui.config import MediaLimits
from glmv_ui.errors import MediaBudgetError
from glmv_ui.media import MediaOptions, MediaPart, check_budget, estimate_visual_tokens, ingest
from glmv_ui.media.budget import image_tokens, smart_resize, video_tokens
from tests.mediafiles import image_file, pdf_file, video_file


@pytest.mark.slow  # needs torch or transformers
def test_smart_resize_matches_the_processor() -> None:
    from transformers.models.glm4v.image_processing_glm4v import smart_resize as reference

    for h, w in [(300, 451), (1080, 1920), (7000, 7000), (20, 500), (28, 28), (10, 15)]:
        assert smart_resize(2, h, w) == reference(2, h, w, max_pixels=28 * 28 * 15000)
    for n, h, w in [(600, 360, 640), (2, 64, 96), (30, 240, 320)]:
        assert smart_resize(n, h, w, max_pixels=28 * 28 * 2 * 30000) == reference(
            n, h, w, max_pixels=28 * 28 * 2 * 30000
        )


def test_token_counts() -> None:
    assert image_tokens(28 * 10, 28 * 5) == 50 + 2
    assert image_tokens(10_000, 10_000) <= 7500 + 2
    assert video_tokens(600, 640, 360) <= 30_000 + 300 * 4 + 2
    assert video_tokens(0, 64, 64) == 0


def _image(w: int, h: int) -> MediaPart:
    return MediaPart(kind="image", source="x.png", image=Image.new("RGB", (w, h)))


def test_check_budget_reports_and_suggests() -> None:
    limits = MediaLimits(context_tokens=4000, reserve_tokens=1000)
    ok = check_budget([_image(280, 280)], limits)
    assert ok.fits
    assert ok.visual_tokens == 102
    assert ok.budget == 3000
    over = check_budget([_image(2800, 2800)], limits, existing=[_image(280, 280)])
    assert not over.fits
    assert "from 102 to about 7,500 visual tokens" in over.message
    assert "lower resolution" in over.suggestion
    assert "new conversation" in over.suggestion
    assert over.refusal is not None
    assert str(over.refusal).endswith(over.suggestion)
    assert estimate_visual_tokens([_image(280, 280)] * 3) == 306


def test_ingest_refuses_over_budget_with_a_suggestion(tmp_path: Path) -> None:
    limits = MediaLimits(context_tokens=3000, reserve_tokens=1000, pdf_tokens_per_page=1500)
    with pytest.raises(MediaBudgetError, match=r"doc.pdf: would bring .* page range"):
        ingest([pdf_file(tmp_path, pages=3)], limits)
    assert (
        len(ingest([pdf_file(tmp_path, pages=3)], limits, options=MediaOptions(page_range=(1, 1))))
        == 1
    )


def test_images_and_video_never_mix(tmp_path: Path) -> None:
    img = ingest([image_file(tmp_path, "a.png")])
    clip = video_file(tmp_path, "c.mp4", frames=10)
    with pytest.raises(MediaBudgetError, match=r"c.mp4: cannot join .* holds images"):
        ingest([clip], existing=img)
    with pytest.raises(MediaBudgetError, match=r"a.png: cannot join .* holds a video"):
        ingest([clip, image_file(tmp_path, "a.png")])
    video = ingest([clip])
    with pytest.raises(MediaBudgetError, match=r"one video at most"):
        ingest([clip], existing=video)


def test_image_count_includes_pages(tmp_path: Path) -> None:
    limits = MediaLimits(max_images=4)
    parts = ingest([image_file(tmp_path, "a.png"), pdf_file(tmp_path, pages=6)], limits)
    assert len(parts) == 4
    assert str(parts[1].notes[0]).startswith("pages 1\u20133 of 6 used")
    with pytest.raises(MediaBudgetError, match=r"b.png: cannot join .*: it already holds 4 images"):
        ingest([image_file(tmp_path, "b.png")], limits, existing=parts)


def test_upload_size_limit(tmp_path: Path) -> None:
    big = tmp_path / "big.png"
    big.write_bytes(b"\x89PNG\r\n\x1a\n" + b"\0" * (1024 * 1024 + 10))
    with pytest.raises(MediaBudgetError, match=r"big.png: is 1 MB; uploads are limited to 0 MB"):
        ingest([big], MediaLimits(max_upload_mb=0))
