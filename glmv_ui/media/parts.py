"""Model-ready pieces of an upload, each remembering where it came from, and what a reader says
about one (its notes, as :class:`~glmv_ui.reasons.Reason` records).

This module imports nothing heavy: images and frames are PIL images created by the media readers.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

from ..reasons import Reason, reason

__all__ = ["MediaPart", "span"]


@dataclass(frozen=True, eq=False)
class MediaPart:
    """One image (a photo, a PDF page, a slide) or one sampled video.

    ``image`` is an RGB ``PIL.Image.Image`` for ``kind == "image"``; ``frames`` are RGB PIL images
    and ``timestamps`` their presentation times in seconds for ``kind == "video"``.
    ``source`` is the uploaded file's name as the user knows it (never a temp path).
    """

    kind: Literal["image", "video"]
    source: str
    image: Any = None
    frames: tuple[Any, ...] = ()
    timestamps: tuple[float, ...] = ()
    page: int | None = None  # 1-based PDF page
    slide: int | None = None  # 1-based slide
    page_count: int | None = None  # pages/slides in the whole document
    fps: float | None = None  # sampling rate used for a video
    duration: float | None = None  # whole video's duration in seconds
    path: str | None = None  # a local file holding this part (for display / remote engines)
    notes: tuple[Reason, ...] = ()  # what the reader did: reason("note.used", range=...), ...
    meta: dict[str, Any] = field(default_factory=dict)

    @property
    def label(self) -> str:
        """A short human reference: ``report.pdf p. 3``, ``deck.pptx slide 2``, ``clip.mp4``."""
        if self.page is not None:
            return f"{self.source} p. {self.page}"
        if self.slide is not None:
            return f"{self.source} slide {self.slide}"
        return self.source

    @property
    def size(self) -> tuple[int, int]:
        """(width, height) in pixels of the image or of the first frame."""
        img = self.image if self.kind == "image" else (self.frames[0] if self.frames else None)
        return (img.width, img.height) if img is not None else (0, 0)


def span(unit: Literal["page", "slide"], first: int, last: int, total: int) -> Reason:
    """Which pages or slides of a document are used: ``pages 2–4 of 9``, ``slide 3 of 9``."""
    if unit == "slide":
        if last > first:
            return reason("range.slides", first=first, last=last, total=total)
        return reason("range.slide", first=first, total=total)
    if last > first:
        return reason("range.pages", first=first, last=last, total=total)
    return reason("range.page", first=first, total=total)
