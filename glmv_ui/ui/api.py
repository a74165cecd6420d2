"""Endpoints for programs: the MCP tools and the plain API, apart from the page's own events.

MCP clients reach the app through one shared Gradio client, so anything keyed to the browser
session would be shared between every MCP client. These tools therefore keep no per-session state:
``ask`` is stateless unless the caller passes back the conversation id a previous ``ask``
returned, an unguessable token that only that caller holds. Files come by URL (``https:`` or a
``data:`` URL) and go through the same upload rules as the page; only globally routable
addresses are fetched unless the operator allows others (``GLMV_FETCH_PRIVATE=1``), so the tool
cannot be turned into a way to read the server's own network. The downloads of one request
share one deadline and one size cap; they and the decoding of the files happen before the
model's slot is taken (:class:`FairGate`), so a slow file holds only its own caller.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import hmac
import ipaddress
import logging
import mimetypes
import os
import secrets
import shutil
import socket
import tempfile
import threading
import time
from collections import OrderedDict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

from ..config import AppConfig, MediaLimits
from ..engines.base import Engine
from ..errors import ConversationError, GlmvError, MediaError
from ..prompt import Turn
from ..reasons import reason
from ..session import Session
from .model import ModelManager
from .settings import MediaChoice, Settings

__all__ = ["ApiHandlers", "BusyError", "ConversationStore", "FairGate", "FetchRules",
           "LoginReplies", "fetch_files", "is_public_address"]

_log = logging.getLogger(__name__)

IDLE_SECONDS = 30 * 60  # a conversation nobody asked about for this long is forgotten
MAX_CONVERSATIONS = 256
PER_CALLER = 32  # conversations one caller keeps; its own oldest goes first
STORE_FULL = ("busy: too many conversations are open on this server; try again later, or "
              "continue one of yours")


@dataclass
class _Entry:
    turns: list[Turn]
    session: Session | None = None  # None after a model switch: made again on the next ask
    seen: float = field(default_factory=time.monotonic)
    caller: str = ""
    pending: bool = False  # reserved for a new conversation whose first reply is coming

    def close(self) -> None:
        if self.session is not None:
            self.session.close()


class ConversationStore:
    """Conversations of API/MCP callers by unguessable id. Idle ones expire; each caller keeps
    at most ``per_caller`` (its own oldest goes first); when the store is full a new one is
    refused, never someone else's dropped."""

    def __init__(self, idle_s: float = IDLE_SECONDS, limit: int = MAX_CONVERSATIONS,
                 per_caller: int = PER_CALLER) -> None:
        self.idle_s = idle_s
        self.limit = limit
        self.per_caller = max(1, per_caller)
        self._lock = threading.Lock()
        self._items: OrderedDict[str, _Entry] = OrderedDict()

    def reserve(self, caller: str) -> str:
        """A place for ``caller``'s new conversation, before any work is done for it: its own
        oldest is dropped when it has ``per_caller``; BusyError when the store is full."""
        key = secrets.token_urlsafe(18)
        with self._lock:
            self._reap()
            mine = [k for k, e in self._items.items() if e.caller == caller]
            if len(mine) >= self.per_caller:
                self._items.pop(mine[0]).close()
            elif len(self._items) >= self.limit:
                raise BusyError(STORE_FULL)
            self._items[key] = _Entry([], caller=caller, pending=True)
        return key

    def fill(self, key: str, session: Session) -> None:
        """The reserved conversation ``key`` now has its first reply."""
        with self._lock:
            entry = self._items.get(key)
            if entry is None:  # dropped meanwhile by its own caller's newer ones
                session.close()
                return
            entry.turns, entry.session, entry.pending = session.turns, session, False
            entry.seen = time.monotonic()

    def cancel(self, key: str) -> None:
        with self._lock:
            entry = self._items.pop(key, None)
            if entry is not None:
                entry.close()

    def open(self, session: Session, caller: str = "") -> str:
        key = self.reserve(caller)
        self.fill(key, session)
        return key

    def get(self, key: str, engine: Engine, limits: MediaLimits, caller: str = "") -> Session:
        """The conversation ``key`` as a session on ``engine`` (the current model). Only the
        caller that opened it may continue it: for any other the id is as unknown."""
        with self._lock:
            self._reap()
            entry = self._items.get(key)
            if entry is None or entry.pending or not hmac.compare_digest(
                    entry.caller.encode("utf-8"), caller.encode("utf-8")):
                raise ConversationError("unknown or expired conversation id; start a new "
                                        "conversation by leaving it empty")
            entry.seen = time.monotonic()
            self._items.move_to_end(key)
            if entry.session is None or entry.session.engine is not engine:
                entry.session = Session(engine, limits=limits)
                entry.session.turns = entry.turns
            return entry.session

    def release_all(self) -> None:
        """The model is being replaced: keep each conversation, let go of the old engine."""
        with self._lock:
            for entry in self._items.values():
                if entry.session is not None:
                    entry.session.stop()
                    entry.session = None

    def _reap(self) -> None:
        now = time.monotonic()
        for key in [k for k, e in self._items.items() if now - e.seen > self.idle_s]:
            self._items.pop(key).close()

    def __len__(self) -> int:
        return len(self._items)


