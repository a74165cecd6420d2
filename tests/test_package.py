"""The package imports nothing heavy and exports what __all__ says."""

from __future__ import annotations

import subprocess
import sys

import pytest

import glmv_ui


@pytest.mark.slow  # imports in a fresh interpreter
def test_import_is_light():
    code = (
        "import sys, glmv_ui, glmv_ui.stream, glmv_ui.grounding, glmv_ui.prompt, "
        "glmv_ui.session, glmv_ui.config\n"
        "heavy = [m for m in ('torch', 'transformers', 'gradio', 'fitz', 'pymupdf', 'av', "
        "'PIL', 'ipywidgets') if m in sys.modules]\n"
        "print(','.join(heavy))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""


def test_all_names_resolve():
    for name in glmv_ui.__all__:
        assert getattr(glmv_ui, name) is not None, name
    assert sorted(glmv_ui.__all__) == sorted(set(glmv_ui.__all__))
