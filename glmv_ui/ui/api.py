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

import shutil
import tempfile
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..config import AppConfig, MediaLimits
from ..conversation import Conversation
from ..engines.base import Engine
from ..errors import ConversationError, GlmvError
from ..session import Session
from .clients import IDLE_SECONDS, ClientStore
from .fair import LOGIN_BUSY, BusyError, FairGate, LoginReplies, Ticket
from .fetch import FetchRules, fetch_files
from .model import ModelManager
from .settings import MediaChoice, Settings

__all__ = ["ApiHandlers", "ConversationStore"]

MAX_CONVERSATIONS = 256
PER_CALLER = 32  # conversations one caller keeps; its own oldest goes first
STORE_FULL = (
    "busy: too many conversations are open on this server; try again later, or "
    "continue one of yours"
)
UNKNOWN = "unknown or expired conversation id; start a new conversation by leaving it empty"


@dataclass
class _Held:
    """A caller's conversation and its session on the current model (None after a model
    switch: made again on the next ask)."""

    conversation: Conversation
    session: Session | None = None

    def close(self) -> None:
        if self.session is not None:
            self.session.close()


class ConversationStore(ClientStore[_Held]):
    """Conversations of API/MCP callers by unguessable id, owned by the caller that opened
    them. Idle ones expire; each caller keeps at most ``per_caller`` (its own oldest goes
    first); when the store is full a new one is refused, never someone else's dropped."""

    def __init__(
        self,
        idle_s: float = IDLE_SECONDS,
        limit: int = MAX_CONVERSATIONS,
        per_caller: int = PER_CALLER,
    ) -> None:
        super().__init__(idle_s=idle_s, limit=limit, per_caller=per_caller, full=STORE_FULL)
        # One session per conversation, even when two asks continue it at once.
        self._sessions = threading.Lock()

    def fill(self, key: str, session: Session) -> None:
        """The reserved conversation ``key`` now has its first reply (a reservation dropped
        meanwhile by its own caller's newer ones closes the session instead)."""
        self.put(key, _Held(session.conversation, session))

    def open(self, session: Session, caller: str = "") -> str:
        key = self.reserve(caller)
        self.fill(key, session)
        return key

    def get(self, key: str, engine: Engine, limits: MediaLimits, caller: str = "") -> Session:
        """The conversation ``key`` as a session on ``engine`` (the current model). Only the
        caller that opened it may continue it: for any other the id is as unknown."""
        held = self.find(key, caller)
        if held is None:
            raise ConversationError(UNKNOWN)
        with self._sessions:
            session = held.session
            if session is None or session.engine is not engine:
                session = held.session = Session(engine, held.conversation, limits=limits)
            return session

    def release_all(self) -> None:
        """The model is being replaced: keep each conversation, let go of the old engine."""
        for held in self.values():
            with self._sessions:
                session, held.session = held.session, None
            if session is not None:
                session.stop()


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
                self.store.discard(key)
            raise
        if not updates:
            if not conversation:
                self.store.discard(key)
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
                    parts = ingest(
                        paths, choice.limits, options=choice.options(), existing=session.parts
                    )
            with ticket.turn(), self.replies.hold(user):
                session = self._session(conversation, client, session)
                engine = session.engine
                session.conversation.system_prompt = settings.system_prompt
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
