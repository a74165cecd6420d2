"""Per-browser-session state of the app: one :class:`ChatState` per tab, keyed by the login
and ``request.session_hash`` together (the hash is chosen by the client, so a request that
carries another login's hash reaches a state of its own, never the other login's).

Each ChatState holds its tab's :class:`~glmv_ui.conversation.Conversation` and a
:class:`~glmv_ui.session.Session` of its own on the current model (so Stop in one tab never
touches another; a model switch drops the session and keeps the conversation), the thumbnails of
its uploads and the figures drawn for its replies, in a folder of its own that is removed when
the tab goes away. The states live in a :class:`~.clients.ClientStore`, the store the API's
conversations use too.
"""

from __future__ import annotations

import atexit
import os
import shutil
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

from ..caps import Capabilities
from ..config import AppConfig
from ..conversation import Conversation, Turn
from ..engines.base import Engine
from ..media.parts import MediaPart
from ..reply import Reply
from ..session import Session
from ..turn_reply import reply_for
from .attach import Attachments
from .clients import IDLE_SECONDS, ClientStore
from .strips import group_caption, group_parts, join_strips, strip_image
from .views import turn_messages

__all__ = ["IDLE_SECONDS", "ChatState", "SessionRegistry", "media_root"]


def media_root() -> Path:
    """Where rendered thumbnails and drawn boxes go, one folder per app instance below it: the
    temp dir, which Gradio may serve (names are random, so no file can be guessed)."""
    return Path(tempfile.gettempdir()) / "glmv_ui" / "sessions"


class ChatState:
    """One browser session: its Session, thumbnails and drawn figures."""

    def __init__(self, root: Path, lang: str = "en") -> None:
        self.lang = lang
        self.dir = root / uuid.uuid4().hex
        self.conversation = Conversation()  # kept across a model switch; the session is not
        self.session: Session | None = None
        self.seen_generation = 0  # the model generation this tab was last told about
        self.shown_family: str | None = None  # the family the settings are drawn for
        self.shown_caps: Capabilities | None = None  # what that model can do
        self.shown_model: str | None = None  # and the model (a tiny one has other defaults)
        self._strips: dict[MediaPart, tuple[str, str]] = {}
        self._figures: dict[int, tuple[Reply, str]] = {}
        self._attached_picture: tuple[tuple[str, ...], str] = ((), "")
        # The files attached to the message being written, read once per change (see attach.py),
        # and the files of the message last sent (a late preview must not judge them again).
        self.attached: tuple[tuple[Any, ...], Attachments] | None = None
        self.sent: tuple[str, ...] = ()
        # The message written while a reply streams ({"text", "files"}), kept when it ends.
        self.draft: Any = None
        self.edit_map: dict[int, int] = {}  # Chatbot message index -> turn index (user text)

    def ensure_session(self, engine: Engine, config: AppConfig) -> Session:
        if self.session is None or self.session.engine is not engine:
            self.session = Session(engine, self.conversation, limits=config.media)
        return self.session

    def release(self) -> None:
        """The model is being replaced: stop the reply, keep the conversation, drop the
        session (and with it the reference to the old engine)."""
        if self.session is not None:
            self.session.stop()
            self.session = None

    @property
    def turns(self) -> list[Turn]:
        return self.conversation.turns

    def exported(self, model: str, family: str) -> Conversation:
        """The conversation as an export file writes it: answered by ``model`` of ``family``."""
        return self.conversation.for_export(model=model, family=family)

    def save_image(self, image: Any, stem: str) -> str:
        self.dir.mkdir(parents=True, exist_ok=True)
        path = self.dir / f"{stem}-{uuid.uuid4().hex[:8]}.png"
        image.save(path, format="PNG")
        return str(path)

    def strips(self, parts: list[MediaPart]) -> list[tuple[str, str]]:
        """(path, caption) of one thumbnail strip per upload; drawn once per upload."""
        out = []
        for group in group_parts(parts):
            key = group[0]
            if key not in self._strips:
                path = self.save_image(strip_image(group), "upload")
                self._strips[key] = (path, group_caption(group, self.lang))
            out.append(self._strips[key])
        return out

    def attached_picture(self, parts: list[MediaPart]) -> str | None:
        """All attached files' strips side by side, drawn once per set of attachments (the
        preview runs again on every keystroke of the message)."""
        strips = tuple(path for path, _ in self.strips(parts))
        if not strips:
            return None
        if self._attached_picture[0] != strips:
            self._attached_picture = (strips, self.save_image(join_strips(strips), "attached"))
        return self._attached_picture[1]

    def figure_path(self, index: int, reply: Reply) -> str | None:
        """The drawn figure of turn ``index``'s reply, saved once per reply."""
        cached = self._figures.get(index)
        if cached is not None and cached[0] is reply:
            return cached[1]
        image = reply.annotated_image()
        if image is None:
            self._figures.pop(index, None)
            return None
        path = self.save_image(image, "boxes")
        self._figures[index] = (reply, path)
        return path

    def relabel(self, lang: str) -> None:
        """Switch language: captions are drawn again in the new one."""
        self.lang = lang
        self._strips.clear()

    def reply(self, index: int) -> Reply | None:
        """The finished reply of turn ``index`` (None while it is pending or streaming)."""
        turn = self.turns[index]
        if turn.status in ("pending", "streaming"):
            return None
        return reply_for(self.turns, index)

    def messages(self, upto: int | None = None) -> list[dict[str, Any]]:
        """Chatbot messages of the turns before ``upto`` (all when None)."""
        turns = self.turns if upto is None else self.turns[:upto]
        self.edit_map = {}
        messages: list[dict[str, Any]] = []
        for i, turn in enumerate(turns):
            strips = self.strips(turn.parts)
            reply = self.reply(i)
            if turn.text:
                self.edit_map[len(messages) + 2 * len(strips)] = i
            figure = self.figure_path(i, reply) if reply is not None else None
            messages += turn_messages(turn.text, strips, reply, figure, self.lang)
        return messages

    def close(self) -> None:
        """The tab went away: stop its reply, free what the engine kept for it, remove files."""
        if self.session is not None:
            self.session.close()
        shutil.rmtree(self.dir, ignore_errors=True)


