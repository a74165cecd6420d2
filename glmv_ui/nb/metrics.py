"""Grounding metrics against ground truth: IoU per box, which objects were found, which missed.

Boxes are on GLM-V's 0-1000 grid. :func:`score_boxes` matches predicted boxes to the named
ground-truth boxes one to one, best IoU first (greedy), and counts a match as a hit when its IoU
reaches ``threshold``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

__all__ = ["BoxMatch", "GroundingScore", "iou", "score_boxes"]

BoxT = tuple[float, float, float, float]


def _coords(box: Any) -> BoxT:
    if hasattr(box, "x1"):
        return (float(box.x1), float(box.y1), float(box.x2), float(box.y2))
    x1, y1, x2, y2 = (float(v) for v in box)
    return (x1, y1, x2, y2)


def iou(a: Any, b: Any) -> float:
    """Intersection over union of two boxes (``Box`` or ``(x1, y1, x2, y2)``)."""
    ax1, ay1, ax2, ay2 = _coords(a)
    bx1, by1, bx2, by2 = _coords(b)
    iw = max(0.0, min(ax2, bx2) - max(ax1, bx1))
    ih = max(0.0, min(ay2, by2) - max(ay1, by1))
    inter = iw * ih
    union = (
        max(0.0, ax2 - ax1) * max(0.0, ay2 - ay1)
        + max(0.0, bx2 - bx1) * max(0.0, by2 - by1)
        - inter
    )
    return inter / union if union > 0 else 0.0


@dataclass(frozen=True)
class BoxMatch:
    """One ground-truth object and the predicted box matched to it (if any)."""

    label: str
    truth: BoxT
    predicted: BoxT | None
    predicted_index: int | None  # 0-based among the predicted boxes
    iou: float
    hit: bool


@dataclass(frozen=True)
class GroundingScore:
    matches: tuple[BoxMatch, ...]
    extra: tuple[int, ...]  # predicted boxes matched to no object
    threshold: float

    @property
    def found(self) -> list[str]:
        return [m.label for m in self.matches if m.hit]

    @property
    def missed(self) -> list[str]:
        return [m.label for m in self.matches if not m.hit]

    @property
    def mean_iou(self) -> float:
        return sum(m.iou for m in self.matches) / len(self.matches) if self.matches else 0.0

    def records(self) -> list[dict[str, Any]]:
        return [
            {
                "object": m.label,
                "truth": list(m.truth),
                "predicted": list(m.predicted) if m.predicted else None,
                "box": None if m.predicted_index is None else m.predicted_index + 1,
                "iou": round(m.iou, 3),
                "hit": m.hit,
            }
            for m in self.matches
        ]

    def summary(self) -> str:
        return (
            f"{len(self.found)} of {len(self.matches)} objects found at IoU >= "
            f"{self.threshold:g} (mean IoU {self.mean_iou:.2f}); missed: "
            f"{', '.join(self.missed) or 'none'}; {len(self.extra)} extra box(es)"
        )

    def _repr_html_(self) -> str:
        from html import escape

        rows = "".join(
            f"<tr><td>{escape(m.label)}</td><td>{[round(v) for v in m.truth]}</td>"
            f"<td>{'' if m.predicted is None else [round(v) for v in m.predicted]}</td>"
            f"<td>{m.iou:.2f}</td><td>{'found' if m.hit else 'missed'}</td></tr>"
            for m in self.matches
        )
        return (
            f"<table><tr><th>object</th><th>truth</th><th>predicted</th><th>IoU</th>"
            f"<th></th></tr>{rows}</table><p>{escape(self.summary())}</p>"
        )


def score_boxes(
    predicted: Iterable[Any], truth: Mapping[str, Sequence[float]], *, threshold: float = 0.5
) -> GroundingScore:
    """Match ``predicted`` boxes to the ``truth`` objects (label -> box) and score them."""
    boxes = [_coords(b) for b in predicted]
    objects = [(label, _coords(box)) for label, box in truth.items()]
    pairs = sorted(
        ((iou(p, t), i, j) for i, p in enumerate(boxes) for j, (_, t) in enumerate(objects)),
        reverse=True,
    )
    used_p: set[int] = set()
    chosen: dict[int, tuple[int, float]] = {}
    for value, i, j in pairs:
        if value <= 0 or i in used_p or j in chosen:
            continue
        used_p.add(i)
        chosen[j] = (i, value)
    matches = []
    for j, (label, t) in enumerate(objects):
        if j in chosen:
            i, value = chosen[j]
            matches.append(BoxMatch(label, t, boxes[i], i, value, value >= threshold))
        else:
            matches.append(BoxMatch(label, t, None, None, 0.0, False))
    extra = tuple(i for i in range(len(boxes)) if i not in used_p)
    return GroundingScore(tuple(matches), extra, threshold)
