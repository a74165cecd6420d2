"""One memory budget and concurrency limit for decoding in flight, shared by every session.

Attachment previews read whole files (decode images, render pages, run LibreOffice): without a
limit, four previews of one hostile PNG took a server to 6 GB. :data:`DECODING` lets at most
``max_jobs`` reads run at once and only while their estimated costs (:func:`decode_cost`, from
headers and file kinds, never by decoding) fit ``budget_bytes`` together; a read that does not
fit waits its turn (the caller can say so first: :meth:`DecodeBudget.would_wait`). A single read
costing more than the whole budget runs alone.

Standard library only at import; Pillow is imported by :func:`decode_cost` for image headers.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from ..config import HostSettings, MediaLimits

__all__ = [
    "DECODING",
    "DecodeBudget",
    "Held",
    "decode_cost",
    "release_memory",
    "waiting_for_decoding",
]

MB = 2**20
# What one read of each kind may cost beyond its decoded pictures (libraries' working memory);
# measured on the corpus and the hostile files of tests/security.
_BASE = {"image": 32 * MB, "pdf": 160 * MB, "video": 160 * MB, "slides": 512 * MB}


@dataclass(frozen=True)
class Held:
    """A granted share of the budget."""

    cost: int
    waited: bool  # whether the read had to wait for others


class DecodeBudget:
    """A counting limit on reads in flight and on the sum of their estimated costs."""

    def __init__(self, budget_bytes: int | None = None, max_jobs: int | None = None) -> None:
        self._given = (budget_bytes, max_jobs)
        self._limits: tuple[int, int] | None = None
        self._cond = threading.Condition()
        self._used = 0
        self._jobs = 0
        self._waiting = 0

    def _resolved(self) -> tuple[int, int]:
        """The limits; one left unset is the host's (``GLMV_DECODE_BUDGET_MB``,
        ``GLMV_DECODE_JOBS``), read at first use rather than at import."""
        if self._limits is None:
            host = HostSettings.from_env()
            budget, jobs = self._given
            self._limits = (
                host.decode_budget_mb * MB if budget is None else budget,
                host.decode_jobs if jobs is None else jobs,
            )
        return self._limits

    @property
    def budget_bytes(self) -> int:
        """The most the reads in flight may cost together."""
        return self._resolved()[0]

    @property
    def max_jobs(self) -> int:
        """The most reads that run at once."""
        return self._resolved()[1]

    def _fits(self, cost: int) -> bool:
        return self._jobs < self.max_jobs and (
            self._jobs == 0 or self._used + cost <= self.budget_bytes
        )

    def would_wait(self, cost: int) -> bool:
        """Whether a read of ``cost`` bytes would wait now."""
        with self._cond:
            return not self._fits(cost)

    @property
    def in_flight(self) -> tuple[int, int]:
        """(reads running, bytes they hold)."""
        with self._cond:
            return self._jobs, self._used

    def wait_for_waiters(self, count: int, timeout: float) -> bool:
        """Block until ``count`` reads are waiting (or ``timeout`` s pass); for monitoring."""
        with self._cond:
            return self._cond.wait_for(lambda: self._waiting >= count, timeout)

    @contextmanager
    def hold(self, cost: int) -> Iterator[Held]:
        """Wait until a read of ``cost`` bytes fits, hold its share while the block runs."""
        cost = min(max(cost, 0), self.budget_bytes)
        with self._cond:
            waited = not self._fits(cost)
            if waited:
                self._waiting += 1
                self._cond.notify_all()
                self._cond.wait_for(lambda: self._fits(cost))
                self._waiting -= 1
            self._jobs += 1
            self._used += cost
        try:
            yield Held(cost, waited)
        finally:
            with self._cond:
                self._jobs -= 1
                self._used -= cost
                idle = self._jobs == 0
                self._cond.notify_all()
            if idle:
                release_memory()


def release_memory() -> None:
    """Hand freed heap back to the system. Reads in several threads leave their freed buffers
    in per-thread malloc arenas, which glibc returns only when asked (``malloc_trim``)."""
    import ctypes

    try:
        ctypes.CDLL(None).malloc_trim(0)  # the process's own symbols: libc is among them
    except (OSError, AttributeError):
        pass  # not glibc: nothing to ask


def decode_cost(path: str | os.PathLike[str], limits: MediaLimits) -> int:
    """The estimated peak memory of reading one file, from its header: an image's decoded size
    (pixels x channels x bytes per sample, after JPEG draft scaling; plus the whole coefficient
    buffer of a progressive or multi-scan JPEG), a fixed allowance for PDFs
    and videos, LibreOffice's own share for decks. Unknown files cost the smallest share."""
    from .ingest import sniff

    try:
        kind = sniff(path, os.path.basename(os.fspath(path)), limits)
    except Exception:  # noqa: BLE001 - refused at once when read; costs nearly nothing
        return _BASE["image"]
    if kind != "image":
        return _BASE[kind]
    from PIL import Image

    from .images import MAX_DECODE_BYTES, decoded_bytes, jpeg_frame

    try:
        with Image.open(path) as img:
            width, height = img.size
            if img.format == "JPEG":
                scale = max(1, int((width * height / limits.image_max_pixels) ** 0.5))
                scale = min(8, 1 << (scale.bit_length() - 1))
                width, height = -(-width // scale), -(-height // scale)
            size = decoded_bytes(width, height, img.mode)
            if img.format == "JPEG":
                with open(path, "rb") as fh:
                    frame = jpeg_frame(fh)
                if frame is not None and frame.whole_image:
                    coefficients = frame.coefficient_bytes()
                    size = (
                        size + coefficients
                        if coefficients <= MAX_DECODE_BYTES
                        else MAX_DECODE_BYTES + 1
                    )
            # One the reader refuses from its header costs nothing to refuse.
            return _BASE["image"] + (size if size <= MAX_DECODE_BYTES else 0)
    except Exception:  # noqa: BLE001
        return _BASE["image"]


DECODING = DecodeBudget()  # the host's budget, read when first used


def waiting_for_decoding(paths: list[str], limits: MediaLimits) -> bool:
    """Whether reading the first of ``paths`` would wait for other reads now."""
    return bool(paths) and DECODING.would_wait(decode_cost(paths[0], limits))
