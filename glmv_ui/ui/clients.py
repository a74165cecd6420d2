"""What each client keeps on the server, in one kind of store: a browser tab's state
(:class:`~.state.SessionRegistry`) and an API or MCP caller's conversations
(:class:`~.api.ConversationStore`).

An entry is found by its key and belongs to its owner (a login, a caller): a lookup that names
another owner finds nothing, compared in constant time. A store may cap how many entries one
owner keeps (its own oldest goes first, never another's) and how many it holds in all (a new one
is then refused with "busy"). Entries nobody has touched for ``idle_s`` are dropped and closed:
by :meth:`ClientStore.reap`, by the background reaper, and on every reservation or lookup by
token, so a store without a reaper thread stays bounded too.

Standard library only.
"""

from __future__ import annotations

import hmac
import secrets
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from typing import Generic, Protocol, TypeVar

from .fair import BusyError

__all__ = ["IDLE_SECONDS", "ClientStore", "Closable"]

IDLE_SECONDS = 30 * 60  # an entry nobody has touched for this long is dropped


class Closable(Protocol):
    def close(self) -> None: ...


V = TypeVar("V", bound=Closable)


@dataclass
class _Entry(Generic[V]):
    owner: str
    value: V | None  # None: reserved, its value is still being made
    seen: float


class ClientStore(Generic[V]):
    """Entries by key, each owned by a client; idle ones are dropped (see the module doc).

    ``limit`` and ``per_caller`` bound what :meth:`reserve` lets in (None: no bound);
    ``full`` is the refusal when the store is full.
    """

    def __init__(
        self,
        *,
        idle_s: float = IDLE_SECONDS,
        limit: int | None = None,
        per_caller: int | None = None,
        clock: Callable[[], float] = time.monotonic,
        full: str = "busy: too many clients are connected; try again later",
    ) -> None:
        self.idle_s = idle_s
        self.limit = limit
        self.per_caller = per_caller
        self.clock = clock
        self.full = full
        self._lock = threading.Lock()
        self._entries: OrderedDict[str, _Entry[V]] = OrderedDict()
        self._stop = threading.Event()

    # -- entries named by their client (a tab) ---------------------------------------------

    def get_or_make(self, key: str, make: Callable[[], V], owner: str = "") -> V:
        """The entry ``key``, made by ``make`` if there is none; it counts as touched."""
        with self._lock:
            entry = self._entries.get(key)
            value = entry.value if entry is not None else None
            if entry is None or value is None:
                value = make()
                entry = self._entries[key] = _Entry(owner, value, self.clock())
            entry.seen = self.clock()
            self._entries.move_to_end(key)
            return value

    # -- entries named by an unguessable token (an API conversation) -----------------------

    def reserve(self, owner: str) -> str:
        """A new token for ``owner``, before any work is done for it: the owner's own oldest
        entry is dropped when it has ``per_caller``; BusyError when the store is full."""
        key = secrets.token_urlsafe(18)
        with self._lock:
            gone = self._idle_locked()
            mine = [k for k, e in self._entries.items() if e.owner == owner]
            if self.per_caller is not None and len(mine) >= max(1, self.per_caller):
                gone.append(self._entries.pop(mine[0]))
            elif self.limit is not None and len(self._entries) >= self.limit:
                self._close(gone)
                raise BusyError(self.full)
            self._entries[key] = _Entry(owner, None, self.clock())
        self._close(gone)
        return key

    def put(self, key: str, value: V) -> bool:
        """``value`` is now the entry ``key`` (reserved or not); False (and ``value`` closed)
        when the reservation was dropped meanwhile."""
        with self._lock:
            entry = self._entries.get(key)
            if entry is not None:
                entry.value, entry.seen = value, self.clock()
                return True
        value.close()
        return False

    def find(self, key: str, owner: str) -> V | None:
        """The entry ``key`` if ``owner`` owns it (touched), else None: a reserved one, an
        expired one and another owner's are all as unknown."""
        with self._lock:
            gone = self._idle_locked()
            entry = self._entries.get(key)
            found = None
            if (
                entry is not None
                and entry.value is not None
                and hmac.compare_digest(entry.owner.encode("utf-8"), owner.encode("utf-8"))
            ):
                entry.seen = self.clock()
                self._entries.move_to_end(key)
                found = entry.value
        self._close(gone)
        return found

    # -- every entry -----------------------------------------------------------------------

    def discard(self, key: str) -> None:
        """Drop and close the entry ``key`` (nothing when there is none)."""
        with self._lock:
            entry = self._entries.pop(key, None)
        self._close([entry] if entry is not None else [])

    def items(self) -> list[tuple[str, V]]:
        """The entries that have a value, oldest touched first."""
        with self._lock:
            return [(k, e.value) for k, e in self._entries.items() if e.value is not None]

    def values(self) -> list[V]:
        return [value for _, value in self.items()]

    def reap(self) -> int:
        """Drop the entries idle for longer than ``idle_s``; returns how many went."""
        with self._lock:
            gone = self._idle_locked()
        self._close(gone)
        return len(gone)

    def start_reaper(self, every_s: float = 60.0) -> None:
        """Reap idle entries in the background, every ``every_s`` seconds."""

        def loop() -> None:
            while not self._stop.wait(every_s):
                self.reap()

        threading.Thread(target=loop, name="glmv-client-reaper", daemon=True).start()

    def close_all(self) -> None:
        """Stop the reaper, drop and close every entry."""
        self._stop.set()
        with self._lock:
            gone = list(self._entries.values())
            self._entries.clear()
        self._close(gone)

    def __len__(self) -> int:
        return len(self._entries)

    def _idle_locked(self) -> list[_Entry[V]]:
        now = self.clock()
        idle = [k for k, e in self._entries.items() if now - e.seen > self.idle_s]
        return [self._entries.pop(k) for k in idle]

    @staticmethod
    def _close(entries: list[_Entry[V]]) -> None:
        for entry in entries:
            if entry.value is not None:
                entry.value.close()
