"""The engine seam: one streaming method that every backend implements.

An engine turns a :class:`GenerationRequest` into raw text deltas (special tokens kept, so the
reply parser sees ``<think>``, ``<answer>`` and the box markers), each paired with a running
:class:`Stats` record. Standard library only.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

from ..config import Sampling
from ..messages import Message

if TYPE_CHECKING:
    from ..caps import Capabilities
    from ..models import LoadedModel
    from .prefix_cache import CacheStats

__all__ = [
    "CachingEngine",
    "Chunk",
    "Engine",
    "GenerationRequest",
    "HoldsModel",
    "Stats",
    "Wrapping",
    "unwrapped",
]


@dataclass(frozen=True)
class GenerationRequest:
    """What to generate from.

    ``messages`` come from :func:`glmv_ui.prompt.build_messages`: the typed records of
    :mod:`glmv_ui.messages`, the last one the user's message to answer.
    """

    messages: Sequence[Message]
    sampling: Sampling = field(default_factory=Sampling)
    # Identifies the conversation: an engine that keeps prompt caches (the local one) may reuse
    # what this key's previous request processed. None: nothing is reused or kept.
    cache_key: str | None = None


@dataclass(frozen=True)
class Stats:
    """Running figures for one request; every chunk carries the latest."""

    prompt_tokens: int = 0  # all prompt tokens, visual ones included
    visual_tokens: int = 0
    generated_tokens: int = 0
    time_to_first_token_s: float | None = None
    elapsed_s: float = 0.0
    tokens_per_s: float | None = None  # decode speed after the first token
    peak_memory_bytes: int | None = None
    finish_reason: str | None = None  # "stop", "length", "cancelled", "error" when done
    reused_tokens: int = 0  # prompt tokens served by a cache kept from an earlier request

    def summary(self) -> str:
        parts = []
        if self.prompt_tokens:  # unknown (0) for engines that cannot count the prompt
            parts.append(f"{self.prompt_tokens} prompt tokens")
            notes = [f"{self.visual_tokens} visual"] if self.visual_tokens else []
            if self.reused_tokens:
                notes.append(f"{self.reused_tokens} reused")
            if notes:
                parts[0] += f" ({', '.join(notes)})"
        parts.append(f"{self.generated_tokens} generated")
        if self.time_to_first_token_s is not None:
            parts.append(f"first token {self.time_to_first_token_s:.2f} s")
        if self.tokens_per_s is not None:
            parts.append(f"{self.tokens_per_s:.1f} tok/s")
        if self.peak_memory_bytes:
            parts.append(f"peak {self.peak_memory_bytes / 2**30:.2f} GiB")
        # How the reply ended is not a figure: the reply's notices say it in words.
        return " · ".join(parts)


@dataclass(frozen=True)
class Chunk:
    """A raw text delta (may be empty for a stats-only update) and the stats so far."""

    text: str
    stats: Stats
    done: bool = False


@runtime_checkable
class Engine(Protocol):
    """A backend. ``caps`` says what its model can do; ``family`` is its model type
    (``caps.family``, kept as a plain attribute for callers that only show it); ``name`` is the
    model id shown."""

    name: str
    family: str
    caps: Capabilities

    def stream(
        self, request: GenerationRequest, cancel: threading.Event | None = None
    ) -> Iterator[Chunk]:
        """Yield chunks until the reply ends. Setting ``cancel`` ends generation within a few
        tokens; the last chunk then has ``finish_reason == "cancelled"`` and ``done`` set.
        Failures raise :class:`glmv_ui.errors.GenerationError`."""
        ...


# -- optional abilities ---------------------------------------------------------------------
# Some engines can do more than stream. Callers ask with ``isinstance`` against these; a wrapper
# declares only what it really provides, and callers that want the wrapped engine's abilities
# unwrap it first (:func:`unwrapped`).


@runtime_checkable
class CachingEngine(Protocol):
    """Keeps prompt caches between the requests of a conversation (by their ``cache_key``)."""

    def cache_stats(self) -> CacheStats:
        """Entries, bytes kept, hits, misses and tokens reused."""
        ...

    def forget(self, key: str) -> bool:
        """Drop what is kept for conversation ``key``; True if anything was."""
        ...


@runtime_checkable
class HoldsModel(Protocol):
    """Runs a model loaded in this process: the model to give back when done, and the inputs a
    request would become (for showing what was sent)."""

    loaded: LoadedModel

    def prepare(self, request: GenerationRequest) -> dict[str, Any]:
        """The model inputs for ``request``, without generating."""
        ...


@runtime_checkable
class Wrapping(Protocol):
    """Runs another engine somewhere else (the ZeroGPU worker); ``inner`` is that engine."""

    inner: Engine


def unwrapped(engine: Engine) -> Engine:
    """The engine that does the work: ``engine`` with any wrappers taken off."""
    while isinstance(engine, Wrapping):
        engine = engine.inner
    return engine
