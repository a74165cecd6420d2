"""How often a streaming view redraws: at most once per interval, whatever the token rate.

One time-based rule for every view (the Gradio app, the notebook widget, ``ask`` in a cell), so a
fast model never makes a view redraw per token and a slow one is shown as soon as a frame is due.
Standard library only.
"""

from __future__ import annotations

import time
from collections.abc import Callable

__all__ = ["Throttle"]


class Throttle:
    """``due()`` is True when ``interval_s`` has passed since the last ``mark()`` (or before the
    first); ``remaining()`` is how long until it will be, for a wait with a timeout."""

    def __init__(self, interval_s: float, *, clock: Callable[[], float] = time.monotonic) -> None:
        if interval_s < 0:
            raise ValueError(f"interval_s must be >= 0, got {interval_s}")
        self.interval_s = interval_s
        self.clock = clock
        self.frames = 0  # how many times mark() was called: the redraws made
        self._last = float("-inf")

    def due(self) -> bool:
        return self.clock() - self._last >= self.interval_s

    def remaining(self) -> float:
        return max(0.0, self._last + self.interval_s - self.clock())

    def mark(self) -> None:
        self._last = self.clock()
        self.frames += 1
