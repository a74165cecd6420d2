"""Hostile images cost at most their decoded size once: 7999x7999 RGBA and 16-bit gray PNGs.

Issue 20 measured 1.5 GB and 0.8 GB for these; the target for any upload of 2 MB or less is
400 MB over the idle process, handed back after.
"""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import pytest
from PIL import Image

from glmv_ui.errors import MediaBudgetError
from glmv_ui.media import ingest
from glmv_ui.media.images import (
    MAX_DECODE_BYTES,
    JpegFrame,
    check_decoded,
    check_jpeg_whole,
    jpeg_frame,
)
from tests.mediafiles import image_file
from tests.security.hostile import gray16_png, ingest_probe, progressive_jpeg, rgba_png

pytestmark = pytest.mark.slow


@pytest.mark.parametrize("make", [rgba_png, gray16_png], ids=["rgba-7999", "gray16-7999"])
def test_a_7999_square_png_costs_its_decoded_size_once(tmp_path: Path, make) -> None:
    path = make(tmp_path)
    assert path.stat().st_size < 2 * 2**20
    warm = image_file(tmp_path, "warm.png", "RGBA", size=(640, 480))
    result = ingest_probe(path, warm)
    assert result.error == ""
    [[kind, size, _frames]] = result.result
    assert kind == "image"
    assert size[0] * size[1] <= 1920 * 1080
    assert result.peak_mb < 400, result
    assert result.kept_mb < 64, result  # handed back once the part is dropped


def test_the_decoded_size_is_refused_from_the_header_with_its_numbers(tmp_path: Path) -> None:
    with pytest.raises(
        MediaBudgetError,
        match=r"big.png: would take 1,024 MB once decoded "
        r"\(16384x16384 pixels, 4 channels of 8 bits\)",
    ):
        check_decoded(16384, 16384, "RGBA", "big.png")
    check_decoded(7999, 7999, "RGBA", "ok.png")  # 244 MiB: under the limit
    assert 7999 * 7999 * 4 <= MAX_DECODE_BYTES < 8000 * 8000 * 4 * 2


def test_reduced_pictures_keep_their_content(tmp_path: Path) -> None:
    # The strip-wise reduction gives the picture the plain reduction gives.
    from PIL import Image

    from tests.mediafiles import gradient

    big = gradient((4000, 3000)).convert("RGBA")
    path = tmp_path / "g.png"
    big.save(path)
    [part] = ingest([path])
    expected = big.reduce(1).resize(part.image.size, Image.Resampling.LANCZOS).convert("RGB")
    got: list[Any] = list(part.image.get_flattened_data())
    want: list[Any] = list(expected.get_flattened_data())
    pairs = zip(got, want, strict=True)
    diff = max(abs(a - b) for p, q in pairs for a, b in zip(p, q, strict=True))
    assert diff <= 8


def test_a_large_progressive_jpeg_is_refused_before_its_coefficients_are_held(
    tmp_path: Path,
) -> None:
    # libjpeg keeps every coefficient of a progressive file whatever the draft scale: 7999x7999
    # CMYK is 488 MB of them from a 1 MB upload (issue: +541 MB). Refused from its headers.
    path = progressive_jpeg(tmp_path)
    assert path.stat().st_size < 2 * 2**20
    warm = image_file(tmp_path, "warm.jpg", size=(640, 480))
    result = ingest_probe(path, warm)
    assert result.error_type == "MediaBudgetError", result
    assert result.error == (
        f"{path.name}: is a progressive JPEG of 7999x7999 pixels (4 channels), which must be "
        "held whole while decoding: 488 MB, more than the 256 MB an image may take; save it "
        "smaller or as a baseline JPEG and upload that"
    )
    assert result.peak_mb < 32, result


def test_a_progressive_jpeg_within_the_limit_is_read_within_its_cost(tmp_path: Path) -> None:
    # 5000x5000 RGB (4:2:0): 72 MB of coefficients, under the limit: read, and costs about that.
    path = progressive_jpeg(tmp_path, 5000, "RGB")
    with path.open("rb") as stream:
        frame = jpeg_frame(stream)
    assert frame is not None
    assert frame.progressive
    assert not frame.multi_scan
    assert 70 * 2**20 < frame.coefficient_bytes() < 75 * 2**20
    result = ingest_probe(path, image_file(tmp_path, "warm.jpg", size=(640, 480)))
    assert result.error == "", result
    [[kind, size, _frames]] = result.result
    assert kind == "image"
    assert size[0] * size[1] <= 1920 * 1080
    assert result.peak_mb < 200, result


def test_a_baseline_jpeg_keeps_its_draft_path(tmp_path: Path) -> None:
    # The same size as the refused progressive file, baseline: decoded at reduced size, cheap.
    path = tmp_path / "baseline-7999.jpg"
    Image.new("CMYK", (7999, 7999), (10, 200, 30, 0)).save(path, quality=80)
    with path.open("rb") as stream:
        frame = jpeg_frame(stream)
    assert frame is not None
    assert not frame.whole_image
    result = ingest_probe(path, image_file(tmp_path, "warm.jpg", size=(640, 480)))
    assert result.error == "", result
    assert result.peak_mb < 100, result


def _segment(marker: int, body: bytes) -> bytes:
    return bytes([0xFF, marker]) + (len(body) + 2).to_bytes(2, "big") + body


def test_a_multi_scan_baseline_jpeg_counts_as_whole_image() -> None:
    # A baseline frame whose first scan holds one of its three components: the decoder must
    # buffer the whole image too. Headers only (the decoder never runs).
    sof = (
        bytes([8])
        + (8000).to_bytes(2, "big")
        + (8000).to_bytes(2, "big")
        + bytes([3, 1, 0x11, 0, 2, 0x11, 0, 3, 0x11, 0])
    )
    data = (
        b"\xff\xd8"
        + _segment(0xE0, b"JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00")
        + _segment(0xC0, sof)
        + _segment(0xDA, bytes([1, 1, 0, 0, 63, 0]))
    )
    frame = jpeg_frame(io.BytesIO(data))
    assert frame == JpegFrame(8000, 8000, ((1, 1),) * 3, False, True)
    assert frame.coefficient_bytes() == 3 * 8000 * 8000 * 2
    with pytest.raises(
        MediaBudgetError,
        match=r"x.jpg: is a multi-scan JPEG of 8000x8000 "
        r"pixels \(3 channels\).*366 MB",
    ):
        check_jpeg_whole(frame, "x.jpg")
    interleaved = data.replace(bytes([0xFF, 0xDA, 0, 8, 1]), bytes([0xFF, 0xDA, 0, 8, 3]))
    whole = jpeg_frame(io.BytesIO(interleaved))
    assert whole is not None
    assert not whole.whole_image
    check_jpeg_whole(whole, "x.jpg")  # a single interleaved scan: the draft path applies
