"""Bounding boxes and GUI-agent actions in GLM-V answers: find them, draw them, export them.

GLM-V writes boxes as ``[x1,y1,x2,y2]`` on a 0-1000 grid of the image width and height, usually
between ``<|begin_of_box|>`` and ``<|end_of_box|>``; GUI-agent answers carry actions such as
``left_click(start_box='[x,y]')``, ``CLICK(point=(x, y), box=[[…]])`` or
``{"action_type": "click", "box_2d": [[xmin,ymin,xmax,ymax]]}`` (GLM's ``box_2d`` is x-first).

What counts as a box (each rule pinned by a test)
    * exactly four numbers in one bracket pair, separated by commas or spaces; no sign, no leading
      zeros (so ``[1,000,000,5]`` is not a box), each 0-1000, with x1 < x2 and y1 < y2;
    * several boxes may share one list: ``[[…],[…]]``;
    * inside box markers any bracket style counts (``[]`` ``()`` ``<>`` ``{}``), and bare numbers
      that make up the whole marked text; outside markers only ``[]``, not inside code (fences or
      backticks) unless keyed as a box (``"bbox_2d": […]``), and not when all four values are below
      10 (``[1, 2, 3, 4]`` is a list, not a box in the image's top-left corner);
    * two numbers are a point, not a box; five or more numbers are not a box.

Standard library only, except the drawing function, which imports PIL when called.
"""

from __future__ import annotations

import ast
import bisect
import json
import re
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from PIL import Image

__all__ = [
    "BOX_COLORS",
    "Action",
    "Box",
    "boxes_table",
    "boxes_to_json",
    "choose_image_index",
    "draw_boxes",
    "find_actions",
    "find_boxes",
    "highlight_boxes_markdown",
    "with_box_markers",
]

BOX_BEGIN = "<|begin_of_box|>"
BOX_END = "<|end_of_box|>"
GRID = 1000.0

# Distinct, saturated colours that read on photos and screenshots alike (legend uses the same).
BOX_COLORS: tuple[str, ...] = (
    "#e6194b",
    "#3cb44b",
    "#4363d8",
    "#f58231",
    "#911eb4",
    "#00a3a3",
    "#f032e6",
    "#9a6324",
    "#808000",
    "#000075",
)

_NUM = r"(?:0|[1-9]\d{0,3})(?:\.\d+)?"
_SEP = r"(?:\s*,\s*|\s+)"
_FOUR = rf"\s*({_NUM}){_SEP}({_NUM}){_SEP}({_NUM}){_SEP}({_NUM})\s*"
_BOX_RE = re.compile(rf"([\[(<{{]){_FOUR}([\])>}}])")
_PAIRS = {"[": "]", "(": ")", "<": ">", "{": "}"}
_BARE_RE = re.compile(rf"^{_FOUR}$")
_NUMBERS_RE = re.compile(r"-?\d+(?:\.\d+)?")
_MARKED_RE = re.compile(
    re.escape(BOX_BEGIN) + r"(.*?)(?:" + re.escape(BOX_END) + r"|\Z)", re.DOTALL
)
_CODE_RE = re.compile(r"```.*?(?:```|\Z)|`[^`\n]+`", re.DOTALL)
_BOX_KEY_RE = re.compile(r"""(?:bbox_2d|box_2d|bbox|box)["']?\s*[:=]\s*[\[(]?\s*$""", re.IGNORECASE)
_IMAGE_REF_RE = re.compile(
    r"(?:\b(?:image|picture|photo|img|page|frame|slide|screenshot)\s*(?:no\.?\s*|#\s*)?(\d{1,3})\b)"
    r"|(?:第\s*(\d{1,3})\s*[张页幅个帧])"
    r"|(?:图\s*(\d{1,3}))"
    r"|(?:\b(first|second|third|fourth|fifth|sixth|seventh|eighth|ninth|tenth)\s+"
    r"(?:image|picture|photo|page|frame|slide|screenshot)\b)",
    re.IGNORECASE,
)
_ORDINALS = {
    w: i
    for i, w in enumerate(
        [
            "first",
            "second",
            "third",
            "fourth",
            "fifth",
            "sixth",
            "seventh",
            "eighth",
            "ninth",
            "tenth",
        ],
        start=1,
    )
}
_LABEL_KEYS = ("label", "element_info", "element", "name", "description", "action_type", "action")
_TRAILING_CONNECTORS = re.compile(
    r"(?:\s*(?:[:\uff1a=\-\u2014\u2013(\uff08]|\bis\s+located\s+at|\blocated\s+at|\bis\s+at|\bis\s+in|\bat|\bin"
    r"|\bis|\bare|\bbounding\s+box(?:es)?|位于|在|的坐标|坐标|的位置|位置))+\s*$",
    re.IGNORECASE,
)
_CLAUSE_SPLIT = re.compile(r"[.;!?\u3002\uff1b\uff01\uff1f,\uff0c:\uff1a()\[\]{}=\n]")
_MAX_LABEL_WORDS = 8
_STOPWORDS = frozenset(("and", "or", "the", "a", "an", "at", "in", "is", "are", "of", "to", "with"))
_SCAN_LIMIT = 2000  # how far label lookups may look around a box: keeps find_boxes linear


