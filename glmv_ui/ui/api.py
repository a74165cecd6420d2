"""Endpoints for programs: the MCP tools and the plain API, apart from the page's own events.

MCP clients reach the app through one shared Gradio client, so anything keyed to the browser
session would be shared between every MCP client. These tools therefore keep no per-session state:
``ask`` is stateless unless the caller passes back the conversation id a previous ``ask``
returned, an unguessable token that only that caller holds. Files come by URL (``https:`` or a
``data:`` URL) and go through the same upload rules as the page; only globally routable
addresses are fetched unless the operator allows others (``GLMV_FETCH_PRIVATE=1``), so the tool
cannot be turned into a way to read the server's own network. The downloads of one request
share one deadline and one size cap; they and the decoding of the files happen before the
model's slot is taken (:class:`~.fair.FairGate`), so a slow file holds only its own caller;
the fetching itself is :mod:`.fetch`.
"""

from __future__ import annotations

import hmac
import secrets
import shutil
import tempfile
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..config import AppConfig, MediaLimits
from ..engines.base import Engine
from ..errors import ConversationError, GlmvError
from ..prompt import Turn
from ..session import Session
from .fair import LOGIN_BUSY, BusyError, FairGate, LoginReplies, Ticket
from .fetch import FetchRules, fetch_files
from .model import ModelManager
from .settings import MediaChoice, Settings

__all__ = ["ApiHandlers", "ConversationStore"]

IDLE_SECONDS = 30 * 60  # a conversation nobody asked about for this long is forgotten
MAX_CONVERSATIONS = 256
PER_CALLER = 32  # conversations one caller keeps; its own oldest goes first
STORE_FULL = (
    "busy: too many conversations are open on this server; try again later, or "
    "continue one of yours"
)


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

    def __init__(
        self,
        idle_s: float = IDLE_SECONDS,
        limit: int = MAX_CONVERSATIONS,
        per_caller: int = PER_CALLER,
    ) -> None:
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
            if (
                entry is None
                or entry.pending
                or not hmac.compare_digest(entry.caller.encode("utf-8"), caller.encode("utf-8"))
            ):
                raise ConversationError(
                    "unknown or expired conversation id; start a new "
                    "conversation by leaving it empty"
                )
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


class ApiHandlers:
    """``ask`` and ``model_info`` for MCP clients and API callers."""

    def __init__(
        self,
        config: AppConfig,
        manager: ModelManager,
        store: ConversationStore | None = None,
        replies: LoginReplies | None = None,
    ) -> None:
        self.config = config
        self.manager = manager
        self.store = store or ConversationStore()
        self.gate = FairGate(config.concurrency, config.queue_size)
        self.replies = replies or LoginReplies()

    def ask(
        self,
        text: str,
        files: list[str] | None,
        conversation: str,
        settings: Settings,
        client: str = "",
        user: str = "",
    ) -> dict[str, Any]:
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
                session, updates = self._answer(
                    text, files, conversation, settings, choice, ticket, user, client
                )
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
            "actions": [
                {"name": a.name, "point": list(a.target) if a.target else None, "text": a.raw}
                for a in reply.actions
            ],
            "notices": [n.text() for n in reply.notices],
            "stats": reply.stats_line(),
            "conversation": key,
        }

    def _answer(
        self,
        text: str,
        files: list[str] | None,
        conversation: str,
        settings: Settings,
        choice: MediaChoice,
        ticket: Ticket,
        user: str,
        client: str,
    ) -> tuple[Session, list[Any]]:
        """Fetch the files and decode them (under the decode budget the page's previews
        share), then take the model's slot and answer: one caller's slow file never holds
        the slot another caller's turn waits for."""
        from ..media import ingest
        from ..media.inflight import DECODING, decode_cost

        folder = Path(tempfile.mkdtemp(prefix="glmv-api-"))
        try:
            paths = fetch_files(
                list(files or []),
                folder,
                FetchRules.from_config(self.config, choice.limits.max_upload_mb),
            )
            session = self._session(conversation, client)
            parts = []
            if paths:
                cost = sum(decode_cost(p, choice.limits) for p in paths)
                with DECODING.hold(cost):
                    parts = ingest(paths, choice.limits, existing=session.parts, **choice.options())
            with ticket.turn(), self.replies.hold(user):
                session = self._session(conversation, client, session)
                engine = session.engine
                session.system_prompt = settings.system_prompt
                updates = list(
                    session.submit(text, parts, sampling=settings.sampling(engine.family))
                )
        finally:
            shutil.rmtree(folder, ignore_errors=True)
        return session, updates

    def _session(self, conversation: str, client: str, current: Session | None = None) -> Session:
        """The session to answer in, on the model loaded now (which may have changed while
        the files were decoded): the caller's conversation, else a new one."""
        engine = self.manager.require("en")
        if current is not None and current.engine is engine:
            return current
        if conversation:
            return self.store.get(conversation, engine, self.config.media, client)
        return Session(engine, limits=self.config.media)

    def model_info(self) -> dict[str, Any]:
        caps = self.manager.caps
        return {
            "model": self.manager.name,
            "state": self.manager.state,
            "family": caps.label,
            "model_type": caps.family,
            "can_disable_thinking": caps.can_disable_thinking,
            "thinking_control": caps.thinking,
            "efforts": list(caps.efforts),
            "prefix_reuse": caps.prefix_reuse,
        }
