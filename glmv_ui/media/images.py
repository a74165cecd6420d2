"""Image files -> one RGB :class:`MediaPart` each, upright, with colours and sizes made safe.

Handles JPEG, PNG, WebP, GIF (first frame), BMP and TIFF (first page). Every mode ends as 8-bit
RGB: transparency is composited over white, CMYK goes through Pillow's conversion (which knows
Adobe's inverted CMYK JPEGs), and 16/32-bit data is scaled by its real range instead of clipped.
The pixel count is checked from the header before any pixel data is decoded.
"""

from __future__ import annotations

import os
import warnings
from typing import IO, TYPE_CHECKING, Any

from ..config import MediaLimits
from ..errors import MediaBudgetError, MediaError, UnsupportedMediaError
from ..reasons import Reason, reason
from .budget import DEFAULT_LIMITS
from .parts import MediaPart

if TYPE_CHECKING:
    from PIL import Image

__all__ = ["MAX_ASPECT", "MAX_DECODE_PIXELS", "check_pixels", "load_image", "to_rgb"]

# Above this many pixels an image is refused unread: 64 Mpx RGBA is already 256 MB decoded.
MAX_DECODE_PIXELS = 64_000_000
# The processors refuse images longer than 200:1; refuse them here with a message instead.
MAX_ASPECT = 200
_BOMB = reason("image.too_many_pixels", limit=MAX_DECODE_PIXELS // 1_000_000)
SUPPORTED_FORMATS = {"JPEG", "PNG", "WEBP", "GIF", "BMP", "TIFF", "MPO"}


def load_image(path: str | os.PathLike[str] | IO[bytes], name: str | Reason,
               limits: MediaLimits = DEFAULT_LIMITS) -> MediaPart:
    """Read one image (a file, or a binary stream such as an embedded image's bytes) into an
    RGB :class:`MediaPart`, downscaled to ``limits.image_max_pixels``; refusals raise
    :class:`MediaError`, and the pixel count is checked before any pixel is decoded."""
    from PIL import Image, ImageOps, UnidentifiedImageError

    try:
        with warnings.catch_warnings():
            # Pillow warns (not raises) between its two bomb thresholds; we have our own limit.
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            img = Image.open(path)
    except Image.DecompressionBombError as exc:
        raise MediaBudgetError(name, _BOMB) from exc
    except UnidentifiedImageError as exc:
        raise UnsupportedMediaError(name, _unreadable_reason(path)) from exc
    except OSError as exc:
        raise MediaError(name, reason("image.damaged")) from exc
    with img:
        return _convert(img, name, limits, ImageOps, Image)


def check_pixels(width: int, height: int, name: str | Reason) -> None:
    """Refuse a size no image may have, from the header, before anything is decoded."""
    if width * height > MAX_DECODE_PIXELS:
        raise MediaBudgetError(name, reason("image.pixels", width=width, height=height,
                                            limit=MAX_DECODE_PIXELS // 1_000_000))
    if max(width, height) > MAX_ASPECT * max(1, min(width, height)):
        raise UnsupportedMediaError(name, reason("image.aspect", width=width, height=height,
                                                 ratio=MAX_ASPECT))


def _unreadable_reason(path: str | os.PathLike[str] | IO[bytes]) -> Reason:
    if isinstance(path, (str, os.PathLike)):
        with open(path, "rb") as fh:
            head = fh.read(512)
    else:
        path.seek(0)
        head = path.read(512)
    if head[:4] in (b"II*\x00", b"MM\x00*"):
        return reason("image.tiff")
    if b"<svg" in head.lower():
        return reason("file.svg")
    return reason("image.unreadable")


def _convert(img: Image.Image, name: str | Reason, limits: MediaLimits, ImageOps: Any,
             Image: Any) -> MediaPart:
    notes: list[str] = []
    if img.format not in SUPPORTED_FORMATS:
        raise UnsupportedMediaError(name, reason("image.format", format=str(img.format)))
    width, height = img.size
    check_pixels(width, height, name)
    frames = getattr(img, "n_frames", 1)
    if frames > 1:
        what = "animated GIF" if img.format == "GIF" else f"{img.format} with {frames} pages"
        unit = "frame" if img.format in ("GIF", "WEBP", "PNG") else "page"
        if img.format in ("WEBP", "PNG"):
            what = f"animated {img.format}"
        notes.append(f"{what}: first {unit} of {frames} used")
    target = limits.image_max_pixels
    if img.format == "JPEG" and width * height > target:
        # DCT-domain downscaling while decoding: a 7000x7000 JPEG decodes at 1/4 the size.
        scale = (width * height / target) ** 0.5
        img.draft(img.mode, (int(width / scale), int(height / scale)))
    try:
        img.load()
        upright = ImageOps.exif_transpose(img)
        rgb = to_rgb(upright)
    except Image.DecompressionBombError as exc:
        raise MediaBudgetError(name, _BOMB) from exc
    except (OSError, ValueError, SyntaxError) as exc:
        raise MediaError(name, reason("image.damaged")) from exc
    if rgb.width * rgb.height > target:
        scale = (rgb.width * rgb.height / target) ** 0.5
        size = (max(1, int(rgb.width / scale)), max(1, int(rgb.height / scale)))
        rgb = rgb.resize(size, Image.Resampling.LANCZOS, reducing_gap=3.0)
        notes.append(f"downscaled from {width}x{height} to {size[0]}x{size[1]} pixels")
    return MediaPart(kind="image", source=str(name), image=rgb, notes=tuple(notes),
                     meta={"format": img.format, "mode": img.mode,
                           "original_size": (width, height)})


def to_rgb(img: Image.Image) -> Image.Image:
    """Any Pillow mode -> 8-bit RGB: alpha over white, high bit depths scaled by their range."""
    from PIL import Image

    mode = img.mode
    if mode == "RGB" and "transparency" not in img.info:
        return img
    if mode == "P":
        has_alpha = "transparency" in img.info or (img.palette is not None and \
            img.palette.mode == "RGBA")
        img = img.convert("RGBA" if has_alpha else "RGB")
        mode = img.mode
    if mode in ("I;16", "I;16B", "I;16L", "I;16N", "I", "F"):
        return _scale_to_l(img).convert("RGB")
    if mode in ("RGBA", "LA", "PA", "RGBa", "La") or (
            mode in ("L", "RGB") and "transparency" in img.info):
        rgba = img.convert("RGBA")
        background = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        return Image.alpha_composite(background, rgba).convert("RGB")
    # CMYK (Pillow handles Adobe's inverted JPEGs while decoding), YCbCr, LAB, L, 1, HSV...
    return img.convert("RGB")


def _scale_to_l(img: Image.Image) -> Image.Image:
    """A one-channel image of 16/32-bit ints or floats -> 8-bit L, scaled by its real range.

    Integer data is divided by the full range of the smallest common bit depth (8, 10, 12, 14,
    16 bits) that holds its maximum, so a 16-bit photo keeps its brightness and 12-bit data is not
    left dark; float data and negative values are stretched from their minimum to their maximum.
    """
    if img.mode.startswith("I;16"):
        img = img.convert("I")  # widen first: Pillow's I;16 -> L conversion clips at 255
    low, high = img.getextrema()  # one band: two numbers
    assert isinstance(low, (int, float)) and isinstance(high, (int, float))
    if img.mode == "F" or low < 0:
        span_low, span_high = float(low), float(high)
    else:
        span_low = 0.0
        span_high = next((float(2**bits - 1) for bits in (8, 10, 12, 14, 16, 24, 31)
                          if high <= 2**bits - 1), float(high))
    if span_high <= span_low:
        return img.point(lambda _v: 0).convert("L")
    scale = 255.0 / (span_high - span_low)
    return img.point(lambda v: (v - span_low) * scale).convert("L")
