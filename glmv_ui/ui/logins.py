"""Logins: the throttle on failed tries, and reading a login from a header or a form.

Standard library only at import; Starlette (which Gradio brings) is imported where a form is read.
"""

from __future__ import annotations

import base64
import binascii
import threading
import time
from collections.abc import Callable, MutableMapping
from dataclasses import dataclass, field
from typing import Any

__all__ = [
    "FREE_FAILURES",
    "MAX_DELAY_S",
    "Credentials",
    "LoginThrottle",
    "Refusal",
    "basic_credentials",
    "login_user",
]

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]

FREE_FAILURES = 5  # failures before the delay starts
MAX_DELAY_S = 900.0


@dataclass
class _Record:
    failures: int = 0
    until: float = 0.0  # monotonic time before which tries are refused


@dataclass
class LoginThrottle:
    """Failed logins per client address and per user name. After :data:`FREE_FAILURES`
    failures each further one doubles the wait (1 s, 2 s, 4 s… up to 15 minutes); a success
    clears the user's and the address's record."""

    free: int = FREE_FAILURES
    max_delay_s: float = MAX_DELAY_S
    clock: Callable[[], float] = time.monotonic
    _records: dict[str, _Record] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def wait_s(self, client: str, user: str) -> float:
        """Seconds before ``client`` may try ``user`` again (0: now)."""
        now = self.clock()
        with self._lock:
            return max(
                [0.0]
                + [
                    r.until - now
                    for k in self._keys(client, user)
                    if (r := self._records.get(k)) is not None
                ]
            )

    def failed(self, client: str, user: str) -> None:
        now = self.clock()
        with self._lock:
            if len(self._records) > 100_000:  # bounded: forget the oldest
                for key in list(self._records)[:50_000]:
                    del self._records[key]
            for key in self._keys(client, user):
                record = self._records.setdefault(key, _Record())
                record.failures += 1
                if record.failures > self.free:
                    delay = min(self.max_delay_s, 2.0 ** (record.failures - self.free - 1))
                    record.until = now + delay

    def succeeded(self, client: str, user: str) -> None:
        with self._lock:
            for key in self._keys(client, user):
                self._records.pop(key, None)

    @staticmethod
    def _keys(client: str, user: str) -> list[str]:
        return [f"addr:{client}"] + ([f"user:{user}"] if user else [])


@dataclass(frozen=True)
class Credentials:
    user: str
    password: str


def basic_credentials(value: bytes) -> Credentials | None:
    scheme, _, token = value.decode("latin-1").partition(" ")
    if scheme.lower() != "basic":
        return None
    try:
        user, sep, password = (
            base64.b64decode(token.strip(), validate=True).decode("utf-8").partition(":")
        )
    except (binascii.Error, UnicodeDecodeError):
        return Credentials("", "")
    return Credentials(user, password) if sep else Credentials("", "")


@dataclass(frozen=True)
class Refusal:
    detail: str


async def login_user(scope: Scope, body: bytes) -> str | Refusal:
    """The user name in a login form, read by the parser Gradio's own login route uses
    (Starlette's, for urlencoded and multipart bodies alike), so the throttle judges the name
    Gradio checks. A form with more than one user name or password, or one that does not
    parse, is refused."""
    from starlette.formparsers import MultiPartException
    from starlette.requests import Request

    async def once() -> Message:
        return {"type": "http.request", "body": body, "more_body": False}

    # Without "app" in its scope Starlette raises its parser's own error, not an HTTP answer.
    inner = {k: v for k, v in scope.items() if k != "app"}
    request = Request({**inner, "headers": list(scope.get("headers", []))}, once)
    try:
        form = await request.form(max_files=0, max_fields=20)
    except (MultiPartException, ValueError, UnicodeDecodeError):
        return Refusal("the login form could not be read")
    try:
        names, passwords = form.getlist("username"), form.getlist("password")
        if len(names) > 1 or len(passwords) > 1:
            return Refusal("the login form must carry one user name and one password")
        if not all(isinstance(v, str) for v in [*names, *passwords]):
            return Refusal("the login form could not be read")
        return str(names[0]).strip() if names else ""
    finally:
        await form.close()
