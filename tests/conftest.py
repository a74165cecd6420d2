"""Shared fixtures: tiny checkpoints (built once per run), loaded models, the corpus folder."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
CORPUS = ROOT.parent / "shared" / "corpus"

# Tiny checkpoints are cached inside the checkout (ignored by git) unless the caller chose a place.
os.environ.setdefault("GLMV_CACHE", str(ROOT / ".cache" / "glmv"))
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
# The tiny models gain nothing from intra-op threads, and a spinning OpenMP team fights the
# browser, LibreOffice and server processes the tests start on a small machine.
os.environ.setdefault("OMP_NUM_THREADS", "1")


@pytest.fixture(scope="session")
def corpus() -> Path:
    if not CORPUS.is_dir():
        pytest.skip("../shared/corpus is not present beside this checkout")
    return CORPUS


@pytest.fixture(scope="session")
def tiny41():
    from glmv_ui.models import load_model

    return load_model("tiny-glm41v")


@pytest.fixture(scope="session")
def tiny45():
    from glmv_ui.models import load_model

    return load_model("tiny-glm45v")


@pytest.fixture(params=["tiny-glm41v", "tiny-glm45v"], scope="session")
def tiny_any(request):
    from glmv_ui.models import load_model

    return load_model(request.param)
