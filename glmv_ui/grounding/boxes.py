"""Boxes in a GLM-V answer: find them, label them, tell which image they belong to.

GLM-V writes boxes as ``[x1,y1,x2,y2]`` on a 0-1000 grid of the image width and height, usually
between ``<|begin_of_box|>`` and ``<|end_of_box|>``.

What counts as a box (each rule pinned by a test)
    * exactly four numbers in one bracket pair, separated by commas or spaces; no sign, no leading
      zeros (so ``[1,000,000,5]`` is not a box), each 0-1000, with x1 < x2 and y1 < y2;
    * several boxes may share one list: ``[[…],[…]]``;
    * inside box markers any bracket style counts (``[]`` ``()`` ``<>`` ``{}``), and bare numbers
      that make up the whole marked text; outside markers only ``[]``, not inside code (fences or
      backticks) unless keyed as a box (``"bbox_2d": […]``), and not when all four values are below
      10 (``[1, 2, 3, 4]`` is a list, not a box in the image's top-left corner);
    * two numbers are a point, not a box; five or more numbers are not a box.

This module reads text only: it must not draw, format for display or know about GUI actions.
"""

from __future__ import annotations

import bisect
import re
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from ..stream import BOX_BEGIN, BOX_END

__all__ = [
    "Box",
    "choose_image_index",
    "find_boxes",
    "with_box_markers",
]

GRID = 1000.0
# How far label and object lookups may look around a box or a brace: keeps the parsers linear.
SCAN_LIMIT = 2000

MARKED_RE = re.compile(re.escape(BOX_BEGIN) + r"(.*?)(?:" + re.escape(BOX_END) + r"|\Z)", re.DOTALL)
NUMBERS_RE = re.compile(r"-?\d+(?:\.\d+)?")

_NUM = r"(?:0|[1-9]\d{0,3})(?:\.\d+)?"
_SEP = r"(?:\s*,\s*|\s+)"
_FOUR = rf"\s*({_NUM}){_SEP}({_NUM}){_SEP}({_NUM}){_SEP}({_NUM})\s*"
_BOX_RE = re.compile(rf"([\[(<{{]){_FOUR}([\])>}}])")
_PAIRS = {"[": "]", "(": ")", "<": ">", "{": "}"}
_BARE_RE = re.compile(rf"^{_FOUR}$")
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
        (
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
        ),
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


def is_box(values: Sequence[float]) -> bool:
    """Whether four grid values make a box: inside the grid, with x1 < x2 and y1 < y2."""
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
    """The ``{…}`` or ``(…)`` around text[start:end], if any, within SCAN_LIMIT characters."""
    depth = 0
    lo = max(0, start - SCAN_LIMIT)
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
    hi = min(len(text), end + SCAN_LIMIT)
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
    clause = re.sub(
        r"^(?:bounding\s+)?box(?:es)?\s+(?:of|for|around)\s+(?:(?:the|a|an)\s+)?",
        "",
        clause,
        flags=re.IGNORECASE,
    )
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


def _box_spans(answer: str) -> list[tuple[int, int, tuple[float, float, float, float]]]:
    """Where each box stands in the answer and its four values, in order."""
    marked = _regions(MARKED_RE, answer)
    code = _regions(_CODE_RE, answer)
    raw: list[tuple[int, int, tuple[float, float, float, float]]] = []
    for m in _BOX_RE.finditer(answer):
        if _PAIRS[m.group(1)] != m.group(6):
            continue
        values = (float(m.group(2)), float(m.group(3)), float(m.group(4)), float(m.group(5)))
        if not is_box(values):
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
    for m in MARKED_RE.finditer(answer):
        bare = _BARE_RE.match(m.group(1))
        if bare and m.start(1) not in seen:
            x1, y1, x2, y2 = (float(v) for v in bare.groups())
            if is_box((x1, y1, x2, y2)):
                raw.append((m.start(1), m.end(1), (x1, y1, x2, y2)))
    raw.sort()
    return raw


def find_boxes(answer: str, boxed_spans: Iterable[tuple[int, int]] = ()) -> list[Box]:
    """Every box in the answer, in order, with a label and image index where the text gives one.

    ``answer`` may still hold the box markers, or be a parsed answer with its ``boxed_spans``.
    """
    if boxed_spans:
        answer = with_box_markers(answer, boxed_spans)
    refs = _image_refs(answer)
    boxes: list[Box] = []
    prev_end = 0
    label = ""
    for start, end, (x1, y1, x2, y2) in _box_spans(answer):
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
                label = _label_from_prose(answer[max(prev_end, start - SCAN_LIMIT) : run_start])
        k = bisect.bisect_left(refs[0], start) - 1
        image_index = refs[1][k] if k >= 0 else None
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
