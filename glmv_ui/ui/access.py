"""The app's door: one login for every route, failed logins throttled, request bodies capped.

An ASGI middleware in front of the whole Gradio app, the MCP mount and the file route included.
Gradio's own login (``GLMV_AUTH``) guards the page and the API with a cookie; this middleware
adds what Gradio leaves open:

- every route needs a login but what the login page loads: the MCP mount
  (``/gradio_api/mcp``…), the file and upload routes and Gradio's heartbeat included;
- programs (MCP clients, scripts) log in with ``Authorization: Basic`` on each request, with
  the same logins; the middleware then hands Gradio its own session cookie for that user, so
  every tool works with a login and the handlers see the user's name;
- wrong passwords, on the login form or in a header, are throttled per client address and per
  user name: after a few failures each further try waits longer (``429`` with ``Retry-After``);
- a request body longer than the cap is refused with ``413`` before it is read;
- Gradio's monitoring dashboard (every user's endpoints and timings) answers ``404``;
- an upload that meets a full disk gets a clear ``507`` and leaves no partial file.

Standard library only at import; Starlette is imported by Gradio, which builds the app.
"""

from __future__ import annotations

import errno
import hmac
import json
import logging
import secrets
from collections.abc import Awaitable, Callable, MutableMapping
from pathlib import Path
from typing import Any

from .logins import Credentials, LoginThrottle, Refusal, basic_credentials, login_user

__all__ = ["AccessGate", "LoginThrottle", "access_middleware"]

_log = logging.getLogger(__name__)

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
Asgi = Callable[[Scope, Receive, Send], Awaitable[None]]

# With logins, every route needs one but what the login page itself loads (Gradio answers
# /config with the 401 that makes the page show its login form).
PUBLIC_PATHS = frozenset(
    {
        "/",
        "/favicon.ico",
        "/manifest.json",
        "/robots.txt",
        "/theme.css",
        "/gradio_api/theme.css",
        "/login",
        "/login/",
        "/logout",
        "/config",
        "/config/",
        "/gradio_api/token",
        "/gradio_api/token/",
        "/gradio_api/user",
        "/gradio_api/user/",
        "/pwa_icon",
    }
)
# Gradio's launch calls this itself, once and without a login: it passes only until then.
STARTUP_PATH = "/gradio_api/startup-events"
PUBLIC_PREFIXES = ("/static/", "/assets/", "/svelte/", "/pwa_icon/")
LOGIN_PATHS = ("/login", "/login/")
BRIDGE_USER = "\0mcp-bridge"  # not a name any login can have
LOGIN_BODY_LIMIT = 64 * 2**10  # a login form is a few hundred bytes


