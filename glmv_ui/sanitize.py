"""One rendering policy for text that is not ours: model answers and thinking, box labels and
GUI action names, file names, imported conversation fields and what the user typed.

Nothing such text contains may load anything by itself, run anything, or draw a form control.
Three outputs, one policy:

* :func:`chat_markdown` — Markdown for a renderer that also renders HTML (Gradio's Chatbot, the
  Markdown export). Outside code, every ``<`` is written ``&lt;`` unless it opens one of a few
  attribute-less tags (``<b>``, ``<br>``, ``<sub>``, …) or one of the app's own marks; so no
  element with attributes, no comment and no autolink survives, and the text shows as written
  (entities are text to the renderer, and KaTeX reads ``&lt;`` as ``<``). Markdown images become
  links that name their host, except ``data:image/…`` ones (they cannot reach anything);
  reference-style images become plain links. Code spans and fenced code are left alone: a
  renderer shows them as text. Where the scanner is unsure a region is code, it escapes it:
  the worst case is ``&lt;`` shown in code, never live markup.
* :func:`plain_markdown` — text that must show exactly as written in Markdown (a file name, a
  label): every ASCII punctuation mark backslash-escaped, lines joined.
* :func:`markdown_html` — sanitized HTML from Markdown, for the notebook views: markdown-it with
  raw HTML off and images turned into host-naming links.

Standard library only; markdown-it is imported when :func:`markdown_html` is first called.
One pass over the text, so a streamed answer costs time linear in its length per redraw.
"""

from __future__ import annotations

import html as _html
import re
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache
from typing import Any
from urllib.parse import urlsplit

__all__ = [
    "ALLOWED_TAGS",
    "OWN_MARKS",
    "RemoteImage",
    "alt_text",
    "chat_markdown",
    "image_link_label",
    "markdown_html",
    "plain_markdown",
    "remote_images",
]

# Tags a model may keep, only in their bare form (no attributes): none of them can load,
# run or submit anything.
ALLOWED_TAGS = frozenset(
    {
        "b",
        "strong",
        "i",
        "em",
        "u",
        "s",
        "del",
        "ins",
        "sub",
        "sup",
        "small",
        "mark",
        "kbd",
        "code",
        "br",
        "hr",
        "p",
        "details",
        "summary",
        "blockquote",
        "ul",
        "ol",
        "li",
        "table",
        "thead",
        "tbody",
        "tr",
        "th",
        "td",
        "h1",
        "h2",
        "h3",
        "h4",
        "h5",
        "h6",
    }
)
# The app's own markup that goes through the same text (boxed spans in an answer).
OWN_MARKS: tuple[str, ...] = ('<mark class="glmv-box">', "</mark>")

_BARE_TAG = re.compile(r"</?([A-Za-z][A-Za-z0-9]*)\s*/?>")
_FENCE = re.compile(r"^( {0,3})(`{3,}|~{3,})(.*)$")
_IMAGE = re.compile(
    r"!\[((?:\\.|[^\\\[\]\n]){0,500})\]"  # the alt text (no brackets inside)
    r"\(\s*(<[^<>\n]*>|[^\s()<>]*(?:\([^\s()<>]*\)[^\s()<>]*)*)"  # the destination
    r"(?:\s+(?:\"[^\"\n]*\"|'[^'\n]*'|\([^()\n]*\)))?\s*\)"
)
_DATA_IMAGE = re.compile(
    r"data:image/(?:png|jpe?g|gif|webp);base64,[A-Za-z0-9+/=\s]*\Z", re.IGNORECASE
)
# The characters that mean something to Markdown or HTML anywhere in a line. "<", ">", "&" and
# the brackets become entities, never a backslash escape: Gradio's Chatbot reads "\[" and "\("
# as LaTeX before it reads Markdown, and hands a formula's text on as written when KaTeX
# cannot typeset it (seen in Chromium: "\[ \<input …\> \]" drew a live input).
_PUNCT = re.compile(r"([\\`*_|~!#$])")
_ENTITIES = str.maketrans({"<": "&lt;", ">": "&gt;", "&": "&amp;", "[": "&#91;", "]": "&#93;"})
_LINK_OPEN = "]("


@dataclass(frozen=True)
class RemoteImage:
    """An image the text asked for that will not be loaded: its URL and the host it names."""

    alt: str
    url: str
    host: str


