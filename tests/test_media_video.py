"""Videos -> evenly sampled frames with real timestamps, an even frame count, bounded sizes."""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import pytest

from glmv_ui.config import MediaLimits
from glmv_ui.errors import MediaError, UnsupportedMediaError
from glmv_ui.media import MediaOptions, ingest
from glmv_ui.media.video import MAX_FRAME_PIXELS, sample_times, sample_video
from glmv_ui.reasons import reason
from tests.mediafiles import has_encoder, video_file

CODECS = [("clip.mp4", "libx264"), ("clip.avi", "mpeg4")] + (
    [("clip.webm", "libvpx-vp9")] if has_encoder("libvpx-vp9") else []
)


@pytest.mark.parametrize(("name", "codec"), CODECS)
def test_default_sampling_is_two_per_second(tmp_path: Path, name: str, codec: str) -> None:
    part = ingest([video_file(tmp_path, name, codec, frames=30, rate=10)])[0]
    assert part.kind == "video"
    assert part.fps == 2.0
    assert part.timestamps == (0.0, 0.5, 1.0, 1.5, 2.0, 2.5)
    assert part.duration == pytest.approx(3.0, abs=0.01)
    assert part.meta["total_frames"] == 30
    assert part.meta["source_fps"] == 10
    assert (part.meta["width"], part.meta["height"]) == (96, 64)
    brightness = [f.convert("L").getpixel((10, 10)) for f in part.frames]
    assert brightness == sorted(brightness)
    assert brightness[0] < brightness[-1]


def test_vfr_timestamps_are_real_presentation_times(tmp_path: Path) -> None:
    path = video_file(
        tmp_path, "vfr.mp4", frames=6, pts=[0, 1, 2, 10, 30, 31], time_base=Fraction(1, 10)
    )
    part = sample_video(path, "vfr.mp4", fps=2)
    # Targets 0, 0.5, ..., 3.0 s: each takes the first frame at or after it, then duplicates
    # (the gap between 1.0 s and 3.0 s) collapse to one.
    assert part.timestamps == (0.0, 1.0, 3.0, 3.0)
    assert part.duration == pytest.approx(3.2, abs=0.05)  # the last frame's end, not the header's


def test_single_frame_is_padded_to_a_pair(tmp_path: Path) -> None:
    part = ingest([video_file(tmp_path, "one.mp4", frames=1)])[0]
    assert len(part.frames) == 2
    assert part.timestamps == (0.0, 0.0)
    assert part.frames[0].tobytes() == part.frames[1].tobytes()
    assert reason("note.single_frame") in part.notes


def test_frame_limit_spreads_samples_and_counts_stay_even(tmp_path: Path) -> None:
    path = video_file(tmp_path, "long.mp4", frames=100, rate=10)
    part = sample_video(path, "long.mp4", fps=5, max_frames=7)
    assert len(part.frames) == 8  # 7 spread over 10 s, padded to even
    assert part.timestamps[0] == 0.0
    assert part.timestamps[-2] > 9.0
    assert any(str(n).startswith("7 frames spread over 10 s") for n in part.notes)


def test_time_range_and_user_fps(tmp_path: Path) -> None:
    path = video_file(tmp_path, "r.mp4", frames=50, rate=10)
    part = ingest([path], options=MediaOptions(video_range=(1.0, 3.0), video_fps=1))[0]
    assert part.timestamps == (1.0, 2.0)
    assert part.notes[0] == reason("note.time_range", start=1.0, end=3.0, duration=5.0)
    assert str(part.notes[0]) == "1\u20133 s of 5.0 s used"
    with pytest.raises(MediaError, match=r"r.mp4: is 5.0 s long, but the time range starts at 9 s"):
        ingest([path], options=MediaOptions(video_range=(9, 12)))


@pytest.mark.parametrize("method", ["seek", "sequential"])
def test_seek_and_sequential_pick_the_same_frames(tmp_path: Path, method: str) -> None:
    path = video_file(tmp_path, "m.mp4", frames=40, rate=10)
    part = sample_video(path, "m.mp4", fps=1, method=method)
    assert part.timestamps == (0.0, 1.0, 2.0, 3.0)


def test_frames_are_bounded_and_multiples_of_28(tmp_path: Path) -> None:
    part = ingest([video_file(tmp_path, "big.mp4", frames=4, size=(1280, 720))])[0]
    w, h = part.size
    assert w % 28 == 0
    assert h % 28 == 0
    assert w * h <= MAX_FRAME_PIXELS
    assert abs(w / h - 16 / 9) < 0.15


def test_sample_times_follow_the_processor_rule() -> None:
    assert sample_times(0, 1.0, 2, 600) == [0.0, 0.5]
    spread = sample_times(0, 900, 2, 600)
    assert len(spread) == 600
    assert spread[0] == 0
    assert 899 < spread[-1] < 900


def test_not_a_video_and_truncated_are_refused(tmp_path: Path) -> None:
    text = tmp_path / "x.mp4"
    text.write_text("this is not a video")
    with pytest.raises(UnsupportedMediaError, match=r"x.mp4: does not hold MP4 data"):
        ingest([text])
    good = video_file(tmp_path, "g.mp4", frames=20)
    cut = tmp_path / "cut.mp4"
    cut.write_bytes(good.read_bytes()[:200])
    with pytest.raises(MediaError, match=r"cut.mp4: "):
        ingest([cut])
    assert len(ingest([good])[0].frames) == 4


def test_budget_limits_are_respected(tmp_path: Path) -> None:
    part = ingest([video_file(tmp_path, "v.mp4", frames=30)], MediaLimits(video_max_frames=3))[0]
    assert len(part.frames) == 4