@dataclass(frozen=True)
class Box:
    """A box on the 0-1000 grid; ``image_index`` is 0-based (``"image 2"`` gives 1)."""

    x1: float
    y1: float
    x2: float
    y2: float
    label: str = ""
    index: int = 0
    image_index: int | None = None

    def to_pixels(self, width: int, height: int) -> tuple[int, int, int, int]:
        """Pixel edges ``(left, top, right, bottom)`` for an image of this size, clamped to it."""

        def scale(v: float, size: int) -> int:
            return min(max(round(v / GRID * size), 0), size)

        left, right = scale(self.x1, width), scale(self.x2, width)
        top, bottom = scale(self.y1, height), scale(self.y2, height)
        return left, top, max(left, right), max(top, bottom)

    @property
    def center(self) -> tuple[float, float]:
        return ((self.x1 + self.x2) / 2, (self.y1 + self.y2) / 2)


@dataclass(frozen=True)
class Action:
    """One GUI-agent action; ``point`` and ``box`` are on the 0-1000 grid."""

    name: str
    point: tuple[float, float] | None
    box: Box | None
    args: dict[str, str] = field(default_factory=dict)
    raw: str = ""

    @property
    def target(self) -> tuple[float, float] | None:
        """Where the action lands: its point, else the centre of its box."""
        if self.point is not None:
            return self.point
        return self.box.center if self.box is not None else None


# -- boxes -------------------------------------------------------------------------------------


def _valid(values: Sequence[float]) -> bool:
    x1, y1, x2, y2 = values
    return all(0 <= v <= GRID for v in values) and x1 < x2 and y1 < y2


def _regions(pattern: re.Pattern[str], text: str) -> tuple[list[int], list[int]]:
    starts, ends = [], []
    for m in pattern.finditer(text):
        starts.append(m.start())
        ends.append(m.end())
    return starts, ends


def _inside(pos: int, regions: tuple[list[int], list[int]]) -> bool:
    starts, ends = regions
    k = bisect.bisect_right(starts, pos) - 1
    return k >= 0 and pos < ends[k]


