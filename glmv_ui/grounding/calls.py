"""Read the arguments of a function call in an answer, such as ``left_click(start_box="[1,2]")``.

This module parses call syntax only: it must not decide which calls are actions.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

__all__ = ["Call", "parse_call"]

_KEYWORD_RE = re.compile(r"([A-Za-z_]\w*)\s*=\s*")
_POSITIONAL_RE = re.compile(r"-?\d+(?:\.\d+)?|'.*'|\".*\"")


@dataclass(frozen=True)
class Call:
    """The arguments of one call as text, and the index just after its ``)``.

    Quoted keyword values lose their quotes; positional values keep them (``"'a'"``), so that a
    number and a quoted number stay apart.
    """

    kwargs: dict[str, str] = field(default_factory=dict)
    positional: list[str] = field(default_factory=list)
    end: int = 0


def _read_value(text: str, i: int) -> tuple[str, int]:
    """Read one call argument value starting at text[i]; return it and the index after it."""
    if i < len(text) and text[i] in "'\"":
        quote = text[i]
        j = i + 1
        out = []
        while j < len(text) and text[j] != quote:
            if text[j] == "\\" and j + 1 < len(text):
                out.append(text[j + 1])
                j += 2
                continue
            out.append(text[j])
            j += 1
        return "".join(out), j + 1
    depth = 0
    j = i
    while j < len(text):
        c = text[j]
        if c in "([{":
            depth += 1
        elif c in ")]}":
            if depth == 0:
                break
            depth -= 1
        elif c == "," and depth == 0:
            break
        j += 1
    return text[i:j].strip(), j


def parse_call(text: str, i: int) -> Call | None:
    """Parse ``k=v, …)`` from text[i]; None unless it is a well-formed call (or cut at the end)."""
    kwargs: dict[str, str] = {}
    positional: list[str] = []
    n = len(text)
    while True:
        while i < n and text[i] in " \t\n":
            i += 1
        if i >= n:
            return Call(kwargs, positional, n)
        if text[i] == ")":
            return Call(kwargs, positional, i + 1)
        m = _KEYWORD_RE.match(text, i)
        if m:
            value, i = _read_value(text, m.end())
            kwargs[m.group(1)] = value
        else:
            value, i = _read_value(text, i)
            if not _POSITIONAL_RE.fullmatch(value):
                return None
            positional.append(value)
        while i < n and text[i] in " \t\n":
            i += 1
        if i < n and text[i] == ",":
            i += 1
        elif i < n and text[i] != ")":
            return None
