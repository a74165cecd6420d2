"""Find raw HTML in a model answer and wrap it in a ```html fence, incrementally while it streams.

GLM-V answers to "replicate this web page" sometimes hold a raw HTML document with no code fence,
and sometimes that document arrives with literal ``\\n`` / ``\\"`` escapes. :class:`HtmlFencer`
takes the *answer* deltas (never the thinking) and keeps a repaired copy of the answer in which
the HTML sits in a ```html fence, ready for Markdown rendering and for the preview. Standard
library only; no work at import time.

Rules, each pinned by a test in ``tests/test_htmlfix.py``:

1. **Detection runs on the growing answer, not per chunk.** The final text never depends on how
   the answer was split; while streaming, text that might start an HTML region is held back until
   it is decided (a few characters, at most :data:`VALIDATION_WINDOW` characters after a
   block-level tag), so the opening fence always appears before the first tag.
2. **Where HTML may start** (outside code blocks, outside inline code, outside ``<think>``):
   ``<!DOCTYPE html`` anywhere, or a tag at the start of a line (after indentation only) whose
   name is one of: *document* tags ``html`` / ``head`` / ``body``; *paired* tags ``style`` /
   ``script``; *block* tags (``div``, ``section``, ``header``, ``nav``, ``main``, ``article``,
   ``aside``, ``footer``, ``form``, ``table``, ``ul``, ``ol``, ``svg``, ``canvas``, ``template``,
   ``meta``, ``link``, ``title``). Inline tags (``<br>``, ``<b>``, ``<sub>``) never start HTML,
   and neither do generics such as ``List<String>`` or comparisons such as ``a < b``.
3. **What confirms it**, read from the opener on: ``<!DOCTYPE html>`` must be followed, after only
   whitespace, by another tag (``<html>``, ``<head>``, ``<!-- -->`` ...); a document tag is
   confirmed the same way, or by one more tag at the start of a line; a paired tag by one more
   tag at the start of a line (its closing tag counts); a block tag by four line-leading tags in
   all (so a lone ``<div align="center">`` around an image in Markdown stays prose). A literal
   ``\\n`` counts as a line break here. It is refused when :data:`VALIDATION_WINDOW` characters
   pass unconfirmed, when a blank line is followed by a line that does not start with ``<``
   (a prose paragraph), when a code fence starts, or when the answer ends first.
4. **The fence** is ```html on its own line: a line-start opener's indentation goes inside the
   fence; text before a mid-line ``<!DOCTYPE`` stays on its line and the fence starts a new one.
   HTML that itself contains a line of three backticks is not handled (the fence would end there).
5. **Escapes** (``\\n``, ``\\t``, ``\\r``, ``\\"``, ``\\'``, ``\\/``, ``\\\\``) are undone only
   inside an HTML region that is clearly escaped, decided once from its start: the first of
   three literal ``\\n`` (escaped when at most one real newline came before) or three real newlines
   (not escaped); when neither comes within :data:`ESCAPE_WINDOW` characters or before the region
   ends, it is escaped when it has more literal ``\\n`` than real newlines. Escaped blank
   space (``\\n``, ``\\t``, spaces) right after an escaped ``</html>`` is dropped. Prose, LaTeX
   (``\\neq``, ``\\nabla``, ``\\nu``) and code blocks are never touched.
6. **Where HTML ends**: right after ``</html>``; or, for a region that is not escaped, at a line
   break where every opened element is closed, the last thing was a closing tag, and the next
   non-blank line does not start with a known tag, a comment or a doctype (so ``</answer>`` or a
   prose sentence ends it). An escaped region ends only at ``</html>``. Whatever is still open
   when the answer finishes is closed at the end. Prose after the closing fence starts on a new
   line. ``<script>``, ``<style>``, ``<textarea>`` and ``<title>`` contents and quoted attribute
   values are skipped when counting elements.
7. **Existing code blocks** (``` or ~~~, any info string) pass through untouched, and nothing is
   detected inside them; :attr:`HtmlFencer.html` returns the content of the first block whose
   info string is ``html`` / ``htm`` / ``xhtml``, or of an unlabelled block that starts with a
   doctype, ``<html>`` or a rule-2 tag, when no raw HTML region came before it.
8. ``<think>…</think>`` passes through untouched, in case a caller feeds the raw reply.
9. **Cost**: each :meth:`HtmlFencer.feed` works on the held-back text plus the delta only, so
   the work per delta does not grow with the answer; :attr:`HtmlFencer.text` joins new output
   once per change and is free to read again.
"""