def _enclosing_object(text: str, start: int, end: int) -> str | None:
    """The ``{…}`` or ``(…)`` around text[start:end], if any, within _SCAN_LIMIT characters."""
    depth = 0
    lo = max(0, start - _SCAN_LIMIT)
    opener_at = -1
    for i in range(start - 1, lo - 1, -1):
        c = text[i]
        if c in ")]}":
            depth += 1
        elif c in "([{":
            if depth == 0:
                if c == "[":
                    continue  # an outer list of boxes: keep looking for the object around it
                opener_at = i
                break
            depth -= 1
        elif c == "\n" and depth == 0 and text[i - 1 : i] == "\n":
            break  # a blank line ends any object worth reading
    if opener_at < 0:
        return None
    closer = _PAIRS[text[opener_at]]
    depth = 0
    hi = min(len(text), end + _SCAN_LIMIT)
    for j in range(end, hi):
        c = text[j]
        if c in "([{":
            depth += 1
        elif c in ")]}":
            if depth == 0:
                if c == closer:
                    return text[opener_at : j + 1]
                if c == "]":
                    continue  # the end of an outer list of boxes
                return None
            depth -= 1
    return text[opener_at:hi]


def _label_from_object(obj: str) -> str:
    for key in _LABEL_KEYS:
        m = re.search(rf"""["']?\b{key}["']?\s*[:=]\s*(["'])(.*?)(?<!\\)\1""", obj)
        if m and m.group(2).strip():
            return m.group(2).strip()
    return ""


def _label_from_prose(context: str) -> str:
    context = context.replace(BOX_BEGIN, " ").replace(BOX_END, " ")
    context = context.rsplit("\n", 1)[-1]
    context = _TRAILING_CONNECTORS.sub("", context.rstrip())
    clause = _CLAUSE_SPLIT.split(context)[-1]
    clause = re.sub(r"[*_#`>\"'\u201c\u201d\u2018\u2019]", "", clause).strip()
    clause = re.sub(r"^(?:[-+•]\s+|\d+[.)]\s+)", "", clause)
    clause = re.sub(r"^(?:(?:the|a|an|and|or)\s+)+", "", clause, flags=re.IGNORECASE).strip(
        " -\u2013\u2014"
    )
    # "the bounding box of the dog" names the dog.
    clause = re.sub(r"^(?:bounding\s+)?box(?:es)?\s+(?:of|for|around)\s+(?:(?:the|a|an)\s+)?",
                    "", clause, flags=re.IGNORECASE)
    if not clause or clause.lower() in _STOPWORDS or len(clause.split()) > _MAX_LABEL_WORDS:
        return ""
    return clause


def _image_refs(text: str) -> tuple[list[int], list[int]]:
    positions, indices = [], []
    for m in _IMAGE_REF_RE.finditer(text):
        digits = m.group(1) or m.group(2) or m.group(3)
        number = int(digits) if digits else _ORDINALS[m.group(4).lower()]
        if number >= 1:
            positions.append(m.start())
            indices.append(number - 1)
    return positions, indices


def with_box_markers(answer: str, boxed_spans: Iterable[tuple[int, int]]) -> str:
    """Put the box markers back into a parsed answer (``ParsedReply.boxed_spans``)."""
    out, pos = [], 0
    for start, end in sorted(boxed_spans):
        if start < pos:
            continue
        out += [answer[pos:start], BOX_BEGIN, answer[start:end], BOX_END]
        pos = end
    out.append(answer[pos:])
    return "".join(out)


