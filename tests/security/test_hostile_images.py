"""Hostile images cost at most their decoded size once: 7999x7999 RGBA and 16-bit gray PNGs.

Issue 20 measured 1.5 GB and 0.8 GB for these; the target for any upload of 2 MB or less is
400 MB over the idle process, handed back after.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from glmv_ui.errors import MediaBudgetError
from glmv_ui.media import ingest
from glmv_ui.media.images import MAX_DECODE_BYTES, check_decoded
from tests.mediafiles import image_file
from tests.security.hostile import gray16_png, ingest_probe, rgba_png

pytestmark = pytest.mark.slow


@pytest.mark.parametrize("make", [rgba_png, gray16_png], ids=["rgba-7999", "gray16-7999"])
def test_a_7999_square_png_costs_its_decoded_size_once(tmp_path: Path, make) -> None:
    path = make(tmp_path)
    assert path.stat().st_size < 2 * 2**20
    warm = image_file(tmp_path, "warm.png", "RGBA", size=(640, 480))
    result = ingest_probe(path, warm)
    assert result.error == ""
    [[kind, size, _frames]] = result.result
    assert kind == "image" and size[0] * size[1] <= 1920 * 1080
    assert result.peak_mb < 400, result
    assert result.kept_mb < 64, result  # handed back once the part is dropped


def test_the_decoded_size_is_refused_from_the_header_with_its_numbers(tmp_path: Path) -> None:
    with pytest.raises(MediaBudgetError, match=r"big.png: would take 1,024 MB once decoded "
                                               r"\(16384x16384 pixels, 4 channels of 8 bits\)"):
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
    diff = max(abs(a - b) for p, q in zip(part.image.getdata(), expected.getdata(), strict=True)
               for a, b in zip(p, q, strict=True))
    assert diff <= 8
