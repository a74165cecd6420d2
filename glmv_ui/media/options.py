"""How one batch of uploads is read, besides the limits: a password, the pages and the stretch
of video the user chose, and a video's sampling. One frozen record, passed whole from the app,
the API, the notebooks and the CLI to :func:`glmv_ui.media.ingest`.

Standard library only.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, fields
from typing import Any

from ..errors import ConfigError

__all__ = ["MediaOptions"]


@dataclass(frozen=True)
class MediaOptions:
    """``page_range`` (1-based, inclusive) applies to PDFs and decks; ``video_range`` (seconds),
    ``video_fps`` and ``video_max_frames`` to videos (None: the limits' own); ``password``
    opens an encrypted PDF and is never stored."""

    password: str | None = None
    page_range: tuple[int, int] | None = None
    video_range: tuple[float, float] | None = None
    video_fps: float | None = None
    video_max_frames: int | None = None

    @classmethod
    def names(cls) -> frozenset[str]:
        return frozenset(f.name for f in fields(cls))

    @classmethod
    def from_keywords(cls, values: Mapping[str, Any]) -> MediaOptions:
        """The options named in ``values`` (a notebook call's keywords); a name that is not an
        option is refused by name."""
        unknown = set(values) - cls.names()
        if unknown:
            raise ConfigError(
                f"unknown media option(s) {', '.join(sorted(unknown))}; media takes "
                f"{', '.join(sorted(cls.names()))}"
            )
        return cls(**values)

    def chosen(self) -> dict[str, Any]:
        """The options set (not None), the password left out: what a run record writes."""
        return {
            f.name: getattr(self, f.name)
            for f in fields(self)
            if f.name != "password" and getattr(self, f.name) is not None
        }
