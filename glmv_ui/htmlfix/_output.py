"""The repaired answer the fencer writes, and where the code blocks in it lie.

Only appends: what was written is never changed, so a reader that saw a prefix of the text sees
it again in every later state. It decides nothing about the input: the fencer and the scanners
of text outside HTML say what to write, and the fencer says when a block opens or closes.
"""

from __future__ import annotations

from dataclasses import dataclass

from ._syntax import starts_like_html

_HTML_INFO = ("html", "htm", "xhtml")


@dataclass
class Block:
    """A code block in the output: a raw region the fencer fenced, or one that was there."""

    fenced_here: bool
    start: int  # offset in the output of the first content character
    end: int | None  # offset in the output after the content, None while the block is open
    info: str  # first word of the info string, lower case ("html" for fenced regions)


class Output:
    def __init__(self) -> None:
        self._parts: list[str] = []
        self._cache = ""
        self.length = 0
        self._last = "\n"
        self._after_fence = False  # a fence just closed: prose must start on a new line
        self.blocks: list[Block] = []

    def emit(self, s: str) -> None:
        if s:
            self._parts.append(s)
            self.length += len(s)
            self._last = s[-1]

    def emit_prose(self, s: str) -> None:
        if s and self._after_fence:
            if s[0] != "\n":
                self.emit("\n")
            self._after_fence = False
        self.emit(s)

    def open_block(self, info: str) -> None:
        """A code block that came with the answer; its opener line is already written."""
        self.blocks.append(Block(False, self.length, None, info))

    def open_fence(self) -> None:
        if self._last != "\n":
            self.emit("\n")
        self._after_fence = False
        self.emit("```html\n")
        self.blocks.append(Block(True, self.length, None, "html"))

    def close_blocks(self) -> None:
        for block in self.blocks:
            if block.end is None:
                block.end = self.length

    def close_fence(self) -> None:
        self.close_blocks()
        if self._last != "\n":
            self.emit("\n")
        self.emit("```")
        self._after_fence = True

    @property
    def text(self) -> str:
        if self._parts:
            self._cache += "".join(self._parts)
            self._parts.clear()
        return self._cache

    def html(self) -> str | None:
        """The first fenced region, or the first existing block that holds HTML."""
        for block in self.blocks:
            content = self.text[block.start : self.length if block.end is None else block.end]
            if block.fenced_here:
                return content
            if block.info in _HTML_INFO or (not block.info and starts_like_html(content)):
                return content
        return None
