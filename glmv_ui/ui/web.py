"""HTTP middleware for the app's server: the page's Content-Security-Policy, and files that
belong to the browser they were shown to.

Both are plain ASGI middleware (streamed replies pass through chunk by chunk), given to Gradio's
FastAPI app through ``launch(app_kwargs={"middleware": [...]})``; :func:`middleware` builds that
list, see :func:`glmv_ui.ui.launch_options`.

* :class:`SecurityHeaders` sets the policy :data:`CSP` (and ``nosniff``, a referrer policy) on
  every response: the page can load images and media only from itself, ``data:`` and ``blob:``,
  connect only to itself, submit forms only to itself, and frame nothing but its own and the
  sealed preview (a ``srcdoc`` frame, which carries its own stricter policy).
* :class:`FileGuard` also refuses (422, the file's base name only) any request whose JSON names
  a FileData path the caller may not use (:func:`glmv_ui.ui.uploads.caller_path`, or a file
  of the app's media folder named to this browser), before Gradio would copy it into its cache.
* :class:`FileGuard` gives each browser a random cookie and remembers which file paths (in
  Gradio's cache and under :func:`~glmv_ui.ui.state.media_root`) the server's responses named to
  that browser: the page, its config and the streamed events. A file URL answers only to the
  browser it was named to; another browser, a request without the cookie, and a request for a
  file of another app instance get 404. Each app has its own guard, so it serves only what it
  handed out itself. The path is judged as Gradio's file route serves it (decoded once, then
  ``os.path.abspath``); one that does not normalise cleanly is 404 for everyone.
"""

from __future__ import annotations

import json
import logging
import os
import re
import secrets
import tempfile
import threading
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Iterable, Iterator, MutableMapping
from dataclasses import dataclass
from http.cookies import SimpleCookie
from pathlib import Path
from typing import Any
from urllib.parse import unquote

__all__ = ["COOKIE", "CSP", "FileGuard", "SecurityHeaders", "middleware"]

_log = logging.getLogger("glmv_ui")

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

# What the page needs and nothing more (see SECURITY.md, "What the page renders"). Gradio's
# page runs inline bootstrap scripts and sets inline styles, so both stay allowed; the sealed
# preview (a srcdoc frame, which inherits this policy) needs 'unsafe-eval' as well, or it stays
# empty; the theme's web fonts come from Google Fonts. No image, video, audio, connection or
# form may go anywhere else: model text that slipped past the sanitizer could carry nothing out.
CSP = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self' 'unsafe-inline' 'unsafe-eval'",
        "style-src 'self' 'unsafe-inline' https://fonts.googleapis.com",
        "font-src 'self' data: https://fonts.gstatic.com",
        "img-src 'self' data: blob:",
        "media-src 'self' data: blob:",
        "connect-src 'self'",
        "worker-src 'self' blob:",
        "frame-src 'self'",
        "form-action 'self'",
        "object-src 'none'",
        "base-uri 'self'",
    ]
)
COOKIE = "glmv_browser"
MAX_JSON_BODY = 64 * 1024 * 1024  # a JSON request checked for file paths, at most
MAX_FILES = 100_000  # remembered (path, browser) pairs; the oldest are forgotten first
_CARRY = 4096  # bytes kept from one chunk to find a path split across two
_FILE_ROUTE = re.compile(r"(?:^|/)file(?:=|/)(.+)$")
_ENCODED = re.compile(r"%[0-9A-Fa-f]{2}")  # left after the one decoding: encoded twice
_SCANNED = (b"text/", b"application/json")  # the page, its config, events; not the bundles


def _header(scope: Scope, name: bytes) -> bytes:
    for key, value in scope.get("headers") or ():
        if key.lower() == name:
            return bytes(value)
    return b""


def _cookie(scope: Scope) -> str:
    raw = _header(scope, b"cookie").decode("latin-1")
    if not raw:
        return ""
    jar: SimpleCookie = SimpleCookie()
    try:
        jar.load(raw)
    except Exception:  # noqa: BLE001 - a malformed header is no cookie
        return ""
    morsel = jar.get(COOKIE)
    value = morsel.value if morsel is not None else ""
    return value if re.fullmatch(r"[A-Za-z0-9_-]{20,64}", value) else ""


