"""Image files -> one RGB :class:`MediaPart` each, upright, with colours and sizes made safe.

Handles JPEG, PNG, WebP, GIF (first frame), BMP and TIFF (first page). Every mode ends as 8-bit
RGB: transparency is composited over white, CMYK goes through Pillow's conversion (which knows
Adobe's inverted CMYK JPEGs), and 16/32-bit data is scaled by its real range instead of clipped.
The pixel count and the decoded size (pixels x channels x bytes per sample) are checked from the
header before any pixel data is decoded. A JPEG larger than the target is decoded at reduced size
(DCT scaling, ``draft``); other formats are decoded once and at once reduced by an integer factor
(box filter) towards the target, the full-size buffer freed before any colour conversion, so a
file costs its decoded size once, plus small copies.
"""

from __future__ import annotations

import os
import warnings
from dataclasses import dataclass
from typing import IO, TYPE_CHECKING, Any

from ..config import MediaLimits
from ..errors import MediaBudgetError, MediaError, UnsupportedMediaError
from ..reasons import Reason, reason
from .budget import DEFAULT_LIMITS
from .parts import MediaPart

if TYPE_CHECKING:
    from PIL import Image
    from PIL.Image import Image as PILImage

__all__ = [
    "MAX_ASPECT",
    "MAX_DECODE_BYTES",
    "MAX_DECODE_PIXELS",
    "JpegFrame",
    "check_decoded",
    "check_jpeg_whole",
    "check_pixels",
    "decoded_bytes",
    "jpeg_frame",
    "load_image",
    "to_rgb",
]

