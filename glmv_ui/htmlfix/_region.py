"""The seam between the fencer and the scanner of an open HTML region.

A region scanner reads the region as it streams in and reports, in absolute offsets, how far
the raw text may be emitted and whether the region ended there. The fencer owns the emission
and the fences; a scanner never writes output. Two scanners fit: the lexer for plain regions
(``_lexer.RegionLexer``) and the one for escaped regions (``_escape.EscapedRegion``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from ._buffer import Buffer


@dataclass(slots=True)  # one per delta inside a region: plain slots keep it cheap
class Advance:
    upto: int  # the raw text before this offset belongs to the region and may be emitted
    resume: int  # where reading goes on (after dropped blank space when the region ended)
    ended: bool  # the region ends at `upto`


class Region(Protocol):
    def advance(self, buf: Buffer) -> Advance:
        """Read what came since the last call."""
        ...

    def final_end(self, buf: Buffer) -> int:
        """Where the region ends when the answer has ended (called after a last advance)."""
        ...

    def render(self, raw: str) -> str:
        """The text to show for raw region text."""
        ...
