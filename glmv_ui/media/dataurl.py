"""A picture as a ``data:`` URL: the one encoder behind an export's embedded images, the
notebook's figures and the pictures sent to an OpenAI-compatible server.

PIL is not imported here: the image passed in brings its own ``save``.
"""

from __future__ import annotations

import base64
import io
from typing import Any, Literal

__all__ = ["data_url"]

_KEPT_MODES = ("RGB", "RGBA", "L")  # PNG keeps these as they are; others are made RGB


def data_url(
    image: Any, fmt: Literal["png", "jpeg"] = "png", *, max_width: int | None = None
) -> str:
    """``image`` (a PIL image) as a PNG or JPEG (quality 90) ``data:`` URL, scaled down to
    ``max_width`` pixels across when it is wider (never up)."""
    if max_width is not None and image.width > max_width:
        image = image.resize((max_width, max(1, round(image.height * max_width / image.width))))
    buf = io.BytesIO()
    if fmt == "jpeg":
        image.convert("RGB").save(buf, format="JPEG", quality=90)
    else:
        (image if image.mode in _KEPT_MODES else image.convert("RGB")).save(buf, format="PNG")
    return f"data:image/{fmt};base64," + base64.b64encode(buf.getvalue()).decode("ascii")