from __future__ import annotations

import re

__all__ = ["ESCAPE_WINDOW", "VALIDATION_WINDOW", "HtmlFencer", "extract_html", "fence_html"]

VALIDATION_WINDOW = 1200
ESCAPE_WINDOW = 600

_KNOWN = frozenset(
    """a abbr address area article aside audio b base bdi bdo blockquote body br button canvas
    caption center circle cite code col colgroup data datalist dd defs del details dfn dialog div
    dl dt ellipse em embed fieldset figcaption figure font footer form g h1 h2 h3 h4 h5 h6 head
    header hgroup hr html i iframe img input ins kbd label legend li line link main map mark menu
    meta meter nav noscript object ol optgroup option output p path picture polygon polyline pre
    progress q rect s samp script section select small source span strong style sub summary sup
    svg table tbody td template text textarea tfoot th thead time title tr track u ul var video
    wbr""".split()
)
_DOCUMENT = frozenset({"html", "head", "body"})
_PAIRED = frozenset({"style", "script"})
_BLOCK = frozenset(
    """div section header nav main article aside footer form table ul ol svg canvas template meta
    link title""".split()
)
_NEEDED = {"document": 2, "paired": 2, "block": 4}
_VOID = frozenset("area base br col embed hr img input link meta param source track wbr".split())
_RAWTEXT = frozenset({"script", "style", "textarea", "title"})
_UNESCAPE = {"n": "\n", "t": "\t", "r": "\r", '"': '"', "'": "'", "/": "/", "\\": "\\"}
_DOCTYPE = "<!doctype html"

_NAME = re.compile(r"<(/?)([A-Za-z][A-Za-z0-9-]*)")
_TAG_AHEAD = re.compile(r"<(!--|/?[A-Za-z][A-Za-z0-9-]*)")
_INDENT = re.compile(r"[ \t]*")
_SPACE_OR_ESCAPE = re.compile(r"(?:\s|\\[nrt])*")
_LINE_END = re.compile(r"\n|\\n")
_LINE_START_WS = re.compile(r"(?:[ \t\r]|\\t|\\r)*")
_PROSE_NEXT = re.compile(r"[\n`<]")
_DATA_NEXT = re.compile(r"[<\n]")
_ATTR_NEXT = re.compile(r"[\"'>]")
_NOT_SPACE = re.compile(r"\S")
_FENCE = re.compile(r" {0,3}(`{3,}|~{3,})")
_CLOSE_FENCE = re.compile(r" {0,3}(`+|~+)?")
_ESCAPED_BLANK = re.compile(r"(?:\\[nrt]|[ \t])*")
_ESC_NEXT = re.compile(r"[\\\n]")
_ESCAPE_SEQ = re.compile(r"\\(.)", re.S)
_HTML_END = re.compile(r"</html\s*>", re.I)

_PROSE, _VALIDATE, _HTML, _CODE, _THINK = range(5)


def _unescape(raw: str) -> str:
    return _ESCAPE_SEQ.sub(lambda m: _UNESCAPE.get(m.group(1), m.group(0)), raw)


def _starts_like_html(content: str) -> bool:
    head = content.lstrip()[:40].lower()
    if head.startswith(_DOCTYPE):
        return True
    m = _NAME.match(head)
    return bool(m and not m.group(1) and m.group(2) in _DOCUMENT | _PAIRED | _BLOCK)


