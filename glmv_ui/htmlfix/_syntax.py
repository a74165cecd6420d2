"""What the HTML fencer's parts share: tag names, patterns, and the small tests built on them.

Pure data and pure functions over strings; nothing here keeps state or knows about streaming
beyond the ``done`` flag that says whether more text may still come.
"""

from __future__ import annotations

import re
from typing import Literal

VALIDATION_WINDOW = 1200
ESCAPE_WINDOW = 600

KNOWN = frozenset(
    """a abbr address area article aside audio b base bdi bdo blockquote body br button canvas
    caption center circle cite code col colgroup data datalist dd defs del details dfn dialog div
    dl dt ellipse em embed fieldset figcaption figure font footer form g h1 h2 h3 h4 h5 h6 head
    header hgroup hr html i iframe img input ins kbd label legend li line link main map mark menu
    meta meter nav noscript object ol optgroup option output p path picture polygon polyline pre
    progress q rect s samp script section select small source span strong style sub summary sup
    svg table tbody td template text textarea tfoot th thead time title tr track u ul var video
    wbr""".split()
)
DOCUMENT = frozenset({"html", "head", "body"})
PAIRED = frozenset({"style", "script"})
BLOCK = frozenset(
    """div section header nav main article aside footer form table ul ol svg canvas template meta
    link title""".split()
)
VOID = frozenset("area base br col embed hr img input link meta param source track wbr".split())
RAWTEXT = frozenset({"script", "style", "textarea", "title"})
DOCTYPE = "<!doctype html"
THINK_OPEN = "<think>"
THINK_CLOSE = "</think>"

# what may start an HTML region; the validator asks for more line-leading tags after some kinds
Opener = Literal["doctype", "document", "paired", "block"]
NEEDED: dict[Opener, int] = {"doctype": 2, "document": 2, "paired": 2, "block": 4}

NAME = re.compile(r"<(/?)([A-Za-z][A-Za-z0-9-]*)")
TAG_AHEAD = re.compile(r"<(!--|/?[A-Za-z][A-Za-z0-9-]*)")
INDENT = re.compile(r"[ \t]*")
FENCE = re.compile(r" {0,3}(`{3,}|~{3,})")
CLOSE_FENCE = re.compile(r" {0,3}(`+|~+)?")

_UNESCAPE = {"n": "\n", "t": "\t", "r": "\r", '"': '"', "'": "'", "/": "/", "\\": "\\"}
_ESCAPE_SEQ = re.compile(r"\\(.)", re.S)


def unescape(raw: str) -> str:
    return _ESCAPE_SEQ.sub(lambda m: _UNESCAPE.get(m.group(1), m.group(0)), raw)


def run_end(pattern: re.Pattern[str], s: str, i: int) -> int:
    """Where a run of ``pattern`` (one that may match nothing) starting at ``s[i]`` ends."""
    m = pattern.match(s, i)
    return i if m is None else m.end()


def known_tag_ahead(m: re.Match[str] | None) -> bool:
    """Whether a :data:`TAG_AHEAD` match is a comment or a tag with a known name."""
    return m is not None and (m.group(1) == "!--" or m.group(1).lstrip("/").lower() in KNOWN)


def starts_like_html(content: str) -> bool:
    """Whether an unlabelled code block holds a page (a doctype or a rule-2 opener first)."""
    head = content.lstrip()[:40].lower()
    if head.startswith(DOCTYPE):
        return True
    m = NAME.match(head)
    return bool(m and not m.group(1) and m.group(2) in DOCUMENT | PAIRED | BLOCK)


def opener_at(s: str, j: int, line_start: bool, done: bool) -> Opener | Literal["think", ""] | None:
    """What the ``<`` at ``s[j]`` opens: an HTML opener kind, "think", "" for nothing, or None
    when the text so far cannot tell (more may come)."""
    rest = s[j : j + len(DOCTYPE) + 1].lower()
    more = not done and j + len(DOCTYPE) + 1 > len(s)
    if rest.startswith(DOCTYPE):
        if len(rest) > len(DOCTYPE):
            return "doctype" if rest[-1] in " \t\r\n>" else ""
        return None if more else "doctype"
    if more and DOCTYPE.startswith(rest):
        return None
    if rest.startswith(THINK_OPEN):
        return "think"
    if more and THINK_OPEN.startswith(rest):
        return None
    if not line_start:
        return ""
    m = NAME.match(s, j)
    if m is None:
        return ""
    if m.end() == len(s) and not done:
        return None
    name = m.group(2).lower()
    if m.group(1):
        return ""
    if name in DOCUMENT:
        return "document"
    if name in PAIRED:
        return "paired"
    return "block" if name in BLOCK else ""
