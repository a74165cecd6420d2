"""A small H.264 file of 16000x16000 frames is refused from its header, nothing decoded."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.mediafiles import video_file
from tests.security.hostile import huge_h264, ingest_probe

pytestmark = pytest.mark.slow


def test_16000_square_h264_is_refused_before_any_frame_is_decoded(tmp_path: Path) -> None:
    path = huge_h264(tmp_path)
    assert path.stat().st_size < 2 * 2**20
    result = ingest_probe(path, video_file(tmp_path, "warm.mp4"))
    assert result.error_type == "MediaBudgetError", result
    assert result.error.startswith(
        f"{path.name}: has frames of 16000x16000 pixels (366 MB each once decoded)"
    ), result
    # The probe that opens the file decodes nothing: the frames never exist.
    assert result.peak_mb < 64, result


def test_a_4k_frame_video_is_still_sampled(tmp_path: Path) -> None:
    path = video_file(tmp_path, "uhd.mp4", frames=10, rate=5, size=(3840, 2160))
    result = ingest_probe(path, video_file(tmp_path, "warm.mp4"))
    assert result.error == "", result
    [[kind, size, frames]] = result.result
    assert kind == "video"
    assert frames == 4
    assert size[0] > size[1]
    assert result.peak_mb < 400, result
