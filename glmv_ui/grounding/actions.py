"""GUI-agent actions in a GLM-V answer: function calls, JSON actions and web ``Action:`` lines.

GUI-agent answers carry actions such as ``left_click(start_box='[x,y]')``,
``CLICK(point=(x, y), box=[[…]])``, ``{"action_type": "click", "box_2d": [[xmin,ymin,xmax,ymax]]}``
(GLM's ``box_2d`` is x-first) or ``Action: Click [5]``. Points and boxes stay on the 0-1000 grid.

This module reads text only: it must not draw, format for display or decide which boxes to show.
"""

from __future__ import annotations

import ast
import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from ..stream import BOX_BEGIN, BOX_END
from .boxes import NUMBERS_RE, SCAN_LIMIT, Box, is_box
from .calls import Call, parse_call

__all__ = ["Action", "find_actions"]

_KNOWN_ACTIONS = frozenset(
    (
        "click",
        "left_click",
        "right_click",
        "middle_click",
        "double_click",
        "left_double_click",
        "hover",
        "drag",
        "left_drag",
        "key",
        "hotkey",
        "press",
        "type",
        "input_text",
        "scroll",
        "swipe",
        "long_press",
        "tap",
        "wait",
        "done",
        "fail",
        "finished",
        "screenshot",
        "open_app",
        "open",
        "navigate_back",
        "navigate_home",
        "keyboard_enter",
        "answer",
        "select",
        "status",
        "goback",
        "bing",
    )
)
_POINT_KEYS = ("start_box", "point", "start_point", "coordinate", "position", "element", "start")
_BOX_KEYS = ("box_2d", "bbox_2d", "bbox", "box", "start_box", "element")
_CALL_RE = re.compile(r"(?<![\w.])([A-Za-z_][A-Za-z0-9_]*)\(")
_WEB_ACTION_RE = re.compile(
    r"Action:\s*(Click|Type|Scroll|Wait|GoBack|Bing|ANSWER|Key)\b([^\n]*)", re.IGNORECASE
)


@dataclass(frozen=True)
class Action:
    """One GUI-agent action; ``point`` and ``box`` are on the 0-1000 grid."""

    name: str
    point: tuple[float, float] | None
    box: Box | None
    args: dict[str, str] = field(default_factory=dict)
    raw: str = ""

    @property
    def element(self) -> str:
        """The element the action is on, as the answer names it (``element_info``), or ''."""
        return self.args.get("element_info", "").strip().strip("'\"").strip()

    @property
    def label(self) -> str:
        """The action's name and its element: ``CLICK "Dinners"``."""
        return f'{self.name} "{self.element}"' if self.element else self.name

    @property
    def target(self) -> tuple[float, float] | None:
        """Where the action lands: its point, else the centre of its box."""
        if self.point is not None:
            return self.point
        return self.box.center if self.box is not None else None


def _numbers_in(value: Any) -> list[float]:
    """The numbers written in an action's argument (a parser, unlike a legend's formatter)."""
    return [float(v) for v in NUMBERS_RE.findall(str(value))]


def _geometry(
    values: Mapping[str, Any], label: str, index: int
) -> tuple[tuple[float, float] | None, Box | None]:
    point: tuple[float, float] | None = None
    box: Box | None = None
    for key in _POINT_KEYS:
        if key in values:
            nums = _numbers_in(values[key])
            if len(nums) == 2:
                point = (nums[0], nums[1])
                break
    for key in _BOX_KEYS:
        if key in values:
            nums = _numbers_in(values[key])
            if len(nums) == 4 and is_box(nums):
                box = Box(nums[0], nums[1], nums[2], nums[3], label, index)
                break
    return point, box


def _as_str(value: Any) -> str:
    if isinstance(value, str):
        return value
    return json.dumps(value, ensure_ascii=False)


def _json_objects(text: str) -> Iterable[tuple[int, int, dict[str, Any]]]:
    decoder = json.JSONDecoder()
    i = text.find("{")
    while i != -1:
        obj: Any = None
        end = i
        try:
            obj, end = decoder.raw_decode(text, i)
        except ValueError:
            close = text.find("}", i)
            if close != -1 and close - i < SCAN_LIMIT:
                try:
                    obj = ast.literal_eval(text[i : close + 1])  # Python-style dicts, 'quotes'
                    end = close + 1
                except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):
                    obj = None  # TypeError: a set of lists, such as LaTeX's {[0,1]}
        if isinstance(obj, dict):
            yield i, end, obj
            i = text.find("{", end)
        else:
            i = text.find("{", i + 1)