def plain_markdown(text: str) -> str:
    """``text`` as Markdown that shows exactly these characters (one line, nothing live)."""
    flat = _PUNCT.sub(r"\\\1", " ".join(str(text).split())).translate(_ENTITIES)
    return "\\" + flat if flat[:1] in ("-", "+", "=") else flat


_ALT = str.maketrans({"<": "‹", ">": "›", '"': "”", "`": "'", "&": "+", "\n": " "})


def alt_text(text: str) -> str:
    """Text for an image's alternative text: Gradio's Chatbot draws a file message's alt text
    into markup of its own, so no character that could end an attribute or open a tag stays."""
    return " ".join(str(text).translate(_ALT).split())


def _host(url: str) -> str:
    try:
        parts = urlsplit(url.strip())
    except ValueError:
        return ""
    return parts.hostname or ""


def image_link_label(alt: str, url: str) -> str:
    """The words that stand in for an image that is not loaded."""
    host = _host(url)
    name = " ".join(alt.split()) or "image"
    return f"{name} (image on {host}, not loaded)" if host else f"{name} (image not loaded)"


def _image(match: re.Match[str]) -> str:
    alt, dest = match.group(1), match.group(2)
    if dest.startswith("<") and dest.endswith(">"):
        dest = dest[1:-1]
    if _DATA_IMAGE.match(dest):
        return f"![{plain_markdown(_unescape_alt(alt))}]({''.join(dest.split())})"
    label = plain_markdown(image_link_label(_unescape_alt(alt), dest))
    scheme = dest.split(":", 1)[0].lower() if ":" in dest else ""
    if scheme in ("http", "https"):
        return f"[🖼 {label}](<{dest.replace('>', '%3E')}>)"
    return f"🖼 {label}"


def _unescape_alt(alt: str) -> str:
    return re.sub(r"\\(.)", r"\1", alt)


def remote_images(text: str) -> list[RemoteImage]:
    """The Markdown images in ``text`` that :func:`chat_markdown` will not load."""
    out = []
    for m in _IMAGE.finditer(text):
        dest = m.group(2).strip("<>")
        if not _DATA_IMAGE.match(dest):
            out.append(RemoteImage(_unescape_alt(m.group(1)), dest, _host(dest)))
    return out


def _escape_prose(text: str, keep: tuple[str, ...]) -> str:
    """Prose (no code): images made links, ``<`` escaped except bare allowed tags and ours."""
    if "![" not in text:
        return _escape_tags(text, keep)
    out = []
    at = 0
    for m in _IMAGE.finditer(text):
        out.append(_escape_tags(text[at : m.start()], keep))
        out.append(_image(m))
        at = m.end()
    out.append(_escape_tags(text[at:], keep))
    return "".join(out)


def _escape_tags(text: str, marks: tuple[str, ...]) -> str:
    # A reference-style image ("![alt][ref]") is left a link, not an image.
    text = text.replace("![", "!\\[")
    if "<" not in text:
        return text
    out = []
    i = 0
    while True:
        j = text.find("<", i)
        if j < 0:
            out.append(text[i:])
            break
        out.append(text[i:j])
        own = next((m for m in marks if text.startswith(m, j)), None)
        if own is not None:
            out.append(own)
            i = j + len(own)
            continue
        tag = _BARE_TAG.match(text, j)
        if tag is not None and tag.group(1).lower() in ALLOWED_TAGS:
            out.append(tag.group(0))
            i = tag.end()
            continue
        out.append("&lt;")
        i = j + 1
    return "".join(out)


def _backticks(line: str, start: int) -> int:
    end = start
    while end < len(line) and line[end] == "`":
        end += 1
    return end - start


def _escaped(line: str, pos: int) -> bool:
    k = pos - 1
    count = 0
    while k >= 0 and line[k] == "\\":
        count += 1
        k -= 1
    return count % 2 == 1


class _LinkTracker:
    """Whether a position may lie inside an unclosed ``](…`` on its line: a code span opening
    there is part of a link's destination or title to the renderer, not code. Positions are
    asked in increasing order, so the line is read once."""

    def __init__(self, line: str) -> None:
        self.line = line
        self.read = 0
        self.opened = -1
        self.closed = -1

    def inside(self, pos: int) -> bool:
        segment = self.line[self.read : pos]
        at = segment.rfind(_LINK_OPEN)
        if at >= 0:
            self.opened = self.read + at
        at = segment.rfind(")")
        if at >= 0:
            self.closed = self.read + at
        self.read = max(self.read, pos)
        return self.opened >= 0 and self.closed < self.opened