def find_boxes(answer: str, boxed_spans: Iterable[tuple[int, int]] = ()) -> list[Box]:
    """Every box in the answer, in order, with a label and image index where the text gives one.

    ``answer`` may still hold the box markers, or be a parsed answer with its ``boxed_spans``.
    """
    if boxed_spans:
        answer = with_box_markers(answer, boxed_spans)
    marked = _regions(_MARKED_RE, answer)
    code = _regions(_CODE_RE, answer)
    raw: list[tuple[int, int, tuple[float, ...]]] = []
    for m in _BOX_RE.finditer(answer):
        if _PAIRS[m.group(1)] != m.group(6):
            continue
        values = tuple(float(m.group(k)) for k in range(2, 6))
        if not _valid(values):
            continue
        if not _inside(m.start(), marked):
            if m.group(1) != "[" or max(values) < 10:
                continue
            before = answer[max(0, m.start() - 40) : m.start()]
            if _inside(m.start(), code) and not _BOX_KEY_RE.search(before):
                continue
        raw.append((m.start(), m.end(), values))
    # Marked text that is only four numbers: <|begin_of_box|>10, 20, 30, 40<|end_of_box|>
    seen = {start for start, _, _ in raw}
    for m in _MARKED_RE.finditer(answer):
        bare = _BARE_RE.match(m.group(1))
        if bare and m.start(1) not in seen:
            values = tuple(float(v) for v in bare.groups())
            if _valid(values):
                raw.append((m.start(1), m.end(1), values))
    raw.sort()

    refs = _image_refs(answer)
    boxes: list[Box] = []
    prev_end = 0
    label = ""
    for start, end, values in raw:
        between = answer[prev_end:start]
        same_list = bool(boxes) and re.fullmatch(r"[\s,\])>}]*[\[(<{]?\s*", between) is not None
        if not same_list:
            run_start = start
            while run_start > prev_end and answer[run_start - 1] in " [(":
                run_start -= 1
            obj = _enclosing_object(answer, run_start, end)
            if obj is not None:
                label = _label_from_object(obj)
            else:
                label = _label_from_prose(answer[max(prev_end, start - _SCAN_LIMIT) : run_start])
        k = bisect.bisect_left(refs[0], start) - 1
        image_index = refs[1][k] if k >= 0 else None
        x1, y1, x2, y2 = values
        boxes.append(Box(x1, y1, x2, y2, label, len(boxes) + 1, image_index))
        prev_end = end
    return boxes


def choose_image_index(boxes: Iterable[Box], n_images: int) -> int:
    """The image the boxes belong to: the one most of them name, else the last image."""
    last = max(n_images - 1, 0)
    named = [b.image_index for b in boxes if b.image_index is not None and b.image_index < n_images]
    if not named:
        return last
    counts = Counter(named)
    best = max(counts.values())
    return next(i for i in named if counts[i] == best)  # ties: the first one mentioned


# -- actions -----------------------------------------------------------------------------------

_KNOWN_ACTIONS = frozenset(
    [
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
    ]
)
_POINT_KEYS = ("start_box", "point", "start_point", "coordinate", "position", "element", "start")
_BOX_KEYS = ("box_2d", "bbox_2d", "bbox", "box", "start_box", "element")
_CALL_RE = re.compile(r"(?<![\w.])([A-Za-z_][A-Za-z0-9_]*)\(")
_WEB_ACTION_RE = re.compile(
    r"Action:\s*(Click|Type|Scroll|Wait|GoBack|Bing|ANSWER|Key)\b([^\n]*)", re.IGNORECASE
)


def _numbers(value: Any) -> list[float]:
    return [float(v) for v in _NUMBERS_RE.findall(str(value))]


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


def _parse_call(text: str, i: int) -> tuple[dict[str, str], list[str], int] | None:
    """Parse ``k=v, …)`` from text[i]; None unless it is a well-formed call (or cut at the end)."""
    kwargs: dict[str, str] = {}
    positional: list[str] = []
    n = len(text)
    while True:
        while i < n and text[i] in " \t\n":
            i += 1
        if i >= n:
            return kwargs, positional, n
        if text[i] == ")":
            return kwargs, positional, i + 1
        m = re.compile(r"([A-Za-z_]\w*)\s*=\s*").match(text, i)
        if m:
            value, i = _read_value(text, m.end())
            kwargs[m.group(1)] = value
        else:
            value, i = _read_value(text, i)
            if not re.fullmatch(r"-?\d+(?:\.\d+)?|'.*'|\".*\"", value):
                return None
            positional.append(value)
        while i < n and text[i] in " \t\n":
            i += 1
        if i < n and text[i] == ",":
            i += 1
        elif i < n and text[i] != ")":
            return None


