"""Image files -> upright 8-bit RGB parts; refusals name the file."""

from __future__ import annotations

from pathlib import Path

import pytest
from PIL import Image

from glmv_ui.config import MediaLimits
from glmv_ui.errors import MediaBudgetError, MediaError, UnsupportedMediaError
from glmv_ui.media import ingest
from glmv_ui.media.images import MAX_DECODE_PIXELS, load_image
from glmv_ui.reasons import reason
from tests.mediafiles import exif_rotated_jpeg, gradient, image_file


@pytest.mark.parametrize(
    ("name", "mode"),
    [
        ("rgb.png", "RGB"),
        ("gray.png", "L"),
        ("la.png", "LA"),
        ("bw.png", "1"),
        ("cmyk.tif", "CMYK"),
        ("cmyk.jpg", "CMYK"),
        ("pic.webp", "RGB"),
        ("pic.bmp", "RGB"),
        ("pic.gif", "RGB"),
        ("ycc.jpg", "RGB"),
    ],
)
def test_every_mode_becomes_rgb_with_the_right_colours(
    tmp_path: Path, name: str, mode: str
) -> None:
    part = ingest([image_file(tmp_path, name, mode)])[0]
    assert part.kind == "image"
    assert part.image.mode == "RGB"
    assert part.size == (64, 48)
    ref = gradient().convert(mode).convert("RGB")
    got, want = part.image.getpixel((63, 47)), ref.getpixel((63, 47))
    assert all(abs(a - b) <= 24 for a, b in zip(got, want, strict=True)), (got, want)


def test_16_bit_gray_is_scaled_by_its_range_not_clipped(tmp_path: Path) -> None:
    part = ingest([image_file(tmp_path, "deep.png", "I;16")])[0]
    eight_bit = gradient().convert("L")
    for xy in ((0, 0), (32, 24), (63, 47)):
        assert abs(part.image.getpixel(xy)[0] - eight_bit.getpixel(xy)) <= 2


def test_12_bit_integer_data_is_not_left_dark(tmp_path: Path) -> None:
    part = ingest([image_file(tmp_path, "twelve.tif", "I")])[0]
    assert part.image.getpixel((63, 47))[0] > 230


@pytest.mark.parametrize("mode", ["RGBA", "P"])
def test_transparency_is_composited_over_white(tmp_path: Path, mode: str) -> None:
    part = ingest([image_file(tmp_path, f"t_{mode}.png", mode)])[0]
    assert part.image.getpixel((0, 0)) == (255, 255, 255)


def test_exif_orientation_is_applied(tmp_path: Path) -> None:
    part = ingest([exif_rotated_jpeg(tmp_path)])[0]
    assert part.size == (48, 64)  # the 64x48 landscape shown rotated 90 degrees


def test_animated_gif_uses_the_first_frame_and_says_so(tmp_path: Path) -> None:
    path = tmp_path / "anim.gif"
    frames = [Image.new("RGB", (20, 20), c) for c in ("red", "green", "blue")]
    frames[0].save(path, save_all=True, append_images=frames[1:], duration=100)
    part = ingest([path])[0]
    assert part.notes == (reason("note.first_frame", format="GIF", frames=3),)
    assert str(part.notes[0]) == "animated GIF: first frame of 3 used"
    assert part.image.getpixel((5, 5))[0] > 200


def test_large_image_is_downscaled_to_the_limit_with_a_note(tmp_path: Path) -> None:
    path = image_file(tmp_path, "big.png", size=(400, 300))
    part = load_image(path, "big.png", MediaLimits(image_max_pixels=10_000))
    assert part.size[0] * part.size[1] <= 10_000
    (note,) = part.notes
    assert note.key == "note.downscaled"
    assert (note.params["width"], note.params["height"]) == (400, 300)
    assert str(note).startswith("downscaled from 400x300 to ")


def test_header_size_is_checked_before_decoding(tmp_path: Path, monkeypatch) -> None:
    path = image_file(tmp_path, "wide.png", size=(200, 100))
    monkeypatch.setattr("glmv_ui.media.images.MAX_DECODE_PIXELS", 10_000)
    loaded: list[bool] = []
    monkeypatch.setattr(Image.Image, "load", lambda self: loaded.append(True))
    with pytest.raises(MediaBudgetError, match=r"wide.png: is 200x100 pixels, more than"):
        load_image(path, "wide.png")
    assert not loaded
    assert MAX_DECODE_PIXELS >= 7000 * 7000


def test_extreme_aspect_ratio_is_refused(tmp_path: Path) -> None:
    with pytest.raises(UnsupportedMediaError, match=r"strip.png.*200:1"):
        ingest([image_file(tmp_path, "strip.png", size=(4020, 10))])


def test_svg_and_text_are_refused_by_name(tmp_path: Path) -> None:
    svg = tmp_path / "logo.svg"
    svg.write_text('<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg"/>')
    with pytest.raises(UnsupportedMediaError, match=r"logo.svg: is an SVG"):
        ingest([svg])
    fake = tmp_path / "photo.jpg"
    fake.write_text("hello")
    with pytest.raises(UnsupportedMediaError, match=r"photo.jpg: does not hold JPEG data"):
        ingest([fake])


def test_truncated_image_is_refused_and_display_name_is_used(tmp_path: Path) -> None:
    good = image_file(tmp_path, "tmp123.jpg", size=(300, 200), quality=95)
    cut = tmp_path / "cut.jpg"
    cut.write_bytes(good.read_bytes()[:600])
    with pytest.raises(MediaError, match=r"holiday.jpg: is damaged or incomplete") as info:
        ingest([cut], names=["holiday.jpg"])
    assert info.value.__cause__ is not None
    assert ingest([good], names=["next.jpg"])[0].source == "next.jpg"
