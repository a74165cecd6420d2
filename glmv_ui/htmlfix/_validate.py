"""Deciding whether a candidate opener really starts HTML (rule 3 of the package docstring).

Reads the answer from the candidate's ``<`` on and answers accept, refuse, or "not yet": it
counts line-leading tags (a literal ``\\n`` counts as a line break) until the opener's kind has
enough, and refuses at a prose paragraph, a code fence, the end of the answer, or after
:data:`VALIDATION_WINDOW` characters. It only reads: the fencer emits or holds the text.
"""

from __future__ import annotations

import re
from typing import Literal

from ._buffer import Buffer
from ._syntax import (
    KNOWN,
    NAME,
    NEEDED,
    TAG_AHEAD,
    VALIDATION_WINDOW,
    Opener,
    known_tag_ahead,
    run_end,
)

_SPACE_OR_ESCAPE = re.compile(r"(?:\s|\\[nrt])*")
_LINE_END = re.compile(r"\n|\\n")
_LINE_START_WS = re.compile(r"(?:[ \t\r]|\\t|\\r)*")


class Validator:
    def __init__(self, kind: Opener, tag: int) -> None:
        self.kind = kind
        self.tag = tag  # offset of the opener's "<"
        self._pos = tag + 1  # offset to read on from
        # inside the opener tag; right after a doctype or document tag (only blank space may
        # come before the next tag); inside a line; at the start of a line
        self._phase: Literal["tag", "tight", "line", "start"] = "tag"
        self._count = 1  # line-leading tags seen, the opener included
        self._blank = False  # a blank line came since the last line-leading tag

    def step(self, buf: Buffer) -> bool | None:
        """True: HTML starts at the opener; False: it does not; None: more text is needed."""
        s, base, done = buf.text, buf.base, buf.done
        n = len(s)
        p, tag = self._pos - base, self.tag - base
        while True:
            if p - tag > VALIDATION_WINDOW:
                return False
            phase = self._phase
            if phase == "tag":
                k = s.find(">", p)
                if k < 0:
                    if done:
                        return False
                    self._pos = base + n
                    return None
                p = k + 1
                self._phase = "tight" if self.kind in ("doctype", "document") else "line"
            elif phase == "tight":
                q = run_end(_SPACE_OR_ESCAPE, s, p)
                if not done and (q == n or (q == n - 1 and s[q] == "\\")):
                    self._pos = base + p
                    return None
                tm = TAG_AHEAD.match(s, q)
                if not done and ((tm is None and n - q < 5) or (tm and tm.end() == n)):
                    self._pos = base + p
                    return None
                if known_tag_ahead(tm):
                    return True
                if self.kind == "doctype":
                    return False
                self._phase = "line"
            elif phase == "line":
                m = _LINE_END.search(s, p)
                if m is None:
                    if done:
                        return False
                    self._pos = base + max(p, n - 1)
                    return None
                p = m.end()
                self._phase = "start"
            else:
                q = run_end(_LINE_START_WS, s, p)
                if q >= n - 1 and not done and (q == n or s[q] in "\\`<"):
                    self._pos = base + p
                    return None
                if q == n:
                    return False
                if s[q] == "\n" or s.startswith("\\n", q):
                    self._blank = True
                    p = q + (1 if s[q] == "\n" else 2)
                    continue
                if s[q] == "<":
                    tm = NAME.match(s, q)
                    if not done and ((tm and tm.end() == n) or (not tm and n - q < 3)):
                        self._pos = base + p
                        return None
                    if tm and tm.group(2).lower() in KNOWN:
                        self._count += 1
                        if self._count >= NEEDED[self.kind]:
                            return True
                elif s[q] in "`~":
                    if q + 3 > n and not done:
                        self._pos = base + p
                        return None
                    if s.startswith("```", q) or s.startswith("~~~", q) or self._blank:
                        return False
                elif self._blank:
                    return False  # a prose paragraph after a blank line
                self._blank = False
                p = q
                self._phase = "line"