def _json_action(text: str, start: int, end: int, obj: dict[str, Any], index: int) -> Action | None:
    name = obj.get("action_type") or obj.get("action")
    values = obj
    if name is None and isinstance(obj.get("arguments"), dict) and "name" in obj:
        values = obj["arguments"]
        name = values.get("action") or obj["name"]
    if not isinstance(name, str) or not name:
        return None
    args = {k: _as_str(v) for k, v in values.items() if k not in ("action_type", "action")}
    label = str(values.get("element_info") or values.get("text") or name)
    point, box = _geometry(values, label, index)
    return Action(name, point, box, args, text[start:end])


def _call_action(name: str, call: Call, raw: str, index: int) -> Action | None:
    coordinate_kw = any(k in call.kwargs for k in (*_POINT_KEYS, *_BOX_KEYS, "end_box"))
    if name.lower() not in _KNOWN_ACTIONS and not coordinate_kw:
        return None
    values = dict(call.kwargs)
    for k, v in enumerate(call.positional):
        values[f"arg{k}"] = v.strip("'\"")
    nums = [float(v) for v in call.positional if NUMBERS_RE.fullmatch(v)]
    if len(nums) in (2, 4) and not coordinate_kw:
        values["point" if len(nums) == 2 else "box"] = str(nums)
    label = call.kwargs.get("element_info", "") or name
    point, box = _geometry(values, label, index)
    return Action(name, point, box, values, raw)


def _web_action(m: re.Match[str]) -> Action:
    name, rest = m.group(1).lower(), m.group(2)
    args: dict[str, str] = {}
    brackets = re.findall(r"\[([^\]]*)\]", rest)
    content = re.search(r"<content>(.*?)(?:</content>|$)", rest, re.DOTALL)
    if brackets:
        args["element"] = brackets[0].strip()
    if name == "type" and len(brackets) > 1:
        args["content"] = brackets[1]
    if name == "scroll" and len(brackets) > 1:
        args["direction"] = brackets[1].strip().lower()
    if name == "key" and brackets:
        args["keys"] = brackets[0]
    if content:
        args["content"] = content.group(1).strip()
    return Action(name, None, None, args, m.group(0).strip())


class _Taken:
    """The spans already read as actions, asked about at positions that never decrease.

    A sweep with the furthest end reached so far keeps find_actions linear: a long GUI-agent
    transcript has hundreds of actions, and testing each position against every span was most
    of its time.
    """

    def __init__(self, spans: Iterable[tuple[int, int]] = ()) -> None:
        self._spans = sorted(spans)
        self._added: list[tuple[int, int]] = []
        self._next = 0
        self._reach = 0

    def covers(self, pos: int) -> bool:
        while self._next < len(self._spans) and self._spans[self._next][0] <= pos:
            self._reach = max(self._reach, self._spans[self._next][1])
            self._next += 1
        return pos < self._reach

    def add(self, start: int, end: int) -> None:
        """A span that starts at the position last asked about."""
        self._added.append((start, end))
        self._reach = max(self._reach, end)

    def restart(self) -> _Taken:
        """All the spans, to be asked about again from the start of the text."""
        return _Taken([*self._spans, *self._added])


def find_actions(answer: str) -> list[Action]:
    """GUI-agent actions in the answer: function calls, JSON actions and web ``Action:`` lines."""
    text = answer.replace(BOX_BEGIN, "").replace(BOX_END, "")
    found: list[tuple[int, Action]] = []
    json_spans = []
    for start, end, obj in _json_objects(text):
        action = _json_action(text, start, end, obj, len(found) + 1)
        if action is not None:
            found.append((start, action))
            json_spans.append((start, end))

    taken = _Taken(json_spans)
    for m in _CALL_RE.finditer(text):
        if taken.covers(m.start()):
            continue
        call = parse_call(text, m.end())
        if call is None:
            continue
        action = _call_action(m.group(1), call, text[m.start() : call.end], len(found) + 1)
        if action is not None:
            found.append((m.start(), action))
            taken.add(m.start(), call.end)

    taken = taken.restart()
    for m in _WEB_ACTION_RE.finditer(text):
        if not taken.covers(m.start()):
            found.append((m.start(), _web_action(m)))

    found.sort(key=lambda item: item[0])
    return [action for _, action in found]
