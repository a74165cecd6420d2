"""Grounding benchmark: find_actions over long answers, reading calls with ast or with our scanner.

Run: ``python bench/bench_grounding.py`` (adds ../shared/corpus answers when present). Prints, for
each kind of answer, find_actions' time with calls read by the package's hand-written scanner and
with an ``ast`` reader (below; the scanner still takes what ast cannot read, such as a call cut
off by the token limit), and their ratio.
"""

from __future__ import annotations

import ast
import gc
import re
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from timing import best_of

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from glmv_ui.grounding import actions  # noqa: E402
from glmv_ui.grounding.calls import Call, parse_call  # noqa: E402

CORPUS = ROOT.parent / "shared" / "corpus" / "raw_outputs"

# -- the ast reader --------------------------------------------------------------------------
# Errors that more text could mend (a bracket or a string closed further on), and how many
# closing brackets to try before the scanner takes over.
_MORE_TEXT = ("was never closed", "unterminated", "EOF")
_MAX_TRIES = 16
_NUMBER = re.compile(r"-?\d+(?:\.\d+)?")


def _ast_call(source: str, i: int) -> Call | None:
    """``source`` is ``_(`` and the text from i to a ``)``; SyntaxError where ast cannot read it."""
    tree = ast.parse(source, mode="eval").body
    if not isinstance(tree, ast.Call) or any(kw.arg is None for kw in tree.keywords):
        return None
    kwargs = {}
    for kw in tree.keywords:
        v = kw.value
        is_str = isinstance(v, ast.Constant) and isinstance(v.value, str)
        kwargs[str(kw.arg)] = v.value if is_str else ast.get_source_segment(source, v) or ""
    positional = [ast.get_source_segment(source, a) or "" for a in tree.args]
    if not all(_NUMBER.fullmatch(p) for p in positional):
        return None
    return Call(kwargs, positional, i + len(source) - 2)


def ast_parse_call(text: str, i: int) -> Call | None:
    """The call from text[i], read by ast up to the first ``)`` that closes it, else scanned."""
    j = text.find(")", i)
    for _ in range(_MAX_TRIES):
        if j == -1:
            break
        source = "_(" + text[i : j + 1]
        try:
            call = _ast_call(source, i)
        except SyntaxError as e:
            if any(s in str(e) for s in _MORE_TEXT):
                j = text.find(")", j + 1)
                continue
            break
        except (ValueError, MemoryError, RecursionError):
            break
        if call is not None and "#" not in source:  # ast would take "#" for a comment
            return call
        break
    return parse_call(text, i)


# -- the answers -----------------------------------------------------------------------------
_STEPS = (
    "Thought: the dialog asks to confirm; I press OK.\n"
    "Action: left_click(start_box='[586, 446]', element_info='OK button')\n",
    "Thought: type the name.\nAction: type(content='Quarterly report (final), v2')\n",
    "Thought: the list goes on below.\n"
    "Action: scroll(start_box='[500,500]', direction='down', step=5, element_info='file list')\n",
    "Thought: move the file.\nAction: left_drag(start_box='[10,20]', end_box='[300,400]')\n",
    "Thought: pick Dinners.\n"
    "Action: CLICK(point=(214, 100), box=[[198,92,229,107]], element_info='Dinners')\n",
    "Thought: copy it.\nAction: hotkey(key='ctrl c')\nAction: WAIT()\n",
)
_CODE = (
    "```python\nimport json\n\ndef load(path):\n    with open(path, encoding='utf-8') as f:\n"
    "        data = json.load(f)\n    print(len(data), sorted(data)[:3])\n    return dict(data)\n"
    "```\nHere `load(path)` reads the file (see f(3, 4) and max(a, b)).\n"
)


def _answers() -> dict[str, str]:
    from glmv_ui.stream import parse_raw

    transcript = "".join(_STEPS * 60)

    def typing(words: str) -> str:
        return "".join(f"Action: type(content='{words * 80}')\n" for _ in range(20))

    answers = {
        "GUI-agent transcript, 360 steps": transcript,
        "the same, cut off mid-call": transcript[:-30],
        "20 type(content=...) calls of 1.6 k characters": typing("lorem ipsum, dolor; "),
        "the same with a `)` in every 22 characters": typing("lorem (ipsum), dolor; "),
        "code and prose, 360 calls that are not actions": _CODE * 40,
    }
    if CORPUS.is_dir():
        answers["the 27 corpus answers joined"] = "\n\n".join(
            parse_raw(p.read_text(encoding="utf-8")).answer for p in sorted(CORPUS.iterdir())
        )
    return answers


@contextmanager
def _reading_calls_with(parser: Callable[[str, int], Any]) -> Iterator[None]:
    saved = actions.parse_call
    actions.parse_call = parser
    try:
        yield
    finally:
        actions.parse_call = saved


def main() -> None:
    print("| answer | size | scanner | ast | ast / scanner |")
    print("|---|---|---|---|---|")
    for name, text in _answers().items():
        times, found = [], []
        for parser in (parse_call, ast_parse_call):
            with _reading_calls_with(parser):
                gc.collect()
                gc.disable()  # as timeit does: a collection landing in one run is noise
                try:
                    times.append(best_of(lambda t=text: actions.find_actions(t), 15))
                finally:
                    gc.enable()
                found.append(actions.find_actions(text))
        note = "" if found[0] == found[1] else " (the two found different actions)"
        print(
            f"| {name} | {len(text) / 1000:.0f} kB | {times[0] * 1000:.2f} ms | "
            f"{times[1] * 1000:.2f} ms | {times[1] / times[0]:.2f}{note} |"
        )


if __name__ == "__main__":
    main()
