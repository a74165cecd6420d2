"""The raw answer as it streams in, addressed by absolute offsets.

The fencer's parts remember places in the answer (where a candidate tag sits, how far the lexer
has read, where a region may end) as offsets from the start of the whole answer, so they stay
valid when the buffer drops text that was already emitted. Only this object knows how much was
dropped (:attr:`Buffer.base`); a part turns its offsets into indexes into :attr:`Buffer.text`
(``offset - base``) at the start of a scan and back at the end of it. It holds no output and
makes no decisions.
"""

from __future__ import annotations


class Buffer:
    """The answer from the first character not yet emitted (:attr:`pos`) to what came last."""

    __slots__ = ("base", "done", "pos", "text")

    def __init__(self) -> None:
        self.text = ""  # the answer from `base` on
        self.base = 0  # offset of text[0] in the whole answer
        self.pos = 0  # offset of the first character not yet emitted; base <= pos <= end
        self.done = False  # no more text will come

    @property
    def end(self) -> int:
        return self.base + len(self.text)

    def feed(self, delta: str) -> None:
        """Add a delta, dropping what was emitted: the text kept is the held part plus delta."""
        self.text = self.text[self.pos - self.base :] + delta
        self.base = self.pos

    def take(self, upto: int) -> str:
        """The raw text from :attr:`pos` to ``upto``, now emitted."""
        chunk = self.text[self.pos - self.base : upto - self.base]
        self.pos = upto
        return chunk
