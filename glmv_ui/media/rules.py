"""The conversation rules, one set for every way media gets in.

Uploads (:func:`~glmv_ui.media.ingest.ingest`, which the app, its API and MCP tool, the notebook
and the CLI all use) and imported conversations (:func:`glmv_ui.export.from_json`) call these
functions, so a rule changes in one place:

* a file is at most ``limits.max_upload_mb``;
* images and a video never share a conversation, and a conversation holds one video at most;
* at most ``limits.max_images`` images (PDF pages and slides count as images);
* the visual tokens of all media fit ``context_tokens - reserve_tokens``.

Pixel limits (read from an image's header before it is decoded) live with the image reader,
:func:`glmv_ui.media.images.check_pixels`. Each refusal is a
:class:`~glmv_ui.errors.MediaBudgetError` naming the file. Standard library only.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

from ..config import MediaLimits
from ..errors import MediaBudgetError
from ..reasons import Reason, reason
from .budget import check_budget
from .parts import MediaPart

__all__ = ["admit", "check_file_size", "check_visual_budget", "count_kinds"]


def check_file_size(size: int, name: str, limits: MediaLimits) -> None:
    """Refuse a file larger than ``limits.max_upload_mb``."""
    if size > limits.max_upload_mb * 1024 * 1024:
        raise MediaBudgetError(
            name, reason("file.too_large", size_mb=size / 2**20, limit_mb=limits.max_upload_mb)
        )


def count_kinds(parts: Sequence[MediaPart]) -> tuple[int, int]:
    """(images, videos) among ``parts``."""
    images = sum(1 for p in parts if p.kind == "image")
    return images, len(parts) - images


def admit(
    name: str | Reason,
    kind: Literal["image", "video"],
    images: int,
    videos: int,
    limits: MediaLimits,
) -> int:
    """Whether a conversation holding ``images`` and ``videos`` may take one more of ``kind``.

    Returns the room left for images (0 when adding a video); raises when the rules refuse.
    """
    if kind == "video" and images:
        raise MediaBudgetError(name, reason("rules.video_after_images"))
    if kind == "video" and videos:
        raise MediaBudgetError(name, reason("rules.second_video"))
    if kind == "video":
        return 0
    if videos:
        raise MediaBudgetError(name, reason("rules.images_after_video"))
    room = limits.max_images - images
    if room < 1:
        raise MediaBudgetError(name, reason("rules.too_many_images", limit=limits.max_images))
    return room


def check_visual_budget(
    parts: Sequence[MediaPart],
    limits: MediaLimits,
    existing: Sequence[MediaPart] = (),
    *,
    name: str | None = None,
) -> None:
    """Refuse ``parts`` when their visual tokens, with ``existing``, do not fit the context.

    ``name`` is the file to blame; by default the sources of ``parts``.
    """
    report = check_budget(parts, limits, existing)
    if report.refusal is not None:
        source = name or ", ".join(dict.fromkeys(p.source for p in parts))
        raise MediaBudgetError(source, report.refusal)
