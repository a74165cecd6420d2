"""Text outside HTML regions: prose, where openers are looked for, and what passes through.

:class:`ProseScanner` emits prose up to the next thing that changes mode (an existing code
fence, a candidate HTML opener per rule 2, ``<think>``) and reports it; it holds back only the
few characters that cannot be told yet. :class:`CodeBlock` and :class:`Thinking` pass an
existing code block and ``<think>…</think>`` through untouched (rules 7 and 8) until they end.
None of them decides whether a candidate is HTML, and none changes a character of the text.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from ._buffer import Buffer
from ._output import Output
from ._syntax import CLOSE_FENCE, FENCE, INDENT, THINK_CLOSE, THINK_OPEN, Opener, opener_at, run_end

_PROSE_NEXT = re.compile(r"[\n`<]")


@dataclass(frozen=True)
class CodeOpened:
    fence: str  # the run of backticks or tildes that opened it
    info: str  # the info string's first word, lower case


@dataclass(frozen=True)
class OpenerFound:
    start: int  # offset of the line start (a line-start opener's indentation goes in the fence)
    tag: int  # offset of the "<"
    kind: Opener


@dataclass(frozen=True)
class ThinkOpened:
    pass


class ProseScanner:
    def __init__(self) -> None:
        self.line_start = True  # the next character starts a line
        self._inline_code = False

    def resume(self, line_start: bool) -> None:
        """Prose goes on after another mode ended."""
        self.line_start = line_start
        self._inline_code = False

    def scan(self, buf: Buffer, out: Output) -> CodeOpened | OpenerFound | ThinkOpened | None:
        """Emit prose; what stopped it, or None when it waits for more text."""
        s, base, done = buf.text, buf.base, buf.done
        n, i = len(s), buf.pos - base
        while i < n:
            if self.line_start:
                j = run_end(INDENT, s, i)
                if j == n:
                    if not done:
                        break
                    out.emit_prose(s[i:])
                    i = n
                    break
                c = s[j]
                if c in "`~" and j - i <= 3:
                    if not done and n - j < 3 and s[j:] == c * (n - j):
                        break
                    m = FENCE.match(s, i)
                    nl = s.find("\n", j)
                    if m and nl < 0 and not done:
                        break  # the whole opener line decides (its info string)
                    end = n if nl < 0 else nl + 1
                    info = s[m.end() : end].strip() if m else ""
                    if m and not (m.group(1)[0] == "`" and "`" in info):
                        out.emit_prose(s[i:end])
                        buf.pos = base + end
                        return CodeOpened(m.group(1), info.split()[0].lower() if info else "")
                if c == "<":
                    kind = opener_at(s, j, True, done)
                    if kind is None:
                        break
                    if kind and kind != "think":
                        buf.pos = base + i
                        return OpenerFound(base + i, base + j, kind)
                self.line_start = False
                out.emit_prose(s[i:j])
                i = j
                continue
            m = _PROSE_NEXT.search(s, i)
            if m is None:
                out.emit_prose(s[i:])
                i = n
                break
            k = m.start()
            c = s[k]
            out.emit_prose(s[i:k])
            i = k
            if c == "\n":
                out.emit_prose("\n")
                i += 1
                self.line_start = True
                self._inline_code = False
            elif c == "`":
                out.emit_prose("`")
                i += 1
                self._inline_code = not self._inline_code
            else:
                kind = "" if self._inline_code else opener_at(s, k, False, done)
                if kind is None:
                    break
                if kind == "think":
                    out.emit_prose(THINK_OPEN)
                    buf.pos = base + k + len(THINK_OPEN)
                    return ThinkOpened()
                if kind:
                    buf.pos = base + k
                    return OpenerFound(base + k, base + k, kind)
                out.emit_prose("<")
                i += 1
        buf.pos = base + i
        return None


class CodeBlock:
    """An existing code block, passed through up to and including its closing fence."""

    def __init__(self, fence: str) -> None:
        self._fence = fence
        self._line_start = True

    def scan(self, buf: Buffer, out: Output) -> bool:
        """Emit the block; True once its closing fence line was emitted."""
        s, base, done = buf.text, buf.base, buf.done
        n, i = len(s), buf.pos - base
        fence = self._fence
        while i < n:
            nl = s.find("\n", i)
            if self._line_start:
                m = CLOSE_FENCE.match(s, i)
                assert m is not None  # the pattern matches an empty run too
                if m.end() == n and not done:
                    break
                run = m.group(1)
                if run and run[0] == fence[0]:
                    if nl < 0 and not done:
                        break
                    end = n if nl < 0 else nl + 1
                    if len(run) >= len(fence) and not s[m.end() : end].strip():
                        out.close_blocks()
                        out.emit(s[i:end])
                        buf.pos = base + end
                        return True
            end = n if nl < 0 else nl + 1
            out.emit(s[i:end])
            self._line_start = nl >= 0
            i = end
        buf.pos = base + i
        return False


class Thinking:
    """``<think>…</think>`` that reached the fencer: passed through up to ``</think>``."""

    def scan(self, buf: Buffer, out: Output) -> bool:
        s, base = buf.text, buf.base
        n, i = len(s), buf.pos - base
        k = s.find(THINK_CLOSE, i)
        if k >= 0:
            end = k + len(THINK_CLOSE)
            out.emit(s[i:end])
            buf.pos = base + end
            return True
        # hold back what could be the start of a split "</think>"
        stop = n if buf.done else max(i, n - len(THINK_CLOSE) + 1)
        out.emit(s[i:stop])
        buf.pos = base + stop
        return False
