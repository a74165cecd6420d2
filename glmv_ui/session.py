"""One user's conversation on an engine: submit, stop, regenerate, undo, edit, clear.

A :class:`Session` drives one :class:`~glmv_ui.conversation.Conversation` (a new one unless it is
given one: a model switch hands the same conversation to a new session). Each request has its own
cancel event, so Stop in one browser tab or notebook never touches another, and Stop ends the
reply running now, never a later one. The session is busy from the moment ``submit`` (or
``regenerate``, ``edit``) returns until that request's stream ends or is closed: a second request
made in between is refused before it changes anything.

Streaming yields :class:`ReplyUpdate` objects that point at the live
:class:`~glmv_ui.reply.ReplyStream`; ``update.reply()`` joins text once per call, so a view that
redraws at its own pace (not per token) keeps the cost per token flat. Finished replies come from
:meth:`Session.reply`, post-processed once and remembered for their turn.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field

from .config import MediaLimits, Sampling, default_sampling
from .conversation import Conversation, Status, Turn, settings_of
from .engines.base import CachingEngine, Chunk, Engine, GenerationRequest, Stats
from .errors import ConversationError, GenerationError, GlmvError, MediaBudgetError
from .media.options import MediaOptions
from .media.parts import MediaPart
from .prompt import MediaHistory, build_messages
from .reasons import reason
from .reply import Reply, ReplyStream
from .stream import Event
from .turn_reply import final_reply, reply_for

__all__ = ["ReplyUpdate", "Session"]


@dataclass
class ReplyUpdate:
    """The state of the reply being streamed, after one chunk.

    ``reply()`` gives the :class:`~glmv_ui.reply.Reply` as a view shows it: a snapshot of the
    live stream while it runs (joined once per call, so call it when you draw, not per chunk),
    the finished, post-processed reply on the last update.
    """

    turn: Turn
    index: int
    stream: ReplyStream
    stats: Stats
    delta: str = ""
    thinking_seconds: float | None = None  # set once thinking has closed
    thinking_started: float | None = None  # when the request started
    done: bool = False
    events: list[Event] = field(default_factory=list)
    final: Reply | None = None

    def reply(self) -> Reply:
        if self.final is not None:
            return self.final
        return self.stream.snapshot(stats=self.stats, thinking_seconds=self.thinking_seconds)

    @property
    def thinking(self) -> str:
        return self.stream.thinking

    @property
    def answer(self) -> str:
        return self.stream.answer

    @property
    def thinking_closed(self) -> bool:
        return self.stream.thinking_closed

    @property
    def status(self) -> str:
        return self.turn.status


class Session:
    """A conversation with one engine. Not shared between users."""

    def __init__(
        self,
        engine: Engine,
        conversation: Conversation | None = None,
        *,
        sampling: Sampling | None = None,
        limits: MediaLimits | None = None,
        system_prompt: str | None = None,
        media_history: MediaHistory = "all",
    ) -> None:
        """``system_prompt``, when given, replaces the conversation's."""
        self.engine = engine
        self.conversation = conversation if conversation is not None else Conversation()
        if system_prompt is not None:
            self.conversation.system_prompt = system_prompt
        self.sampling = sampling or default_sampling(engine.caps)
        self.limits = limits or MediaLimits()
        self.media_history: MediaHistory = media_history
        # The cancel event of the request running now (a fresh one per request).
        self._cancel = threading.Event()
        self._busy = threading.Lock()

    @property
    def turns(self) -> list[Turn]:
        """The conversation's turns (read them; change them through the session's actions)."""
        return self.conversation.turns

    @property
    def system_prompt(self) -> str:
        return self.conversation.system_prompt

    @system_prompt.setter
    def system_prompt(self, text: str) -> None:
        self.conversation.system_prompt = text

    @property
    def cache_key(self) -> str:
        """Names the conversation to the engine, which may keep its prompt cache between turns."""
        return self.conversation.cache_key

    # -- replies -----------------------------------------------------------------------------

    def reply(self, index: int = -1) -> Reply:
        """The :class:`~glmv_ui.reply.Reply` of turn ``index`` (the last by default)."""
        if not self.turns:
            raise ConversationError("there is no reply yet")
        return reply_for(self.turns, index % len(self.turns))

    # -- media -------------------------------------------------------------------------------

    @property
    def parts(self) -> list[MediaPart]:
        return self.conversation.parts

    def attach(
        self,
        paths: Sequence[str],
        options: MediaOptions | None = None,
        *,
        names: Sequence[str] | None = None,
    ) -> list[MediaPart]:
        """Read uploads into parts, checked against the rules and this conversation's media."""
        from .media import ingest

        return ingest(
            paths,
            self.limits,
            names=names,
            options=options or MediaOptions(),
            existing=self.parts,
        )

    # -- generation --------------------------------------------------------------------------

    def submit(
        self, text: str, parts: Sequence[MediaPart] = (), *, sampling: Sampling | None = None
    ) -> Iterator[ReplyUpdate]:
        """Add a user turn and stream the reply to it.

        The session is busy from this call until the returned stream ends or is closed, so a
        second request made before the first is read is refused rather than merged into it."""
        with self._claimed():
            text = self._checked_text(text)
            if not text and not parts:
                raise ConversationError("type a message or attach a file first")
            return self._run(self.conversation.append(Turn(text=text, parts=list(parts))), sampling)

    def regenerate(self, *, sampling: Sampling | None = None) -> Iterator[ReplyUpdate]:
        """Answer the last user turn again."""
        with self._claimed():
            last = self.conversation.last()
            if last is None:
                raise ConversationError("nothing to regenerate yet")
            last.reset()
            return self._run(len(self.turns) - 1, sampling)

    def edit(
        self, index: int, text: str, *, sampling: Sampling | None = None
    ) -> Iterator[ReplyUpdate]:
        """Replace the text of turn ``index``, drop every later turn, and answer again."""
        with self._claimed():
            text = self._checked_text(text)
            if not 0 <= index < len(self.turns):
                raise ConversationError(f"there is no message {index + 1} to edit")
            turn = self.turns[index]
            self.conversation.truncate(index + 1)
            turn.text = text
            turn.reset()
            return self._run(index, sampling)

    def undo(self) -> Turn | None:
        """Remove the last turn and return it (its text can go back into the input box).
        Refused while a reply is being generated: stop it first."""
        with self._idle():
            return self.conversation.pop()

    def clear(self) -> None:
        """Start over; refused while a reply is being generated."""
        with self._idle():
            self.conversation.clear()
            self._forget()

    def load(self, conversation: Conversation) -> None:
        """Continue from ``conversation``'s turns and system prompt (an imported file); the
        engine drops what it kept for the old turns. Refused while a reply is being generated.
        Whoever holds this session's conversation sees the new turns."""
        with self._idle():
            self._forget()
            self.conversation.replace_with(conversation)

    def close(self) -> None:
        """The conversation is over: stop its reply and let the engine drop what it kept for it.
        Never refused; the turns are left to a reply still ending."""
        self.stop()
        self._forget()
        with suppress(ConversationError), self._idle():
            self.conversation.clear()

    def _forget(self) -> None:
        if isinstance(self.engine, CachingEngine):
            self.engine.forget(self.cache_key)

    def stop(self) -> None:
        """End the reply being generated for this session; the partial answer is kept. A request
        made after this has a cancel event of its own, which this leaves alone."""
        self._cancel.set()

    @property
    def busy(self) -> bool:
        return self._busy.locked()

    def _checked_text(self, text: str) -> str:
        """The message, stripped, or a refusal when it is too long for the context."""
        text = (text or "").strip()
        limit = self.limits.max_text_chars
        if len(text) > limit:
            raise MediaBudgetError(
                "",
                reason(
                    "message.too_long",
                    length=len(text),
                    limit=limit,
                    context=self.limits.context_tokens,
                ),
            )
        return text

    @contextmanager
    def _claimed(self) -> Iterator[None]:
        """Take the busy state before anything changes, so a refused action leaves the
        conversation and the running reply's Stop untouched. It stays taken when the block
        returns a stream (which gives it back when it ends); it is given back at once when the
        block raises."""
        if not self._busy.acquire(blocking=False):
            raise ConversationError("a reply is still being generated; stop it first")
        try:
            yield
        except BaseException:
            self._busy.release()
            raise

    @contextmanager
    def _idle(self) -> Iterator[None]:
        """Hold the busy state for a change that streams nothing (undo, clear, load): it is
        refused while a reply runs, and no reply can start until it is done."""
        if not self._busy.acquire(blocking=False):
            raise ConversationError("a reply is still being generated; stop it first")
        try:
            yield
        finally:
            self._busy.release()

    def _run(self, index: int, sampling: Sampling | None) -> Iterator[ReplyUpdate]:
        sampling = sampling or self.sampling
        turn = self.turns[index]
        turn.settings = settings_of(sampling)
        messages = build_messages(
            self.turns[: index + 1],
            self.engine.family,
            system_prompt=self.system_prompt,
            media_history=self.media_history,
        )
        request = GenerationRequest(
            messages=messages, sampling=sampling, cache_key=self.conversation.cache_key
        )
        # The request's cancel event exists from now on, so Stop pressed before the stream is
        # first read (or while it waits for the model) still ends it.
        cancel = threading.Event()
        self._cancel = cancel
        release = _Once(self._busy.release)
        return _RequestStream(self._stream(turn, index, request, cancel, release), release)

    def _stream(
        self,
        turn: Turn,
        index: int,
        request: GenerationRequest,
        cancel: threading.Event,
        release: _Once,
    ) -> Iterator[ReplyUpdate]:
        live = ReplyStream()
        stats = Stats()
        turn.status = "streaming"
        turn.thinking_seconds = None
        update = ReplyUpdate(
            turn=turn, index=index, stream=live, stats=stats, thinking_started=time.perf_counter()
        )
        try:
            chunk: Chunk
            for chunk in self.engine.stream(request, cancel):
                stats = chunk.stats
                events = live.feed(chunk.text)
                if chunk.done:
                    events += live.finish()
                update = self._advance(update, chunk.text, stats, events, chunk.done)
                if chunk.done:
                    break
                yield update
            else:
                update = self._advance(update, "", stats, live.finish(), True)
            turn.raw = live.raw
            turn.stats = stats
            turn.thinking_seconds = update.thinking_seconds
            turn.status = "cancelled" if stats.finish_reason == "cancelled" else "done"
            update.final = final_reply(live, self.turns, index)
            yield update
        except GeneratorExit:
            cancel.set()
            self._settle(turn, live, update, "cancelled")
            raise
        except GlmvError as exc:
            self._settle(turn, live, update, "error", str(exc))
            raise
        except Exception as exc:
            self._settle(turn, live, update, "error", str(exc))
            raise GenerationError(f"generation failed: {exc}") from exc
        finally:
            release()

    @staticmethod
    def _settle(
        turn: Turn, live: ReplyStream, update: ReplyUpdate, status: Status, error: str = ""
    ) -> None:
        live.finish()
        turn.raw = live.raw
        turn.thinking_seconds = update.thinking_seconds
        turn.status, turn.error = status, error

    @staticmethod
    def _advance(
        update: ReplyUpdate, delta: str, stats: Stats, events: list[Event], done: bool
    ) -> ReplyUpdate:
        # Thinking time runs from the request (the model thinks from its first token) to the
        # moment the thought closes.
        seconds = update.thinking_seconds
        if (
            seconds is None
            and update.thinking_started is not None
            and any(ev.kind == "thinking_done" for ev in events)
        ):
            seconds = time.perf_counter() - update.thinking_started
        return ReplyUpdate(
            turn=update.turn,
            index=update.index,
            stream=update.stream,
            stats=stats,
            delta=delta,
            thinking_seconds=seconds,
            thinking_started=update.thinking_started,
            done=done,
            events=events,
        )


class _Once:
    """Calls ``fn`` the first time it is called, and never again."""

    def __init__(self, fn: Callable[[], None]) -> None:
        self._fn: Callable[[], None] | None = fn
        self._lock = threading.Lock()

    def __call__(self) -> None:
        with self._lock:
            fn, self._fn = self._fn, None
        if fn is not None:
            fn()


class _RequestStream(Iterator[ReplyUpdate]):
    """The updates of one request. The session stays busy until the stream ends, or until it
    is closed or dropped, read or not."""

    def __init__(self, updates: Iterator[ReplyUpdate], release: _Once) -> None:
        self._updates = updates
        self._release = release

    def __iter__(self) -> _RequestStream:
        return self

    def __next__(self) -> ReplyUpdate:
        return next(self._updates)

    def close(self) -> None:
        close = getattr(self._updates, "close", None)
        if close is not None:
            close()
        self._release()

    def __del__(self) -> None:
        self.close()
