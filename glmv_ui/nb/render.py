"""The notebook view of a :class:`~glmv_ui.reply.Reply`: one HTML fragment per reply.

Everything shown comes from the Reply the core built (the same one the Gradio app renders): the
thinking, the answer, the boxes and GUI actions drawn on the image they belong to with their
legend, the page preview, the notices and the stats. Nothing here parses model text or chooses
images.

Model text is never inserted into the notebook as live HTML: Markdown is rendered with raw HTML
escaped and images turned into links that name their host
(:func:`glmv_ui.sanitize.markdown_html`, the policy the app's chat follows too), and an HTML
answer only runs inside :func:`glmv_ui.preview.preview_iframe`'s sandbox.
IPython is imported only by :func:`show_reply`; PIL only when an image is drawn.
"""

from __future__ import annotations

import html as _html
from collections.abc import Sequence
from typing import Any

from ..grounding import number_list
from ..media.dataurl import data_url
from ..preview import preview_iframe
from ..reply import LegendRow, Reply, build_reply, register_html_view, thinking_title
from ..sanitize import markdown_html
from ..stream import BOX_BEGIN, BOX_END

__all__ = ["Reply", "legend_html", "markdown_to_html", "reply_html", "show_reply"]

# Private-use characters stand in for the box markers while Markdown is rendered with raw HTML
# escaped; they are swapped for <mark> tags afterwards, so only our own markup is ever live.
_MARK_OPEN, _MARK_CLOSE = "\ue000", "\ue001"
_STYLE = (
    "<style>.glmv-reply mark.glmv-box{background:#fff1a8;padding:0 2px;border-radius:3px}"
    ".glmv-reply details{margin:4px 0 8px;color:#57606a}"
    ".glmv-reply pre{max-height:320px;overflow:auto;white-space:pre-wrap;word-break:break-word;"
    "background:#f6f8fa;padding:8px;border-radius:6px}"
    ".glmv-reply .glmv-stats{color:#6e7781;font-size:85%;margin-top:6px}"
    ".glmv-reply .glmv-notice{color:#9a6700;margin:6px 0}"
    ".glmv-reply .glmv-notice.failed{color:#cf222e}"
    ".glmv-reply table.glmv-legend{font-size:85%;border-collapse:collapse}"
    ".glmv-reply table.glmv-legend td,.glmv-reply table.glmv-legend th"
    "{border:1px solid #d0d7de;padding:2px 6px}</style>"
)
DISPLAY_MAX_WIDTH = 800  # annotated images are scaled down to this width for the page


def markdown_to_html(text: str) -> str:
    """Markdown -> HTML with raw HTML escaped and remote images as links; box markers become
    ``<mark class="glmv-box">``."""
    text = text.replace(BOX_BEGIN, _MARK_OPEN).replace(BOX_END, _MARK_CLOSE)
    body = markdown_html(text)
    return body.replace(_MARK_OPEN, '<mark class="glmv-box">').replace(_MARK_CLOSE, "</mark>")


def legend_html(rows: Sequence[LegendRow]) -> str:
    """The legend of a drawn figure as an HTML table (the app shows the same rows)."""
    if not rows:
        return ""
    body = []
    for row in rows:
        mark = "■" if row.kind == "box" else "→"
        where = f"[{number_list(row.grid)}]" if row.grid else ""
        pixels = f"({number_list(row.pixels)})" if row.pixels else ""
        if row.box:  # an action with its own box: the point, then the box
            where = " · ".join(w for w in (where, f"[{number_list(row.box)}]") if w)
            pixels = " · ".join(p for p in (pixels, f"({number_list(row.box_pixels)})") if p)
        body.append(
            f'<tr><td style="color:{row.color}">{mark} {row.number}</td>'
            f"<td>{_html.escape(row.label)}</td><td>{where}</td><td>{pixels}</td>"
            f"<td><code>{_html.escape(row.detail)}</code></td></tr>"
        )
    return (
        '<table class="glmv-legend"><tr><th>#</th><th>label</th><th>0-1000 grid</th>'
        f"<th>pixels</th><th></th></tr>{''.join(body)}</table>"
    )


def _thinking_html(reply: Reply) -> str:
    if not reply.thinking:
        return ""
    title = _html.escape(str(thinking_title(reply).timed))
    return (
        f"<details><summary>{title}</summary>"
        f'<div style="white-space:pre-wrap">{_html.escape(reply.thinking)}</div></details>'
    )


def _figure_html(reply: Reply) -> str:
    image = reply.annotated_image()
    figure = reply.figure
    if image is None or figure is None:
        return ""
    caption = (
        f"{_html.escape(figure.label)} (image {(reply.image_index or 0) + 1} of "
        f"{len(reply.images)})"
    )
    return (
        f'<figure style="margin:8px 0"><img alt="{caption} with boxes" '
        f'src="{data_url(image, max_width=DISPLAY_MAX_WIDTH)}" style="max-width:100%">'
        f'<figcaption style="font-size:85%;color:#6e7781">{caption}</figcaption>'
        f"</figure>{legend_html(reply.legend())}"
    )


def reply_html(reply: Reply, *, preview_height: int = 480, live: bool = False) -> str:
    """The whole reply as one HTML fragment (``live`` skips the figure and the preview)."""
    out = [_STYLE, '<div class="glmv-reply">', _thinking_html(reply), markdown_to_html(reply.text)]
    for notice in reply.notices:
        out.append(f'<div class="glmv-notice {notice.kind}">{_html.escape(notice.text())}</div>')
    if not live:
        out.append(_figure_html(reply))
        if reply.html:
            out.append(preview_iframe(reply.html, height=preview_height))
    line = reply.stats_line()
    if line:
        out.append(f'<div class="glmv-stats">{_html.escape(line)}</div>')
    out.append("</div>")
    return "".join(out)


def _as_reply(value: Any, images: Sequence[Any] | None) -> Reply:
    if isinstance(value, Reply):
        if images is None:
            return value
        return build_reply(
            value.raw,
            images,
            stats=value.stats,
            status=value.status,
            error=value.error,
            thinking_seconds=value.thinking_seconds,
        )
    if isinstance(value, str):
        return build_reply(value, images or ())
    if hasattr(value, "stream") and hasattr(value, "reply"):  # a ReplyUpdate
        reply: Reply = value.reply()
        return reply if images is None else _as_reply(reply, images)
    # A Turn on its own: its images are its own parts.
    return build_reply(
        value.raw,
        list(value.parts) if images is None else images,
        stats=value.stats,
        status=value.status,
        error=value.error,
        thinking_seconds=value.thinking_seconds,
    )


def show_reply(
    reply: Any, images: Sequence[Any] | None = None, *, preview_height: int = 480
) -> Reply:
    """Display a reply (a Reply, ReplyUpdate, Turn or raw text) richly in the cell output."""
    from IPython.display import HTML, display

    shown = _as_reply(reply, images)
    display(HTML(reply_html(shown, preview_height=preview_height)))
    return shown


# Every Reply shows as this view in a notebook (reply.py knows none of its views).
register_html_view(reply_html)
