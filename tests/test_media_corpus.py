"""Every file of the shared real-world corpus: accepted as what it holds, or refused by name."""

from __future__ import annotations

from pathlib import Path

import pytest
from PIL import ImageStat

from glmv_ui.errors import MediaError
from glmv_ui.media import MediaOptions, ingest
from glmv_ui.ui.reasons_zh import reason_text
from tests.helpers import require_corpus
from tests.mediafiles import CORPUS, image_file
from tests.test_reasons import english_words

require_corpus()  # the whole module reads it: fail at collection, naming the path

# file -> (parts, pages/slides numbers or frames, (w > h)?) for accepted files;
# file -> (MediaError subclass name, reason substring) for refused ones.
ACCEPT: dict[str, tuple[int, object, bool | None]] = {
    "images/animated-24frames.gif": (1, None, False),
    "images/astronaut-16bit-rgb.png": (1, None, None),
    "images/camera-16bit-gray.png": (1, None, None),
    "images/camera-grayscale.png": (1, None, None),
    "images/chelsea-rgb.png": (1, None, True),
    "images/cmyk-chelsea.jpg": (1, None, True),
    "images/coffee.webp": (1, None, True),
    "images/exif-orientation6-rocket.jpg": (1, None, False),  # stored 640x427, shown upright
    "images/huge-7000x7000-astronaut.jpg": (1, None, None),
    "images/multipage-gray-2pages.tif": (1, None, False),
    "images/skimage-logo-rgba.png": (1, None, None),
    "pdf/GeoTopo-komprimiert-117pages.pdf": (16, list(range(1, 17)), False),
    "pdf/cmyk-image.pdf": (1, [1], False),
    "pdf/pdflatex-4-pages.pdf": (4, [1, 2, 3, 4], False),
    "pdf/rotated-pages-habibi.pdf": (4, [1, 2, 3, 4], None),
    "pdf/scanned-fax-CCITTFaxDecode.pdf": (1, [1], None),
    "pdf/scanned-imagemagick-images-6pages.pdf": (6, [1, 2, 3, 4, 5, 6], None),
    "pptx/libreoffice-Nature_Illustration-from-odp.pptx": (2, [1, 2], True),
    "pptx/libreoffice-Nature_Illustration.odp": (2, [1, 2], True),
    "pptx/libreoffice-Progress-from-odp.pptx": (4, [1, 2, 3, 4], True),
    "pptx/python-pptx-4-slides-3-images.pptx": (4, [1, 2, 3, 4], True),
    "video/h264-3s.mov": (1, 6, True),
    "video/h264-aac-6s-640x360.mp4": (1, 12, True),
    "video/long-15min-96x64-2fps.mp4": (1, 600, True),
    "video/mpeg4-5s.avi": (1, 10, True),
    "video/one-second-25frames.mp4": (1, 2, True),
    "video/single-frame.mp4": (1, 2, True),
    "video/vfr-60frames.mp4": (1, 32, True),
    "video/vp9-noaudio-4s.webm": (1, 8, True),
}
REFUSE: dict[str, tuple[str, str]] = {
    "images/bomb-header-65535x65535.png": ("MediaBudgetError", "too many pixels"),
    "images/bomb-valid-30000x30000-1bit.png": ("MediaBudgetError", "too many pixels"),
    "images/glm-v-logo.svg": ("UnsupportedMediaError", "SVG"),
    "images/multipage_rgb-pillow-cannot-open.tif": ("UnsupportedMediaError", "TIFF this app"),
    "images/truncated-hubble.jpg": ("MediaError", "damaged or incomplete"),
    "pdf/empty-0-bytes.pdf": ("MediaError", "is empty"),
    "pdf/encrypted-libreoffice-writer-password.pdf": ("PasswordRequiredError", "password"),
    "pdf/not-a-pdf.pdf": ("UnsupportedMediaError", "does not hold PDF data"),
    "pdf/truncated-pdflatex-image.pdf": ("MediaError", "none of its pages can be read"),
    "pptx/corrupt-not-a-zip.pptx": ("UnsupportedMediaError", "is damaged"),
    "pptx/python-pptx-default-template-0-slides.pptx": ("MediaError", "has no slides"),
    "video/not-a-video.mp4": ("UnsupportedMediaError", "does not hold MP4 data"),
    "video/truncated-no-moov.mp4": ("UnsupportedMediaError", "damaged or incomplete"),
}


def test_the_table_covers_every_corpus_file() -> None:
    on_disk = {
        f"{p.parent.name}/{p.name}"
        for sub in ("images", "pdf", "pptx", "video")
        for p in (CORPUS / sub).iterdir()
    }
    assert on_disk == set(ACCEPT) | set(REFUSE)


