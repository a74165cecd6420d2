"""Video files -> one :class:`MediaPart` of sampled RGB frames with their real timestamps.

Sampling follows GLM's processor: ``fps`` frames a second (2 by default); when that would give
more than ``max_frames`` (600), that many frames are spread evenly over the whole span instead.
A frame is chosen for a target time as the first decoded frame whose presentation time
(``pts * time_base``) reaches it, so variable-frame-rate videos get true times. Only chosen frames
are converted and kept, already downscaled (swscale scales and converts in one step, from the
decoder's own frame, so no full-size RGB copy exists); when targets are far apart the reader
seeks to each one instead of decoding everything in between.

The frame size is checked from the stream header before any frame is decoded: frames of more
than :data:`MAX_VIDEO_PIXELS` (4096x2304) are refused with their size and decoded cost, so a
small file of 16000x16000 frames never reaches the decoder; frames above 2 Mpx are decoded with
slice threads only (frame threads would hold one extra full frame per thread).

Frames always come in an even number (GLM encodes frames in pairs): an odd count is padded by
repeating the last frame and its timestamp, so a one-frame video becomes two identical frames.
The engine passes these frames with ``do_sample_frames=False``.
"""

from __future__ import annotations

import math
import os
from collections.abc import Iterator
from typing import Any, Literal

from ..config import MediaLimits
from ..errors import MediaBudgetError, MediaError, UnsupportedMediaError
from ..reasons import Reason, reason
from .budget import DEFAULT_LIMITS, VIDEO_MAX_PIXELS, smart_resize
from .parts import MediaPart

__all__ = [
    "MAX_FRAME_PIXELS",
    "MAX_VIDEO_PIXELS",
    "SEEK_GAP_FRAMES",
    "check_frame_size",
    "check_video",
    "sample_times",
    "sample_video",
]

MAX_FRAME_PIXELS = 448 * 448  # a frame never needs more detail than this for GLM's video tower
# The largest decoded frame accepted: 4096x2304 (DCI 4K and UHD fit, both ways round).
MAX_VIDEO_PIXELS = 4096 * 2304
# Seek to each target when more than this many frames lie between targets: a seek lands on the
# keyframe before the target and decodes from there, which only pays off for sparse targets.
SEEK_GAP_FRAMES = 90

Method = Literal["auto", "seek", "sequential"]


def sample_times(start: float, end: float, fps: float, max_frames: int) -> list[float]:
    """Target times in seconds: every ``1/fps`` from ``start``, or ``max_frames`` spread evenly."""
    span = max(end - start, 0.0)
    count = max(math.floor(span * fps + 1e-9), 1)
    if count <= max_frames:
        return [start + i / fps for i in range(count)]
    if max_frames == 1:
        return [start]
    step = span / (max_frames - 1)
    # Spread over the span like the processor's linspace; the last target is a hair inside the end
    # so that it maps to the last frame rather than past it.
    return [start + min(i * step, span - 1e-3) for i in range(max_frames)]


def sample_video(
    path: str | os.PathLike[str],
    name: str,
    limits: MediaLimits = DEFAULT_LIMITS,
    *,
    fps: float | None = None,
    max_frames: int | None = None,
    time_range: tuple[float, float] | None = None,
    method: Method = "auto",
) -> MediaPart:
    """Sample a video file into a ``kind="video"`` part (refusals raise :class:`MediaError`)."""
    import av

    fps = limits.video_fps if fps is None else float(fps)
    max_frames = limits.video_max_frames if max_frames is None else int(max_frames)
    if not fps > 0:
        raise MediaError(name, reason("video.fps", fps=fps))
    if max_frames < 1:
        raise MediaError(name, reason("video.max_frames", limit=max_frames))
    container = _open(path, name)
    try:
        with container:
            return _sample(container, name, fps, max_frames, time_range, method)
    except av.error.FFmpegError as exc:
        raise MediaError(name, reason("video.damaged")) from exc


def check_video(path: str | os.PathLike[str], name: str) -> None:
    """Refuse a file that is not a readable video, cheaply: open the container and find a video
    stream, decoding nothing. Run before the conversation rules, so that a damaged video is
    called damaged rather than, say, one video too many."""
    with _open(path, name) as container:
        check_frame_size(container.streams.video[0], name)