class SecurityHeaders:
    """Adds the Content-Security-Policy and related headers to every HTTP response."""

    def __init__(self, app: ASGIApp, csp: str = CSP) -> None:
        self.app = app
        self.headers = [
            (b"content-security-policy", csp.encode()),
            (b"x-content-type-options", b"nosniff"),
            (b"referrer-policy", b"no-referrer"),
        ]

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def sending(message: Message) -> None:
            if message["type"] == "http.response.start":
                names = {k.lower() for k, _ in message.get("headers") or ()}
                extra = [(k, v) for k, v in self.headers if k not in names]
                message["headers"] = list(message.get("headers") or ()) + extra
            await send(message)

        await self.app(scope, receive, sending)


@dataclass
class _Owners:
    """(path, browser) pairs the server has named, bounded, thread-safe."""

    limit: int = MAX_FILES

    def __post_init__(self) -> None:
        self._pairs: OrderedDict[tuple[str, str], None] = OrderedDict()
        self._lock = threading.Lock()

    def add(self, paths: Iterable[str], owner: str) -> None:
        with self._lock:
            for path in paths:
                key = (path, owner)
                self._pairs[key] = None
                self._pairs.move_to_end(key)
            while len(self._pairs) > self.limit:
                self._pairs.popitem(last=False)

    def owns(self, path: str, owner: str) -> bool:
        with self._lock:
            return (path, owner) in self._pairs


def guarded_roots() -> list[str]:
    """The folders whose files only their browser may fetch: Gradio's cache (uploads and every
    file an output names) and the app's own media folder."""
    from .state import media_root

    cache = os.environ.get("GRADIO_TEMP_DIR") or str(Path(tempfile.gettempdir()) / "gradio")
    return [
        os.path.realpath(cache),
        os.path.realpath(media_root()),
        os.path.abspath(cache),
        os.path.abspath(media_root()),
    ]


class FileGuard:
    """Serves a guarded file only to the browser the server named it to (see the module
    docstring); every other request for one gets 404."""

    def __init__(
        self, app: ASGIApp, roots: Iterable[str] | None = None, limit: int = MAX_FILES
    ) -> None:
        self.app = app
        self.roots = tuple(dict.fromkeys(r.rstrip("/") for r in (roots or guarded_roots())))
        self.owners = _Owners(limit)
        alternatives = b"|".join(re.escape(r.encode()) for r in self.roots)
        self._named = re.compile(rb"(?:" + alternatives + rb")/[^\"'\\\s<>?#&]+")

    def _guarded(self, path: str) -> str | None:
        """What a file route's request asks for: ``None`` when it is no file route or names
        no local file under a root (Gradio's own rules then apply), ``""`` when the path does
        not normalise cleanly (always refused), else the file path Gradio would serve.

        ``path`` is the request's path as Gradio's route sees it (decoded once); Gradio serves
        ``os.path.abspath`` of it, so a clean path is one that is already its own abspath."""
        m = _FILE_ROUTE.search(path)
        if m is None:
            return None
        target = m.group(1)
        if target.startswith(("http://", "https://")):
            return None  # a URL, not a file of this server (Gradio's URL route)
        if (
            not target.startswith("/")
            or "\\" in target
            or "\x00" in target
            or "://" in target
            or _ENCODED.search(target)
            or os.path.abspath(target) != target
        ):
            return ""
        real = os.path.realpath(target)
        for root in self.roots:
            if any(p == root or p.startswith(root + "/") for p in (target, real)):
                return target
        return None

    def _foreign_file(self, body: bytes, owner: str) -> str:
        """The refusal of the first file a request's JSON names that its caller may not use
        (see :mod:`glmv_ui.ui.uploads`), or ``""``. A file the app made is allowed to the
        browser it was shown to."""
        from .uploads import CallerPathError, caller_path

        try:
            data = json.loads(body)
        except ValueError:
            return ""  # not JSON: Gradio answers it
        for path in _file_paths(data):
            # A URL too: Gradio would fetch it; files by URL go through ask's own rules.
            try:
                caller_path(path)
            except CallerPathError as exc:
                plain = os.path.abspath(path) if os.path.isabs(path) else ""
                if (
                    plain
                    and owner
                    and plain == os.path.normpath(path)
                    and self._guarded("/file=" + plain)
                    and self.owners.owns(plain, owner)
                ):
                    continue
                return str(exc)
        return ""

    def _record(self, data: bytes, owner: str) -> None:
        found = {
            os.path.normpath(unquote(m.decode("utf-8", "replace")))
            for m in self._named.findall(data)
        }
        if found:
            self.owners.add(found, owner)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        owner = _cookie(scope)
        if scope.get("method") == "POST" and _header(scope, b"content-type").startswith(
            b"application/json"
        ):
            body = await _read_body(receive)
            if body is None:
                await _refuse(send, 413, b"Request too large")
                return
            refusal = self._foreign_file(body, owner)
            if refusal:
                _log.info("request refused: %s", refusal)  # an ordinary refusal: one line
                await _refuse_files(send, refusal)
                return
            receive = _replay(body, receive)
        target = self._guarded(str(scope.get("path") or ""))
        if target is not None:
            if target and owner and self.owners.owns(target, owner):
                await self.app(scope, receive, send)
            else:
                await _not_found(send)
            return
        fresh = not owner
        if fresh:
            owner = secrets.token_urlsafe(24)
        secure = (
            scope.get("scheme") == "https"
            or _header(scope, b"x-forwarded-proto").lower() == b"https"
        )
        scan = [False]
        tail = [b""]

        async def sending(message: Message) -> None:
            if message["type"] == "http.response.start":
                kind = next(
                    (
                        bytes(v)
                        for k, v in message.get("headers") or ()
                        if k.lower() == b"content-type"
                    ),
                    b"",
                )
                scan[0] = kind.startswith(_SCANNED)
                if fresh:
                    message["headers"] = [
                        *list(message.get("headers") or ()),
                        (b"set-cookie", _set_cookie(owner, secure)),
                    ]
            elif message["type"] == "http.response.body" and scan[0]:
                body = bytes(message.get("body") or b"")
                if body:
                    self._record(tail[0] + body, owner)
                    tail[0] = body[-_CARRY:]
            await send(message)

        await self.app(scope, receive, sending)


