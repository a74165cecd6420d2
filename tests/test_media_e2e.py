"""Every kind of upload through ingest, the real processor and the tiny model, end to end."""

from __future__ import annotations

import pytest

from glmv_ui.config import Sampling
from glmv_ui.engines.base import GenerationRequest
from glmv_ui.engines.local import LocalEngine
from glmv_ui.media import estimate_visual_tokens, ingest
from glmv_ui.messages import user_message
from glmv_ui.session import Session
from tests.helpers import drain
from tests.mediafiles import image_file, pdf_file, pptx_file, video_file

pytestmark = pytest.mark.slow  # the real processor and both tiny models on every kind of file

SHORT = Sampling(max_new_tokens=6, temperature=0.0)


@pytest.fixture(scope="module")
def uploads(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("uploads")
    return {
        "image": [image_file(tmp, "photo.png", size=(300, 200))],
        "pdf": [pdf_file(tmp, "report.pdf", pages=2)],
        "slides": [pptx_file(tmp, "deck.pptx", slides=2)],
        "video": [video_file(tmp, "clip.mp4", frames=10)],
    }


@pytest.mark.office
@pytest.mark.parametrize("kind", ["image", "pdf", "slides", "video"])
def test_upload_reaches_the_model_through_the_real_processor(kind, uploads, tiny_any):
    parts = ingest(uploads[kind])
    assert parts
    assert all(p.source == uploads[kind][0].name for p in parts)
    engine = LocalEngine(tiny_any)
    request = GenerationRequest(
        messages=[user_message("describe", parts)],
        sampling=SHORT,
    )
    inputs = engine.prepare(request)
    grid = inputs.get("video_grid_thw" if kind == "video" else "image_grid_thw")
    assert grid is not None
    assert grid.shape[0] == (1 if kind == "video" else len(parts))
    if kind in ("pdf", "slides"):
        assert [p.page or p.slide for p in parts] == [1, 2]
    final = drain(Session(engine, sampling=SHORT).submit("describe", parts))
    assert final.turn.status == "done"
    real = engine.count_visual_tokens(inputs)
    assert final.stats.visual_tokens == real > 0
    # The up-front estimate (shown before sending) matches what the processor produces, give or
    # take the few marker tokens it adds per image or frame pair.
    assert real <= estimate_visual_tokens(parts) <= real + 8 * max(len(parts), 4)