def _open(path: str | os.PathLike[str], name: str) -> Any:
    """The open container of a file that has a video stream (the caller closes it)."""
    import av

    try:
        # The stream probe decodes nothing (skip_frame): FFmpeg would otherwise decode frames to
        # learn the stream's details, at whatever size the header claims, before any check.
        container = av.open(os.fspath(path), mode="r", options={"skip_frame": "all"})
    except av.error.FFmpegError as exc:
        raise UnsupportedMediaError(name, reason("video.unreadable")) from exc
    if not container.streams.video:
        container.close()
        raise UnsupportedMediaError(name, reason("video.no_stream"))
    return container


def check_frame_size(stream: Any, name: str) -> None:
    """Refuse, from the stream header, frames larger than :data:`MAX_VIDEO_PIXELS`."""
    width, height = stream.codec_context.width, stream.codec_context.height
    if width * height <= MAX_VIDEO_PIXELS:
        return
    fmt = stream.codec_context.format
    bits = fmt.bits_per_pixel if fmt is not None and fmt.bits_per_pixel else 12
    raise MediaBudgetError(
        name,
        reason(
            "video.frame_pixels",
            width=width,
            height=height,
            decoded_mb=width * height * bits / 8 / 2**20,
            limit=MAX_VIDEO_PIXELS // 1_000_000,
        ),
    )


def _sample(
    container: Any,
    name: str,
    fps: float,
    max_frames: int,
    time_range: tuple[float, float] | None,
    method: Method,
) -> MediaPart:
    stream = container.streams.video[0]
    check_frame_size(stream, name)
    big = stream.codec_context.width * stream.codec_context.height > 2_000_000
    stream.thread_type = "SLICE" if big else "AUTO"
    tb = float(stream.time_base) if stream.time_base else 0.0
    origin = stream.start_time * tb if stream.start_time is not None else 0.0
    duration = _duration(container, stream, tb, origin)
    source_fps = float(stream.average_rate or stream.guessed_rate or 0) or None
    start, end = 0.0, duration if duration else math.inf
    notes: list[Reason] = []
    if time_range is not None:
        start, end = float(time_range[0]), float(time_range[1])
        if start < 0 or end <= start:
            raise MediaError(name, reason("video.range", start=start, end=end))
        if duration and start >= duration:
            raise MediaError(name, reason("video.range_after_end", duration=duration, start=start))
        end = min(end, duration) if duration else end
        notes.append(reason("note.time_range", start=start, end=end, duration=duration))
    targets = (
        sample_times(start, end if math.isfinite(end) else start + 1, fps, max_frames)
        if math.isfinite(end)
        else [start + i / fps for i in range(max_frames)]
    )
    if duration and len(targets) == max_frames and (end - start) * fps > max_frames + 1:
        notes.append(reason("note.frames_spread", frames=max_frames, seconds=end - start, fps=fps))

    width, height = stream.codec_context.width, stream.codec_context.height
    if not width or not height:
        raise MediaError(name, reason("video.no_size"))
    sar = stream.sample_aspect_ratio
    display_w = round(width * float(sar)) if sar and float(sar) > 0 else width
    count = len(targets) + len(targets) % 2
    out_h, out_w = smart_resize(
        count, height, display_w, max_pixels=min(VIDEO_MAX_PIXELS, count * MAX_FRAME_PIXELS)
    )

    gap = (source_fps or 30.0) * ((targets[-1] - targets[0]) / max(len(targets) - 1, 1))
    seek = method == "seek" or (method == "auto" and gap > SEEK_GAP_FRAMES)
    picker = _pick_seeking if seek else _pick_sequential
    picked = picker(
        container, stream, targets, origin, tb, lambda frame: _to_image(frame, out_w, out_h)
    )
    frames, times = [], []
    last_pts = None
    for t, pts, image in picked:
        if pts == last_pts:
            continue  # two targets fell on the same frame (a gap in a VFR video): keep one
        last_pts = pts
        frames.append(image)
        times.append(round(t, 6))
    if not frames:
        raise MediaError(name, reason("video.no_frames"))
    if len(frames) % 2:
        frames.append(frames[-1])
        times.append(times[-1])
        if len(frames) == 2:
            notes.append(reason("note.single_frame"))
    used_fps = (
        fps
        if len(targets) < max_frames or (end - start) * fps <= max_frames + 1
        else len(targets) / max(end - start, 1e-6)
    )
    total_frames = stream.frames or (
        round(duration * source_fps) if duration and source_fps else None
    )
    return MediaPart(
        kind="video",
        source=name,
        frames=tuple(frames),
        timestamps=tuple(times),
        fps=used_fps,
        duration=duration or (times[-1] if times else 0.0),
        notes=tuple(notes),
        meta={
            "source_fps": source_fps,
            "total_frames": total_frames,
            "width": width,
            "height": height,
            "codec": stream.codec_context.name,
        },
    )