class AccessGate:
    """The middleware (see the module's text). ``logins`` maps user names to passwords (empty:
    no login, only the body cap applies); ``body_limit`` is the largest body in bytes."""

    def __init__(
        self,
        app: Asgi,
        *,
        logins: dict[str, str],
        body_limit: int,
        throttle: LoginThrottle | None = None,
    ) -> None:
        self.app = app
        self.logins = dict(logins)
        self.body_limit = body_limit
        self.throttle = throttle or LoginThrottle()
        self.bridge_token = secrets.token_urlsafe(24)  # the MCP bridge's own client
        self._tokens: dict[str, str] = {}  # user -> the Gradio session token made for them
        self._bridged = False

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = _Headers(scope)
        length = headers.get(b"content-length")
        if length is not None and (not length.isdigit() or int(length) > self.body_limit):
            await _reply(
                send,
                413,
                f"the request is larger than this server accepts ({self.body_limit // 2**20} MB)",
            )
            return
        receive, send = self._capped(receive, send)
        path: str = scope.get("path", "")
        if _monitoring(path):  # every user's endpoints and timings: for nobody
            await _reply(send, 404, "Not Found")
            return
        if path.startswith(("/gradio_api/upload", "/upload")):
            send = _DiskFull.guard(send)
            try:
                await self._gated(scope, receive, send, headers)
            except OSError as exc:
                if exc.errno not in _DISK_FULL:
                    raise
                _DiskFull.clean(exc)
                _log.warning("an upload could not be stored: %s", exc.strerror)
                if not getattr(send, "started", True):
                    await _reply(
                        send,
                        507,
                        "the upload could not be stored: the server's disk "
                        "is full; try again later",
                    )
            return
        await self._gated(scope, receive, send, headers)

    async def _gated(self, scope: Scope, receive: Receive, send: Send, headers: _Headers) -> None:
        if not self.logins:
            await self.app(scope, receive, send)
            return
        self._bridge(scope)
        path: str = scope.get("path", "")
        client = (scope.get("client") or ("?", 0))[0]
        if path in LOGIN_PATHS and scope.get("method") == "POST":
            await self._login(scope, receive, send, client)
            return
        user = self._header_user(headers)
        if user is not None and user != BRIDGE_USER:
            name = user.user if isinstance(user, Credentials) else user
            wait = self.throttle.wait_s(client, name)
            if wait > 0:  # right or wrong, no try counts while the wait lasts
                await _too_many(send, wait)
                return
        if isinstance(user, Credentials):  # a Basic header that is wrong
            self.throttle.failed(client, user.user)
            await _reply(
                send,
                401,
                "wrong user name or password",
                [(b"www-authenticate", b'Basic realm="glmv"')],
            )
            return
        if user is not None:
            self._as_user(scope, headers, user)
        elif not self._public(scope, path) and self._cookie_user(scope, headers) is None:
            await _reply(
                send,
                401,
                "log in first: send Authorization: Basic with a login of this app",
                [(b"www-authenticate", b'Basic realm="glmv"')],
            )
            return
        await self.app(scope, receive, send)

    @staticmethod
    def _public(scope: Scope, path: str) -> bool:
        """Whether ``path`` answers without a login: the login page and what it loads, and
        Gradio's startup call until the launch has made it."""
        if path == STARTUP_PATH:
            return getattr(scope.get("app"), "startup_events_triggered", True) is False
        return path in PUBLIC_PATHS or path.startswith(PUBLIC_PREFIXES)

    # -- logins ----------------------------------------------------------------------------

    def _header_user(self, headers: _Headers) -> str | Credentials | None:
        """The user a request's Authorization header names: their name when right, the
        credentials when wrong or throttled, None when there is no such header."""
        value = headers.get(b"authorization")
        if value is None:
            return None
        if value.decode("latin-1").partition(" ")[2].strip() == self.bridge_token:
            return BRIDGE_USER
        creds = basic_credentials(value)
        if creds is None:
            return None  # another scheme: Gradio's own checks decide
        expected = self.logins.get(creds.user)
        if expected is not None and hmac.compare_digest(
            expected.encode("utf-8"), creds.password.encode("utf-8")
        ):
            return creds.user
        return creds

    def _as_user(self, scope: Scope, headers: _Headers, user: str) -> None:
        """Give Gradio its session cookie for ``user`` (made once per user and process)."""
        app = scope.get("app")
        tokens = getattr(app, "tokens", None)
        cookie_id = getattr(app, "cookie_id", None)
        if tokens is None or cookie_id is None:
            return
        if self._cookie_user(scope, headers) is not None:
            return
        token = self._tokens.get(user)
        if token is None or tokens.get(token) != user:
            token = self._tokens[user] = secrets.token_urlsafe(24)
            tokens[token] = user
        cookie = f"access-token-{cookie_id}={token}".encode("latin-1")
        old = headers.get(b"cookie")
        headers.set(b"cookie", old + b"; " + cookie if old else cookie)

    @staticmethod
    def _cookie_user(scope: Scope, headers: _Headers) -> str | None:
        app = scope.get("app")
        tokens = getattr(app, "tokens", None)
        cookie_id = getattr(app, "cookie_id", None)
        raw = headers.get(b"cookie")
        if tokens is None or raw is None:
            return None
        from http.cookies import CookieError, SimpleCookie

        jar: SimpleCookie = SimpleCookie()
        try:
            jar.load(raw.decode("latin-1"))
        except CookieError:
            return None
        for name in (f"access-token-{cookie_id}", f"access-token-unsecure-{cookie_id}"):
            if name in jar and jar[name].value in tokens:
                return str(tokens[jar[name].value])
        return None

    async def _login(self, scope: Scope, receive: Receive, send: Send, client: str) -> None:
        """Gradio's login form, throttled: the body is read here (it is small) and replayed."""
        chunks, size = [], 0
        while True:
            message = await receive()
            if message["type"] != "http.request":
                return
            chunks.append(message.get("body", b""))
            size += len(chunks[-1])
            if size > LOGIN_BODY_LIMIT:
                await _reply(send, 413, "the login form is larger than a login needs")
                return
            if not message.get("more_body"):
                break
        body = b"".join(chunks)
        user = await login_user(scope, body)
        if isinstance(user, Refusal):
            await _reply(send, 400, user.detail)
            return
        wait = self.throttle.wait_s(client, user)
        if wait > 0:
            await _too_many(send, wait)
            return
        sent = False

        async def replay() -> Message:
            nonlocal sent
            if sent:
                return {"type": "http.disconnect"}
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}

        async def watch(message: Message) -> None:
            if message["type"] == "http.response.start":
                if message["status"] == 200:
                    self.throttle.succeeded(client, user)
                elif message["status"] in (400, 401):
                    self.throttle.failed(client, user)
            await send(message)

        await self.app(scope, replay, watch)

    # -- the MCP bridge --------------------------------------------------------------------

    def _bridge(self, scope: Scope) -> None:
        """Gradio's MCP server calls the app through a client of its own, which carries no
        login; give it one (the token of this gate, known only in this process). Each tool
        call still carries its caller's own headers, so the handlers see the caller."""
        if self._bridged:
            return
        app: Any = scope.get("app")
        blocks = app.get_blocks() if hasattr(app, "get_blocks") else None
        server = getattr(blocks, "mcp_server_obj", None)
        if server is None:
            return
        self._bridged = True
        make = server._get_or_create_client
        token = self.bridge_token

        def bridged_client() -> Any:
            if server._client_instance is None and server.local_url:
                from gradio_client import Client  # type: ignore[import-untyped]

                server._client_instance = Client(
                    server.local_url,
                    download_files=False,
                    verbose=False,
                    analytics_enabled=False,
                    ssl_verify=False,
                    _skip_components=False,
                    headers={"x-gradio-user": "mcp", "authorization": f"Bearer {token}"},
                )
            return make()

        server._get_or_create_client = bridged_client

    # -- the body cap ----------------------------------------------------------------------

    def _capped(self, receive: Receive, send: Send) -> tuple[Receive, Send]:
        """A body sent without a length is counted as it comes: past the cap the app is told
        the client left, and its answer is replaced by the 413 that says why."""
        limit, seen, over, replaced = self.body_limit, 0, False, False

        async def capped() -> Message:
            nonlocal seen, over
            if over:
                return {"type": "http.disconnect"}
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > limit:
                    over = True
                    return {"type": "http.disconnect"}
            return message

        async def answer(message: Message) -> None:
            nonlocal replaced
            if not over:
                await send(message)
            elif not replaced and message["type"] == "http.response.start":
                replaced = True
                await _reply(
                    send,
                    413,
                    f"the request is larger than this server accepts ({limit // 2**20} MB)",
                )

        return capped, answer


