"""Incremental parser for GLM-V replies: raw text deltas in, thinking / answer / box events out.

The engines hand us decoded text with the special tokens kept as literal strings. This module
splits it into reasoning and answer while it streams, whatever the chunking, and strips the
markup the user should never see. Standard library only; it must not import anything heavy.

Formats handled
    GLM-4.1V   ``<think>…</think><answer>…</answer>`` (the closing ``</answer>`` may be missing)
    GLM-4.5V   ``<think>…</think>`` then the answer without tags; ``<think></think>`` when thinking
               is off; sometimes no tags at all (all answer)
    both       ``<|begin_of_box|>…<|end_of_box|>`` around grounded spans; stop tokens
               (``<|user|>``, ``<|endoftext|>``, ``<|observation|>``…) at the end

Rules (each pinned by a test)
    * A tag may be split across deltas at any offset: a tail that could still grow into a tag is
      held back and released as text as soon as it cannot (``<b>``, ``a < b``) or at ``finish()``.
    * Whitespace before the first tag is dropped; other text before ``<think>`` is answer.
    * ``</think>`` with no ``<think>`` before it (templates that pre-fill ``<think>``): everything
      before it was thinking. While streaming it was shown as answer, so the parser emits an
      ``answer_reset`` event, then the text again as ``thinking``, then ``thinking_done``.
    * Nested ``<think>`` inside thinking is dropped; the first ``</think>`` closes thinking and a
      later stray ``</think>`` is dropped too (``<think>a <think>b</think></think>x`` gives thinking
      ``a b`` and answer ``x``). A fresh ``<think>`` after thinking closed opens another block that
      is appended to the thinking, separated by a blank line.
    * ``<answer>`` also closes an unclosed ``<think>``; ``</answer>`` is dropped.
    * Leading whitespace of the answer and of each thinking block is trimmed, and so is trailing
      whitespace before ``</think>``, ``</answer>``, a stop token or the end of the stream (it is
      held back, never re-scanned, until non-blank text follows).
    * Box markers become ``box_open`` / ``box_close`` events and are removed from the answer;
      ``boxed_spans`` records where the boxed text lies in ``answer``. An unterminated box closes
      at the end. Box markers inside thinking are dropped.
    * A stop token ends the reply: it and everything after it are ignored.
    * An unclosed ``<think>`` at ``finish()`` means the output was cut: all of it is thinking and
      ``truncated`` is True.

Cost: each ``feed`` is O(len(delta)) plus a held-back tail of at most ``MAX_TAG_LEN - 1``
characters. ``thinking`` / ``answer`` join their pieces once per change and cache the result.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

__all__ = [
    "BOX_BEGIN",
    "BOX_END",
    "STOP_TOKENS",
    "Event",
    "ParsedReply",
    "ReplyParser",
    "parse_raw",
]

THINK_OPEN = "<think>"
THINK_CLOSE = "</think>"
ANSWER_OPEN = "<answer>"
ANSWER_CLOSE = "</answer>"
BOX_BEGIN = "<|begin_of_box|>"
BOX_END = "<|end_of_box|>"
# Tokens that end an assistant turn; anything after them is not part of this reply.
STOP_TOKENS: tuple[str, ...] = (
    "<|user|>",
    "<|endoftext|>",
    "<|observation|>",
    "<|assistant|>",
    "<|system|>",
)
# Special tokens that carry no meaning in a reply; a random or confused model may emit them.
_DROPPED = (
    "<|begin_of_image|>",
    "<|end_of_image|>",
    "<|image|>",
    "<|begin_of_video|>",
    "<|end_of_video|>",
    "<|video|>",
    "<sop>",
    "<eop>",
)
_TAGS: tuple[str, ...] = (
    THINK_OPEN,
    THINK_CLOSE,
    ANSWER_OPEN,
    ANSWER_CLOSE,
    BOX_BEGIN,
    BOX_END,
    *STOP_TOKENS,
    *_DROPPED,
)
MAX_TAG_LEN = max(len(t) for t in _TAGS)
# Every proper prefix of every tag: a buffer tail in this set may still become a tag.
_PARTIALS = frozenset(t[:i] for t in _TAGS for i in range(1, len(t)))

EventKind = Literal["thinking", "answer", "box_open", "box_close", "thinking_done", "answer_reset"]


@dataclass(frozen=True)
class Event:
    """One step of the reply. ``text`` is set for ``thinking`` and ``answer`` only.

    ``answer_reset`` means: the answer shown so far was really thinking (a ``</think>`` came with
    no ``<think>`` before it); it is followed by a ``thinking`` event carrying that text.
    """

    kind: EventKind
    text: str = ""


@dataclass(frozen=True)
class ParsedReply:
    """A finished reply split into its parts (see :func:`parse_raw`)."""

    thinking: str
    answer: str
    thinking_closed: bool
    boxed_spans: list[tuple[int, int]] = field(default_factory=list)
    truncated: bool = False


class _Channel:
    """Text pieces of one kind with a cached join and held-back trailing whitespace."""

    __slots__ = ("_cache", "_len", "_pieces", "pending", "started")

    def __init__(self) -> None:
        self._pieces: list[str] = []
        self._cache: str | None = ""
        self._len = 0
        self.pending: list[str] = []  # trailing whitespace, released when text follows
        self.started = False  # leading whitespace is trimmed until this turns True

    def append(self, text: str) -> None:
        self._pieces.append(text)
        self._len += len(text)
        self._cache = None

    def __len__(self) -> int:
        return self._len

    def text(self) -> str:
        if self._cache is None:
            self._cache = "".join(self._pieces)
            # Keep one piece so the next join does not walk thousands of single characters.
            self._pieces = [self._cache] if self._cache else []
        return self._cache

    def take_pending(self) -> str:
        out = "".join(self.pending)
        self.pending.clear()
        return out

    def reset(self) -> None:
        self._pieces.clear()
        self._cache = ""
        self._len = 0
        self.pending.clear()
        self.started = False


class ReplyParser:
    """Feed raw deltas; get events. See the module docstring for the rules."""

    def __init__(self) -> None:
        self._held = ""  # a tail that may be the start of a tag
        self._think = _Channel()
        self._ans = _Channel()
        self._state: Literal["start", "thinking", "answer"] = "start"
        self._saw_think_open = False
        self._saw_answer_tag = False
        self._thinking_closed = False
        self._box_start: int | None = None
        self._spans: list[tuple[int, int]] = []
        self._stopped = False
        self._finished = False
        self._events: list[Event] = []
        self.work = 0  # characters scanned so far; lets tests check the cost stays linear

    # -- public state ---------------------------------------------------------------------------
    @property
    def thinking(self) -> str:
        return self._think.text()

    @property
    def answer(self) -> str:
        return self._ans.text()

    @property
    def state(self) -> str:
        return self._state

    @property
    def thinking_closed(self) -> bool:
        """True once ``</think>`` was seen, or once the answer started without any thinking."""
        return self._thinking_closed or self._state == "answer"

    @property
    def truncated(self) -> bool:
        return self._finished and self._state == "thinking"

    @property
    def stopped(self) -> bool:
        """True once a stop token was seen; later text is ignored."""
        return self._stopped

    @property
    def in_box(self) -> bool:
        return self._box_start is not None

    @property
    def boxed_spans(self) -> list[tuple[int, int]]:
        return list(self._spans)

    def result(self) -> ParsedReply:
        return ParsedReply(
            thinking=self.thinking,
            answer=self.answer,
            thinking_closed=self.thinking_closed,
            boxed_spans=list(self._spans),
            truncated=self.truncated,
        )

    # -- feeding --------------------------------------------------------------------------------
    def feed(self, delta: str) -> list[Event]:
        """Parse the next piece of raw text; return the events it completes."""
        if self._finished:
            raise RuntimeError("ReplyParser.feed() called after finish()")
        if self._stopped or not delta:
            return []
        buf = self._held + delta if self._held else delta
        self._held = ""
        self.work += len(buf)
        self._scan(buf)
        return self._drain()

    def finish(self) -> list[Event]:
        """End of stream: release a held-back partial tag as text, close what is still open."""
        if self._finished:
            return []
        if self._held and not self._stopped:
            held, self._held = self._held, ""
            self._text(held)
        self._held = ""
        self._end_answer()
        self._think.pending.clear()
        self._finished = True
        return self._drain()

    def _drain(self) -> list[Event]:
        events = self._events
        self._events = []
        return events

    def _scan(self, buf: str) -> None:
        n = len(buf)
        pos = 0  # start of text not yet routed
        i = buf.find("<")
        while i != -1:
            tag = self._tag_at(buf, i)
            if tag is not None:
                if i > pos:
                    self._text(buf[pos:i])
                pos = i + len(tag)
                self._on_tag(tag)
                if self._stopped:
                    return
                i = buf.find("<", pos)
                continue
            if n - i < MAX_TAG_LEN and buf[i:] in _PARTIALS:
                if i > pos:
                    self._text(buf[pos:i])
                self._held = buf[i:]
                return
            i = buf.find("<", i + 1)
        if pos < n:
            self._text(buf[pos:])

    @staticmethod
    def _tag_at(buf: str, i: int) -> str | None:
        for tag in _TAGS:
            if buf.startswith(tag, i):
                return tag
        return None

    # -- routing --------------------------------------------------------------------------------
    def _emit(self, kind: EventKind, text: str = "") -> None:
        if text and self._events and self._events[-1].kind == kind:
            self._events[-1] = Event(kind, self._events[-1].text + text)
        else:
            self._events.append(Event(kind, text))

    def _text(self, text: str) -> None:
        if self._state == "start":
            text = text.lstrip()
            if not text:
                return
            self._state = "answer"
        if self._state == "thinking":
            self._route(self._think, "thinking", text)
        else:
            self._route(self._ans, "answer", text)

    def _route(self, ch: _Channel, kind: EventKind, text: str) -> None:
        if not ch.started:
            text = text.lstrip()
            if not text:
                return
            ch.started = True
            if kind == "thinking" and len(ch):
                text = "\n\n" + text  # a second thinking block
        body = text.rstrip()
        if not body:
            ch.pending.append(text)
            return
        out = ch.take_pending() + body
        ch.append(out)
        self._emit(kind, out)
        if len(body) < len(text):
            ch.pending.append(text[len(body) :])

    def _flush_pending(self, ch: _Channel, kind: EventKind) -> None:
        if ch.pending:
            out = ch.take_pending()
            ch.append(out)
            self._emit(kind, out)

    def _close_thinking(self) -> None:
        self._think.pending.clear()
        self._state = "answer"
        if not self._thinking_closed:
            self._thinking_closed = True
            self._emit("thinking_done")

    def _close_box(self) -> None:
        if self._box_start is not None:
            self._spans.append((self._box_start, len(self._ans)))
            self._box_start = None
            self._emit("box_close")

    def _end_answer(self) -> None:
        if self._box_start is not None:
            self._ans.pending.clear()
            self._close_box()
        self._ans.pending.clear()

    def _on_tag(self, tag: str) -> None:
        state = self._state
        if tag == THINK_OPEN:
            if state != "thinking":
                self._ans.pending.clear()
                self._close_box()
                self._state = "thinking"
                self._saw_think_open = True
                self._think.started = False
        elif tag == THINK_CLOSE:
            if state == "thinking":
                self._close_thinking()
            elif not (self._saw_think_open or self._saw_answer_tag or self._thinking_closed):
                self._reclassify_as_thinking()
            # otherwise a stray closing tag: dropped
        elif tag == ANSWER_OPEN:
            self._saw_answer_tag = True
            if state == "thinking":
                self._close_thinking()
            self._state = "answer"
        elif tag == ANSWER_CLOSE:
            self._end_answer()
        elif tag == BOX_BEGIN:
            if state == "thinking" or self._box_start is not None:
                return
            self._state = "answer"
            self._flush_pending(self._ans, "answer")
            self._ans.started = True
            self._box_start = len(self._ans)
            self._emit("box_open")
        elif tag == BOX_END:
            if self._box_start is not None:
                self._flush_pending(self._ans, "answer")
                self._close_box()
        elif tag in STOP_TOKENS:
            self._end_answer()
            self._think.pending.clear()
            self._stopped = True
        # _DROPPED tokens: nothing to do

    def _reclassify_as_thinking(self) -> None:
        """A ``</think>`` with no ``<think>``: what looked like answer was thinking."""
        self._close_box()
        moved = self._ans.text()
        self._ans.reset()
        self._spans.clear()
        if moved:
            self._emit("answer_reset")
            self._think.append(moved)
            self._think.started = True
            self._emit("thinking", moved)
        self._close_thinking()


def parse_raw(raw: str) -> ParsedReply:
    """Parse a whole raw reply at once (same rules and result as streaming it)."""
    parser = ReplyParser()
    parser.feed(raw)
    parser.finish()
    return parser.result()
