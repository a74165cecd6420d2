"""Kept prompt caches: what a conversation's next turn can reuse, under one memory budget.

After each reply the local engine keeps, per conversation key, the KV cache of everything it
processed (the prompt, images and video included, and the reply it generated) together with the
token ids that cache holds and, for each image or video in it, the span of its tokens and a
fingerprint of its pixels. The next turn's prompt is compared with it by token ids, not by
assumption: earlier answers come back without their thinking and the tokenizer may merge tokens
differently at the seam, so only the longest common prefix is reused, and never part of an image
whose pixels differ or whose tokens are cut.

Entries live in one least-recently-used store per engine, bounded in bytes; an entry that alone
exceeds the budget is not kept. Standard library only: the caches themselves are opaque here,
and their sizes come from the caller.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Hashable, Sequence
from dataclasses import dataclass
from typing import Any

__all__ = [
    "DEFAULT_BUDGET_BYTES",
    "CacheStats",
    "KeptCache",
    "Lease",
    "PrefixCacheStore",
    "VisualSpan",
    "reusable_prefix",
]

# 2 GiB: about 52k tokens of GLM-4.1V-9B's bf16 KV cache (40 layers x 2 KV heads x 128 x 2 x 2
# bytes = 40 KiB a token), i.e. a dozen conversations of a large photo and a few turns, or about
# 11k tokens of GLM-4.5V's (46 layers x 8 KV heads: 184 KiB a token).
DEFAULT_BUDGET_BYTES = 2 * 2**30


@dataclass(frozen=True)
class VisualSpan:
    """The tokens of one image or one video in a prompt: ``[start, end)`` and whose pixels."""

    start: int
    end: int
    fingerprint: str


@dataclass
class KeptCache:
    """A conversation's cache and what it holds: ``ids[i]`` is the token at cache position i."""

    key: str
    settings: Hashable  # model and prompt-changing settings; reused only when equal
    ids: list[int]
    spans: tuple[VisualSpan, ...]
    cache: Any
    nbytes: int


@dataclass(frozen=True)
class CacheStats:
    """Figures for the model panel."""

    entries: int
    bytes_kept: int
    budget_bytes: int
    hits: int
    misses: int
    tokens_reused: int
    evictions: int

    def summary(self) -> str:
        from ..models import human_bytes

        return (
            f"{self.entries} conversation{'s' if self.entries != 1 else ''} cached, "
            f"{human_bytes(self.bytes_kept)} of {human_bytes(self.budget_bytes)} · "
            f"{self.hits} hits, "
            f"{self.misses} misses, {self.tokens_reused:,} tokens reused"
        )


@dataclass(eq=False)
class Lease:
    """One request's hold on a key: the entry it took (if any), and whether the conversation was
    forgotten meanwhile (then what the request produces is not kept)."""

    key: str
    settings: Hashable
    entry: KeptCache | None
    forgotten: bool = False


def reusable_prefix(
    kept_ids: Sequence[int],
    kept_spans: Sequence[VisualSpan],
    ids: Sequence[int],
    spans: Sequence[VisualSpan],
) -> int:
    """How many leading tokens of ``ids`` a cache holding ``kept_ids`` can serve.

    At least one token is always left to prefill (the model needs the last prompt token's
    logits), and an image or video counts only whole and with the same pixels.
    """
    limit = min(len(kept_ids), len(ids) - 1)
    n = 0
    while n < limit and kept_ids[n] == ids[n]:
        n += 1
    kept_by_start = {s.start: s for s in kept_spans}
    new_by_start = {s.start: s for s in spans}
    for span in spans:
        if span.start < n and (kept_by_start.get(span.start) != span or span.end > n):
            n = span.start
    for span in kept_spans:
        if span.start < n and new_by_start.get(span.start) != span:
            n = span.start
    return max(n, 0)


class PrefixCacheStore:
    """Kept caches by conversation key, least recently used evicted beyond ``budget_bytes``.

    A request takes its conversation's entry out (``lease``), because ``generate`` grows the cache
    in place, and hands back the new one when it ends (``put``). Thread-safe.
    """

    def __init__(self, budget_bytes: int = DEFAULT_BUDGET_BYTES) -> None:
        if budget_bytes < 0:
            raise ValueError(f"budget_bytes must be >= 0, got {budget_bytes}")
        self.budget_bytes = budget_bytes
        self._lock = threading.Lock()
        self._entries: OrderedDict[str, KeptCache] = OrderedDict()
        self._leases: dict[str, Lease] = {}
        self._bytes = 0
        self._hits = 0
        self._misses = 0
        self._reused = 0
        self._evictions = 0

    def lease(self, key: str, settings: Hashable) -> Lease:
        """Take ``key``'s entry out of the store; it is returned only if ``settings`` match."""
        with self._lock:
            entry = self._entries.pop(key, None)
            if entry is not None:
                self._bytes -= entry.nbytes
                if entry.settings != settings:
                    entry = None
            lease = Lease(key, settings, entry)
            self._leases[key] = lease
            return lease

    def record(self, reused_tokens: int) -> None:
        """Count one keyed request: a hit when it reused any tokens."""
        with self._lock:
            if reused_tokens > 0:
                self._hits += 1
                self._reused += reused_tokens
            else:
                self._misses += 1

    def put(self, lease: Lease, entry: KeptCache | None) -> None:
        """End ``lease``, keeping ``entry`` (unless forgotten meanwhile, or larger than the
        whole budget), then evict the least recently used entries beyond the budget."""
        with self._lock:
            if self._leases.get(lease.key) is lease:
                del self._leases[lease.key]
            if entry is None or lease.forgotten:
                return
            old = self._entries.pop(entry.key, None)
            if old is not None:
                self._bytes -= old.nbytes
            if entry.nbytes > self.budget_bytes:
                self._evictions += 1
                return
            self._entries[entry.key] = entry
            self._bytes += entry.nbytes
            while self._bytes > self.budget_bytes:
                _, evicted = self._entries.popitem(last=False)
                self._bytes -= evicted.nbytes
                self._evictions += 1

    def forget(self, key: str) -> bool:
        """Drop ``key``'s entry, and what a request of it still running would keep."""
        with self._lock:
            lease = self._leases.pop(key, None)
            if lease is not None:
                lease.forgotten = True
            entry = self._entries.pop(key, None)
            if entry is not None:
                self._bytes -= entry.nbytes
            return entry is not None or lease is not None

    def clear(self) -> None:
        with self._lock:
            for lease in self._leases.values():
                lease.forgotten = True
            self._leases.clear()
            self._entries.clear()
            self._bytes = 0

    def stats(self) -> CacheStats:
        with self._lock:
            return CacheStats(
                entries=len(self._entries),
                bytes_kept=self._bytes,
                budget_bytes=self.budget_bytes,
                hits=self._hits,
                misses=self._misses,
                tokens_reused=self._reused,
                evictions=self._evictions,
            )

    def keys(self) -> list[str]:
        """Kept keys, least recently used first."""
        with self._lock:
            return list(self._entries)