_DISK_FULL = (errno.ENOSPC, errno.EFBIG, errno.EDQUOT)


class _DiskFull:
    """A full disk during an upload: a clear 507 instead of a bare 500, and the partial file
    removed (Gradio removes its temporary files only for errors of its own)."""

    @staticmethod
    def guard(send: Send) -> Send:
        async def watched(message: Message) -> None:
            if message["type"] == "http.response.start":
                watched.started = True  # type: ignore[attr-defined]
            await send(message)

        watched.started = False  # type: ignore[attr-defined]
        return watched

    @staticmethod
    def clean(exc: BaseException) -> None:
        """Remove the temporary files of the parser that failed: found in the failure's own
        frames, so another upload's files are never touched."""
        tb = exc.__traceback__
        while tb is not None:
            parser = tb.tb_frame.f_locals.get("self")
            for handle in getattr(parser, "_files_to_close_on_error", None) or []:
                name = getattr(handle, "name", None)
                try:
                    handle.close()
                except OSError:
                    pass  # closing flushes; the disk is full
                if isinstance(name, str):
                    Path(name).unlink(missing_ok=True)
            tb = tb.tb_next


def _monitoring(path: str) -> bool:
    """Gradio's monitoring dashboard and its data, under any of its prefixes."""
    from urllib.parse import unquote

    clean = "/" + "/".join(p for p in unquote(path).lower().split("/") if p)
    return any(
        clean == root or clean.startswith(root + "/")
        for root in ("/monitoring", "/gradio_api/monitoring")
    )


class _Headers:
    """The raw header list of a scope, read and changed in place."""

    def __init__(self, scope: Scope) -> None:
        self.scope = scope

    def get(self, name: bytes) -> bytes | None:
        for key, value in self.scope.get("headers", []):
            if key.lower() == name:
                return bytes(value)
        return None

    def set(self, name: bytes, value: bytes) -> None:
        rest = [(k, v) for k, v in self.scope.get("headers", []) if k.lower() != name]
        self.scope["headers"] = [*rest, (name, value)]


async def _reply(
    send: Send, status: int, detail: str, extra: list[tuple[bytes, bytes]] | None = None
) -> None:
    body = json.dumps({"detail": detail}).encode("utf-8")
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
                *(extra or []),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})


async def _too_many(send: Send, wait: float) -> None:
    seconds = max(1, round(wait + 0.5))
    await _reply(
        send,
        429,
        f"too many failed logins; try again in {seconds} s",
        [(b"retry-after", str(seconds).encode())],
    )


def access_middleware(logins: list[tuple[str, str]], body_limit: int) -> Any:
    """The gate as a Starlette ``Middleware`` entry for ``launch(app_kwargs=...)``."""
    from starlette.middleware import Middleware

    return Middleware(AccessGate, logins=dict(logins), body_limit=body_limit)