@dataclass(frozen=True)
class FetchRules:
    """What one request's files by URL may take, all of them together."""

    max_bytes: int  # the files' total size
    max_urls: int  # how many files
    deadline_s: float  # all downloads together
    allow_private: bool = False  # also addresses that are not globally routable
    trust_env: bool = False  # use the environment's proxy settings
    read_timeout_s: float = 10.0  # one read; a stalled server fails within this of the deadline

    @classmethod
    def from_config(cls, config: AppConfig, max_upload_mb: int) -> FetchRules:
        return cls(max_bytes=max_upload_mb * 2**20, max_urls=config.media.max_images,
                   deadline_s=config.fetch_deadline_s, allow_private=config.fetch_private,
                   trust_env=config.fetch_proxy)


# IPv6 ranges refused whatever Python's ``is_global`` says: forms that carry an IPv4 address
# (which may be a private one) and deprecated ranges.
_REFUSED_V6 = tuple(ipaddress.ip_network(n) for n in (
    "::/96",  # IPv4-compatible (deprecated): ::127.0.0.1
    "::ffff:0:0/96",  # IPv4-mapped
    "::ffff:0:0:0/96",  # IPv4-translated (SIIT)
    "fec0::/10",  # site-local (deprecated)
    "2002::/16",  # 6to4
    "64:ff9b::/96", "64:ff9b:1::/48",  # NAT64
    "2001::/32",  # Teredo
))


def is_public_address(text: str) -> bool:
    """Whether the address ``text`` (a zone suffix allowed) may be fetched from: globally
    routable, not multicast, and no IPv6 form that carries an IPv4 address or a deprecated
    range. Fails closed: anything that does not parse is not public."""
    try:
        address = ipaddress.ip_address(text.split("%")[0])
    except ValueError:
        return False
    return _global(address)


