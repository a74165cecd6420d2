"""A finished (or stopped) reply as a record, and its rich display for notebooks.

:class:`Reply` is built from a session's :class:`~glmv_ui.session.ReplyUpdate`, a
:class:`~glmv_ui.prompt.Turn` or a raw model text. It knows its boxes, GUI actions and HTML page
and renders itself as HTML (``_repr_html_``) or Markdown (``_repr_markdown_``), so the last
expression of a cell shows the answer, the boxes drawn on the image the answer refers to, the
page preview in a sandboxed iframe and a stats line.

Model text is never inserted into the notebook as live HTML: Markdown is rendered with raw HTML
escaped, and an HTML answer only runs inside :func:`glmv_ui.preview.preview_iframe`'s sandbox.
IPython is imported only by :func:`show_reply`; PIL only when an image is drawn or encoded.
"""

from __future__ import annotations

import base64
import html as _html
import io
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from functools import cached_property
from typing import Any

from ..engines.base import Stats
from ..grounding import (
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
from ..htmlfix import extract_html, fence_html
from ..preview import preview_iframe
from ..stream import BOX_BEGIN, BOX_END, parse_raw

__all__ = ["Reply", "images_of", "markdown_to_html", "show_reply"]

# Private-use characters stand in for the box markers while Markdown is rendered with raw HTML
# escaped; they are swapped for <mark> tags afterwards, so only our own markup is ever live.
_MARK_OPEN, _MARK_CLOSE = "\ue000", "\ue001"
_STYLE = (
    "<style>.glmv-reply mark.glmv-box{background:#fff1a8;padding:0 2px;border-radius:3px}"
    ".glmv-reply details{margin:4px 0 8px;color:#57606a}"
    ".glmv-reply pre{max-height:320px;overflow:auto;white-space:pre-wrap;word-break:break-word;"
    "background:#f6f8fa;padding:8px;border-radius:6px}"
    ".glmv-reply .glmv-stats{color:#6e7781;font-size:85%;margin-top:6px}"
    ".glmv-reply table.glmv-boxes{font-size:85%;border-collapse:collapse}"
    ".glmv-reply table.glmv-boxes td,.glmv-reply table.glmv-boxes th"
    "{border:1px solid #d0d7de;padding:2px 6px}</style>"
)
DISPLAY_MAX_WIDTH = 800  # annotated images are scaled down to this width for the page


def markdown_to_html(text: str) -> str:
    """Markdown -> HTML with raw HTML escaped; box markers become ``<mark class="glmv-box">``."""
    text = text.replace(BOX_BEGIN, _MARK_OPEN).replace(BOX_END, _MARK_CLOSE)
    try:
        from markdown_it import MarkdownIt
    except ImportError:  # still readable without the renderer: escaped text, lines kept
        body = f'<div style="white-space:pre-wrap">{_html.escape(text)}</div>'
    else:
        md = MarkdownIt("commonmark", {"html": False}).enable(["table", "strikethrough"])
        body = md.render(text)
    return body.replace(_MARK_OPEN, '<mark class="glmv-box">').replace(_MARK_CLOSE, "</mark>")


def images_of(parts: Sequence[Any]) -> list[Any]:
    """The images (photos, PDF pages, slides) among media parts, in conversation order."""
    return [p.image for p in parts if getattr(p, "kind", None) == "image" and p.image is not None]


def _png_data_uri(image: Any, max_width: int = DISPLAY_MAX_WIDTH) -> str:
    if image.width > max_width:
        image = image.resize((max_width, max(1, round(image.height * max_width / image.width))))
    buf = io.BytesIO()
    image.save(buf, format="PNG")
    return "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode("ascii")


@dataclass(eq=False)
class Reply:
    """One model reply: its parts, what it points at, and how to show it."""

    raw: str
    thinking: str = ""
    answer: str = ""  # without box markers; ``boxed_spans`` says where they were
    boxed_spans: list[tuple[int, int]] = field(default_factory=list)
    images: list[Any] = field(default_factory=list)  # images the answer may refer to
    stats: Stats | None = None
    thinking_seconds: float | None = None
    status: str = "done"  # done, cancelled, error, streaming
    error: str = ""
    truncated: bool = False

    # -- construction ----------------------------------------------------------------------

    @classmethod
    def from_raw(cls, raw: str, images: Sequence[Any] = (), **fields: Any) -> Reply:
        parsed = parse_raw(raw)
        return cls(raw=raw, thinking=parsed.thinking, answer=parsed.answer,
                   boxed_spans=list(parsed.boxed_spans), images=list(images),
                   truncated=parsed.truncated, **fields)

    @classmethod
    def from_turn(cls, turn: Any, images: Sequence[Any] | None = None) -> Reply:
        """A reply from a :class:`~glmv_ui.prompt.Turn` (images default to the turn's own)."""
        shown = images_of(turn.parts) if images is None else images
        return cls.from_raw(turn.raw, shown, stats=turn.stats, status=turn.status,
                            error=turn.error)

    @classmethod
    def from_update(cls, update: Any, images: Sequence[Any] | None = None) -> Reply:
        """A reply from a streaming :class:`~glmv_ui.session.ReplyUpdate` (final or not)."""
        reply = cls.from_turn(update.turn, images)
        if not update.done and update.turn.status == "streaming":
            # Mid-stream the turn has no raw text yet: take what the live parser holds.
            result = update.parser.result()
            reply.thinking, reply.answer = result.thinking, result.answer
            reply.boxed_spans = list(result.boxed_spans)
            reply.status = "streaming"
        reply.stats = update.stats
        reply.thinking_seconds = update.thinking_seconds
        return reply

    # -- what the answer points at ---------------------------------------------------------

    @property
    def marked_answer(self) -> str:
        """The answer with the box markers put back."""
        return with_box_markers(self.answer, self.boxed_spans)

    @cached_property
    def actions(self) -> list[Action]:
        return find_actions(self.answer)

    @cached_property
    def boxes(self) -> list[Box]:
        # A GUI action's own box is drawn with the action; do not draw it twice.
        taken = {(a.box.x1, a.box.y1, a.box.x2, a.box.y2) for a in self.actions if a.box}
        return [b for b in find_boxes(self.answer, self.boxed_spans)
                if (b.x1, b.y1, b.x2, b.y2) not in taken]

    @cached_property
    def html(self) -> str | None:
        """The web page in the answer (raw or fenced HTML), if there is one."""
        return extract_html(self.answer)

    @property
    def image_index(self) -> int | None:
        """Which of ``images`` the boxes and actions belong to (None without images)."""
        if not self.images:
            return None
        return choose_image_index(self.boxes, len(self.images))

    def annotated_image(self) -> Any:
        """The referred image with boxes and actions drawn, or None if there is nothing to draw."""
        index = self.image_index
        if index is None or not (self.boxes or self.actions):
            return None
        return draw_boxes(self.images[index], self.boxes, self.actions)

    def boxes_json(self) -> str:
        """The boxes as JSON, with pixel coordinates for the referred image."""
        index = self.image_index
        width, height = (self.images[index].size if index is not None else (1000, 1000))
        source = f"image {index + 1}" if index is not None else ""
        return boxes_to_json(self.boxes, width, height, source)

    # -- display ---------------------------------------------------------------------------

    def markdown(self) -> str:
        """The answer as Markdown, with box markers highlighted and raw HTML fenced."""
        text = fence_html(self.marked_answer) if self.html else self.marked_answer
        return highlight_boxes_markdown(text)

    def stats_line(self) -> str:
        parts = []
        if self.thinking_seconds is not None and self.thinking:
            parts.append(f"thought for {self.thinking_seconds:.1f} s")
        if self.stats is not None:
            parts.append(self.stats.summary())
        if self.status in ("cancelled", "error"):
            parts.append("stopped" if self.status == "cancelled" else "failed")
        if self.truncated:
            parts.append("cut off while thinking")
        return " · ".join(parts)

    def to_html(self, *, preview_height: int = 480, live: bool = False) -> str:
        """The whole reply as one HTML fragment (``live`` skips the image and the preview)."""
        out = [_STYLE, '<div class="glmv-reply">']
        if self.thinking:
            title = "Thinking…" if self.status == "streaming" and not self.answer else "Thinking"
            if self.thinking_seconds is not None:
                title = f"Thought for {self.thinking_seconds:.1f} s"
            out.append(f"<details><summary>{title}</summary>"
                       f'<div style="white-space:pre-wrap">{_html.escape(self.thinking)}</div>'
                       "</details>")
        text = fence_html(self.marked_answer) if self.html else self.marked_answer
        out.append(markdown_to_html(text))
        if self.error:
            out.append(f'<p style="color:#cf222e">{_html.escape(self.error)}</p>')
        if not live:
            out.extend(self._figure_html())
            if self.html:
                out.append(preview_iframe(self.html, height=preview_height))
        line = self.stats_line()
        if line:
            out.append(f'<div class="glmv-stats">{_html.escape(line)}</div>')
        out.append("</div>")
        return "".join(out)

    def _figure_html(self) -> list[str]:
        image = self.annotated_image()
        if image is None:
            return []
        index = self.image_index or 0
        rows = []
        for row in boxes_table(self.boxes, *self.images[index].size):
            color = BOX_COLORS[(row["index"] - 1) % len(BOX_COLORS)]
            rows.append(
                f'<tr><td style="color:{color}">■ {row["index"]}</td>'
                f"<td>{_html.escape(row['label'])}</td>"
                f"<td>[{row['x1']:g}, {row['y1']:g}, {row['x2']:g}, {row['y2']:g}]</td>"
                f"<td>({row['left']}, {row['top']}) – ({row['right']}, {row['bottom']})</td></tr>")
        for action in self.actions:
            target = action.target
            where = f"({target[0]:g}, {target[1]:g})" if target else ""
            rows.append(f"<tr><td>→</td><td>{_html.escape(action.name)}</td>"
                        f"<td>{where}</td><td>{_html.escape(action.raw[:80])}</td></tr>")
        table = ('<table class="glmv-boxes"><tr><th>#</th><th>label</th><th>0-1000 grid</th>'
                 f'<th>pixels</th></tr>{"".join(rows)}</table>') if rows else ""
        caption = f"image {index + 1} of {len(self.images)}"
        return [f'<figure style="margin:8px 0"><img alt="{caption} with boxes" '
                f'src="{_png_data_uri(image)}" style="max-width:100%">'
                f'<figcaption style="font-size:85%;color:#6e7781">{caption}</figcaption>'
                f"</figure>{table}"]

    def _repr_html_(self) -> str:
        return self.to_html()

    def _repr_markdown_(self) -> str:
        return self.markdown()

    def __str__(self) -> str:
        return self.answer


def show_reply(reply: Any, images: Sequence[Any] | None = None, *,
               preview_height: int = 480) -> Reply:
    """Display a reply (a ReplyUpdate, Turn, Reply or raw text) richly in the cell output."""
    from IPython.display import HTML, display

    if isinstance(reply, Reply):
        shown = reply if images is None else replace(reply, images=list(images))
    elif isinstance(reply, str):
        shown = Reply.from_raw(reply, images or ())
    elif hasattr(reply, "parser"):
        shown = Reply.from_update(reply, images)
    else:
        shown = Reply.from_turn(reply, images)
    display(HTML(shown.to_html(preview_height=preview_height)))
    return shown
