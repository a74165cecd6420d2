"""One reply, built once per turn in the core and shown the same way by every view.

A :class:`Reply` is what a model reply means to the person reading it: the thinking, the answer as
Markdown (boxed spans marked, raw HTML fenced), the boxes and GUI actions with the image they are
drawn on, the HTML page, notices (stopped, failed, cut off, token limit) and the stats. The Gradio
app (:mod:`glmv_ui.ui`) and the notebooks (:mod:`glmv_ui.nb`) only render it; export and the next
prompt read it too, so no view re-parses model text or decides on its own which image a box
belongs to.

Two ways to get one, with the same result:

* :func:`glmv_ui.turn_reply.reply_for` builds (and remembers) the reply of a finished turn;
  :meth:`Turn.parsed <glmv_ui.conversation.Turn.parsed>` is where a turn's raw text is parsed.
* :class:`ReplyStream` is the one incremental path while a reply streams: the reply parser and
  the HTML fencer fed with deltas, read as a :class:`Reply` snapshot whenever a view redraws (it
  is thread-safe: the engine's thread feeds it while a view thread reads it). Its final snapshot
  is the reply that ``reply_for`` would build from the same raw text.

The notebook's HTML view lives in :mod:`glmv_ui.nb.render`, which registers it here when imported.

Standard library only; drawing imports PIL when it is called.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol

from .conversation import Status, Turn
from .engines.base import Stats
from .grounding import (
    BOX_COLORS,
    Action,
    Box,
    boxes_table,
    boxes_to_json,
    choose_image_index,
    draw_boxes,
    find_actions,
    find_boxes,
    highlight_boxes_markdown,
    with_box_markers,
)
from .htmlfix import HtmlFencer
from .media.parts import MediaPart
from .reasons import Reason, reason
from .stream import Event, ParsedReply, ReplyParser, parse_raw

__all__ = [
    "HtmlView",
    "LegendRow",
    "Notice",
    "Reply",
    "ReplyStream",
    "ThinkingTitle",
    "build_reply",
    "register_html_view",
    "thinking_title",
]

NoticeKind = Literal["stopped", "failed", "truncated", "length", "empty"]


@dataclass(frozen=True)
class Notice:
    """Something the reader should know about the reply, apart from its text: what happened
    (``kind``, which a view may style by) and what to say (``wording``, a template of
    :mod:`glmv_ui.reasons` that a view renders in its own language)."""

    kind: NoticeKind
    wording: Reason

    def text(self) -> str:
        """The notice in English."""
        return str(self.wording)


@dataclass(frozen=True)
class ThinkingTitle:
    """The header of a reply's collapsible thinking block, worked out once for every view.

    ``wording`` is the title without a time ("Thinking", "Thought", "Thinking (cut off …)");
    ``seconds`` how long the thinking took when it is done and timed. A view that shows the time
    itself (the app's Chatbot does) uses both; one that does not uses :attr:`timed`."""

    wording: Reason
    done: bool
    seconds: float | None = None

    @property
    def timed(self) -> Reason:
        """The title with its time in words: ``Thought for 3.2 s``."""
        if self.seconds is None or self.wording.key != "thinking.done":
            return self.wording
        return reason("thinking.done_in", seconds=self.seconds)


@dataclass(frozen=True)
class LegendRow:
    """One line of the table under a drawn image: a box or a GUI action, in its drawing colour."""

    kind: Literal["box", "action"]
    number: int  # the box's number, or the action's order among the actions
    label: str  # the box's label, or the action's name
    color: str
    grid: tuple[float, ...]  # x1, y1, x2, y2 of a box, or the action's target point (0-1000)
    pixels: tuple[int, ...]  # the same in pixels of the drawn image
    detail: str = ""  # the action as written
    box: tuple[float, ...] = ()  # an action's own box, x1, y1, x2, y2 (0-1000), if it has one
    box_pixels: tuple[int, ...] = ()  # the same in pixels


def _normalise_images(images: Sequence[Any]) -> tuple[MediaPart, ...]:
    """MediaParts as they are; bare PIL images (notebook callers) wrapped as image parts."""
    out = []
    for i, image in enumerate(images):
        if isinstance(image, MediaPart):
            out.append(image)
        else:
            out.append(MediaPart(kind="image", source=f"image {i + 1}", image=image))
    return tuple(p for p in out if p.kind == "image" and p.image is not None)


@dataclass(frozen=True, eq=False)
class Reply:
    """A reply as shown: see the module docstring. Build it with :func:`build_reply`,
    :func:`reply_for` or :class:`ReplyStream`, never field by field in a view."""

    raw: str = ""
    thinking: str = ""
    answer: str = ""  # without box markers; ``boxed_spans`` says where they were
    boxed_spans: tuple[tuple[int, int], ...] = ()
    text: str = ""  # the answer for display: raw HTML fenced, or box markers kept around spans
    html: str | None = None  # the web page in the answer, if any
    boxes: tuple[Box, ...] = ()  # without the boxes GUI actions carry (those draw with them)
    actions: tuple[Action, ...] = ()
    images: tuple[MediaPart, ...] = ()  # the images the boxes and actions may refer to
    image_index: int | None = None  # which of ``images`` they are drawn on
    notices: tuple[Notice, ...] = ()
    stats: Stats | None = None
    status: Status = "done"
    error: str = ""
    thinking_seconds: float | None = None
    thinking_closed: bool = True
    truncated: bool = False
    _drawn: dict[str, Any] = field(default_factory=dict, repr=False)

    @classmethod
    def from_raw(cls, raw: str, images: Sequence[Any] = (), **outcome: Any) -> Reply:
        """The reply of a raw model text (``outcome``: stats, status, error, thinking_seconds)."""
        return build_reply(raw, images, **outcome)

    # -- what the answer says -------------------------------------------------------------

    @property
    def streaming(self) -> bool:
        return self.status == "streaming"

    @property
    def marked_answer(self) -> str:
        """The answer with the box markers put back (what the model sees in later turns)."""
        return with_box_markers(self.answer, self.boxed_spans)

    def markdown(self) -> str:
        """The answer as Markdown for the app: boxed spans as ``<mark class="glmv-box">``."""
        return highlight_boxes_markdown(self.text)

    @property
    def figure(self) -> MediaPart | None:
        """The image the boxes and actions are drawn on (None when there is nothing to draw)."""
        if self.image_index is None or not (self.boxes or self.actions):
            return None
        return self.images[self.image_index]

    def annotated_image(self) -> Any:
        """The figure with boxes and actions drawn (a PIL image, drawn once), or None."""
        figure = self.figure
        if figure is None:
            return None
        if "image" not in self._drawn:
            self._drawn["image"] = draw_boxes(figure.image, self.boxes, self.actions)
        return self._drawn["image"]

    def legend(self) -> list[LegendRow]:
        """The rows of the table under the figure, in the colours the figure uses."""
        figure = self.figure
        if figure is None:
            return []
        width, height = figure.size
        rows = []
        for row in boxes_table(self.boxes, width, height):
            rows.append(
                LegendRow(
                    "box",
                    int(row["index"]),
                    str(row["label"]),
                    BOX_COLORS[(int(row["index"]) - 1) % len(BOX_COLORS)],
                    (row["x1"], row["y1"], row["x2"], row["y2"]),
                    (row["left"], row["top"], row["right"], row["bottom"]),
                )
            )
        for k, action in enumerate(self.actions):
            target = action.target
            grid: tuple[float, ...] = target if target is not None else ()
            pixels: tuple[int, ...] = ()
            if target is not None:
                pixels = (round(target[0] / 1000 * width), round(target[1] / 1000 * height))
            box: tuple[float, ...] = ()
            box_pixels: tuple[int, ...] = ()
            if action.box is not None:
                b = action.box
                box = (b.x1, b.y1, b.x2, b.y2)
                box_pixels = (
                    round(b.x1 / 1000 * width),
                    round(b.y1 / 1000 * height),
                    round(b.x2 / 1000 * width),
                    round(b.y2 / 1000 * height),
                )
            rows.append(
                LegendRow(
                    "action",
                    k + 1,
                    action.label,
                    BOX_COLORS[(len(self.boxes) + k) % len(BOX_COLORS)],
                    grid,
                    pixels,
                    action.raw[:120],
                    box,
                    box_pixels,
                )
            )
        return rows

    def boxes_json(self) -> str:
        """The boxes as JSON, with pixel coordinates of the image they are drawn on."""
        index = self.image_index
        width, height = self.images[index].size if index is not None else (1000, 1000)
        source = self.images[index].label if index is not None else ""
        return boxes_to_json(self.boxes, width, height, source)

    def stats_line(self) -> str:
        """``thought for 3.2 s · 812 prompt tokens · … ``: the figures, in one line."""
        parts = []
        if self.thinking_seconds is not None and self.thinking:
            parts.append(f"thought for {self.thinking_seconds:.1f} s")
        if self.stats is not None:
            parts.append(self.stats.summary())
        return " · ".join(parts)

    # -- notebook display (the view registers itself: see register_html_view) --------------

    def to_html(self, *, preview_height: int = 480, live: bool = False) -> str:
        """The reply as one HTML fragment, by the registered view (:mod:`glmv_ui.nb.render`
        registers itself when imported, as :mod:`glmv_ui.notebook` does)."""
        view = _HTML_VIEW[0]
        if view is None:
            raise LookupError(
                "no HTML view of replies is registered; import glmv_ui.notebook to show them"
            )
        return view(self, preview_height=preview_height, live=live)

    def _repr_html_(self) -> str | None:
        # Without a registered view Jupyter falls back to _repr_markdown_.
        return self.to_html() if _HTML_VIEW[0] is not None else None

    def _repr_markdown_(self) -> str:
        return self.markdown()

    def __str__(self) -> str:
        return self.answer


class HtmlView(Protocol):
    """Renders a reply as one HTML fragment (``live``: a snapshot redrawn while it streams)."""

    def __call__(self, reply: Reply, *, preview_height: int = ..., live: bool = ...) -> str: ...


# The one registered HTML view; a list so that registering changes no module binding.
_HTML_VIEW: list[HtmlView | None] = [None]


def register_html_view(view: HtmlView) -> None:
    """Make ``view`` the HTML form of every :class:`Reply` (``to_html``, ``_repr_html_``)."""
    _HTML_VIEW[0] = view


# ---------------------------------------------------------------------------------------------
# Building


def _notices(
    status: str, error: str, truncated: bool, stats: Stats | None, answer: str = ""
) -> tuple[Notice, ...]:
    notices = []
    if status == "done" and not truncated and not answer.strip():
        # Finished and said nothing: never a bare stats line.
        notices.append(Notice("empty", reason("notice.empty")))
    if status == "cancelled":
        notices.append(Notice("stopped", reason("notice.stopped")))
    elif status == "error":
        notices.append(Notice("failed", reason("notice.failed", detail=error)))
    if truncated and status != "streaming":
        notices.append(Notice("truncated", reason("notice.truncated")))
    elif stats is not None and stats.finish_reason == "length" and status == "done":
        notices.append(Notice("length", reason("notice.length", tokens=stats.generated_tokens)))
    return tuple(notices)


def thinking_title(reply: Reply) -> ThinkingTitle:
    """The header of ``reply``'s thinking block: cut off, still thinking, or done (timed when
    the time is known; an imported turn has none)."""
    done = reply.thinking_closed or not reply.streaming
    if reply.truncated:
        return ThinkingTitle(reason("thinking.cut"), done, reply.thinking_seconds if done else None)
    if not done:
        return ThinkingTitle(reason("thinking.pending"), done)
    return ThinkingTitle(reason("thinking.done"), done, reply.thinking_seconds)


def _display_text(answer: str, spans: Sequence[tuple[int, int]], fencer: HtmlFencer) -> str:
    # A page in the answer is shown fenced (and previewed); box marks would land inside the code.
    if fencer.html is not None:
        return fencer.text
    return with_box_markers(answer, spans)


def _finished(
    result: ParsedReply,
    fencer: HtmlFencer,
    raw: str,
    images: Sequence[Any],
    stats: Stats | None,
    status: Status,
    error: str,
    thinking_seconds: float | None,
) -> Reply:
    parts = _normalise_images(images)
    actions = tuple(find_actions(result.answer))
    # A GUI action's own box is drawn with the action: it is not a box of its own.
    taken = {(a.box.x1, a.box.y1, a.box.x2, a.box.y2) for a in actions if a.box is not None}
    boxes = tuple(
        b
        for b in find_boxes(result.answer, result.boxed_spans)
        if (b.x1, b.y1, b.x2, b.y2) not in taken
    )
    index = choose_image_index(boxes, len(parts)) if parts else None
    return Reply(
        raw=raw,
        thinking=result.thinking,
        answer=result.answer,
        boxed_spans=tuple(result.boxed_spans),
        text=_display_text(result.answer, result.boxed_spans, fencer),
        html=fencer.html,
        boxes=boxes,
        actions=actions,
        images=parts,
        image_index=index,
        notices=_notices(status, error, result.truncated, stats, result.answer),
        stats=stats,
        status=status,
        error=error,
        thinking_seconds=thinking_seconds,
        thinking_closed=result.thinking_closed,
        truncated=result.truncated,
    )


def _fenced(answer: str) -> HtmlFencer:
    fencer = HtmlFencer()
    fencer.feed(answer)
    fencer.finish()
    return fencer


def build_reply(
    raw: str,
    images: Sequence[Any] = (),
    *,
    stats: Stats | None = None,
    status: Status = "done",
    error: str = "",
    thinking_seconds: float | None = None,
    parsed: ParsedReply | None = None,
) -> Reply:
    """The reply of a whole raw model text, post-processed once (``parsed``: the parse of
    ``raw`` where the caller already holds it)."""
    result = parsed if parsed is not None else parse_raw(raw)
    return _finished(
        result, _fenced(result.answer), raw, images, stats, status, error, thinking_seconds
    )


# ---------------------------------------------------------------------------------------------
# Streaming


class ReplyStream:
    """The reply while it streams: raw deltas in, :class:`Reply` snapshots out.

    ``feed`` costs O(delta) (parser and fencer are incremental); ``snapshot`` joins the text once
    per call, so a view that redraws at its own pace keeps the cost per token flat. A lock makes
    feeding from one thread and reading from another safe.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._parser = ReplyParser()
        self._fencer = HtmlFencer()
        self._raw: list[str] = []
        self._finished = False

    def feed(self, delta: str) -> list[Event]:
        with self._lock:
            if not delta:
                return []
            self._raw.append(delta)
            events = self._parser.feed(delta)
            self._route(events)
            return events

    def finish(self) -> list[Event]:
        with self._lock:
            if self._finished:
                return []
            self._finished = True
            events = self._parser.finish()
            self._route(events)
            self._fencer.finish()
            return events

    def _route(self, events: list[Event]) -> None:
        for ev in events:
            if ev.kind == "answer":
                self._fencer.feed(ev.text)
            elif ev.kind == "answer_reset":  # the "answer" so far was thinking
                self._fencer = HtmlFencer()

    @property
    def raw(self) -> str:
        with self._lock:
            return "".join(self._raw)

    @property
    def thinking(self) -> str:
        with self._lock:
            return self._parser.thinking

    @property
    def answer(self) -> str:
        with self._lock:
            return self._parser.answer

    @property
    def thinking_closed(self) -> bool:
        return self._parser.thinking_closed

    def snapshot(
        self,
        *,
        stats: Stats | None = None,
        thinking_seconds: float | None = None,
    ) -> Reply:
        """The reply so far, as a view draws it mid-stream (boxes and actions come at the end)."""
        with self._lock:
            answer = self._parser.answer
            spans = self._parser.boxed_spans
            return Reply(
                raw="",
                thinking=self._parser.thinking,
                answer=answer,
                boxed_spans=tuple(spans),
                text=_display_text(answer, spans, self._fencer),
                html=None,
                stats=stats,
                status="streaming",
                thinking_seconds=thinking_seconds,
                thinking_closed=self._parser.thinking_closed,
            )

    def final(self, turn: Turn, images: Sequence[MediaPart]) -> Reply:
        """The finished reply of ``turn`` from what was streamed (call after finish and after
        the turn's raw text and outcome are set); the turn keeps the parse.
        :func:`glmv_ui.turn_reply.final_reply` also remembers it for the turn."""
        with self._lock:
            result = self._parser.result()
            turn.keep_parse(result)
            reply = _finished(
                result,
                self._fencer,
                turn.raw,
                images,
                turn.stats,
                turn.status,
                turn.error,
                turn.thinking_seconds,
            )
        return reply
