"""The app's view of a :class:`~glmv_ui.reply.Reply`: Gradio Chatbot messages, pure functions.

Everything shown comes from the Reply the core built (the notebooks render the same record): the
thinking block, the answer Markdown with boxed spans marked, the notices, the stats line, and the
figure with its legend. Nothing here parses model text, chooses images, touches Gradio objects or
writes files; the handlers save the figure and pass its path.

Every piece of text that is not ours (answer, thinking, labels, file names, error details, the
user's own text) goes through :mod:`glmv_ui.sanitize` here, the one place the chat's Markdown is
made: the Chatbot renders Markdown and HTML, and what it gets can load nothing by itself.
"""

from __future__ import annotations

import html
from collections.abc import Sequence
from typing import Any

from ..engines.base import Stats
from ..grounding import number_list
from ..reasons import map_text
from ..reply import LegendRow, Notice, Reply, thinking_title
from ..sanitize import OWN_MARKS, alt_text, chat_markdown, plain_markdown
from .i18n import t
from .reasons_zh import reason_line

__all__ = [
    "LATEX_DELIMITERS",
    "Figure",
    "figure_caption",
    "legend_markdown",
    "notice_text",
    "reply_messages",
    "stats_html",
    "stats_line",
    "text_part",
    "thinking_message",
    "turn_messages",
]

LATEX_DELIMITERS: list[dict[str, str | bool]] = [
    {"left": "$$", "right": "$$", "display": True},
    {"left": "\\[", "right": "\\]", "display": True},
    {"left": "\\(", "right": "\\)", "display": False},
    {"left": "$", "right": "$", "display": False},
]

Figure = tuple[str, str]  # (path of the drawn image, its caption)


def text_part(text: str) -> dict[str, str]:
    """Text content as a typed part: Gradio passes it through as written (a bare string would
    be run through ``inspect.cleandoc``, which strips indentation from code in answers)."""
    return {"type": "text", "text": text}


def notice_text(notice: Notice, lang: str) -> str:
    """A notice as Markdown in ``lang``: its values (an error's text) escaped, its words not."""
    return reason_line(map_text(notice.wording, plain_markdown), lang)


def thinking_message(reply: Reply, lang: str = "en") -> dict[str, Any]:
    """The collapsible thinking block: pending (spinner) while it streams, done with a time
    (the Chatbot writes the time after the title itself)."""
    title = thinking_title(reply)
    metadata: dict[str, Any] = {
        "title": reason_line(title.wording, lang),
        "status": "done" if title.done else "pending",
    }
    if title.seconds is not None:
        metadata["duration"] = round(title.seconds, 1)
    return {
        "role": "assistant",
        "content": text_part(chat_markdown(reply.thinking)),
        "metadata": metadata,
    }


def stats_line(stats: Stats, lang: str = "en") -> str:
    """The reply's figures in ``lang``: prompt, generated, first token, speed, peak memory."""
    parts = []
    if stats.prompt_tokens:  # unknown (0) for engines that cannot count the prompt
        parts.append(t(lang, "stats_prompt", n=stats.prompt_tokens))
        notes = [t(lang, "stats_visual", n=stats.visual_tokens)] if stats.visual_tokens else []
        if stats.reused_tokens:
            notes.append(t(lang, "stats_reused", n=stats.reused_tokens))
        if notes:
            parts[0] += f" ({', '.join(notes)})"
    parts.append(t(lang, "stats_generated", n=stats.generated_tokens))
    if stats.time_to_first_token_s is not None:
        parts.append(t(lang, "stats_first", s=stats.time_to_first_token_s))
    if stats.tokens_per_s is not None:
        parts.append(t(lang, "stats_rate", r=stats.tokens_per_s))
    if stats.peak_memory_bytes:
        parts.append(t(lang, "stats_peak", g=stats.peak_memory_bytes / 2**30))
    return " · ".join(parts)


def stats_html(reply: Reply, lang: str = "en") -> str:
    line = stats_line(reply.stats, lang) if reply.stats is not None else ""
    return f'<div class="glmv-stats">{html.escape(line)}</div>' if line else ""


def legend_markdown(rows: Sequence[LegendRow], lang: str = "en") -> str:
    """The figure's legend: each box and action in the colour it is drawn in."""
    if not rows:
        return ""
    lines = [
        f"| {t(lang, 'col_box')} | {t(lang, 'col_label')} | {t(lang, 'col_grid')} | "
        f"{t(lang, 'col_pixels')} |",
        "|---|---|---|---|",
    ]
    for row in rows:
        swatch = f'<span class="glmv-swatch" style="background:{row.color}"></span>'
        mark = "" if row.kind == "box" else "→ "
        label = plain_markdown(row.label)
        grid, pixels = number_list(row.grid), number_list(row.pixels)
        if row.box:  # an action with its own box: the point, then the box
            box, box_pixels = number_list(row.box), number_list(row.box_pixels)
            grid += f" · [{box}]" if grid else box
            pixels += f" · [{box_pixels}]" if pixels else box_pixels
        lines.append(f"| {swatch} {mark}{row.number} | {label} | {grid} | {pixels} |")
    return "\n".join(lines)


def figure_caption(reply: Reply, lang: str = "en", *, markdown: bool = False) -> str:
    """``Boxes drawn on <file>``: plain text (an alt text), or Markdown with the file name
    escaped (``markdown``)."""
    figure = reply.figure
    if figure is None:
        return ""
    label = plain_markdown(figure.label) if markdown else figure.label
    return t(lang, "boxes_on" if reply.boxes else "actions_on", label=label)


def reply_messages(
    reply: Reply, figure_path: str | None = None, lang: str = "en"
) -> list[dict[str, Any]]:
    """The assistant messages of one reply: thinking, answer with notices and stats, figure."""
    messages: list[dict[str, Any]] = []
    if reply.thinking:
        messages.append(thinking_message(reply, lang))
    pieces = [chat_markdown(reply.markdown(), OWN_MARKS)] if reply.text else []
    pieces += [
        f"**{notice_text(n, lang)}**" if n.kind == "failed" else f"*{notice_text(n, lang)}*"
        for n in reply.notices
    ]
    if not reply.streaming:
        pieces.append(stats_html(reply, lang))
    body = "\n\n".join(p for p in pieces if p)
    if body:
        messages.append({"role": "assistant", "content": text_part(body)})
    if figure_path is not None:
        caption = figure_caption(reply, lang)
        messages.append(
            {"role": "assistant", "content": {"path": figure_path, "alt_text": alt_text(caption)}}
        )
        legend = legend_markdown(reply.legend(), lang)
        if legend:
            messages.append(
                {
                    "role": "assistant",
                    "content": text_part(
                        f"**{figure_caption(reply, lang, markdown=True)}**\n\n{legend}"
                    ),
                }
            )
    return messages


def turn_messages(
    text: str,
    strips: Sequence[tuple[str, str]],
    reply: Reply | None,
    figure_path: str | None = None,
    lang: str = "en",
) -> list[dict[str, Any]]:
    """The Chatbot messages of one turn: the upload strips and text, then the reply's."""
    messages: list[dict[str, Any]] = []
    for path, caption in strips:
        messages.append({"role": "user", "content": {"path": path, "alt_text": alt_text(caption)}})
        messages.append({"role": "user", "content": text_part(chat_markdown(caption))})
    if text:
        messages.append({"role": "user", "content": text_part(chat_markdown(text))})
    if reply is not None:
        messages += reply_messages(reply, figure_path, lang)
    return messages
