"""Literal escapes in an HTML region: deciding whether it is escaped, and reading it if so.

Rule 5 of the package docstring. :class:`EscapeDecider` looks at the start of a fresh region
once and says escaped or not; :class:`EscapedRegion` then reads an escaped region up to
``</html>`` (the only place where one ends) and undoes the escapes. Nothing outside an escaped
region is ever unescaped.
"""

from __future__ import annotations

import re

from ._buffer import Buffer
from ._region import Advance
from ._syntax import ESCAPE_WINDOW, run_end, unescape

_ESC_NEXT = re.compile(r"[\\\n]")
_HTML_END = re.compile(r"</html\s*>", re.I)
_ESCAPED_BLANK = re.compile(r"(?:\\[nrt]|[ \t])*")
_TAIL = 16  # raw text kept from the last emission, so that a split "</html>" is still found


class EscapeDecider:
    """Counts literal ``\\n`` and real newlines from the region start until it can tell."""

    def __init__(self, start: int) -> None:
        self._start = start
        self._pos = start
        self._literal = 0
        self._real = 0

    def decide(self, buf: Buffer) -> bool | None:
        """True: escaped; False: not; None: more text is needed."""
        s, base = buf.text, buf.base
        n, start, i = len(s), self._start - base, self._pos - base
        decided: bool | None = None
        limit = min(n, start + ESCAPE_WINDOW)
        while decided is None:
            if i - start >= ESCAPE_WINDOW or (i >= n and buf.done):
                decided = self._literal >= 1 and self._literal > self._real
                break
            if i >= n:
                break
            m = _ESC_NEXT.search(s, i, limit)
            if m is None:
                i = limit
                continue
            k = m.start()
            if s[k] == "\n":
                self._real += 1
                i = k + 1
                if self._real >= 3:
                    decided = False
            elif k + 1 >= n:  # a backslash last: what it escapes has not come yet
                if buf.done:
                    i = n
                    continue
                i = k
                break
            else:
                if s[k + 1] == "n":
                    self._literal += 1
                    if self._literal >= 3:
                        decided = self._real <= 1
                i = k + 2
        self._pos = base + i
        return decided


class EscapedRegion:
    def __init__(self) -> None:
        self._tail = ""

    def render(self, raw: str) -> str:
        return unescape(raw)

    def final_end(self, buf: Buffer) -> int:
        return buf.end

    def advance(self, buf: Buffer) -> Advance:
        s, base, done = buf.text, buf.base, buf.done
        n, i = len(s), buf.pos - base
        m = _HTML_END.search(self._tail + s[i:])
        if m is not None:
            end = i + m.end() - len(self._tail)
            # escaped line breaks right after </html> belong to the escaped blob, not to prose
            after = run_end(_ESCAPED_BLANK, s, end)
            if not done and (after == n or (after == n - 1 and s[after] == "\\")):
                return Advance(buf.pos, buf.pos, False)
            return Advance(base + end, base + after, True)
        stop = n
        if not done:  # a backslash last may start an escape: keep it for the next delta
            backslashes = len(s[i:]) - len(s[i:].rstrip("\\"))
            stop = n - (backslashes % 2)
        self._tail = (self._tail + s[i:stop])[-_TAIL:]
        return Advance(base + stop, base + stop, False)
