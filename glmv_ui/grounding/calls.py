"""Read the arguments of a function call in an answer, such as ``left_click(start_box="[1,2]")``.

A small scanner, not Python's ``ast``: it reads a call cut off by the token limit
(``left_click(start_box='[12,3``) as far as it goes, and the slips models make
(``start_box=='[1,2]'``), and it measures faster than ``ast.parse`` on long answers
(bench/bench_grounding.py; figures in bench/RESULTS.md).
This module parses call syntax only: it must not decide which calls are actions.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

__all__ = ["Call", "parse_call"]

# A quoted value's body up to its closing quote (or the end), backslash pairs included.
_QUOTED = {q: re.compile(rf"[^{q}\\]*(?:\\.[^{q}\\]*)*", re.DOTALL) for q in "'\""}
_ESCAPE_RE = re.compile(r"\\(.)", re.DOTALL)
_SPECIAL_RE = re.compile(r"[()\[\]{},]")
_KEYWORD_RE = re.compile(r"([A-Za-z_]\w*)\s*=\s*")
_POSITIONAL_RE = re.compile(r"-?\d+(?:\.\d+)?|'.*'|\".*\"")


@dataclass(frozen=True)
class Call:
    """The arguments of one call as text, and the index just after its ``)`` (or the text's end).

    A quoted value loses its quotes, and a backslash keeps only the character after it.
    """

    kwargs: dict[str, str] = field(default_factory=dict)
    positional: list[str] = field(default_factory=list)
    end: int = 0


def _read_value(text: str, i: int) -> tuple[str, int]:
    """Read one call argument value starting at text[i]; return it and the index after it.

    The regular expressions skip runs of ordinary characters in C; the loop only sees the
    characters that matter (quotes, backslashes, brackets, commas).
    """
    n = len(text)
    if i < n and text[i] in "'\"":
        m = _QUOTED[text[i]].match(text, i + 1)  # always matches, if only the empty string
        value, j = (m.group(), m.end()) if m else ("", i + 1)
        if "\\" in value:
            value = _ESCAPE_RE.sub(r"\1", value)
        if j < n and text[j] == "\\":  # a backslash at the very end stays as it is
            value, j = value + "\\", n
        return value, j + 1  # past the closing quote, or one past the end when it is missing
    depth = 0
    j = i
    while j < n:
        special = _SPECIAL_RE.search(text, j)
        if special is None:
            j = n
            break
        j = special.start()
        c = text[j]
        if c in "([{":
            depth += 1
        elif c in ")]}":
            if depth == 0:
                break
            depth -= 1
        elif depth == 0:  # a comma
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
