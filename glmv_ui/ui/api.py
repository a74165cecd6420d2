"""Endpoints for programs: the MCP tools and the plain API, apart from the page's own events.

MCP clients reach the app through one shared Gradio client, so anything keyed to the browser
session would be shared between every MCP client. These tools therefore keep no per-session state:
``ask`` is stateless unless the caller passes back the conversation id a previous ``ask``
returned, an unguessable token that only that caller holds. Files come by URL (``https:`` or a
``data:`` URL) and go through the same upload rules as the page; addresses on this machine or
its private networks are refused unless the operator allows them (``GLMV_FETCH_PRIVATE=1``),
so the tool cannot be turned into a way to read the server's own network.
"""

from __future__ import annotations

import base64
import ipaddress
import mimetypes
import os
import secrets
import shutil
import socket
import tempfile
import threading
import time
from collections import OrderedDict
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
from .settings import Settings

__all__ = ["ApiHandlers", "ConversationStore", "fetch_files"]

IDLE_SECONDS = 30 * 60  # a conversation nobody asked about for this long is forgotten
MAX_CONVERSATIONS = 256


@dataclass
class _Entry:
    turns: list[Turn]
    session: Session | None = None  # None after a model switch: made again on the next ask
    seen: float = field(default_factory=time.monotonic)

    def close(self) -> None:
        if self.session is not None:
            self.session.close()


class ConversationStore:
    """Conversations of API/MCP callers by unguessable id; idle ones expire, the oldest go
    first when the store is full."""

    def __init__(self, idle_s: float = IDLE_SECONDS, limit: int = MAX_CONVERSATIONS) -> None:
        self.idle_s = idle_s
        self.limit = limit
        self._lock = threading.Lock()
        self._items: OrderedDict[str, _Entry] = OrderedDict()

    def open(self, session: Session) -> str:
        key = secrets.token_urlsafe(18)
        with self._lock:
            self._reap()
            self._items[key] = _Entry(session.turns, session)
            while len(self._items) > self.limit:
                self._items.popitem(last=False)[1].close()
        return key

    def get(self, key: str, engine: Engine, limits: MediaLimits) -> Session:
        """The conversation ``key`` as a session on ``engine`` (the current model)."""
        with self._lock:
            self._reap()
            entry = self._items.get(key)
            if entry is None:
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


def _private(host: str) -> bool:
    try:
        infos = socket.getaddrinfo(host, None)
    except OSError:
        return False  # not resolvable: the fetch fails with a clear message anyway
    for info in infos:
        address = ipaddress.ip_address(info[4][0])
        if address.is_private or address.is_loopback or address.is_link_local or \
                address.is_reserved or address.is_multicast or address.is_unspecified:
            return True
    return False


def fetch_files(urls: list[str], folder: Path, max_bytes: int,
                allow_private: bool = False) -> list[str]:
    """Download ``urls`` into ``folder`` (each under a name of its own, size-capped while
    reading); returns local paths named after the URLs' file names."""
    paths = []
    for i, url in enumerate(urls):
        parts = urlsplit(url.strip())
        if parts.scheme == "data":
            header, _, payload = url.partition(",")
            mime = header[5:].split(";")[0] or "application/octet-stream"
            data = base64.b64decode(payload) if header.endswith(";base64") else \
                unquote(payload).encode()
            name = f"attachment-{i + 1}{mimetypes.guess_extension(mime) or ''}"
            if len(data) > max_bytes:
                raise MediaError(name, reason("url.too_large", limit_mb=max_bytes // 2**20))
            target = folder / f"{i:02d}" / name
            target.parent.mkdir(parents=True)
            target.write_bytes(data)
        else:
            name = os.path.basename(unquote(parts.path)) or f"file-{i + 1}"
            target = folder / f"{i:02d}" / name
            target.parent.mkdir(parents=True)
            _download(url, target, max_bytes, allow_private)
        paths.append(str(target))
    return paths


def _download(url: str, target: Path, max_bytes: int, allow_private: bool) -> None:
    """GET ``url`` into ``target``; every redirect is checked like the first address."""
    import httpx

    name = target.name
    with httpx.Client(timeout=30.0, follow_redirects=False) as client:
        for _ in range(5):
            parts = urlsplit(url)
            if parts.scheme not in ("http", "https") or not parts.hostname:
                raise MediaError(url[:80], reason("url.scheme"))
            if not allow_private and _private(parts.hostname):
                raise MediaError(url[:80], reason("url.private"))
            try:
                with client.stream("GET", url) as response:
                    if response.is_redirect and "location" in response.headers:
                        url = str(response.url.join(response.headers["location"]))
                        continue
                    if response.status_code != 200:
                        raise MediaError(name, reason("url.status",
                                                      status=response.status_code))
                    size = 0
                    with open(target, "wb") as out:
                        for block in response.iter_bytes(1 << 16):
                            size += len(block)
                            if size > max_bytes:
                                raise MediaError(name, reason(
                                    "url.too_large", limit_mb=max_bytes // 2**20))
                            out.write(block)
                    return
            except httpx.HTTPError as exc:
                raise MediaError(name, reason("url.failed")) from exc
    raise MediaError(name, reason("url.redirects"))


class ApiHandlers:
    """``ask`` and ``model_info`` for MCP clients and API callers."""

    def __init__(self, config: AppConfig, manager: ModelManager,
                 store: ConversationStore | None = None) -> None:
        self.config = config
        self.manager = manager
        self.store = store or ConversationStore()

    def ask(self, text: str, files: list[str] | None, conversation: str,
            settings: Settings) -> dict[str, Any]:
        """Answer ``text`` about ``files``; see the tool's description in wiring."""
        from ..media import ingest

        engine = self.manager.require("en")
        if conversation:
            session = self.store.get(conversation, engine, self.config.media)
        else:
            session = Session(engine, limits=self.config.media)
        session.system_prompt = settings.system_prompt
        choice = settings.media(self.config.media)
        folder = Path(tempfile.mkdtemp(prefix="glmv-api-"))
        try:
            paths = fetch_files(list(files or []), folder, choice.limits.max_upload_mb * 2**20,
                                allow_private=os.environ.get("GLMV_FETCH_PRIVATE") == "1")
            parts = ingest(paths, choice.limits, existing=session.parts, **choice.options()) \
                if paths else []
            updates = list(session.submit(text, parts,
                                          sampling=settings.sampling(engine.family)))
        finally:
            shutil.rmtree(folder, ignore_errors=True)
        if not updates:
            raise GlmvError("the engine produced no reply")
        reply = session.reply()
        key = conversation or self.store.open(session)
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

    def model_info(self) -> dict[str, Any]:
        from ..models import FAMILIES

        family = FAMILIES.get(self.manager.family)
        return {"model": self.manager.name, "state": self.manager.state,
                "family": family.label if family else self.manager.family,
                "can_disable_thinking": bool(family and family.can_disable_thinking)}