def _file_paths(data: Any, depth: int = 0) -> Iterator[str]:
    """The ``path`` of every FileData (``meta._type == "gradio.FileData"``) in a JSON value;
    Gradio moves exactly these into its cache. Non-string paths are yielded as ``""``."""
    if depth > 64:
        yield ""  # deeper than any request of the page: refused
        return
    if isinstance(data, dict):
        meta = data.get("meta")
        if isinstance(meta, dict) and meta.get("_type") == "gradio.FileData":
            path = data.get("path")
            yield path if isinstance(path, str) else ""
        for value in data.values():
            yield from _file_paths(value, depth + 1)
    elif isinstance(data, list):
        for value in data:
            yield from _file_paths(value, depth + 1)


async def _read_body(receive: Receive) -> bytes | None:
    """The whole request body, or ``None`` past :data:`MAX_JSON_BODY`."""
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] != "http.request":
            break
        chunk = bytes(message.get("body") or b"")
        size += len(chunk)
        if size > MAX_JSON_BODY:
            return None
        chunks.append(chunk)
        if not message.get("more_body"):
            break
    return b"".join(chunks)


def _replay(body: bytes, receive: Receive) -> Receive:
    """A ``receive`` that gives ``body`` once, then what the connection sends next."""
    sent = [False]

    async def again() -> Message:
        if not sent[0]:
            sent[0] = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return again


async def _refuse_files(send: Send, message: str) -> None:
    """422 in the form Gradio's clients show as a validation message (one line, no path)."""
    detail = [
        {"__type__": "validate", "is_valid": False, "parameter_name": "files", "message": message}
    ]
    await _refuse(send, 422, json.dumps({"detail": detail}).encode(), b"application/json")


async def _refuse(
    send: Send, status: int, body: bytes, kind: bytes = b"text/plain; charset=utf-8"
) -> None:
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [(b"content-type", kind), (b"content-length", str(len(body)).encode())],
        }
    )
    await send({"type": "http.response.body", "body": body})


def _set_cookie(value: str, secure: bool) -> bytes:
    # Over https the page may be embedded by a host's site (a Space): the cookie must reach
    # a third-party frame, partitioned by that site.
    where = "SameSite=None; Secure; Partitioned" if secure else "SameSite=Lax"
    return f"{COOKIE}={value}; Path=/; HttpOnly; {where}".encode()


async def _not_found(send: Send) -> None:
    body = b"Not found"
    await send(
        {
            "type": "http.response.start",
            "status": 404,
            "headers": [
                (b"content-type", b"text/plain; charset=utf-8"),
                (b"content-length", str(len(body)).encode()),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})


def middleware() -> list[Any]:
    """The app's middleware, outermost first: the headers, then the file guard. Other
    middleware (a login check) is appended to this same list in :func:`launch_options`."""
    from starlette.middleware import Middleware

    return [Middleware(SecurityHeaders), Middleware(FileGuard)]