class HtmlFencer:
    """Incremental: feed answer deltas (answer only, never thinking), read the repaired answer."""

    def __init__(self) -> None:
        self._buf = ""  # raw text from the first character not yet emitted
        self._i = 0  # index in _buf of the first character not yet emitted
        self._done = False
        self._mode = _PROSE
        self._line_start = True  # _i sits at the start of a line (prose / code modes)
        self._inline_code = False
        self._need_newline = False  # a fence just closed: prose must start on a new line
        self._parts: list[str] = []
        self._cache = ""
        self._out_len = 0
        self._out_last = "\n"
        # [kind, content_start, content_end or None while open, info]
        self._blocks: list[list] = []
        self._work = 0  # characters handled, for the cost test
        # validation of a candidate opener
        self._vkind = ""
        self._vtag = 0
        self._vpos = 0
        self._vphase = ""
        self._vcount = 0
        self._vblank = False
        # escape decision and escaped emission
        self._escaped: bool | None = None
        self._epos = 0
        self._elit = 0
        self._ereal = 0
        self._tail = ""
        # HTML lexer (plain regions)
        self._lstate = "data"
        self._lpos = 0
        self._depth = 0
        self._last_close = False
        self._name = ""
        self._closing = False
        self._quote = ""
        self._raw = ""
        self._prev = ""
        self._maybe = -1
        # code block
        self._fence = ""

    # ---------------------------------------------------------------- public
    def feed(self, delta: str) -> None:
        if self._done:
            raise RuntimeError("HtmlFencer.feed() called after finish()")
        if not delta:
            return
        cut = self._i
        self._buf = self._buf[cut:] + delta
        self._i = 0
        self._vtag -= cut
        self._vpos -= cut
        self._epos -= cut
        self._lpos -= cut
        if self._maybe >= 0:
            self._maybe -= cut
        self._work += len(self._buf)
        self._run()

    def finish(self) -> None:
        if self._done:
            return
        self._done = True
        self._run()
        if self._mode == _HTML:
            # what is left is either held blank lines after a finished fragment (they go after
            # the fence) or the rest of an unclosed region
            if self._maybe < 0:
                self._emit(self._buf[self._i :])
                self._i = len(self._buf)
            self._maybe = -1
            self._close_region()
            self._run()
        for block in self._blocks:
            if block[2] is None:
                block[2] = self._out_len

    @property
    def text(self) -> str:
        if self._parts:
            self._cache += "".join(self._parts)
            self._parts.clear()
        return self._cache

    @property
    def html(self) -> str | None:
        for kind, start, end, info in self._blocks:
            content = self.text[start : self._out_len if end is None else end]
            if kind == "raw":
                return content
            if info in ("html", "htm", "xhtml") or (not info and _starts_like_html(content)):
                return content
        return None

    @property
    def in_html(self) -> bool:
        return self._mode == _HTML

    # ---------------------------------------------------------------- output
    def _emit(self, s: str) -> None:
        if s:
            self._parts.append(s)
            self._out_len += len(s)
            self._out_last = s[-1]

    def _emit_prose(self, s: str) -> None:
        if s and self._need_newline:
            if s[0] != "\n":
                self._emit("\n")
            self._need_newline = False
        self._emit(s)

    def _open_region(self) -> None:
        if self._out_last != "\n":
            self._emit("\n")
        self._need_newline = False
        self._emit("```html\n")
        self._blocks.append(["raw", self._out_len, None, "html"])
        self._mode = _HTML
        self._escaped = None
        self._epos, self._elit, self._ereal = self._i, 0, 0
        self._tail = ""
        self._lstate, self._lpos, self._depth, self._last_close = "data", self._i, 0, False
        self._name, self._closing, self._quote, self._raw, self._prev = "", False, "", "", ""
        self._maybe = -1

    def _close_region(self) -> None:
        for block in self._blocks:
            if block[2] is None:
                block[2] = self._out_len
        if self._out_last != "\n":
            self._emit("\n")
        self._emit("```")
        self._need_newline = True
        self._mode = _PROSE
        self._line_start = False
        self._inline_code = False

    # ---------------------------------------------------------------- driver
    def _run(self) -> None:
        steps = (self._step_prose, self._step_validate, self._step_html, self._step_code,
                 self._step_think)
        while steps[self._mode]():
            self._work += len(self._buf) - self._i

    def _step_prose(self) -> bool:
        s, i, n, done = self._buf, self._i, len(self._buf), self._done
        while i < n:
            if self._line_start:
                j = _INDENT.match(s, i).end()
                if j == n:
                    if not done:
                        break
                    self._emit_prose(s[i:])
                    i = n
                    break
                c = s[j]
                if c in "`~" and j - i <= 3:
                    if not done and n - j < 3 and s[j:] == c * (n - j):
                        break
                    m = _FENCE.match(s, i)
                    nl = s.find("\n", j)
                    if m and nl < 0 and not done:
                        break  # the whole opener line decides (its info string)
                    end = n if nl < 0 else nl + 1
                    info = s[m.end() : end].strip() if m else ""
                    if m and not (m.group(1)[0] == "`" and "`" in info):
                        self._emit_prose(s[i:end])
                        self._i = end
                        self._mode = _CODE
                        self._fence = m.group(1)
                        self._line_start = True
                        word = info.split()[0].lower() if info else ""
                        self._blocks.append(["code", self._out_len, None, word])
                        return True
                if c == "<":
                    kind = self._candidate(s, j, True)
                    if kind is None:
                        break
                    if kind and kind != "think":
                        return self._start_validation(i, j, kind)
                self._line_start = False
                self._emit_prose(s[i:j])
                i = j
                continue
            m = _PROSE_NEXT.search(s, i)
            if m is None:
                self._emit_prose(s[i:])
                i = n
                break
            k = m.start()
            c = s[k]
            self._emit_prose(s[i:k])
            i = k
            if c == "\n":
                self._emit_prose("\n")
                i += 1
                self._line_start = True
                self._inline_code = False
            elif c == "`":
                self._emit_prose("`")
                i += 1
                self._inline_code = not self._inline_code
            else:
                kind = "" if self._inline_code else self._candidate(s, k, False)
                if kind is None:
                    break
                if kind == "think":
                    self._emit_prose("<think>")
                    self._i = k + len("<think>")
                    self._mode = _THINK
                    return True
                if kind:
                    return self._start_validation(k, k, kind)
                self._emit_prose("<")
                i += 1
        self._i = i
        return False

    def _candidate(self, s: str, j: int, line_start: bool) -> str | None:
        """Kind of opener at s[j] == '<': '' for none, None when more text is needed."""
        rest = s[j : j + len(_DOCTYPE) + 1].lower()
        more = not self._done and j + len(_DOCTYPE) + 1 > len(s)
        if rest.startswith(_DOCTYPE):
            if len(rest) > len(_DOCTYPE):
                return "doctype" if rest[-1] in " \t\r\n>" else ""
            return None if more else "doctype"
        if more and _DOCTYPE.startswith(rest):
            return None
        if rest.startswith("<think>"):
            return "think"
        if more and "<think>".startswith(rest):
            return None
        if not line_start:
            return ""
        m = _NAME.match(s, j)
        if m is None:
            return ""
        if m.end() == len(s) and not self._done:
            return None
        name = m.group(2).lower()
        if m.group(1):
            return ""
        if name in _DOCUMENT:
            return "document"
        if name in _PAIRED:
            return "paired"
        return "block" if name in _BLOCK else ""

    # ---------------------------------------------------------------- validation
    def _start_validation(self, start: int, tag: int, kind: str) -> bool:
        self._i = start
        self._vkind = kind
        self._vtag = tag
        self._vpos = tag + 1
        self._vphase = "tag"
        self._vcount = 1
        self._vblank = False
        self._mode = _VALIDATE
        return True

    def _reject(self) -> bool:
        self._emit_prose(self._buf[self._i : self._vtag + 1])
        self._i = self._vtag + 1
        self._line_start = False
        self._mode = _PROSE
        return True

    def _accept(self) -> bool:
        self._open_region()
        return True

    def _step_validate(self) -> bool:
        s, n, done = self._buf, len(self._buf), self._done
        p = self._vpos
        while True:
            if p - self._vtag > VALIDATION_WINDOW:
                return self._reject()
            phase = self._vphase
            if phase == "tag":
                k = s.find(">", p)
                if k < 0:
                    if done:
                        return self._reject()
                    self._vpos = n
                    return False
                p = k + 1
                self._vphase = "tight" if self._vkind in ("doctype", "document") else "line"
            elif phase == "tight":
                q = _SPACE_OR_ESCAPE.match(s, p).end()
                if not done and (q == n or (q == n - 1 and s[q] == "\\")):
                    self._vpos = p
                    return False
                tm = _TAG_AHEAD.match(s, q)
                if not done and ((tm is None and n - q < 5) or (tm and tm.end() == n)):
                    self._vpos = p
                    return False
                if tm and (tm.group(1) == "!--" or tm.group(1).lstrip("/").lower() in _KNOWN):
                    return self._accept()
                if self._vkind == "doctype":
                    return self._reject()
                self._vphase = "line"
            elif phase == "line":
                m = _LINE_END.search(s, p)
                if m is None:
                    if done:
                        return self._reject()
                    self._vpos = max(p, n - 1)
                    return False
                p = m.end()
                self._vphase = "start"
            else:  # at the start of a line
                q = _LINE_START_WS.match(s, p).end()
                if q >= n - 1 and not done and (q == n or s[q] in "\\`<"):
                    self._vpos = p
                    return False
                if q == n:
                    return self._reject()
                if s[q] == "\n" or s.startswith("\\n", q):
                    self._vblank = True
                    p = q + (1 if s[q] == "\n" else 2)
                    continue
                if s[q] == "<":
                    tm = _NAME.match(s, q)
                    if not done and ((tm and tm.end() == n) or (not tm and n - q < 3)):
                        self._vpos = p
                        return False
                    if tm and tm.group(2).lower() in _KNOWN:
                        self._vcount += 1
                        if self._vcount >= _NEEDED.get(self._vkind, 2):
                            return self._accept()
                elif s[q] in "`~":
                    if q + 3 > n and not done:
                        self._vpos = p
                        return False
                    if s.startswith("```", q) or s.startswith("~~~", q):
                        return self._reject()
                    if self._vblank:
                        return self._reject()
                elif self._vblank:
                    return self._reject()
                self._vblank = False
                p = q
                self._vphase = "line"

    # ---------------------------------------------------------------- HTML region
    def _step_html(self) -> bool:
        if self._escaped is None and not self._decide_escape():
            return False
        return self._step_escaped() if self._escaped else self._step_plain()

    def _decide_escape(self) -> bool:
        s, n, i = self._buf, len(self._buf), self._epos
        decided: bool | None = None
        limit = min(n, self._i + ESCAPE_WINDOW)
        while decided is None:
            if i - self._i >= ESCAPE_WINDOW or (i >= n and self._done):
                decided = self._elit >= 1 and self._elit > self._ereal
                break
            if i >= n:
                break
            m = _ESC_NEXT.search(s, i, limit)
            if m is None:
                i = limit
                continue
            k = m.start()
            if s[k] == "\n":
                self._ereal += 1
                i = k + 1
                if self._ereal >= 3:
                    decided = False
            elif k + 1 >= n:
                if self._done:
                    i = n
                    continue
                i = k
                break
            else:
                if s[k + 1] == "n":
                    self._elit += 1
                    if self._elit >= 3:
                        decided = self._ereal <= 1
                i = k + 2
        self._epos = i
        if decided is None:
            return False
        self._escaped = decided
        return True

    def _step_escaped(self) -> bool:
        s, n, i = self._buf, len(self._buf), self._i
        window = self._tail + s[i:]
        m = _HTML_END.search(window)
        if m is not None:
            end = i + m.end() - len(self._tail)
            # escaped line breaks right after </html> belong to the escaped blob, not to prose
            after = _ESCAPED_BLANK.match(s, end).end()
            if not self._done and (after == n or (after == n - 1 and s[after] == "\\")):
                return False
            self._emit(_unescape(s[i:end]))
            self._i = after
            self._close_region()
            return True
        stop = n
        if not self._done:
            backslashes = len(s[i:]) - len(s[i:].rstrip("\\"))
            stop = n - (backslashes % 2)
        self._emit(_unescape(s[i:stop]))
        self._tail = (self._tail + s[i:stop])[-16:]
        self._i = stop
        return False

    def _step_plain(self) -> bool:
        end = self._lex()
        s = self._buf
        if end is not None:
            self._emit(s[self._i : end])
            self._i = end
            self._close_region()
            return True
        commit = self._maybe if self._maybe >= 0 else self._lpos
        self._emit(s[self._i : commit])
        self._i = commit
        return False

    def _lex(self) -> int | None:
        """Scan the plain region from _lpos; return the index where it ends, if it does."""
        s, n, i, done = self._buf, len(self._buf), self._lpos, self._done
        while i < n:
            if self._maybe >= 0:
                m = _NOT_SPACE.search(s, i)
                if m is None:
                    i = n
                    break
                j = m.start()
                tm = _TAG_AHEAD.match(s, j)
                if s[j] == "<" and not done:
                    if (tm is not None and tm.end() == n) or (tm is None and n - j < 4):
                        i = j
                        break
                if tm and (tm.group(1) == "!--" or tm.group(1).lstrip("/").lower() in _KNOWN):
                    self._maybe = -1
                    i = j
                    continue
                if s.startswith("<!", j):
                    self._maybe = -1
                    i = j
                    continue
                end = self._maybe
                self._maybe = -1
                self._lpos = end
                return end
            st = self._lstate
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
                        self._maybe = k
                    i = k + 1
                else:
                    self._lstate = "open"
                    i = k + 1
            elif st == "open":
                c = s[i]
                if c == "/":
                    self._closing = True
                    self._lstate = "close"
                    i += 1
                elif c.isascii() and c.isalpha():
                    self._closing = False
                    self._name = ""
                    self._lstate = "name"
                elif c in "!?":
                    self._lstate = "bang"
                    i += 1
                else:
                    self._lstate = "data"
                    self._last_close = False
            elif st == "close":
                c = s[i]
                if c.isascii() and c.isalpha():
                    self._name = ""
                    self._lstate = "name"
                else:
                    self._lstate = "decl"
            elif st == "bang":
                if n - i < 2 and not done:
                    break
                if s.startswith("--", i):
                    self._lstate = "comment"
                    i += 2
                else:
                    self._lstate = "decl"
            elif st == "name":
                k = i
                while k < n and (s[k].isalnum() or s[k] in "-:"):
                    k += 1
                self._name += s[i:k]
                i = k
                if k < n:
                    self._lstate = "attrs"
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
                    end = self._end_tag(prev == "/", i)
                    if end is not None:
                        self._lpos = end
                        return end
                else:
                    self._quote = c
                    self._lstate = "quoted"
            elif st == "quoted":
                k = s.find(self._quote, i)
                if k < 0:
                    i = n
                    break
                i = k + 1
                self._prev = self._quote
                self._lstate = "attrs"
            elif st == "comment":
                k = s.find("-->", i)
                if k < 0:
                    i = max(i, n - 2)
                    break
                i = k + 3
                self._lstate = "data"
            elif st == "decl":
                k = s.find(">", i)
                if k < 0:
                    i = n
                    break
                i = k + 1
                self._lstate = "data"
            else:  # raw text until the matching end tag
                k = s.find("</", i)
                if k < 0:
                    i = max(i, n - 1)
                    break
                size = len(self._raw)
                if k + 2 + size > n and not done:
                    i = k
                    break
                if s[k + 2 : k + 2 + size].lower() == self._raw:
                    self._lstate = "open"
                    i = k + 1
                else:
                    i = k + 2
        self._lpos = i
        return None

    def _end_tag(self, self_closing: bool, after: int) -> int | None:
        name = self._name.lower()
        self._lstate = "data"
        if self._closing:
            self._depth = max(0, self._depth - 1)
            self._last_close = True
            return after if name == "html" else None
        self._last_close = False
        if name in _RAWTEXT and not self_closing:
            self._lstate = "raw"
            self._raw = name
            self._depth += 1
        elif name not in _VOID and not self_closing:
            self._depth += 1
        return None

    # ---------------------------------------------------------------- pass-through modes
    def _step_code(self) -> bool:
        s, i, n, done = self._buf, self._i, len(self._buf), self._done
        fence = self._fence
        while i < n:
            nl = s.find("\n", i)
            if self._line_start:
                m = _CLOSE_FENCE.match(s, i)
                if m.end() == n and not done:
                    break
                run = m.group(1)
                if run and run[0] == fence[0]:
                    if nl < 0 and not done:
                        break
                    end = n if nl < 0 else nl + 1
                    if len(run) >= len(fence) and not s[m.end() : end].strip():
                        self._blocks[-1][2] = self._out_len
                        self._emit(s[i:end])
                        self._i = end
                        self._mode = _PROSE
                        self._line_start = True
                        return True
            end = n if nl < 0 else nl + 1
            self._emit(s[i:end])
            self._line_start = nl >= 0
            i = end
        self._i = i
        return False

    def _step_think(self) -> bool:
        s, i, n = self._buf, self._i, len(self._buf)
        k = s.find("</think>", i)
        if k >= 0:
            end = k + len("</think>")
            self._emit(s[i:end])
            self._i = end
            self._mode = _PROSE
            self._line_start = False
            return True
        stop = n if self._done else max(i, n - len("</think>") + 1)
        self._emit(s[i:stop])
        self._i = stop
        return False


def fence_html(answer: str) -> str:
    """The whole answer with raw HTML fenced (HtmlFencer fed once, then finished)."""
    fencer = HtmlFencer()
    fencer.feed(answer)
    fencer.finish()
    return fencer.text


def extract_html(answer: str) -> str | None:
    """The HTML page in an answer (a raw region or an existing html code block), or None."""
    fencer = HtmlFencer()
    fencer.feed(answer)
    fencer.finish()
    return fencer.html
