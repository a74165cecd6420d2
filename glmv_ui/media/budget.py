"""Visual-token estimates and the context-budget check, in pure Python.

The estimate follows the GLM-4.1V / GLM-4.5V processors: an image or a pair of video frames is
resized to multiples of 28 px (``smart_resize``), each 28x28 block becomes one token after the
2x2 patch merge, and begin/end markers (plus a timestamp per video frame pair) wrap them.
Standard library only, so the UI can show a budget without importing transformers.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from ..config import MediaLimits
from ..reasons import Joined, Reason, reason, render
from .parts import MediaPart

__all__ = [
    "DEFAULT_LIMITS",
    "IMAGE_MAX_PIXELS",
    "IMAGE_MIN_PIXELS",
    "TOKEN_PIXELS",
    "VIDEO_MAX_PIXELS",
    "BudgetReport",
    "check_budget",
    "estimate_visual_tokens",
    "image_tokens",
    "over_budget",
    "part_tokens",
    "smart_resize",
    "video_tokens",
]

FACTOR = 28  # patch 14 x merge 2: the side of the square that becomes one token
TOKEN_PIXELS = FACTOR * FACTOR
DEFAULT_LIMITS = MediaLimits()  # frozen, so one shared default is safe
TEMPORAL = 2  # frames are encoded in pairs
# The processors' defaults (Glm4vImageProcessor.size / Glm4vVideoProcessor.size): ``longest_edge``
# bounds frames * height * width, and an image counts as two identical frames.
IMAGE_MIN_PIXELS = 112 * 112
IMAGE_MAX_PIXELS = TOKEN_PIXELS * 15000  # -> at most 7500 tokens per image
VIDEO_MAX_PIXELS = TOKEN_PIXELS * 2 * 30000  # -> at most 30000 tokens per video
IMAGE_MARKERS = 2  # <|begin_of_image|> ... <|end_of_image|>
VIDEO_MARKERS = 2  # <|begin_of_video|> ... <|end_of_video|>
PAIR_OVERHEAD = 4  # per frame pair: image begin/end markers and an integer timestamp (1-2 tokens)


def smart_resize(
    num_frames: int,
    height: int,
    width: int,
    *,
    factor: int = FACTOR,
    min_pixels: int = IMAGE_MIN_PIXELS,
    max_pixels: int = IMAGE_MAX_PIXELS,
) -> tuple[int, int]:
    """(height, width) the processor resizes to: multiples of ``factor``, total pixels bounded.

    Mirrors the processors' rule, with ``num_frames`` raised to 2 where it is smaller (a single
    image is treated as two frames there too).
    """
    num_frames = max(num_frames, TEMPORAL)
    height, width = max(int(height), 1), max(int(width), 1)
    if height < factor or width < factor:
        scale = max(factor / height, factor / width)
        height, width = int(height * scale), int(width * scale)
    h_bar = max(factor, round(height / factor) * factor)
    w_bar = max(factor, round(width / factor) * factor)
    t_bar = round(num_frames / TEMPORAL) * TEMPORAL
    if t_bar * h_bar * w_bar > max_pixels:
        beta = math.sqrt(num_frames * height * width / max_pixels)
        h_bar = max(factor, math.floor(height / beta / factor) * factor)
        w_bar = max(factor, math.floor(width / beta / factor) * factor)
    elif t_bar * h_bar * w_bar < min_pixels:
        beta = math.sqrt(min_pixels / (num_frames * height * width))
        h_bar = math.ceil(height * beta / factor) * factor
        w_bar = math.ceil(width * beta / factor) * factor
    return h_bar, w_bar


def image_tokens(width: int, height: int) -> int:
    """Visual tokens of one image of this size, markers included."""
    h, w = smart_resize(TEMPORAL, height, width)
    return h * w // TOKEN_PIXELS + IMAGE_MARKERS


def video_tokens(num_frames: int, width: int, height: int) -> int:
    """Visual tokens of a video of ``num_frames`` frames of this size, markers included."""
    if num_frames <= 0:
        return 0
    h, w = smart_resize(num_frames, height, width, max_pixels=VIDEO_MAX_PIXELS)
    pairs = (num_frames + 1) // TEMPORAL
    return pairs * (h * w // TOKEN_PIXELS + PAIR_OVERHEAD) + VIDEO_MARKERS


def part_tokens(part: MediaPart) -> int:
    """Visual tokens of one part."""
    width, height = part.size
    if part.kind == "video":
        return video_tokens(len(part.frames), width, height)
    return image_tokens(width, height)


def estimate_visual_tokens(parts: Sequence[MediaPart]) -> int:
    """Visual tokens all ``parts`` will take in the prompt."""
    return sum(part_tokens(p) for p in parts)


@dataclass(frozen=True)
class BudgetReport:
    """Whether the visual tokens fit; ``message``/``suggestion`` are ready to show (English),
    and ``refusal`` is the whole refusal as a :class:`~glmv_ui.reasons.Reason` when they do not
    fit."""

    visual_tokens: int
    budget: int
    fits: bool
    message: str
    suggestion: str
    refusal: Reason | None = None


def over_budget(
    new: int, used: int, limits: MediaLimits, *, pages: bool, images: bool, video: bool
) -> Reason | None:
    """The refusal of ``new`` visual tokens on top of ``used`` ones, or None when they fit."""
    budget = max(0, limits.context_tokens - limits.reserve_tokens)
    total = used + new
    if total <= budget:
        return None
    hints = Joined(
        tuple(
            hint
            for hint, wanted in (
                (reason("budget.pages"), pages),
                (reason("budget.images"), images),
                (reason("budget.video"), video),
                (reason("budget.new"), bool(used)),
            )
            if wanted
        )
        or (reason("budget.less"),)
    )
    numbers = {"total": total, "budget": budget, "context": limits.context_tokens}
    return (
        reason("budget.over_earlier", used=used, hints=hints, **numbers)
        if used
        else reason("budget.over", hints=hints, **numbers)
    )


def check_budget(
    parts: Sequence[MediaPart],
    limits: MediaLimits = DEFAULT_LIMITS,
    existing: Sequence[MediaPart] = (),
) -> BudgetReport:
    """Compare the visual tokens of ``existing`` plus ``parts`` with the context budget."""
    budget = max(0, limits.context_tokens - limits.reserve_tokens)
    used = estimate_visual_tokens(existing)
    new = estimate_visual_tokens(parts)
    total = used + new
    fits = total <= budget
    if fits:
        message = f"about {total:,} visual tokens of {budget:,} available"
        return BudgetReport(total, budget, True, message, "")
    kinds = {p.kind for p in parts}
    refusal = over_budget(
        new,
        used,
        limits,
        pages=any(p.page is not None or p.slide is not None for p in parts),
        images="image" in kinds,
        video="video" in kinds,
    )
    assert refusal is not None
    hints = refusal.params["hints"]
    suggestion = render(hints)
    message = str(refusal).removesuffix(f"; {suggestion}")
    return BudgetReport(total, budget, False, message, suggestion, refusal)
