"""Boxes as text: table rows, a JSON export, and the answer's box markers turned into highlights.

This module must not parse boxes out of answers or draw: it formats the boxes it is given.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Sequence
from typing import Any

from ..stream import BOX_BEGIN, BOX_END
from .boxes import MARKED_RE, Box

__all__ = ["boxes_table", "boxes_to_json", "highlight_boxes_markdown", "number_list"]


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def number_list(values: Sequence[float]) -> str:
    """Coordinates as a legend writes them: ``150, 340`` (no trailing ``.0``)."""
    return ", ".join(f"{v:g}" for v in values)


def highlight_boxes_markdown(answer: str) -> str:
    """Replace box markers with ``<mark class="glmv-box">…</mark>`` (one per line of the span)."""

    def mark(m: re.Match[str]) -> str:
        inner = m.group(1).replace(BOX_BEGIN, "").replace(BOX_END, "")
        lines = inner.split("\n")
        return "\n".join(
            f'<mark class="glmv-box">{_escape(line)}</mark>' if line.strip() else line
            for line in lines
        )

    return MARKED_RE.sub(mark, answer).replace(BOX_END, "")


def boxes_table(boxes: Iterable[Box], width: int, height: int) -> list[dict[str, Any]]:
    """One row per box: grid coordinates and pixel coordinates for an image of this size."""
    rows = []
    for box in boxes:
        left, top, right, bottom = box.to_pixels(width, height)
        rows.append(
            {
                "index": box.index,
                "label": box.label,
                "x1": box.x1,
                "y1": box.y1,
                "x2": box.x2,
                "y2": box.y2,
                "left": left,
                "top": top,
                "right": right,
                "bottom": bottom,
                "image_index": box.image_index,
            }
        )
    return rows


def boxes_to_json(boxes: Iterable[Box], width: int, height: int, source: str = "") -> str:
    """A JSON export of the boxes with the image size and the coordinate convention."""
    payload = {
        "source": source,
        "image": {"width": width, "height": height},
        "grid": "x1,y1,x2,y2 normalised to 0-1000 of the image width and height",
        "boxes": boxes_table(boxes, width, height),
    }
    return json.dumps(payload, ensure_ascii=False, indent=2)