def give_back_memory() -> None:
    """Return freed memory to the system after sessions are dropped: glibc keeps freed blocks
    in its arenas otherwise, so a server's memory would stay at its peak after a busy hour."""
    import ctypes
    import ctypes.util

    name = ctypes.util.find_library("c")
    if not name or not sys.platform.startswith("linux"):
        return
    try:
        ctypes.CDLL(name).malloc_trim(0)
    except (OSError, AttributeError):  # not glibc (musl has no malloc_trim)
        pass


class SessionRegistry(ClientStore[ChatState]):
    """ChatState per tab (login and ``request.session_hash``), in a folder of this app
    instance's own.

    A tab that goes away is dropped at once (Gradio's unload); a session that never says
    goodbye (an API client, a lost heartbeat) is dropped once idle for ``idle_s``: the page
    itself keeps its tab alive with a slow timer. :meth:`close_all` removes the instance's
    folder; it runs at exit too.
    """

    def __init__(
        self,
        root: Path | None = None,
        lang: str = "en",
        idle_s: float = IDLE_SECONDS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        super().__init__(idle_s=idle_s, clock=clock)
        self.root = root or media_root() / f"{os.getpid()}-{uuid.uuid4().hex[:8]}"
        self.lang = lang
        atexit.register(self.close_all)

    @staticmethod
    def key(request: Any) -> str:
        """The tab's key: its login and its session hash (the hash alone without logins,
        where it is random per tab). The NUL cannot occur in a login or a hash."""
        hash_ = getattr(request, "session_hash", None) or "default"
        user = getattr(request, "username", None)
        return f"{user}\0{hash_}" if user else hash_

    def get(self, request: Any) -> ChatState:
        user = str(getattr(request, "username", None) or "")
        return self.get_or_make(
            self.key(request), lambda: ChatState(self.root, self.lang), owner=user
        )

    def drop(self, request: Any) -> None:
        self.discard(self.key(request))

    def reap(self) -> int:
        """Drop the sessions idle for longer than ``idle_s``; returns how many went."""
        gone = super().reap()
        if gone:
            give_back_memory()
        return gone

    def release_all(self) -> None:
        """Every tab lets go of the engine (a model switch); conversations are kept."""
        for state in self.values():
            state.release()

    def close_all(self) -> None:
        """Close every session and remove this instance's folder."""
        super().close_all()
        shutil.rmtree(self.root, ignore_errors=True)
