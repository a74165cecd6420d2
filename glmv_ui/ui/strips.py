"""Thumbnail strips of uploads: one picture per file (its pages, slides or video frames) and a
caption saying what was read from it. PIL is imported inside the drawing functions.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Literal

from ..media.budget import part_tokens
from ..media.parts import MediaPart, span
from ..reasons import Reason, plain, reason
from .i18n import t
from .reasons_zh import reason_line

__all__ = [
    "display_name",
    "format_time",
    "group_caption",
    "group_parts",
    "join_strips",
    "strip_image",
    "used_range",
]

STRIP_MAX_TILES = 8
THUMB_HEIGHT = 150


def display_name(name: str) -> str:
    """A file's name as the user chose it: browsers send ``"``, CR and LF in an upload's name
    as ``%22``, ``%0D``, ``%0A`` (the HTML form-encoding rule); nothing else is decoded."""
    return name.replace("%22", '"').replace("%0D", "\r").replace("%0A", "\n")


def group_parts(parts: Sequence[MediaPart]) -> list[list[MediaPart]]:
    """Consecutive parts from the same upload, e.g. the pages of one PDF, form one group."""
    groups: list[list[MediaPart]] = []
    for part in parts:
        if (
            groups
            and groups[-1][0].source == part.source
            and part.kind == "image"
            and (part.page is not None or part.slide is not None)
        ):
            groups[-1].append(part)
        else:
            groups.append([part])
    return groups


def format_time(seconds: float) -> str:
    seconds = max(0.0, seconds)
    minutes, secs = divmod(seconds, 60)
    return f"{int(minutes)}:{secs:04.1f}" if seconds < 600 else f"{int(minutes)}:{int(secs):02d}"


def _tiles(group: Sequence[MediaPart]) -> list[tuple[Any, str]]:
    """(image, caption) pairs to draw: pages/slides numbered, video frames timed."""
    if group[0].kind == "video":
        video = group[0]
        frames = list(zip(video.frames, video.timestamps, strict=False))
        if len(frames) > STRIP_MAX_TILES:
            step = (len(frames) - 1) / (STRIP_MAX_TILES - 1)
            frames = [frames[round(i * step)] for i in range(STRIP_MAX_TILES)]
        return [(img, format_time(ts)) for img, ts in frames]
    tiles = []
    for part in group[:STRIP_MAX_TILES]:
        if part.page is not None:
            caption = f"p. {part.page}"
        elif part.slide is not None:
            caption = f"slide {part.slide}"
        else:
            caption = f"{part.size[0]}x{part.size[1]}"  # the bitmap font has no ×
        tiles.append((part.image, caption))
    return tiles


def _font(size: int) -> Any:
    from PIL import ImageFont

    try:
        return ImageFont.load_default(size=size)
    except (TypeError, OSError, ImportError):  # no FreeType: the small bitmap font
        return ImageFont.load_default()


def strip_image(group: Sequence[MediaPart], height: int = THUMB_HEIGHT) -> Any:
    """One picture per upload: its pages, slides or video frames side by side, captioned."""
    from PIL import Image, ImageDraw

    tiles = _tiles(group)
    hidden = len(group) - len(tiles) if group[0].kind == "image" else 0
    pad, caption_h = 6, 20
    thumbs = []
    for img, caption in tiles:
        scale = height / max(1, img.height)
        width = max(1, min(round(img.width * scale), height * 3))
        thumbs.append((img.convert("RGB").resize((width, height)), caption))
    total_w = pad + sum(t.width + pad for t, _ in thumbs) + (height // 2 + pad if hidden else 0)
    canvas = Image.new("RGB", (total_w, height + caption_h + 2 * pad), "#f3f4f6")
    draw = ImageDraw.Draw(canvas)
    font = _font(13)
    x = pad
    for thumb, caption in thumbs:
        canvas.paste(thumb, (x, pad))
        draw.rectangle((x - 1, pad - 1, x + thumb.width, pad + height), outline="#d1d5db")
        tw = draw.textlength(caption, font=font)
        draw.text(
            (x + (thumb.width - tw) / 2, pad + height + 3), caption, fill="#374151", font=font
        )
        x += thumb.width + pad
    if hidden:
        draw.text((x + 4, pad + height / 2 - 8), f"+{hidden}", fill="#374151", font=_font(18))
    return canvas


def join_strips(paths: Sequence[str], gap: int = 10) -> Any:
    """The strips of several uploads side by side, for the preview before sending."""
    from PIL import Image

    images = [Image.open(p).convert("RGB") for p in paths]
    height = max(i.height for i in images)
    canvas = Image.new(
        "RGB", (sum(i.width for i in images) + gap * (len(images) - 1), height), "white"
    )
    x = 0
    for img in images:
        canvas.paste(img, (x, 0))
        x += img.width + gap
    return canvas


def used_range(group: Sequence[MediaPart]) -> Reason:
    """What of the file is used: ``pages 1–16 of 117``, ``slides 2–3 of 4``, ``24 frames,
    0:00.0–0:11.5 of 0:12.0``, or the image's size."""
    first = group[0]
    if first.kind == "video":
        ts = first.timestamps or (0.0,)
        length = format_time(first.duration) if first.duration else format_time(ts[-1])
        return reason(
            "range.frames",
            count=len(first.frames),
            start=format_time(ts[0]),
            end=format_time(ts[-1]),
            total=length,
        )
    numbers = [n for p in group if (n := p.page if p.page is not None else p.slide) is not None]
    if numbers:
        unit: Literal["page", "slide"] = "page" if first.page is not None else "slide"
        total = first.page_count or len(group)
        return span(unit, min(numbers), max(numbers), total)
    return plain(f"{first.size[0]}×{first.size[1]}")


# The reader's own "pages 1–16 of 117 used" notes: the caption already says which are used.
_RANGE_NOTES = {"note.used", "note.pages_capped", "note.slides_capped"}


def group_caption(group: Sequence[MediaPart], lang: str = "en") -> str:
    """``report.pdf · pages 1–16 of 117 · ~3,000 visual tokens`` (plus the reader's notes)."""
    first = group[0]
    bits = [
        display_name(first.source),
        reason_line(used_range(group), lang),
        t(lang, "tokens", n=sum(part_tokens(p) for p in group)),
    ]
    notes = [
        reason_line(n, lang)
        for n in dict.fromkeys(n for p in group for n in p.notes)
        if not (first.page_count is not None and n.key in _RANGE_NOTES)
    ]
    if first.page_count is not None and len(group) < first.page_count:
        unit = "pages" if first.page is not None else "slides"
        notes.insert(0, t(lang, f"range_hint_{unit}", total=first.page_count))
    return " · ".join(bits) + "".join(f"\n\n*{n}*" for n in notes)
