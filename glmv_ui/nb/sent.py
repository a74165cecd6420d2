"""What the model was sent for one request: the templated prompt, image sizes, video frames.

:func:`what_was_sent` builds the request exactly as a session would (same message builder, same
engine) and, for the local engine, runs the real processor on it: the prompt text is the decoded
input ids with each run of visual placeholder tokens folded to ``<|image|>×N``; each image's size
after resizing and its visual tokens come from the processor's grids; a video's frame pairs and
the timestamps written into the prompt are read back from the prompt itself. Engines that do not
prepare inputs locally (remote ones) get the estimate the budget check uses, marked as such.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from ..conversation import Turn
from ..engines.base import GenerationRequest, HoldsModel, unwrapped
from ..media.budget import TEMPORAL, VIDEO_MAX_PIXELS, part_tokens, smart_resize
from ..media.parts import MediaPart
from ..messages import media_of
from ..prompt import build_messages
from .helpers import as_session, split_options

__all__ = ["SentImage", "SentVideo", "SentView", "what_was_sent"]

PATCH = 14  # pixels per grid cell; 2x2 cells make one visual token
MERGE = 4
_RUN = re.compile(r"(<\|(?:image|video)\|>)(?:\1)+")
_PAIR_TIME = re.compile(r"<\|end_of_image\|>([^<]*)")


@dataclass(frozen=True)
class SentImage:
    label: str
    original: tuple[int, int]  # (width, height) as read from the file
    sent: tuple[int, int]  # (width, height) after the processor's resize
    tokens: int  # visual tokens in the prompt (placeholders only)
    estimate: int  # what the budget check estimated, markers included


@dataclass(frozen=True)
class SentVideo:
    label: str
    frames: int  # frames sampled from the file
    frames_sent: int  # frames given to the model (padded to pairs)
    timestamps: tuple[float, ...]  # presentation time of each sampled frame, seconds
    prompt_times: tuple[str, ...]  # the timestamp written into the prompt for each pair
    original: tuple[int, int]
    sent: tuple[int, int]
    tokens: int
    estimate: int


@dataclass(frozen=True)
class SentView:
    """One request as the model received it. ``exact`` is False where sizes and tokens are the
    budget estimate (an engine that prepares its inputs elsewhere)."""

    prompt_text: str
    prompt_tokens: int
    visual_tokens: int
    images: tuple[SentImage, ...]
    videos: tuple[SentVideo, ...]
    exact: bool

    def summary(self) -> str:
        lines = [
            f"{self.prompt_tokens} prompt tokens, {self.visual_tokens} visual"
            + ("" if self.exact else " (estimated)")
        ]
        for im in self.images:
            lines.append(
                f"image {im.label}: {im.original[0]}x{im.original[1]} -> "
                f"{im.sent[0]}x{im.sent[1]}, {im.tokens} tokens "
                f"(estimate {im.estimate})"
            )
        for v in self.videos:
            times = ", ".join(v.prompt_times)
            lines.append(
                f"video {v.label}: {v.frames} frames ({v.frames_sent} sent, "
                f"{v.frames_sent // TEMPORAL} pairs) at {v.sent[0]}x{v.sent[1]}, "
                f"{v.tokens} tokens (estimate {v.estimate}); times in the prompt: "
                f"{times}"
            )
        return "\n".join(lines)

    def _repr_html_(self) -> str:
        from html import escape

        return (
            f"<pre style='white-space:pre-wrap'>{escape(self.summary())}</pre>"
            f"<details open><summary>prompt text</summary><pre style='white-space:pre-wrap;"
            f"max-height:20em;overflow:auto'>{escape(self.prompt_text)}</pre></details>"
        )


def fold_placeholders(text: str) -> str:
    """Runs of ``<|image|>`` / ``<|video|>`` as one placeholder and its count."""
    return _RUN.sub(lambda m: f"{m.group(1)}×{len(m.group(0)) // len(m.group(1))}", text)


def what_was_sent(target: Any, text: str, files: Sequence[str] = (), **options: Any) -> SentView:
    """The prompt and media the model gets for ``text`` and ``files`` on ``target`` (a model
    id, LoadedModel, Engine, Session or ChatWidget), without generating anything. A Session's
    earlier turns are included, as they would be sent."""
    session = as_session(target)
    sampling_changes, media = split_options(options)
    sampling = (
        session.sampling.replace(**sampling_changes) if sampling_changes else session.sampling
    )
    parts = session.attach(list(files), media) if files else []
    turns = [*session.turns, Turn(text=text.strip(), parts=list(parts))]
    messages = build_messages(
        turns,
        session.engine.family,
        system_prompt=session.system_prompt,
        media_history=session.media_history,
    )
    all_parts = list(media_of(messages))
    engine = unwrapped(session.engine)
    if not isinstance(engine, HoldsModel):
        return _estimated(all_parts)
    inputs = engine.prepare(GenerationRequest(messages=messages, sampling=sampling))
    ids = inputs["input_ids"][0].tolist()
    prompt = engine.loaded.tokenizer.decode(ids, skip_special_tokens=False)
    return _exact(all_parts, inputs, prompt, len(ids))


def _grids(inputs: dict[str, Any], key: str) -> list[tuple[int, int, int]]:
    grid = inputs.get(key)
    if grid is None:
        return []
    return [(int(t), int(h), int(w)) for t, h, w in grid.tolist()]


def _exact(
    parts: Sequence[MediaPart], inputs: dict[str, Any], prompt: str, prompt_tokens: int
) -> SentView:
    image_grids = iter(_grids(inputs, "image_grid_thw"))
    video_grids = iter(_grids(inputs, "video_grid_thw"))
    videos_text = re.findall(r"<\|begin_of_video\|>(.*?)<\|end_of_video\|>", prompt, re.S)
    images: list[SentImage] = []
    videos: list[SentVideo] = []
    for part in parts:
        if part.kind == "image":
            t, h, w = next(image_grids)
            images.append(
                SentImage(
                    part.label,
                    part.size,
                    (w * PATCH, h * PATCH),
                    t * h * w // MERGE,
                    part_tokens(part),
                )
            )
        else:
            t, h, w = next(video_grids)
            body = videos_text[len(videos)] if len(videos) < len(videos_text) else ""
            frames = len(part.frames)
            videos.append(
                SentVideo(
                    part.label,
                    frames,
                    frames + frames % TEMPORAL,
                    tuple(part.timestamps),
                    tuple(s.strip() for s in _PAIR_TIME.findall(body)),
                    part.size,
                    (w * PATCH, h * PATCH),
                    t * h * w // MERGE,
                    part_tokens(part),
                )
            )
    visual = sum(i.tokens for i in images) + sum(v.tokens for v in videos)
    return SentView(
        fold_placeholders(prompt), prompt_tokens, visual, tuple(images), tuple(videos), exact=True
    )


def _estimated(parts: Sequence[MediaPart]) -> SentView:
    images: list[SentImage] = []
    videos: list[SentVideo] = []
    for part in parts:
        width, height = part.size
        tokens = part_tokens(part)
        if part.kind == "image":
            h, w = smart_resize(TEMPORAL, height, width)
            images.append(SentImage(part.label, part.size, (w, h), tokens, tokens))
        else:
            frames = len(part.frames)
            h, w = smart_resize(frames, height, width, max_pixels=VIDEO_MAX_PIXELS)
            times = tuple(str(int(t)) for t in part.timestamps[::TEMPORAL])
            videos.append(
                SentVideo(
                    part.label,
                    frames,
                    frames + frames % TEMPORAL,
                    tuple(part.timestamps),
                    times,
                    part.size,
                    (w, h),
                    tokens,
                    tokens,
                )
            )
    visual = sum(i.tokens for i in images) + sum(v.tokens for v in videos)
    return SentView("", 0, visual, tuple(images), tuple(videos), exact=False)