def _global(address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    """Whether ``address`` is globally routable. IPv6 addresses that carry an IPv4 one
    (compatible, mapped, translated, 6to4, NAT64, Teredo) and site-local ones are refused
    outright: a public file never needs them, and they could lead to an address that is not
    public."""
    if isinstance(address, ipaddress.IPv6Address) and any(address in n for n in _REFUSED_V6):
        return False
    return bool(address.is_global) and not address.is_multicast


def _check_host(host: str, url: str) -> None:
    """Refuse a host unless every address it resolves to is globally routable (fails closed:
    a name that does not resolve is refused too)."""
    try:
        infos = socket.getaddrinfo(host, None)
    except (OSError, UnicodeError):
        raise MediaError(url[:80], reason("url.unresolvable")) from None
    if not infos or not all(is_public_address(str(info[4][0])) for info in infos):
        raise MediaError(url[:80], reason("url.private"))


class _Budget:
    """The bytes and the time left to one request's downloads."""

    def __init__(self, rules: FetchRules) -> None:
        self.rules = rules
        self.left = rules.max_bytes
        self.deadline = time.monotonic() + rules.deadline_s
        self.taken: dict[str, int] = {}

    def take(self, name: str, size: int) -> None:
        self.left -= size
        self.taken[name] = self.taken.get(name, 0) + size
        limit_mb = self.rules.max_bytes // 2**20
        if self.taken[name] > self.rules.max_bytes:
            raise MediaError(name, reason("url.too_large", limit_mb=limit_mb))
        if self.left < 0:
            raise MediaError(name, reason("url.total", limit_mb=limit_mb))

    def check_time(self, name: str) -> None:
        if time.monotonic() > self.deadline:
            raise MediaError(name, reason("url.deadline", seconds=self.rules.deadline_s))


def fetch_files(urls: list[str], folder: Path, rules: FetchRules) -> list[str]:
    """Download ``urls`` into ``folder`` (each under a name of its own), within ``rules``: the
    count is checked before anything is fetched, a ``data:`` URL by its encoded length before
    it is decoded, downloads against the total size while reading and against one deadline.
    Returns local paths named after the URLs' file names. A file that cannot be written (a
    full disk) is removed and refused with a clear message."""
    if len(urls) > rules.max_urls:
        raise MediaError("files", reason("fetch.count", count=len(urls), limit=rules.max_urls))
    budget = _Budget(rules)
    paths = []
    for i, url in enumerate(urls):
        parts = urlsplit(url.strip())
        if parts.scheme == "data":
            header, _, payload = url.partition(",")
            mime = header[5:].split(";")[0] or "application/octet-stream"
            name = f"attachment-{i + 1}{mimetypes.guess_extension(mime) or ''}"
            encoded = header.endswith(";base64")
            # Judged by its length before anything is decoded (base64: 3 bytes per 4 chars).
            budget.take(name, len(payload) * 3 // 4 if encoded else len(payload))
            target = folder / f"{i:02d}" / name
            target.parent.mkdir(parents=True)
            _store(target, _decoded(payload, name) if encoded else
                   iter([unquote(payload).encode()]))
        else:
            name = os.path.basename(unquote(parts.path)) or f"file-{i + 1}"
            name = name[:120] if name not in (".", "..") else f"file-{i + 1}"
            target = folder / f"{i:02d}" / name
            target.parent.mkdir(parents=True)
            _download(url, target, budget)
        paths.append(str(target))
    return paths


def _decoded(payload: str, name: str) -> Iterator[bytes]:
    """Base64 ``payload`` decoded a piece at a time (a whole copy is never made)."""
    step = 4 << 16
    for start in range(0, len(payload), step):
        try:
            yield base64.b64decode(payload[start:start + step], validate=False)
        except (ValueError, binascii.Error):
            raise MediaError(name, reason("url.data")) from None


def _store(target: Path, blocks: Iterable[bytes]) -> None:
    """Write ``blocks`` to ``target``; on a write error (the disk is full, a file size limit)
    the partial file is removed and the caller gets a clear refusal (the log the detail)."""
    try:
        with open(target, "wb") as out:
            for block in blocks:
                out.write(block)
    except OSError as exc:
        target.unlink(missing_ok=True)
        _log.warning("could not store a fetched file: %s", exc)
        raise MediaError(target.name, reason("disk.full")) from None
    except BaseException:
        target.unlink(missing_ok=True)
        raise


class _Connector:
    """httpcore's network backend for one request's downloads. Each connection goes to an
    address checked when it is made (no second lookup that a changing DNS answer could
    steer), and all of them are shut at the deadline, which wakes a read that a slow server
    keeps waiting (httpx's timeouts are per read, not per download)."""

    def __init__(self, check: bool) -> None:
        import httpcore

        self.inner = httpcore.SyncBackend()
        self.check = check
        self.expired = False
        self._lock = threading.Lock()
        self._sockets: list[socket.socket] = []

    def connect_tcp(self, host: str, port: int, timeout: float | None = None,
                    local_address: str | None = None,
                    socket_options: Iterable[Any] | None = None) -> Any:
        address = _checked_address(host) if self.check else host
        stream = self.inner.connect_tcp(address, port, timeout, local_address, socket_options)
        sock = stream.get_extra_info("socket")
        with self._lock:
            if isinstance(sock, socket.socket):
                self._sockets.append(sock)
            if self.expired:
                _shut(sock)
        return stream

    def connect_unix_socket(self, path: str, timeout: float | None = None,
                            socket_options: Iterable[Any] | None = None) -> Any:
        raise OSError("no unix sockets")

    def sleep(self, seconds: float) -> None:
        self.inner.sleep(seconds)

    def expire(self) -> None:
        with self._lock:
            self.expired = True
            for sock in self._sockets:
                _shut(sock)


def _shut(sock: Any) -> None:
    try:
        sock.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass  # already closed


def _checked_address(host: str) -> str:
    """The first address of ``host``, when every address it has is globally routable."""
    try:
        infos = socket.getaddrinfo(host, None, type=socket.SOCK_STREAM)
    except (OSError, UnicodeError):
        raise OSError(f"{host} does not resolve") from None
    addresses = [str(info[4][0]).split("%")[0] for info in infos]
    if not addresses or not all(is_public_address(a) for a in addresses):
        raise OSError(f"{host} is not a public address")
    return addresses[0]


def _download(url: str, target: Path, budget: _Budget) -> None:
    """GET ``url`` into ``target``; every redirect is checked like the first address."""
    import httpx

    rules = budget.rules
    name = target.name
    budget.check_time(name)
    connector = _Connector(check=not rules.allow_private and not rules.trust_env)
    transport = httpx.HTTPTransport(trust_env=rules.trust_env)
    pool = getattr(transport, "_pool", None)
    if pool is not None and hasattr(pool, "_network_backend"):
        pool._network_backend = connector
    timer = threading.Timer(max(0.0, budget.deadline - time.monotonic()), connector.expire)
    timer.daemon = True
    timer.start()
    try:
        with httpx.Client(transport=transport,
                          timeout=httpx.Timeout(min(rules.read_timeout_s, rules.deadline_s)),
                          follow_redirects=False, trust_env=rules.trust_env) as client:
            for _ in range(5):
                parts = urlsplit(url)
                if parts.scheme not in ("http", "https") or not parts.hostname:
                    raise MediaError(url[:80], reason("url.scheme"))
                if not rules.allow_private:
                    _check_host(parts.hostname, url)
                try:
                    with client.stream("GET", url) as response:
                        if response.is_redirect and "location" in response.headers:
                            url = str(response.url.join(response.headers["location"]))
                            continue
                        if response.status_code != 200:
                            raise MediaError(name, reason("url.status",
                                                          status=response.status_code))

                        def blocks(response: httpx.Response = response) -> Iterator[bytes]:
                            for block in response.iter_bytes():  # as each read arrives
                                budget.check_time(name)
                                budget.take(name, len(block))
                                yield block

                        _store(target, blocks())
                        return
                except (httpx.HTTPError, OSError) as exc:
                    if connector.expired:
                        raise MediaError(name, reason(
                            "url.deadline", seconds=rules.deadline_s)) from None
                    if isinstance(exc, OSError) and not isinstance(exc, httpx.HTTPError) \
                            and "public address" in str(exc):
                        raise MediaError(url[:80], reason("url.private")) from None
                    _log.info("fetching a file failed: %s", type(exc).__name__)
                    raise MediaError(name, reason("url.failed")) from None
        raise MediaError(name, reason("url.redirects"))
    finally:
        timer.cancel()


class BusyError(ConversationError):
    """A request refused for fair use: the caller has one running already, or the queue is
    full. Says how many requests are ahead (``ahead``; None: the caller's own is running)."""

    def __init__(self, message: str, ahead: int | None = None) -> None:
        super().__init__(message)
        self.ahead = ahead


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


LOGIN_BUSY = ("busy: a reply for your login is already being written (in another tab or "
              "program); wait for it to finish")


class _Ticket:
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
    waits is bounded by the callers admitted (``per_client`` each, ``queue_size`` in all)."""

    def __init__(self, slots: int, queue_size: int, per_client: int = 2) -> None:
        self.slots = max(1, slots)
        self.queue_size = queue_size
        self.per_client = per_client
        self._cond = threading.Condition()
        self._tickets: list[_Ticket] = []  # admitted, in order of arrival
        self._order: list[_Ticket] = []  # waiting for a slot, in order of arrival
        self._running = 0

    @contextlib.contextmanager
    def enter(self, client: str) -> Iterator[_Ticket]:
        with self._cond:
            mine = sum(t.client == client for t in self._tickets)
            ahead = len(self._tickets)
            if mine >= self.per_client:
                raise BusyError(f"busy: you have {mine} requests in progress already; wait "
                                "for one to finish")
            if ahead >= self.slots + self.queue_size:
                raise BusyError(f"busy: {ahead} requests ahead of you; try again shortly",
                                ahead)
            ticket = _Ticket(self, client)
            self._tickets.append(ticket)
            self._cond.notify_all()
        try:
            yield ticket
        finally:
            with self._cond:
                self._tickets.remove(ticket)
                self._cond.notify_all()

    def _next(self) -> _Ticket | None:
        if self._running >= self.slots:
            return None
        busy = {t.client for t in self._tickets if t.running}
        for ticket in self._order:
            if ticket.client not in busy:
                return ticket
        # A login never has two running; a session without one may use a free slot.
        return next((t for t in self._order if not t.client.startswith("user:")), None)

    @property
    def in_flight(self) -> int:
        with self._cond:
            return len(self._tickets)

    def wait_in_flight(self, count: int, timeout_s: float) -> bool:
        """Wait until at least ``count`` requests are admitted (False: not within the time)."""
        with self._cond:
            return self._cond.wait_for(lambda: len(self._tickets) >= count, timeout_s)


class ApiHandlers:
    """``ask`` and ``model_info`` for MCP clients and API callers."""

    def __init__(self, config: AppConfig, manager: ModelManager,
                 store: ConversationStore | None = None,
                 replies: LoginReplies | None = None) -> None:
        self.config = config
        self.manager = manager
        self.store = store or ConversationStore()
        self.gate = FairGate(config.concurrency, config.queue_size)
        self.replies = replies or LoginReplies()

    def ask(self, text: str, files: list[str] | None, conversation: str,
            settings: Settings, client: str = "", user: str = "") -> dict[str, Any]:
        """Answer ``text`` about ``files``; see the tool's description in wiring. ``client``
        names the caller for fair use (a login or a session); ``user`` is the login, whose
        replies on the page count too."""
        self.manager.require("en")  # refuse at once while no model is ready
        choice = settings.media(self.config.media)
        if self.replies.running(user):
            raise BusyError(LOGIN_BUSY)
        key = conversation or self.store.reserve(client)  # a full store refuses at once
        try:
            with self.gate.enter(client) as ticket:
                session, updates = self._answer(text, files, conversation, settings, choice,
                                                ticket, user, client)
        except BaseException:
            if not conversation:
                self.store.cancel(key)
            raise
        if not updates:
            if not conversation:
                self.store.cancel(key)
            raise GlmvError("the engine produced no reply")
        if not conversation:
            self.store.fill(key, session)
        reply = session.reply()
        return {
            "answer": reply.answer,
            "thinking": reply.thinking,
            "boxes": [{"label": b.label, "box": [b.x1, b.y1, b.x2, b.y2]} for b in reply.boxes],
            "actions": [{"name": a.name, "point": list(a.target) if a.target else None,
                         "text": a.raw} for a in reply.actions],
            "notices": [n.text() for n in reply.notices],
            "stats": reply.stats_line(),
            "conversation": key,
        }

    def _answer(self, text: str, files: list[str] | None, conversation: str,
                settings: Settings, choice: MediaChoice, ticket: _Ticket,
                user: str, client: str) -> tuple[Session, list[Any]]:
        """Fetch the files and decode them (under the decode budget the page's previews
        share), then take the model's slot and answer: one caller's slow file never holds
        the slot another caller's turn waits for."""
        from ..media import ingest
        from ..media.inflight import DECODING, decode_cost

        folder = Path(tempfile.mkdtemp(prefix="glmv-api-"))
        try:
            paths = fetch_files(list(files or []), folder,
                                FetchRules.from_config(self.config,
                                                       choice.limits.max_upload_mb))
            session = self._session(conversation, client)
            parts = []
            if paths:
                cost = sum(decode_cost(p, choice.limits) for p in paths)
                with DECODING.hold(cost):
                    parts = ingest(paths, choice.limits, existing=session.parts,
                                   **choice.options())
            with ticket.turn(), self.replies.hold(user):
                session = self._session(conversation, client, session)
                engine = session.engine
                session.system_prompt = settings.system_prompt
                updates = list(session.submit(text, parts,
                                              sampling=settings.sampling(engine.family)))
        finally:
            shutil.rmtree(folder, ignore_errors=True)
        return session, updates

    def _session(self, conversation: str, client: str,
                 current: Session | None = None) -> Session:
        """The session to answer in, on the model loaded now (which may have changed while
        the files were decoded): the caller's conversation, else a new one."""
        engine = self.manager.require("en")
        if current is not None and current.engine is engine:
            return current
        if conversation:
            return self.store.get(conversation, engine, self.config.media, client)
        return Session(engine, limits=self.config.media)

    def model_info(self) -> dict[str, Any]:
        from ..models import FAMILIES

        family = FAMILIES.get(self.manager.family)
        return {"model": self.manager.name, "state": self.manager.state,
                "family": family.label if family else self.manager.family,
                "can_disable_thinking": bool(family and family.can_disable_thinking)}
