"""Fair use of the model's time: each caller's requests in flight, a bounded queue handed out
in order of arrival, and one reply at a time per login across the page, the API and MCP.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator

from ..errors import ConversationError

__all__ = ["LOGIN_BUSY", "BusyError", "FairGate", "LoginReplies", "Ticket"]


class BusyError(ConversationError):
    """A request refused for fair use: the caller has one running already, or the queue is
    full."""


class LoginReplies:
    """The logins with a reply being written, on the page or through ``ask``: each login has
    at most one at a time, across all its tabs, sessions and programs."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._running: set[str] = set()

    def running(self, user: str) -> bool:
        with self._lock:
            return bool(user) and user in self._running

    @contextlib.contextmanager
    def hold(self, user: str) -> Iterator[None]:
        """Mark ``user``'s reply as running (nothing for no login); BusyError if one is."""
        if not user:
            yield
            return
        with self._lock:
            if user in self._running:
                raise BusyError(LOGIN_BUSY)
            self._running.add(user)
        try:
            yield
        finally:
            with self._lock:
                self._running.discard(user)


LOGIN_BUSY = (
    "busy: a reply for your login is already being written (in another tab or "
    "program); wait for it to finish"
)


class Ticket:
    """One admitted request of a caller: :meth:`turn` waits for a slot of the model."""

    def __init__(self, gate: FairGate, client: str) -> None:
        self.gate, self.client = gate, client
        self.waiting = False
        self.running = False

    @contextlib.contextmanager
    def turn(self) -> Iterator[None]:
        """Wait for a slot, in order of arrival among callers that have none running."""
        gate = self.gate
        with gate._cond:
            self.waiting = True
            gate._order.append(self)
            gate._cond.wait_for(lambda: gate._next() is self)
            gate._order.remove(self)
            self.waiting, self.running = False, True
            gate._running += 1
        try:
            yield
        finally:
            with gate._cond:
                self.running = False
                gate._running -= 1
                gate._cond.notify_all()


class FairGate:
    """The model's slots for API and MCP callers, shared fairly: each caller (a login, else a
    Gradio session) has at most one request running and one more waiting; at most
    ``queue_size`` requests wait in all; further ones are refused at once with how many are
    ahead. A request's files are fetched and decoded before it asks for a slot, so what
    waits is bounded by the callers admitted (``PER_CLIENT`` each, ``queue_size`` in all)."""

    PER_CLIENT = 2  # one running and one waiting

    def __init__(self, slots: int, queue_size: int) -> None:
        self.slots = max(1, slots)
        self.queue_size = queue_size
        self._cond = threading.Condition()
        self._tickets: list[Ticket] = []  # admitted, in order of arrival
        self._order: list[Ticket] = []  # waiting for a slot, in order of arrival
        self._running = 0

    @contextlib.contextmanager
    def enter(self, client: str) -> Iterator[Ticket]:
        with self._cond:
            mine = sum(t.client == client for t in self._tickets)
            ahead = len(self._tickets)
            if mine >= self.PER_CLIENT:
                raise BusyError(
                    f"busy: you have {mine} requests in progress already; wait for one to finish"
                )
            if ahead >= self.slots + self.queue_size:
                raise BusyError(f"busy: {ahead} requests ahead of you; try again shortly")
            ticket = Ticket(self, client)
            self._tickets.append(ticket)
            self._cond.notify_all()
        try:
            yield ticket
        finally:
            with self._cond:
                self._tickets.remove(ticket)
                self._cond.notify_all()

    def _next(self) -> Ticket | None:
        if self._running >= self.slots:
            return None
        busy = {t.client for t in self._tickets if t.running}
        for ticket in self._order:
            if ticket.client not in busy:
                return ticket
        # A login never has two running; a session without one may use a free slot.
        return next((t for t in self._order if not t.client.startswith("user:")), None)

    def wait_in_flight(self, count: int, timeout_s: float) -> bool:
        """Wait until at least ``count`` requests are admitted (False: not within the time)."""
        with self._cond:
            return self._cond.wait_for(lambda: len(self._tickets) >= count, timeout_s)
