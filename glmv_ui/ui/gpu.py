"""``@spaces.GPU`` for the GPU work, when the ``spaces`` package is importable (Hugging Face
ZeroGPU Spaces); without it the engine is used as it is.

Only the engine's ``stream`` is wrapped: that is where the GPU is needed. The requested duration
grows with the tokens asked for and the visual tokens to encode, clamped to what ZeroGPU grants.
Outside a ZeroGPU Space, ``spaces.GPU`` returns the function unchanged.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import Any

from ..engines.base import Chunk, Engine, GenerationRequest

__all__ = ["MAX_SECONDS", "MIN_SECONDS", "GpuEngine", "gpu_duration", "gpu_engine"]

MIN_SECONDS = 30
MAX_SECONDS = 300
# Rough planning figures for a 9B model on one ZeroGPU slice: decode speed and vision encoding.
TOKENS_PER_SECOND = 25.0
VISUAL_TOKENS_PER_SECOND = 4000.0


def _visual_tokens(request: GenerationRequest) -> int:
    from ..media.budget import part_tokens

    total = 0
    for message in request.messages:
        content = message.get("content")
        if isinstance(content, list):
            total += sum(part_tokens(p["part"]) for p in content if "part" in p)
    return total


def gpu_duration(request: GenerationRequest) -> int:
    """Seconds of GPU to ask for: decoding ``max_new_tokens`` plus encoding the media."""
    seconds = 10 + request.sampling.max_new_tokens / TOKENS_PER_SECOND
    seconds += _visual_tokens(request) / VISUAL_TOKENS_PER_SECOND
    return int(min(MAX_SECONDS, max(MIN_SECONDS, seconds)))


class GpuEngine:
    """An engine whose ``stream`` runs under ``spaces.GPU(duration=gpu_duration)``."""

    def __init__(self, engine: Engine, spaces: Any) -> None:
        self.inner = engine
        self.name = engine.name
        self.family = engine.family

        def run(request: GenerationRequest,
                cancel: threading.Event | None = None) -> Iterator[Chunk]:
            yield from engine.stream(request, cancel)

        def duration(request: GenerationRequest, cancel: threading.Event | None = None) -> int:
            return gpu_duration(request)

        self._run = spaces.GPU(duration=duration)(run)

    def stream(self, request: GenerationRequest,
               cancel: threading.Event | None = None) -> Iterator[Chunk]:
        return self._run(request, cancel)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)


def gpu_engine(engine: Engine) -> Engine:
    """``engine`` wrapped for ZeroGPU when ``spaces`` is importable, else ``engine`` itself."""
    if isinstance(engine, GpuEngine):
        return engine
    try:
        import spaces  # type: ignore[import-not-found]
    except ImportError:
        return engine
    return GpuEngine(engine, spaces)
