"""The fencer: drives the parts over the streamed answer and owns the mode it is in.

Modes: prose, validating a candidate opener, inside an HTML region, inside an existing code
block, inside ``<think>``. Each part reads the :class:`~._buffer.Buffer` from its cursor and
says what happened; this module switches mode, opens and closes the fences, and counts the
work. It reads no characters itself.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import ClassVar, Literal

from ._buffer import Buffer
from ._escape import EscapeDecider, EscapedRegion
from ._lexer import RegionLexer
from ._output import Output
from ._prose import CodeBlock, CodeOpened, OpenerFound, ProseScanner, Thinking, ThinkOpened
from ._region import Region
from ._validate import Validator

_Mode = Literal["prose", "validate", "html", "code", "think"]


class HtmlFencer:
    """Incremental: feed answer deltas (answer only, never thinking), read the repaired answer."""

    def __init__(self) -> None:
        self._buf = Buffer()
        self._out = Output()
        self._mode: _Mode = "prose"
        self._prose = ProseScanner()
        self._code: CodeBlock | None = None
        self._thinking = Thinking()
        self._validator: Validator | None = None
        self._decider: EscapeDecider | None = None
        self._region: Region | None = None
        self._work = 0  # characters handled, for the cost test

    # ---------------------------------------------------------------- public
    def feed(self, delta: str) -> None:
        if self._buf.done:
            raise RuntimeError("HtmlFencer.feed() called after finish()")
        if not delta:
            return
        self._buf.feed(delta)
        self._work += len(self._buf.text)
        self._run()

    def finish(self) -> None:
        buf = self._buf
        if buf.done:
            return
        buf.done = True
        self._run()
        if self._mode == "html":
            assert self._region is not None  # with the answer ended, every region is decided
            # what is left is either held blank lines after a finished fragment (they go after
            # the fence) or the rest of an unclosed region
            self._out.emit(self._region.render(buf.take(self._region.final_end(buf))))
            self._close_region()
            self._run()
        self._out.close_blocks()

    @property
    def text(self) -> str:
        return self._out.text

    @property
    def html(self) -> str | None:
        return self._out.html()

    @property
    def in_html(self) -> bool:
        return self._mode == "html"

    # ---------------------------------------------------------------- driver
    def _run(self) -> None:
        buf, steps = self._buf, self._STEPS
        while steps[self._mode](self):
            self._work += buf.end - buf.pos

    # each step lets the current mode's part read on; True when the mode changed (read on again)
    def _step_prose(self) -> bool:
        stop = self._prose.scan(self._buf, self._out)
        if isinstance(stop, CodeOpened):
            self._out.open_block(stop.info)
            self._code = CodeBlock(stop.fence)
            self._mode = "code"
        elif isinstance(stop, OpenerFound):
            self._validator = Validator(stop.kind, stop.tag)
            self._mode = "validate"
        elif isinstance(stop, ThinkOpened):
            self._mode = "think"
        return stop is not None

    def _step_validate(self) -> bool:
        assert self._validator is not None
        verdict = self._validator.step(self._buf)
        if verdict is None:
            return False
        if verdict:
            self._open_region()
        else:  # the opener is prose: emit it, read on after its "<"
            self._out.emit_prose(self._buf.take(self._validator.tag + 1))
            self._to_prose(line_start=False)
        self._validator = None
        return True

    def _step_code(self) -> bool:
        assert self._code is not None
        ended = self._code.scan(self._buf, self._out)
        if ended:
            self._to_prose(line_start=True)
        return ended

    def _step_think(self) -> bool:
        ended = self._thinking.scan(self._buf, self._out)
        if ended:
            self._to_prose(line_start=False)
        return ended

    def _to_prose(self, line_start: bool) -> None:
        self._prose.resume(line_start)
        self._mode = "prose"

    # ---------------------------------------------------------------- HTML region
    def _open_region(self) -> None:
        self._out.open_fence()
        self._mode = "html"
        self._decider = EscapeDecider(self._buf.pos)
        self._region = None

    def _step_region(self) -> bool:
        buf = self._buf
        if self._region is None:
            assert self._decider is not None
            escaped = self._decider.decide(buf)
            if escaped is None:
                return False
            self._region = EscapedRegion() if escaped else self._plain_region(buf.pos)
        region = self._region
        step = region.advance(buf)
        if step.upto > buf.pos:
            self._out.emit(region.render(buf.take(step.upto)))
        buf.pos = step.resume
        if step.ended:
            self._close_region()
        return step.ended

    def _plain_region(self, start: int) -> Region:
        """The scanner of a region that is not escaped (bench/bench_htmlfix.py swaps in another)."""
        return RegionLexer(start)

    def _close_region(self) -> None:
        self._out.close_fence()
        self._to_prose(line_start=False)
        self._decider = None
        self._region = None

    _STEPS: ClassVar[dict[_Mode, Callable[[HtmlFencer], bool]]] = {
        "prose": _step_prose,
        "validate": _step_validate,
        "html": _step_region,
        "code": _step_code,
        "think": _step_think,
    }