# Above this many pixels an image is refused unread: 64 Mpx RGBA is already 256 MB decoded.
MAX_DECODE_PIXELS = 64_000_000
# The processors refuse images longer than 200:1; refuse them here with a message instead.
MAX_ASPECT = 200
# The most one image may take decoded (before it is reduced): a 7999x7999 RGBA PNG is 244 MiB.
MAX_DECODE_BYTES = 256 * 2**20
_BOMB = reason("image.too_many_pixels", limit=MAX_DECODE_PIXELS // 1_000_000)
SUPPORTED_FORMATS = {"JPEG", "PNG", "WEBP", "GIF", "BMP", "TIFF", "MPO"}


def load_image(
    path: str | os.PathLike[str] | IO[bytes],
    name: str | Reason,
    limits: MediaLimits = DEFAULT_LIMITS,
) -> MediaPart:
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
        if img.format in ("JPEG", "MPO"):
            check_pixels(img.width, img.height, name)
            frame = _jpeg_frame_of(path)
            if frame is None and (img.info.get("progressive") or img.info.get("progression")):
                frame = JpegFrame(
                    img.width, img.height, tuple((1, 1) for _ in img.getbands()), True, False
                )
            if frame is not None:
                check_jpeg_whole(frame, name)  # before the draft: its scale does not help
        return _convert(img, name, limits, ImageOps, Image)


def check_pixels(width: int, height: int, name: str | Reason) -> None:
    """Refuse a size no image may have, from the header, before anything is decoded."""
    if width * height > MAX_DECODE_PIXELS:
        raise MediaBudgetError(
            name,
            reason(
                "image.pixels", width=width, height=height, limit=MAX_DECODE_PIXELS // 1_000_000
            ),
        )
    if max(width, height) > MAX_ASPECT * max(1, min(width, height)):
        raise UnsupportedMediaError(
            name, reason("image.aspect", width=width, height=height, ratio=MAX_ASPECT)
        )


def _sample_bits(mode: str) -> int:
    if mode.startswith("I;16"):
        return 16
    return 32 if mode in ("I", "F") else 8


def decoded_bytes(width: int, height: int, mode: str) -> int:
    """Bytes the decoded picture takes: pixels x channels x bytes per sample."""
    from PIL import Image

    return width * height * Image.getmodebands(mode) * _sample_bits(mode) // 8


def check_decoded(width: int, height: int, mode: str, name: str | Reason) -> None:
    """Refuse, from the header, an image whose decoded size exceeds :data:`MAX_DECODE_BYTES`."""
    from PIL import Image

    size = decoded_bytes(width, height, mode)
    if size > MAX_DECODE_BYTES:
        raise MediaBudgetError(
            name,
            reason(
                "image.decoded",
                decoded_mb=size / 2**20,
                width=width,
                height=height,
                channels=Image.getmodebands(mode),
                bits=_sample_bits(mode),
                limit_mb=MAX_DECODE_BYTES // 2**20,
            ),
        )


@dataclass(frozen=True)
class JpegFrame:
    """What a JPEG's frame header and first scan header say, read before any pixel."""

    width: int
    height: int
    sampling: tuple[tuple[int, int], ...]  # (horizontal, vertical) factor per component
    progressive: bool  # SOF2, SOF6, SOF10, SOF14
    multi_scan: bool  # its first scan holds fewer components than the frame

    @property
    def whole_image(self) -> bool:
        """Whether the decoder keeps every coefficient of the image while decoding (progressive
        and multi-scan files), whatever the scale it decodes at."""
        return self.progressive or self.multi_scan

    def coefficient_bytes(self) -> int:
        """The size of the whole-image coefficient buffer: 64 16-bit values per 8x8 block of
        each component, the blocks padded to whole MCUs."""
        hmax = max(h for h, _ in self.sampling)
        vmax = max(v for _, v in self.sampling)
        mcus_x = -(-self.width // (8 * hmax))
        mcus_y = -(-self.height // (8 * vmax))
        return sum(mcus_x * h * mcus_y * v * 64 * 2 for h, v in self.sampling)


_SOF = {0xC0, 0xC1, 0xC2, 0xC3, 0xC5, 0xC6, 0xC7, 0xC9, 0xCA, 0xCB, 0xCD, 0xCE, 0xCF}
_PROGRESSIVE_SOF = {0xC2, 0xC6, 0xCA, 0xCE}


def jpeg_frame(fh: IO[bytes]) -> JpegFrame | None:
    """Walk a JPEG's markers (from the stream's current position) up to its first scan; None
    when it is not a JPEG or its headers are cut short. Reads headers only."""
    if fh.read(2) != b"\xff\xd8":
        return None
    frame: tuple[int, int, tuple[tuple[int, int], ...], bool] | None = None
    for _ in range(4096):  # real files have a few dozen segments before the first scan
        byte = fh.read(1)
        while byte == b"\xff":
            byte = fh.read(1)
        if not byte:
            return None
        marker = byte[0]
        if marker in (0x01, *range(0xD0, 0xD8)):
            continue  # markers without a length
        raw = fh.read(2)
        if len(raw) < 2:
            return None
        length = int.from_bytes(raw, "big") - 2
        if length < 0:
            return None
        if marker in _SOF:
            body = fh.read(length)
            if len(body) < 6:
                return None
            height, width, count = (
                int.from_bytes(body[1:3], "big"),
                int.from_bytes(body[3:5], "big"),
                body[5],
            )
            sampling = tuple(
                (max(1, body[7 + 3 * i] >> 4), max(1, body[7 + 3 * i] & 15))
                for i in range(count)
                if 8 + 3 * i < len(body)
            )
            if not sampling:
                return None
            frame = (width, height, sampling, marker in _PROGRESSIVE_SOF)
        elif marker == 0xDA:
            if frame is None:
                return None
            scan = fh.read(1)
            comps = scan[0] if scan else 0
            return JpegFrame(frame[0], frame[1], frame[2], frame[3], 0 < comps < len(frame[2]))
        else:
            fh.seek(length, os.SEEK_CUR)
    return None


def check_jpeg_whole(frame: JpegFrame, name: str | Reason) -> None:
    """Refuse a progressive or multi-scan JPEG whose whole-image coefficient buffer (which the
    decoder allocates whatever the scale) exceeds :data:`MAX_DECODE_BYTES`."""
    if not frame.whole_image:
        return
    size = frame.coefficient_bytes()
    if size > MAX_DECODE_BYTES:
        raise MediaBudgetError(
            name,
            reason(
                "image.jpeg_progressive" if frame.progressive else "image.jpeg_multiscan",
                decoded_mb=size / 2**20,
                width=frame.width,
                height=frame.height,
                channels=len(frame.sampling),
                limit_mb=MAX_DECODE_BYTES // 2**20,
            ),
        )


def _jpeg_frame_of(path: str | os.PathLike[str] | IO[bytes]) -> JpegFrame | None:
    try:
        if isinstance(path, (str, os.PathLike)):
            with open(path, "rb") as fh:
                return jpeg_frame(fh)
        where = path.tell()
        try:
            path.seek(0)
            return jpeg_frame(path)
        finally:
            path.seek(where)
    except (OSError, ValueError):
        return None


def _shrink(img: Image.Image, target: int, Image: Any) -> Image.Image:
    """Reduce a decoded image by the largest integer factor that keeps it above ``target``
    pixels; the full-size original is closed (its buffer freed)."""
    factor = int((img.width * img.height / target) ** 0.5)
    if factor < 2:
        return img
    out_w, out_h = max(1, img.width // factor), max(1, img.height // factor)
    small: PILImage = Image.new(img.mode, (out_w, out_h))
    if img.mode == "P" and img.palette is not None:
        small.putpalette(img.palette)
    # Strip by strip: resampling RGBA premultiplies a copy of what it is given, so a whole-image
    # call would briefly double the decoded size.
    rows = factor * max(1, (16 * 2**20) // max(1, img.width * 4 * factor))
    for top in range(0, out_h * factor, rows):
        bottom = min(top + rows, out_h * factor)
        strip = img.crop((0, top, out_w * factor, bottom))
        if img.mode in ("1", "P") or img.mode.startswith("I;16"):
            piece = strip.resize(
                (out_w, (bottom - top) // factor),
                Image.Resampling.NEAREST if img.mode in ("1", "P") else Image.Resampling.BOX,
            )
        else:
            piece = strip.reduce(factor)
        small.paste(piece, (0, top // factor))
        del strip, piece
    small.info = dict(img.info)
    img.close()
    return small


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


def _convert(
    img: Image.Image, name: str | Reason, limits: MediaLimits, ImageOps: Any, Image: Any
) -> MediaPart:
    notes: list[Reason] = []
    if img.format not in SUPPORTED_FORMATS:
        raise UnsupportedMediaError(name, reason("image.format", format=str(img.format)))
    width, height = img.size
    check_pixels(width, height, name)
    frames = getattr(img, "n_frames", 1)
    if frames > 1 and img.format in ("GIF", "WEBP", "PNG"):
        notes.append(reason("note.first_frame", format=str(img.format), frames=frames))
    elif frames > 1:
        notes.append(reason("note.first_page", format=str(img.format), frames=frames))
    target = limits.image_max_pixels
    fmt, mode = img.format, img.mode
    if img.format == "JPEG" and width * height > target:
        # DCT-domain downscaling while decoding: a 7000x7000 JPEG decodes at 1/4 the size.
        scale = (width * height / target) ** 0.5
        img.draft(img.mode, (int(width / scale), int(height / scale)))
    check_decoded(img.width, img.height, img.mode, name)  # the size that will be decoded
    try:
        img.load()
        exif = img.getexif()
        small = _shrink(img, target, Image)
        if small is not img:
            small.getexif().update(exif)  # the orientation survives the reduction
        upright = ImageOps.exif_transpose(small)
        rgb = to_rgb(upright)
    except Image.DecompressionBombError as exc:
        raise MediaBudgetError(name, _BOMB) from exc
    except (OSError, ValueError, SyntaxError) as exc:
        raise MediaError(name, reason("image.damaged")) from exc
    if rgb.width * rgb.height > target:
        scale = (rgb.width * rgb.height / target) ** 0.5
        size = (max(1, int(rgb.width / scale)), max(1, int(rgb.height / scale)))
        rgb = rgb.resize(size, Image.Resampling.LANCZOS, reducing_gap=3.0)
        notes.append(
            reason(
                "note.downscaled",
                width=width,
                height=height,
                new_width=size[0],
                new_height=size[1],
            )
        )
    return MediaPart(
        kind="image",
        source=str(name),
        image=rgb,
        notes=tuple(notes),
        meta={"format": fmt, "mode": mode, "original_size": (width, height)},
    )


def to_rgb(img: Image.Image) -> Image.Image:
    """Any Pillow mode -> 8-bit RGB: alpha over white, high bit depths scaled by their range."""
    from PIL import Image

    mode = img.mode
    if mode == "RGB" and "transparency" not in img.info:
        return img
    if mode == "P":
        has_alpha = "transparency" in img.info or (
            img.palette is not None and img.palette.mode == "RGBA"
        )
        img = img.convert("RGBA" if has_alpha else "RGB")
        mode = img.mode
    if mode in ("I;16", "I;16B", "I;16L", "I;16N", "I", "F"):
        return _scale_to_l(img).convert("RGB")
    if mode in ("RGBA", "LA", "PA", "RGBa", "La") or (
        mode in ("L", "RGB") and "transparency" in img.info
    ):
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
    assert isinstance(low, (int, float))
    assert isinstance(high, (int, float))
    if img.mode == "F" or low < 0:
        span_low, span_high = float(low), float(high)
    else:
        span_low = 0.0
        span_high = next(
            (float(2**bits - 1) for bits in (8, 10, 12, 14, 16, 24, 31) if high <= 2**bits - 1),
            float(high),
        )
    if span_high <= span_low:
        return img.point(lambda _v: 0).convert("L")
    scale = 255.0 / (span_high - span_low)
    return img.point(lambda v: (v - span_low) * scale).convert("L")
