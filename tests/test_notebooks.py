"""Every companion notebook runs top to bottom on the tiny model, in a kernel on this venv."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))
CELL_TIMEOUT_S = 120
# What each notebook must print on the tiny model besides running: its known answers landed.
EXPECTED = {
    "01_quickstart": [
        "done - ",
        "GLM-4.5V / GLM-4.6V (MoE) thinking off",
        "seed 1 twice, same answer: True",
        "read back: 2 turns",
        "llamafactory: conversation_llamafactory.zip",
    ],
    "02_documents": ["drawn on page 3", "deck.pptx slide 3", "report.pdf p. 3"],
    "03_video": ["2 fps:  8 frames", "times in the prompt: 0, 1, 2, 3"],
    "04_grounding": ["3 boxes exported", "1 red ball", "3 of 3 objects found at IoU >= 0.5"],
    "05_webpage": ["found a page: True", "Acme-Shop---Sign-in.html", "sandboxed: True"],
    "06_gui_agent": ["on the button: True"],
    "07_measuring": ["4-bit: first token", "median of 9 runs", "agree on"],
    # On the shared corpus when it is beside the checkout, else on the sample files.
    "08_batch": [
        "nothing asked again: True",
        "is damaged",
        "same seed, same answer: True",
        "mean agreement",
        "record: batch.run.json",
    ],
}


@pytest.fixture(scope="module")
def kernel_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A JUPYTER_PATH whose ``python3`` kernel is this interpreter (the venv), not a global one."""
    base = tmp_path_factory.mktemp("jupyter")
    spec = base / "kernels" / "python3"
    spec.mkdir(parents=True)
    (spec / "kernel.json").write_text(
        json.dumps(
            {
                "argv": [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
                "display_name": "Python 3 (glmv venv)",
                "language": "python",
            }
        )
    )
    return base


def test_there_are_eight_notebooks() -> None:
    assert [p.name[:3] for p in NOTEBOOKS] == [f"0{i}_" for i in range(1, 9)]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_notebook_is_committed_clean(path: Path) -> None:
    import nbformat

    nb = nbformat.read(path, as_version=4)
    nbformat.validate(nb)
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert all(c.outputs == [] and c.execution_count is None for c in code)
    assert nb.cells[0].cell_type == "markdown"
    assert nb.cells[0].source.startswith("# ")
    # The model is named up front, switchable with GLMV_MODEL.
    assert "env_model(" in code[0].source
    assert "MODEL" in code[0].source


# Every notebook on tiny GLM-4.1V; the quickstart also on tiny GLM-4.5V (the thinking switch).
RUNS = [(p, "tiny-glm41v") for p in NOTEBOOKS] + [
    (p, "tiny-glm45v") for p in NOTEBOOKS if p.stem == "01_quickstart"
]


@pytest.mark.slow
@pytest.mark.parametrize(("path", "model"), RUNS, ids=[f"{p.stem}-{m}" for p, m in RUNS])
def test_notebook_runs_on_tiny_model(
    path: Path, model: str, kernel_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import nbformat
    from jupyter_client.kernelspec import KernelSpecManager
    from nbclient import NotebookClient

    monkeypatch.setenv("JUPYTER_PATH", str(kernel_dir))
    monkeypatch.setenv("GLMV_MODEL", model)
    monkeypatch.setenv(
        "PYTHONPATH", os.pathsep.join([str(ROOT), *filter(None, [os.environ.get("PYTHONPATH")])])
    )
    assert KernelSpecManager().get_kernel_spec("python3").argv[0] == sys.executable

    nb = nbformat.read(path, as_version=4)
    client = NotebookClient(
        nb,
        timeout=CELL_TIMEOUT_S,
        kernel_name="python3",
        resources={"metadata": {"path": str(tmp_path)}},
    )
    client.execute()  # raises CellExecutionError naming the failing cell

    outputs = [o for c in nb.cells if c.cell_type == "code" for o in c.outputs]
    assert not [o for o in outputs if o.output_type == "error"]
    printed = "".join(o.get("text", "") for o in outputs if o.output_type == "stream")
    assert printed.startswith(model)  # the first cell picked the model from GLMV_MODEL
    for expected in EXPECTED.get(path.stem, []):
        assert expected in printed
    if path.stem == "07_measuring":  # the two figures were drawn
        assert sum("image/png" in o.get("data", {}) for o in outputs) == 2
