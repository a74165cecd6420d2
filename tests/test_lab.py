"""``make lab``: JupyterLab on the notebooks, on loopback, as root (``--allow-root``) or as a user.

The test runs ``make lab`` itself. Its install step is the same ``pip install --isolated`` line as
``make demo`` and ``make test`` (which installs requirements-lab.txt too), so the test points make
at a virtual environment that is already installed: a folder whose ``bin`` links to the running
interpreter's, with make's install stamps fresh. Make then runs exactly the lab recipe.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.app_drive import start_group
from tests.serve_helpers import ROOT, free_port, http_ok, wait_ready

TOKEN = "glmv-lab-test"


def _installed_venv(tmp_path: Path) -> Path:
    venv = tmp_path / "venv"
    (venv / "bin").mkdir(parents=True)
    for tool in ("python", "pip", "jupyter"):
        (venv / "bin" / tool).symlink_to(Path(sys.executable).with_name(tool))
    for stamp in (".app-installed", ".lab-installed"):
        (venv / stamp).touch()  # newer than the requirement files: nothing to install
    return venv


def _make_env(**changes: str) -> dict[str, str]:
    """The environment for a make of our own: without the variables of a make that may be
    running the tests (``make test``), which would turn this one into its sub-make."""
    env = {k: v for k, v in os.environ.items() if k not in ("MAKEFLAGS", "MAKELEVEL", "MFLAGS")}
    return {**env, **changes}


def _lab_command(venv: Path, path: str) -> str:
    run = subprocess.run(
        ["make", "--no-print-directory", "-n", "lab", f"VENV={venv}"],
        cwd=ROOT,
        text=True,
        capture_output=True,
        check=True,
        timeout=60,
        env=_make_env(PATH=path),
    )
    return run.stdout.strip().splitlines()[-1]


def test_lab_passes_allow_root_only_to_root(tmp_path: Path) -> None:
    venv = _installed_venv(tmp_path)
    fake = tmp_path / "user-bin"
    fake.mkdir()
    (fake / "id").write_text("#!/bin/sh\necho 1000\n")  # make asks `id -u` who runs it
    (fake / "id").chmod(0o755)
    as_user = _lab_command(venv, f"{fake}:{os.environ['PATH']}")
    assert as_user.startswith(f"{venv}/bin/jupyter lab notebooks/ --ip=127.0.0.1 --no-browser")
    assert "--allow-root" not in as_user
    as_root = _lab_command(venv, os.environ["PATH"])
    assert ("--allow-root" in as_root) == (os.getuid() == 0)


@pytest.mark.slow
def test_make_lab_serves_jupyterlab_on_the_notebooks(tmp_path: Path) -> None:
    import httpx

    venv = _installed_venv(tmp_path)
    port = free_port()
    home = tmp_path / "home"
    home.mkdir()
    env = {
        "JUPYTER_TOKEN": TOKEN,
        "HOME": str(home),
        "JUPYTER_CONFIG_DIR": str(home / "cfg"),
        "JUPYTER_RUNTIME_DIR": str(home / "run"),
        "JUPYTER_DATA_DIR": str(home / "data"),
    }
    lab = start_group(
        ["make", "lab", f"VENV={venv}", f"ARGS=--port={port}"],
        tmp_path / "lab.log",
        env=env,
        cwd=ROOT,
        port=port,
    )
    try:
        base = f"http://127.0.0.1:{port}"
        wait_ready(
            lab,
            lambda: http_ok(f"{base}/lab?token={TOKEN}", "JupyterLab"),
            timeout_s=120,
            what="make lab",
        )
        listing = httpx.get(f"{base}/api/contents?token={TOKEN}", timeout=10).json()
        names = {item["name"] for item in listing["content"]}
        assert "01_quickstart.ipynb" in names
        assert "README.md" in names
        assert httpx.get(f"{base}/api/contents", timeout=10).status_code == 403  # token needed
    finally:
        lab.stop()