@pytest.mark.office
@pytest.mark.parametrize("rel", sorted(ACCEPT))
def test_accepted(rel: str) -> None:
    count, numbers, landscape = ACCEPT[rel]
    parts = ingest([CORPUS / rel], names=[Path(rel).name])
    assert len(parts) == count
    first = parts[0]
    assert first.source == Path(rel).name
    if first.kind == "video":
        assert len(first.frames) == numbers
        assert len(first.frames) % 2 == 0
        assert list(first.timestamps) == sorted(first.timestamps)
    elif numbers is not None:
        assert [p.page if p.page is not None else p.slide for p in parts] == numbers
    if landscape is not None:
        w, h = first.size
        assert (w > h) == landscape
    if rel.endswith("117pages.pdf"):
        assert str(first.notes[0]).startswith("pages 1\u201316 of 117 used; choose a page range")


@pytest.mark.parametrize("rel", sorted(REFUSE))
def test_refused_then_a_good_upload_works(rel: str, tmp_path: Path) -> None:
    kind, reason = REFUSE[rel]
    name = Path(rel).name
    with pytest.raises(MediaError) as info:
        ingest([CORPUS / rel], names=[name])
    assert type(info.value).__name__ == kind
    assert str(info.value).startswith(f"{name}: ")
    assert reason in str(info.value)
    assert len(ingest([image_file(tmp_path, "next.png")])) == 1


@pytest.mark.parametrize("rel", sorted(REFUSE))
def test_every_refusal_reads_plainly_in_english_and_chinese(rel: str) -> None:
    """Each refusal of the corpus is a template (no library text, no question) and its Chinese
    holds no English word but the file name and the names a Chinese interface keeps in Latin
    letters (the rule of tests/test_reasons.py)."""
    name = Path(rel).name
    with pytest.raises(MediaError) as info:
        ingest([CORPUS / rel], names=[name])
    exc = info.value
    assert exc.wording.key, "every refusal comes from a template"
    english, chinese = reason_text(exc, "en"), reason_text(exc, "zh")
    for text in (english, chinese):
        assert "?" not in text
        assert "？" not in text
        assert "not processed" not in text
    assert english == str(exc)
    assert english_words(chinese, (name,)) == []
    assert chinese.startswith(f"{name}：")
    assert len(chinese) > len(name) + 8


def test_library_text_stays_in_the_chained_exception() -> None:
    with pytest.raises(MediaError) as info:
        ingest([CORPUS / "images/truncated-hubble.jpg"], names=["hubble.jpg"])
    assert "truncated" not in str(info.value)
    assert "truncated" in str(info.value.__cause__)  # Pillow's words, for the log


def test_a_damaged_second_video_of_the_corpus_is_called_damaged(tmp_path: Path) -> None:
    first = ingest([CORPUS / "video/one-second-25frames.mp4"])
    with pytest.raises(MediaError) as info:
        ingest([CORPUS / "video/truncated-no-moov.mp4"], existing=first)
    assert info.value.wording.key == "video.unreadable"
    assert str(info.value).startswith("truncated-no-moov.mp4: is not a readable video")


def test_cmyk_jpeg_colours_match_the_rgb_original() -> None:
    cmyk = ingest([CORPUS / "images/cmyk-chelsea.jpg"])[0].image
    rgb = ingest([CORPUS / "images/chelsea-rgb.png"])[0].image
    for a, b in zip(ImageStat.Stat(cmyk).mean, ImageStat.Stat(rgb).mean, strict=True):
        assert abs(a - b) < 6


@pytest.mark.parametrize(
    ("deep", "flat"),
    [
        ("images/camera-16bit-gray.png", "images/camera-grayscale.png"),
        ("images/astronaut-16bit-rgb.png", "images/huge-7000x7000-astronaut.jpg"),
    ],
)
def test_high_bit_depth_matches_the_8_bit_version(deep: str, flat: str) -> None:
    a = ImageStat.Stat(ingest([CORPUS / deep])[0].image).mean
    b = ImageStat.Stat(ingest([CORPUS / flat])[0].image).mean
    assert all(abs(x - y) < 6 for x, y in zip(a, b, strict=True))


def test_encrypted_corpus_pdf_opens_with_its_password() -> None:
    parts = ingest(
        [CORPUS / "pdf/encrypted-libreoffice-writer-password.pdf"],
        options=MediaOptions(password="openpassword"),
    )
    assert len(parts) == 1


def test_rotated_pages_are_upright() -> None:
    parts = ingest([CORPUS / "pdf/rotated-pages-habibi.pdf"])
    # /Rotate 90, 180, 270, 0 on portrait media boxes: 90 and 270 come out landscape.
    assert [p.size[0] > p.size[1] for p in parts] == [True, False, True, False]


def test_vfr_timestamps_are_the_real_frame_times() -> None:
    import av

    with av.open(str(CORPUS / "video/vfr-60frames.mp4")) as c:
        real = {round(float(f.time), 6) for f in c.decode(c.streams.video[0])}
    part = ingest([CORPUS / "video/vfr-60frames.mp4"])[0]
    assert set(part.timestamps) <= real
    assert part.timestamps[-1] == pytest.approx(15.5)
