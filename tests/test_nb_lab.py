"""The notebooks in a real JupyterLab, in Chromium, on the tiny checkpoint: every cell runs
without an error, the figures and tables are saved as screenshots in tests/artifacts/, and the
chat widget sends on Enter, keeps Shift+Enter as a newline, shows the cost of an attachment
before Send and scrolls a transcript of bounded height."""

from __future__ import annotations

import json
import os
import shutil
import sys
from pathlib import Path

import pytest

from glmv_ui.nb.samples import sample_files
from tests.app_drive import start_group
from tests.serve_helpers import ROOT, free_port, http_ok, wait_ready

ARTIFACTS = ROOT / "tests" / "artifacts"
TOKEN = "glmv-nb-lab"
# Each notebook, and the cells (found by a piece of their source) whose output is shot.
SHOTS = {
    "01_quickstart": ["with_seed(seed)", "widget = ChatWidget(model)"],
    "08_batch": [
        "run = run_batch(",
        "what_was_sent(model",
        "side = compare(",
        "paths = run.export(",
    ],
    "02_documents": ["thumbnail(pages[0].image)"],
    "03_video": ["font = ImageFont", "what_was_sent(model"],
    "04_grounding": ["score = score_boxes("],
    "05_webpage": ["preview_iframe(page"],
    "07_measuring": ["fig.suptitle", "both = compare("],
}
ALL_DONE_JS = """() => {
  const panel = window.jupyterapp.shell.currentWidget;
  if (!panel || !panel.content || !panel.content.model) return false;
  const cells = Array.from(panel.content.model.cells);
  return cells.every(c => c.type !== "code" || (c.executionCount !== null
      && c.executionCount !== undefined))
      && panel.sessionContext.session?.kernel?.status === "idle";
}"""
ERRORS_JS = """() => Array.from(window.jupyterapp.shell.currentWidget.content.model.cells)
  .flatMap(c => c.type === "code" ? c.outputs.toJSON() : [])
  .filter(o => o.output_type === "error").map(o => o.ename + ": " + o.evalue)"""


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory):
    """JupyterLab on a copy of the notebooks (autosave never writes outputs into the checkout),
    with a kernel on this interpreter and the tiny model chosen."""
    base = tmp_path_factory.mktemp("lab")
    root = base / "notebooks"
    shutil.copytree(ROOT / "notebooks", root)
    spec = base / "jupyter" / "kernels" / "python3"
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
    settings = base / "settings"
    for plugin, values in {
        "@jupyterlab/apputils-extension/notification": {
            "fetchNews": "false",
            "checkForUpdates": False,
        },
        "@jupyterlab/notebook-extension/tracker": {"windowingMode": "none"},
    }.items():
        path = settings / f"{plugin}.jupyterlab-settings"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(values))
    home = base / "home"
    home.mkdir()
    env = {
        "HOME": str(home),
        "JUPYTER_PATH": str(base / "jupyter"),
        "JUPYTER_CONFIG_DIR": str(home / "cfg"),
        "JUPYTER_RUNTIME_DIR": str(home / "run"),
        "JUPYTER_DATA_DIR": str(home / "data"),
        "JUPYTERLAB_SETTINGS_DIR": str(settings),
        "JUPYTERLAB_WORKSPACES_DIR": str(home / "ws"),
        "GLMV_MODEL": "tiny-glm41v",
        "PYTHONPATH": os.pathsep.join([str(ROOT), *filter(None, [os.environ.get("PYTHONPATH")])]),
    }
    port = free_port()
    server = start_group(
        [
            str(Path(sys.executable).with_name("jupyter-lab")),
            "--no-browser",
            "--ip=127.0.0.1",
            f"--port={port}",
            f"--ServerApp.token={TOKEN}",
            f"--ServerApp.root_dir={root}",
            "--LabApp.expose_app_in_browser=True",
            "--allow-root",
        ],
        base / "lab.log",
        env=env,
        cwd=root,
        port=port,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        wait_ready(
            server,
            lambda: http_ok(f"{url}/lab?token={TOKEN}", "JupyterLab"),
            timeout_s=120,
            what="JupyterLab",
        )
        yield url, root
    finally:
        server.stop()


def _open_and_run(chromium, url: str, name: str):
    page = chromium.new_page(viewport={"width": 1280, "height": 1100})
    # ``reset``: only this notebook opens (not every one the workspace saw before).
    page.goto(f"{url}/lab/tree/{name}.ipynb?reset&token={TOKEN}")
    page.wait_for_function(
        "() => window.jupyterapp?.shell?.currentWidget?.sessionContext"
        "?.session?.kernel?.status === 'idle'",
        timeout=120_000,
    )
    page.evaluate("() => window.jupyterapp.commands.execute('notebook:run-all-cells')")
    page.wait_for_function(ALL_DONE_JS, timeout=180_000, polling=500)
    return page


def _close(page) -> None:
    """Shut the notebook's kernel down (a page left open keeps its kernel) and close it."""
    page.evaluate("() => window.jupyterapp.shell.currentWidget.sessionContext.shutdown()")
    page.close()


def _shoot(page, source: str, path: Path) -> None:
    """Scroll the cell whose source holds ``source`` to the top and take the window."""
    found = page.evaluate(
        """(needle) => {
      const panel = window.jupyterapp.shell.currentWidget;
      const i = Array.from(panel.content.model.cells).findIndex(
          c => c.sharedModel.getSource().includes(needle));
      if (i < 0) return false;
      panel.content.widgets[i].node.scrollIntoView({block: "start"});
      return true;
    }""",
        source,
    )
    assert found, f"no cell holds {source!r}"
    # The picture is taken once every image on the page has decoded.
    page.wait_for_function("[...document.images].every((i) => i.complete)")
    page.screenshot(path=str(path))


@pytest.mark.parametrize("name", list(SHOTS))
def test_notebook_runs_in_jupyterlab(chromium, lab, name: str) -> None:
    url, _root = lab
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page = _open_and_run(chromium, url, name)
    try:
        assert page.evaluate(ERRORS_JS) == []
        for i, source in enumerate(SHOTS[name], 1):
            _shoot(page, source, ARTIFACTS / f"lab_{name}_{i}.png")
    finally:
        _close(page)


def test_the_chat_widget_in_jupyterlab(chromium, lab) -> None:
    import nbformat
    from nbformat.v4 import new_code_cell, new_notebook
    from playwright.sync_api import expect

    url, root = lab
    reply = "<think>Looking.</think><answer>" + "A line of the answer. " * 40 + "</answer>"
    nbformat.write(
        new_notebook(
            cells=[
                new_code_cell(
                    "from glmv_ui.engines.scripted import ScriptedEngine\n"
                    "from glmv_ui.notebook import ChatWidget\n\n"
                    f"widget = ChatWidget(ScriptedEngine('glm4v', default={reply!r}))\n"
                    "widget"
                )
            ],
            metadata={
                "kernelspec": {"name": "python3", "language": "python", "display_name": "Python 3"}
            },
        ),
        root / "widget.ipynb",
    )
    page = _open_and_run(chromium, url, "widget")
    try:
        box = page.locator(".glmv-chat-input textarea")
        box.click()
        box.press_sequentially("first line")
        box.press("Shift+Enter")
        box.press_sequentially("second line")
        expect(box).to_have_value("first line\nsecond line")  # Shift+Enter: a newline
        box.press("Enter")  # Enter: sent
        transcript = page.locator(".glmv-transcript")
        expect(transcript).to_contain_text("first line")
        expect(transcript).to_contain_text("A line of the answer.")
        expect(box).to_have_value("")
        for n in range(2, 5):
            box.press_sequentially(f"question {n}")
            box.press("Enter")
            expect(transcript).to_contain_text(f"question {n}")
            expect(page.locator("button.glmv-send")).to_be_enabled()
        page.wait_for_function(
            """() => {
          const t = document.querySelector(".glmv-transcript");
          return t.scrollHeight > t.clientHeight + 100
              && t.scrollTop + t.clientHeight >= t.scrollHeight - 4;
        }""",
            timeout=30_000,
        )  # bounded, overflowing, and scrolled to the newest turn
        height = transcript.evaluate("t => t.clientHeight")
        assert 300 <= height <= 420
        photo = root / "lab_photo.png"
        shutil.copy(sample_files(root / "samples").photo, photo)
        with page.expect_file_chooser() as chooser:
            page.locator(".glmv-chat .widget-upload").click()
        chooser.value.set_files(str(photo))
        cost = page.locator(".glmv-chat .widget-hbox .widget-html")
        expect(cost).to_contain_text("visual tokens of")
        expect(cost).to_contain_text("lab_photo.png")
        page.locator(".glmv-chat").scroll_into_view_if_needed()
        page.screenshot(path=str(ARTIFACTS / "lab_widget.png"))
    finally:
        _close(page)