def _duration(container: Any, stream: Any, tb: float, origin: float) -> float:
    """Duration from the last packet's end time; the header's figure is wrong in some VFR files.

    Seeks near the end and reads packets (no decoding), then rewinds.
    """
    declared = 0.0
    if stream.duration and tb:
        declared = float(stream.duration * tb)
    elif container.duration:
        declared = float(container.duration) / 1_000_000  # microseconds (av.time_base)
    if not tb:
        return declared
    end = 0.0
    try:
        container.seek(
            int((declared + origin) / tb) if declared else 2**62,
            stream=stream,
            backward=True,
            any_frame=False,
        )
        for packet in container.demux(stream):
            if packet.pts is not None:
                end = max(end, (packet.pts + (packet.duration or 0)) * tb - origin)
        container.seek(stream.start_time or 0, stream=stream, backward=True, any_frame=False)
    except Exception:  # noqa: BLE001 - some formats cannot seek: keep the declared duration
        return declared
    return max(declared, end)


def _frames(container: Any, stream: Any, origin: float, tb: float) -> Iterator[tuple[float, Any]]:
    for frame in container.decode(stream):
        if frame.pts is None:
            continue
        yield frame.pts * tb - origin, frame


Picked = tuple[float, int, Any]  # (presentation time, pts, converted image)


def _pick_sequential(
    container: Any, stream: Any, targets: list[float], origin: float, tb: float, convert: Any
) -> list[Picked]:
    """Decode in order; keep the first frame at or after each target (the last one for the rest).

    Each chosen frame is converted at once, so no decoded frame (nor its decoder buffers)
    outlives the loop: memory holds the small output images only.
    """
    picked: list[Picked] = []
    i = 0
    previous = None
    half = 1e-3
    if targets[0] > 1.0:
        _seek(container, stream, targets[0], origin, tb)
    for t, frame in _frames(container, stream, origin, tb):
        previous = (t, frame)
        if i < len(targets) and t >= targets[i] - half:
            image = convert(frame)
            while i < len(targets) and t >= targets[i] - half:
                picked.append((t, frame.pts, image))
                i += 1
        if i == len(targets):
            break
    if (
        i < len(targets)
        and previous is not None
        and (not picked or picked[-1][1] != previous[1].pts)
    ):
        # Targets past the last frame map to the last frame.
        picked.append((previous[0], previous[1].pts, convert(previous[1])))
    return picked


def _pick_seeking(
    container: Any, stream: Any, targets: list[float], origin: float, tb: float, convert: Any
) -> list[Picked]:
    """Seek to the keyframe before each target, then decode up to it."""
    picked: list[Picked] = []
    for target in targets:
        if picked and picked[-1][0] >= target - 1e-3:
            picked.append(picked[-1])
            continue
        _seek(container, stream, target, origin, tb)
        last = None
        for t, frame in _frames(container, stream, origin, tb):
            last = (t, frame)
            if t >= target - 1e-3:
                break
        if last is None:
            break
        picked.append((last[0], last[1].pts, convert(last[1])))
    return picked


def _seek(container: Any, stream: Any, target: float, origin: float, tb: float) -> None:
    if tb:
        container.seek(int((target + origin) / tb), stream=stream, backward=True, any_frame=False)


def _to_image(frame: Any, width: int, height: int) -> Any:
    image = frame.to_image(width=width, height=height, interpolation="AREA")
    rotation = getattr(frame, "rotation", 0) or 0
    if rotation % 360:
        # Phone videos store "display rotated by N degrees" instead of rotated pixels.
        image = image.rotate(rotation, expand=True)
    return image
