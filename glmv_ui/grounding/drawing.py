"""Draw boxes and GUI-action targets on a copy of an image.

PIL is imported inside the functions, never at import of the package. This module must not parse
answers: it draws the boxes and actions it is given.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from .actions import Action
from .boxes import GRID, Box

if TYPE_CHECKING:
    from PIL import Image

__all__ = ["BOX_COLORS", "draw_boxes"]

# Distinct, saturated colours that read on photos and screenshots alike (legend uses the same).
BOX_COLORS: tuple[str, ...] = (
    "#e6194b",
    "#3cb44b",
    "#4363d8",
    "#f58231",
    "#911eb4",
    "#00a3a3",
    "#f032e6",
    "#9a6324",
    "#808000",
    "#000075",
)


def _font(size: int) -> Any:
    from PIL import ImageFont

    try:
        return ImageFont.load_default(size=size)
    except (TypeError, OSError, ImportError):  # no FreeType: the small bitmap font
        return ImageFont.load_default()


def draw_boxes(
    image: Image.Image, boxes: Sequence[Box], actions: Sequence[Action] = ()
) -> Image.Image:
    """A copy of the image with each box outlined and tagged, and each action's target marked."""
    from PIL import ImageDraw

    canvas = image.convert("RGB") if image.mode != "RGB" else image.copy()
    width, height = canvas.size
    draw = ImageDraw.Draw(canvas)
    line = max(2, round(min(width, height) / 250))
    font = _font(max(10, round(min(width, height) / 40)))

    def tag(x: int, y: int, text: str, color: str) -> None:
        try:
            bbox = draw.textbbox((0, 0), text, font=font)
        except UnicodeError:
            text = text.encode("ascii", "replace").decode()
            bbox = draw.textbbox((0, 0), text, font=font)
        tw, th = bbox[2] - bbox[0] + 2 * line, bbox[3] - bbox[1] + 2 * line
        ty = y - th if y - th >= 0 else y
        tx = min(max(x, 0), max(width - tw, 0))
        draw.rectangle((tx, ty, tx + tw, ty + th), fill=color)
        draw.text((tx + line - bbox[0], ty + line - bbox[1]), text, fill="white", font=font)

    def outline(box: Box, color: str, text: str) -> None:
        left, top, right, bottom = box.to_pixels(width, height)
        right, bottom = max(min(right, width - 1), left), max(min(bottom, height - 1), top)
        draw.rectangle((left, top, right, bottom), outline=color, width=line)
        tag(left, top, text, color)

    for box in boxes:
        color = BOX_COLORS[(box.index - 1) % len(BOX_COLORS)]
        outline(box, color, f"{box.index} {box.label}".strip() if box.label else str(box.index))
    for k, action in enumerate(actions):
        color = BOX_COLORS[(len(boxes) + k) % len(BOX_COLORS)]
        if action.box is not None:
            outline(action.box, color, action.label)
        if action.point is not None:
            px = min(max(round(action.point[0] / GRID * width), 0), width - 1)
            py = min(max(round(action.point[1] / GRID * height), 0), height - 1)
            r = max(4, round(min(width, height) / 60))
            draw.ellipse((px - r, py - r, px + r, py + r), outline=color, width=line)
            draw.line((px - 2 * r, py, px + 2 * r, py), fill=color, width=line)
            draw.line((px, py - 2 * r, px, py + 2 * r), fill=color, width=line)
            if action.box is None:
                tag(px + r, py - r, action.label, color)
    return canvas