def _geometry(
    values: dict[str, Any], label: str, index: int
) -> tuple[tuple[float, float] | None, Box | None]:
    point: tuple[float, float] | None = None
    box: Box | None = None
    for key in _POINT_KEYS:
        if key in values:
            nums = _numbers(values[key])
            if len(nums) == 2:
                point = (nums[0], nums[1])
                break
    for key in _BOX_KEYS:
        if key in values:
            nums = _numbers(values[key])
            if len(nums) == 4 and _valid(nums):
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
            if close != -1 and close - i < _SCAN_LIMIT:
                try:
                    obj = ast.literal_eval(text[i : close + 1])  # Python-style dicts, 'quotes'
                    end = close + 1
                except (ValueError, SyntaxError, MemoryError, RecursionError):
                    obj = None
        if isinstance(obj, dict):
            yield i, end, obj
            i = text.find("{", end)
        else:
            i = text.find("{", i + 1)


def find_actions(answer: str) -> list[Action]:
    """GUI-agent actions in the answer: function calls, JSON actions and web ``Action:`` lines."""
    text = answer.replace(BOX_BEGIN, "").replace(BOX_END, "")
    found: list[tuple[int, Action]] = []
    taken: list[tuple[int, int]] = []

    for start, end, obj in _json_objects(text):
        name = obj.get("action_type") or obj.get("action")
        values = obj
        if name is None and isinstance(obj.get("arguments"), dict) and "name" in obj:
            values = obj["arguments"]
            name = values.get("action") or obj["name"]
        if not isinstance(name, str) or not name:
            continue
        args = {k: _as_str(v) for k, v in values.items() if k not in ("action_type", "action")}
        label = str(values.get("element_info") or values.get("text") or name)
        point, box = _geometry(values, label, len(found) + 1)
        found.append((start, Action(name, point, box, args, text[start:end])))
        taken.append((start, end))

    for m in _CALL_RE.finditer(text):
        if any(a <= m.start() < b for a, b in taken):
            continue
        name = m.group(1)
        parsed = _parse_call(text, m.end())
        if parsed is None:
            continue
        kwargs, positional, end = parsed
        coordinate_kw = any(k in kwargs for k in (*_POINT_KEYS, *_BOX_KEYS, "end_box"))
        if name.lower() not in _KNOWN_ACTIONS and not coordinate_kw:
            continue
        values: dict[str, Any] = dict(kwargs)
        for k, v in enumerate(positional):
            values[f"arg{k}"] = v.strip("'\"")
        nums = [float(v) for v in positional if _NUMBERS_RE.fullmatch(v)]
        if len(nums) in (2, 4) and not coordinate_kw:
            values["point" if len(nums) == 2 else "box"] = str(nums)
        label = kwargs.get("element_info", "") or name
        point, box = _geometry(values, label, len(found) + 1)
        args = {k: str(v) for k, v in values.items()}
        found.append((m.start(), Action(name, point, box, args, text[m.start() : end])))
        taken.append((m.start(), end))

    for m in _WEB_ACTION_RE.finditer(text):
        if any(a <= m.start() < b for a, b in taken):
            continue
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
        found.append((m.start(), Action(name, None, None, args, m.group(0).strip())))

    found.sort(key=lambda item: item[0])
    return [action for _, action in found]


# -- presentation ------------------------------------------------------------------------------


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def highlight_boxes_markdown(answer: str) -> str:
    """Replace box markers with ``<mark class="glmv-box">…</mark>`` (one per line of the span)."""

    def mark(m: re.Match[str]) -> str:
        inner = m.group(1).replace(BOX_BEGIN, "").replace(BOX_END, "")
        lines = inner.split("\n")
        return "\n".join(
            f'<mark class="glmv-box">{_escape(line)}</mark>' if line.strip() else line
            for line in lines
        )

    return _MARKED_RE.sub(mark, answer).replace(BOX_END, "")


