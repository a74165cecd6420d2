"""Large uploads stay within bounded memory: the 117-page PDF and the 15-minute video.

Each runs in a fresh interpreter that first warms up on a small file of the same kind, so the
measured growth of the peak resident set is the large file's own cost, not library start-up.
"""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

SCRIPT = r"""
import json, resource, sys
from glmv_ui.media import ingest

def peak():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024

warm, big = sys.argv[1], sys.argv[2]
ingest([warm])
before = peak()
parts = ingest([big])
after = peak()
frames = sum(len(p.frames) for p in parts)
print(json.dumps({"growth": after - before, "parts": len(parts), "frames": frames}))
"""


def _measure(warm: str, big: str) -> dict:
    out = subprocess.run([sys.executable, "-c", SCRIPT, warm, big], capture_output=True,
                         text=True, check=True, timeout=240)
    return json.loads(out.stdout.strip().splitlines()[-1])


@pytest.mark.slow
def test_117_page_pdf_renders_in_bounded_memory(corpus):
    result = _measure(str(corpus / "pdf" / "pdflatex-4-pages.pdf"),
                      str(corpus / "pdf" / "GeoTopo-komprimiert-117pages.pdf"))
    assert result["parts"] == 16
    # 16 pages of ~1.2 megapixels are ~56 MB as RGB images; pages are rendered one at a time,
    # so the peak stays near what is kept, far below rendering the whole document.
    assert result["growth"] < 250 * 2**20, result


@pytest.mark.slow
def test_15_minute_video_samples_in_bounded_memory(corpus):
    result = _measure(str(corpus / "video" / "one-second-25frames.mp4"),
                      str(corpus / "video" / "long-15min-96x64-2fps.mp4"))
    assert result["frames"] == 600
    # Each picked frame is converted to its small output image at once; no decoded frame
    # (nor its decoder buffers) is kept: 600 frames of 84x56 px cost a few MB.
    assert result["growth"] < 64 * 2**20, result
