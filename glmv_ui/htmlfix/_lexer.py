"""Where a plain (not escaped) HTML region ends: a small streaming lexer (rule 6).

It tracks element depth and whether the last thing read was a closing tag, skipping quoted
attribute values, comments, declarations and the contents of ``<script>``, ``<style>``,
``<textarea>`` and ``<title>``. The region ends right after ``</html>``, or at a line break
where every element is closed, the last thing was a closing tag, and the next non-blank text
is not a known tag, a comment or a declaration. It reads on from where it stopped (a split
delta makes it read a character or two again), keeps no text of its own, and never builds a
tree or checks that the HTML is valid.

Hand-written rather than on :class:`html.parser.HTMLParser`: driven the same way (handlers
keeping the depth), the standard parser took 2.3x the time over a long page, 1.8x over
fragments and 5.6x over a page with a long script (``bench/bench_htmlfix.py``, figures in
``bench/RESULTS.md``). It holds a ``<script>`` or ``<style>`` body back until the whole end tag
has arrived and searches it again on every delta, so its work per delta grew with the element
(2.3x per character for a 4x longer script) and the preview showed none of the body meanwhile.
"""

from __future__ import annotations

import re

from ._buffer import Buffer
from ._region import Advance
from ._syntax import RAWTEXT, TAG_AHEAD, VOID, known_tag_ahead

_NOT_SPACE = re.compile(r"\S")
_DATA_NEXT = re.compile(r"[<\n]")
_ATTR_NEXT = re.compile(r"[\"'>]")


class RegionLexer:
    def __init__(self, start: int) -> None:
        self._pos = start  # offset read up to
        # data, open ("<" read), close ("</" read), bang ("<!" or "<?"), name, attrs, quoted,
        # comment, decl, raw (script-like contents)
        self._state = "data"
        self._depth = 0
        self._last_close = False  # the last thing read was a closing tag
        self._name = ""  # the tag name read so far
        self._closing = False
        self._quote = ""
        self._raw = ""  # the element whose end tag ends raw contents
        self._prev = ""  # the character before the attrs scan resumes, for "/>"
        self._maybe: int | None = None  # a line break where the region ends unless HTML follows

    def render(self, raw: str) -> str:
        return raw

    def final_end(self, buf: Buffer) -> int:
        # a pending end leaves the blank lines after it to the prose after the fence
        return buf.end if self._maybe is None else self._maybe

    def advance(self, buf: Buffer) -> Advance:
        end = self._lex(buf)
        if end is not None:
            return Advance(end, end, True)
        commit = self._pos if self._maybe is None else self._maybe
        return Advance(commit, commit, False)

    def _lex(self, buf: Buffer) -> int | None:
        """Read on from :attr:`_pos`; the offset where the region ends, if it does."""
        s, base, done = buf.text, buf.base, buf.done
        n, i = len(s), self._pos - base
        while i < n:
            if self._maybe is not None:
                m = _NOT_SPACE.search(s, i)
                if m is None:
                    i = n
                    break
                j = m.start()
                tm = TAG_AHEAD.match(s, j)
                if (
                    s[j] == "<"
                    and not done
                    and ((tm is not None and tm.end() == n) or (tm is None and n - j < 4))
                ):
                    i = j
                    break
                if known_tag_ahead(tm) or s.startswith("<!", j):
                    self._maybe = None
                    i = j
                    continue
                end = self._maybe
                self._maybe = None
                self._pos = end
                return end
            st = self._state
            if st == "data":
                m = _DATA_NEXT.search(s, i)
                k = n if m is None else m.start()
                if s[i:k].strip():
                    self._last_close = False
                if m is None:
                    i = n
                    break
                if s[k] == "\n":
                    if self._depth == 0 and self._last_close:
                        self._maybe = base + k
                    i = k + 1
                else:
                    self._state = "open"
                    i = k + 1
            elif st == "open":
                c = s[i]
                if c == "/":
                    self._closing = True
                    self._state = "close"
                    i += 1
                elif c.isascii() and c.isalpha():
                    self._closing = False
                    self._name = ""
                    self._state = "name"
                elif c in "!?":
                    self._state = "bang"
                    i += 1
                else:
                    self._state = "data"
                    self._last_close = False
            elif st == "close":
                c = s[i]
                if c.isascii() and c.isalpha():
                    self._name = ""
                    self._state = "name"
                else:
                    self._state = "decl"
            elif st == "bang":
                if n - i < 2 and not done:
                    break
                if s.startswith("--", i):
                    self._state = "comment"
                    i += 2
                else:
                    self._state = "decl"
            elif st == "name":
                k = i
                while k < n and (s[k].isalnum() or s[k] in "-:"):
                    k += 1
                self._name += s[i:k]
                i = k
                if k < n:
                    self._state = "attrs"
                    self._prev = ""
            elif st == "attrs":
                m = _ATTR_NEXT.search(s, i)
                if m is None:
                    self._prev = s[-1]
                    i = n
                    break
                k = m.start()
                c = s[k]
                prev = s[k - 1] if k > i else self._prev
                i = k + 1
                if c == ">":
                    if self._end_tag(prev == "/"):
                        self._pos = base + i
                        return base + i
                else:
                    self._quote = c
                    self._state = "quoted"
            elif st == "quoted":
                k = s.find(self._quote, i)
                if k < 0:
                    i = n
                    break
                i = k + 1
                self._prev = self._quote
                self._state = "attrs"
            elif st == "comment":
                k = s.find("-->", i)
                if k < 0:
                    i = max(i, n - 2)
                    break
                i = k + 3
                self._state = "data"
            elif st == "decl":
                k = s.find(">", i)
                if k < 0:
                    i = n
                    break
                i = k + 1
                self._state = "data"
            else:  # raw contents until the matching end tag
                k = s.find("</", i)
                if k < 0:
                    i = max(i, n - 1)
                    break
                size = len(self._raw)
                if k + 2 + size > n and not done:
                    i = k
                    break
                if s[k + 2 : k + 2 + size].lower() == self._raw:
                    self._state = "open"
                    i = k + 1
                else:
                    i = k + 2
        self._pos = base + i
        return None

    def _end_tag(self, self_closing: bool) -> bool:
        """A tag's ">" was read; whether it was ``</html>``, where the region ends."""
        name = self._name.lower()
        self._state = "data"
        if self._closing:
            self._depth = max(0, self._depth - 1)
            self._last_close = True
            return name == "html"
        self._last_close = False
        if name in RAWTEXT and not self_closing:
            self._state = "raw"
            self._raw = name
            self._depth += 1
        elif name not in VOID and not self_closing:
            self._depth += 1
        return False