_TICKS = re.compile(r"`+")


def _line(line: str, keep: tuple[str, ...]) -> str:
    """One line of prose: code spans kept, the rest escaped. A code span counts only when it
    opens and closes on this line, outside a link destination, with an unescaped opener (a
    run after a backslash is not taken as one, though the renderer may open a shorter span
    there: that span is escaped, which only shows entities in it). Read once: each run of
    backticks finds its closer through a pointer per run length."""
    if "`" not in line:
        return _escape_prose(line, keep)
    runs = [(m.start(), m.end() - m.start()) for m in _TICKS.finditer(line)]
    by_length: dict[int, list[int]] = {}
    for pos, length in runs:
        by_length.setdefault(length, []).append(pos)
    pointer = dict.fromkeys(by_length, 0)
    links = _LinkTracker(line)
    out = []
    start = 0  # where the pending prose begins (everything before it is written)
    for pos, length in runs:
        if pos < start or _escaped(line, pos):
            continue
        same = by_length[length]
        k = pointer[length]
        while k < len(same) and same[k] <= pos:
            k += 1
        pointer[length] = k
        if k == len(same) or links.inside(pos):
            continue
        close = same[k]
        out.append(_escape_prose(line[start:pos], keep))
        out.append(line[pos : close + length])
        start = close + length
    out.append(_escape_prose(line[start:], keep))
    return "".join(out)


def chat_markdown(text: str, keep: Iterable[str] = ()) -> str:
    """``text`` as Markdown with nothing live in it (see the module docstring); ``keep`` lists
    exact strings of the app's own markup to pass through (e.g. :data:`OWN_MARKS`)."""
    if not text:
        return ""
    keep = tuple(keep)
    lines = text.split("\n")
    out: list[str] = []
    fence: tuple[str, int, int] | None = None  # (char, length, indent) of the open fence
    for line in lines:
        if fence is not None:
            char, length, indent = fence
            stripped = line.lstrip(" ")
            lead = len(line) - len(stripped)
            if line.strip() and lead < indent:
                fence = None  # the renderer may have ended the list item: treat as prose
            else:
                out.append(line)
                if (
                    lead <= 3
                    and stripped.startswith(char * length)
                    and not stripped.strip(char).strip()
                ):
                    fence = None
                continue
        m = _FENCE.match(line)
        if m is not None and not (m.group(2)[0] == "`" and "`" in m.group(3)):
            fence = (m.group(2)[0], len(m.group(2)), len(m.group(1)))
            out.append(line)
            continue
        out.append(_line(line, keep))
    return "\n".join(out)


# -- the notebook views -----------------------------------------------------------------------


def _render_image(self: Any, tokens: Any, idx: int, options: Any, env: Any) -> str:
    token = tokens[idx]
    src = str(token.attrGet("src") or "")
    alt = "".join(child.content for child in (token.children or []))
    if _DATA_IMAGE.match(src):
        return f'<img src="{_html.escape(src)}" alt="{_html.escape(alt)}">'
    label = _html.escape(image_link_label(alt, src))
    if urlsplit(src).scheme.lower() in ("http", "https"):
        return (
            f'<a href="{_html.escape(src)}" rel="noopener noreferrer nofollow" '
            f'target="_blank">🖼 {label}</a>'
        )
    return f"🖼 {label}"


@lru_cache(maxsize=1)
def _renderer() -> Any:
    from markdown_it import MarkdownIt

    md = MarkdownIt("commonmark", {"html": False}).enable(["table", "strikethrough"])
    md.add_render_rule("image", _render_image)
    return md


def markdown_html(text: str) -> str:
    """Markdown as HTML with raw HTML escaped and images that are not ``data:`` turned into
    links naming their host (markdown-it refuses ``javascript:`` and similar links itself).
    Without markdown-it, the text escaped with its lines kept."""
    try:
        md = _renderer()
    except ImportError:
        return f'<div style="white-space:pre-wrap">{_html.escape(text)}</div>'
    return str(md.render(text))