def boxes_table(boxes: Iterable[Box], width: int, height: int) -> list[dict[str, Any]]:
    """One row per box: grid coordinates and pixel coordinates for an image of this size."""
    rows = []
    for box in boxes:
        left, top, right, bottom = box.to_pixels(width, height)
        rows.append(
            {
                "index": box.index,
                "label": box.label,
                "x1": box.x1,
                "y1": box.y1,
                "x2": box.x2,
                "y2": box.y2,
                "left": left,
                "top": top,
                "right": right,
                "bottom": bottom,
                "image_index": box.image_index,
            }
        )
    return rows


def boxes_to_json(boxes: Iterable[Box], width: int, height: int, source: str = "") -> str:
    """A JSON export of the boxes with the image size and the coordinate convention."""
    payload = {
        "source": source,
        "image": {"width": width, "height": height},
        "grid": "x1,y1,x2,y2 normalised to 0-1000 of the image width and height",
        "boxes": boxes_table(boxes, width, height),
    }
    return json.dumps(payload, ensure_ascii=False, indent=2)


def _font(size: int) -> Any:
    from PIL import ImageFont

    try:
        return ImageFont.load_default(size=size)
    except (TypeError, OSError, ImportError):  # no FreeType: the small bitmap font
        return ImageFont.load_default()


def draw_boxes(
    image: Image.Image, boxes: Sequence[Box], actions: Sequence[Action] = ()
) -> Image.Image:
    """A copy of the image with each box outlined and tagged, and each action's target marked."""
    from PIL import ImageDraw

    canvas = image.convert("RGB") if image.mode != "RGB" else image.copy()
    width, height = canvas.size
    draw = ImageDraw.Draw(canvas)
    line = max(2, round(min(width, height) / 250))
    font = _font(max(10, round(min(width, height) / 40)))

    def tag(x: int, y: int, text: str, color: str) -> None:
        try:
            bbox = draw.textbbox((0, 0), text, font=font)
        except UnicodeError:
            text = text.encode("ascii", "replace").decode()
            bbox = draw.textbbox((0, 0), text, font=font)
        tw, th = bbox[2] - bbox[0] + 2 * line, bbox[3] - bbox[1] + 2 * line
        ty = y - th if y - th >= 0 else y
        tx = min(max(x, 0), max(width - tw, 0))
        draw.rectangle((tx, ty, tx + tw, ty + th), fill=color)
        draw.text((tx + line - bbox[0], ty + line - bbox[1]), text, fill="white", font=font)

    def outline(box: Box, color: str, text: str) -> None:
        left, top, right, bottom = box.to_pixels(width, height)
        right, bottom = max(min(right, width - 1), left), max(min(bottom, height - 1), top)
        draw.rectangle((left, top, right, bottom), outline=color, width=line)
        tag(left, top, text, color)

    for box in boxes:
        color = BOX_COLORS[(box.index - 1) % len(BOX_COLORS)]
        outline(box, color, f"{box.index} {box.label}".strip() if box.label else str(box.index))
    for k, action in enumerate(actions):
        color = BOX_COLORS[(len(boxes) + k) % len(BOX_COLORS)]
        if action.box is not None:
            outline(action.box, color, action.name)
        if action.point is not None:
            px = min(max(round(action.point[0] / GRID * width), 0), width - 1)
            py = min(max(round(action.point[1] / GRID * height), 0), height - 1)
            r = max(4, round(min(width, height) / 60))
            draw.ellipse((px - r, py - r, px + r, py + r), outline=color, width=line)
            draw.line((px - 2 * r, py, px + 2 * r, py), fill=color, width=line)
            draw.line((px, py - 2 * r, px, py + 2 * r), fill=color, width=line)
            if action.box is None:
                tag(px + r, py - r, action.name, color)
    return canvas
