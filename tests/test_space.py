"""The Space assembler: front matter with documented keys and values only, per-target files and
requirements, and each target's folder installed in a clean virtual environment and started.

Documented values, from https://huggingface.co/docs/hub/spaces-config-reference and
https://huggingface.co/docs/hub/spaces-zerogpu as read when this was written.
"""

from __future__ import annotations

import io
import json
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from glmv_ui.errors import ConfigError
from glmv_ui.space import GRADIO_VERSION, ZEROGPU, build_space, suggest_hardware
from tests.serve_helpers import ROOT, free_port, start_process

DOCUMENTED_KEYS = {
    "title",
    "emoji",
    "colorFrom",
    "colorTo",
    "sdk",
    "python_version",
    "sdk_version",
    "suggested_hardware",
    "suggested_storage",
    "app_file",
    "app_build_command",
    "app_port",
    "base_path",
    "fullWidth",
    "header",
    "short_description",
    "models",
    "datasets",
    "tags",
    "thumbnail",
    "pinned",
    "hf_oauth",
    "hf_oauth_scopes",
    "hf_oauth_expiration_minutes",
    "hf_oauth_authorized_org",
    "disable_embedding",
    "startup_duration_timeout",
    "custom_headers",
    "preload_from_hub",
}
DOCUMENTED_HARDWARE = {
    "cpu-basic",
    "cpu-upgrade",
    "t4-small",
    "t4-medium",
    "l4x1",
    "l4x4",
    "l40sx1",
    "l40sx4",
    "l40sx8",
    "a10g-small",
    "a10g-large",
    "a10g-largex2",
    "a10g-largex4",
    "a100-large",
    "a100x4",
    "a100x8",
}
COLORS = {"red", "yellow", "green", "blue", "indigo", "purple", "pink", "gray"}
ZEROGPU_PYTHON = {"3.10.13", "3.12.12"}
ZEROGPU_TORCH = {"2.8.0", "2.9.1", "2.10.0", "2.11.0"}
MODEL = "zai-org/GLM-4.1V-9B-Thinking"


def _front_matter(folder: Path) -> dict[str, Any]:
    import yaml

    text = (folder / "README.md").read_text(encoding="utf-8")
    assert text.startswith("---\n")
    data = yaml.safe_load(text.split("---\n", 2)[1])
    assert isinstance(data, dict)
    assert set(data) <= DOCUMENTED_KEYS, set(data) - DOCUMENTED_KEYS
    assert data["sdk"] == "gradio"
    assert {data["colorFrom"], data["colorTo"]} <= COLORS
    assert data.get("suggested_hardware", "cpu-basic") in DOCUMENTED_HARDWARE
    return data


def _requirements(folder: Path) -> dict[str, str]:
    """name -> version pin ("" when unpinned)."""
    pins = {}
    for line in (folder / "requirements.txt").read_text().splitlines():
        if line and not line.startswith("#"):
            name, _, version = line.partition("==")
            pins[name] = version
    return pins


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """A project root with the real package and an app.py that only reports how it started."""
    root = tmp_path / "project"
    shutil.copytree(
        ROOT / "glmv_ui", root / "glmv_ui", ignore=shutil.ignore_patterns("__pycache__")
    )
    (root / "glmv_ui" / "__pycache__").mkdir()
    (root / "glmv_ui" / "__pycache__" / "x.cpython-311.pyc").write_bytes(b"")
    (root / "requirements.txt").write_text((ROOT / "requirements.txt").read_text())
    (root / "app.py").write_text(
        "import json, os, sys\n"
        "print(json.dumps({'argv': sys.argv[1:], 'name': __name__,\n"
        "    'env': {k: v for k, v in os.environ.items() if k.startswith('GLMV_')}}))\n"
    )
    return root


def test_files_of_a_tiny_model_space(tmp_path: Path, project: Path) -> None:
    from importlib.metadata import version  # the installed Gradio, without importing it

    out = build_space(tmp_path / "space", "tiny-glm41v", root=project)
    meta = _front_matter(out)
    assert meta["sdk_version"] == GRADIO_VERSION == version("gradio")
    assert meta["python_version"] == "3.11"
    assert meta["suggested_hardware"] == "cpu-basic"
    assert meta["app_file"] == "app.py"
    assert (out / "app.py").is_file()
    assert "models" not in meta
    assert "preload_from_hub" not in meta
    assert (out / "glmv_app.py").read_text() == (project / "app.py").read_text()
    assert (out / "glmv_ui" / "engines" / "zerogpu.py").is_file()
    assert not list(out.rglob("__pycache__"))
    pins = _requirements(out)
    assert {"torch", "torchvision", "transformers", "pymupdf", "av", "httpx"} <= set(pins)
    assert not set(pins) & {"gradio", "gradio[mcp]", "pytest", "ipywidgets", "spaces"}
    assert pins["torch"] == "2.13.0"
    assert "transformers[serving]" not in pins
    packages = (out / "packages.txt").read_text().split()
    assert "libreoffice-impress" in packages
    assert "fonts-noto-cjk" in packages


def test_gpu_space_hardware_follows_memory(tmp_path: Path, project: Path) -> None:
    meta = _front_matter(build_space(tmp_path / "a", MODEL, quantization="4bit", root=project))
    assert meta["models"] == [MODEL]
    assert meta["preload_from_hub"] == [MODEL]
    assert meta["suggested_hardware"] == "t4-medium"
    assert meta["python_version"] == "3.11"
    assert suggest_hardware(MODEL) == "l40sx1"  # ~19 GiB of bf16 weights + headroom
    assert "HF_HOME=/data" not in (tmp_path / "a" / "README.md").read_text()
    with pytest.raises(ConfigError, match="remote"):
        build_space(tmp_path / "b", "zai-org/GLM-4.5V", root=project)
    with pytest.raises(ConfigError, match="hardware"):
        build_space(tmp_path / "c", MODEL, hardware="gpu-9000", root=project)
    with pytest.raises(ConfigError, match="needs a GPU"):
        build_space(tmp_path / "d", MODEL, hardware="cpu-upgrade", root=project)


def test_zerogpu_space_uses_zerogpu_versions_and_no_hardware_key(
    tmp_path: Path, project: Path
) -> None:
    out = build_space(tmp_path / "z", MODEL, hardware=ZEROGPU, root=project)
    meta = _front_matter(out)
    assert "suggested_hardware" not in meta  # ZeroGPU is chosen in the settings, not here
    assert meta["python_version"] in ZEROGPU_PYTHON
    pins = _requirements(out)
    assert pins["torch"] in ZEROGPU_TORCH
    assert pins["torchvision"] == "0.26.0"
    assert "spaces" in pins
    assert "bitsandbytes" not in pins
    assert ZEROGPU in (out / "README.md").read_text()
    assert "GLMV_ZEROGPU_SIZE" not in (out / "app.py").read_text()  # the default size fits
    assert meta == _front_matter(
        build_space(tmp_path / "z2", MODEL, hardware="zerogpu", root=project)
    )
    with pytest.raises(ConfigError, match="quant"):
        build_space(tmp_path / "q", MODEL, hardware=ZEROGPU, quantization="4bit", root=project)
    with pytest.raises(ConfigError, match="96 GB"):
        build_space(tmp_path / "x", "zai-org/GLM-4.5V-FP8", hardware=ZEROGPU, root=project)


def test_remote_engine_space_has_no_torch(tmp_path: Path, project: Path) -> None:
    out = build_space(
        tmp_path / "r",
        engine="remote",
        url="https://api.z.ai/api/paas/v4",
        remote_model="glm-4.5v",
        root=project,
    )
    meta = _front_matter(out)
    assert meta["suggested_hardware"] == "cpu-basic"
    assert "preload_from_hub" not in meta
    pins = _requirements(out)
    assert "httpx" in pins
    assert not set(pins) & {
        "torch",
        "torchvision",
        "transformers",
        "accelerate",
        "bitsandbytes",
        "spaces",
    }
    assert "GLMV_API_KEY" in (out / "README.md").read_text()
    launcher = (out / "app.py").read_text()
    assert "'GLMV_ENGINE', 'remote'" in launcher
    assert "'GLMV_REMOTE_MODEL', 'glm-4.5v'" in launcher
    with pytest.raises(ConfigError, match="--url"):
        build_space(tmp_path / "r2", engine="remote", root=project)
    with pytest.raises(ConfigError, match="CPU flavour"):
        build_space(
            tmp_path / "r3", engine="remote", url="http://x/v1", hardware="t4-small", root=project
        )


def test_existing_folder_is_kept_unless_forced(tmp_path: Path, project: Path) -> None:
    out = tmp_path / "space"
    out.mkdir()
    (out / "keep.txt").write_text("mine")
    with pytest.raises(ConfigError, match="not empty"):
        build_space(out, "tiny-glm41v", root=project)
    assert (out / "keep.txt").read_text() == "mine"
    build_space(out, "tiny-glm41v", overwrite=True, root=project)
    assert not (out / "keep.txt").exists()
    assert (out / "README.md").is_file()


def test_cli_space_command(tmp_path: Path, project: Path) -> None:
    from glmv_ui.cli import main

    buf = io.StringIO()
    assert (
        main(
            [
                "space",
                "--out",
                str(tmp_path / "s"),
                "--model",
                "tiny-glm45v",
                "--root",
                str(project),
            ],
            out=buf,
        )
        == 0
    )
    assert "Space folder written" in buf.getvalue()
    assert _front_matter(tmp_path / "s")["app_file"] == "app.py"
    buf = io.StringIO()
    assert (
        main(["space", "--out", str(tmp_path / "t"), "--model", "zai-org/GLM-4.5V"], out=buf) == 2
    )
    assert "remote-engine Space" in buf.getvalue()


def _launch(out: Path, args: list[str], **env: str) -> dict[str, Any]:
    base = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("GLMV_", "SPACE_ID", "GRADIO_SERVER"))
    }
    run = subprocess.run(
        [sys.executable, "app.py", *args],
        cwd=out,
        env={**base, **env},
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    seen: dict[str, Any] = json.loads(run.stdout)
    return seen


@pytest.mark.slow  # runs the launcher in subprocesses
def test_launcher_applies_defaults_that_space_variables_override(
    tmp_path: Path, project: Path
) -> None:
    out = build_space(tmp_path / "space", "tiny-glm41v", root=project)
    seen = _launch(out, ["--port", "9"])
    assert seen["name"] == "__main__"
    assert seen["argv"] == ["--port", "9", "--model", "tiny-glm41v"]
    assert seen["env"]["GLMV_ENGINE"] == "local"
    # In a Space: listen on all interfaces; a Space variable wins over the built-in default.
    seen = _launch(out, [], SPACE_ID="someone/glmv", GLMV_MODEL="tiny-glm45v")
    assert seen["argv"] == ["--model", "tiny-glm45v", "--host", "0.0.0.0"]
    # A host chosen by the platform or the owner is left to the app (and to Gradio).
    for chosen in ({"GRADIO_SERVER_NAME": "0.0.0.0"}, {"GLMV_HOST": "0.0.0.0"}):
        seen = _launch(out, [], SPACE_ID="someone/glmv", **chosen)
        assert seen["argv"] == ["--model", "tiny-glm41v"]


def test_missing_app_is_reported(tmp_path: Path, project: Path) -> None:
    (project / "app.py").unlink()
    with pytest.raises(ConfigError, match=r"app\.py"):
        build_space(tmp_path / "space", "tiny-glm41v", root=project)


# -- each target's folder in a clean virtual environment --------------------------------------


@pytest.fixture
def venv(tmp_path: Path) -> Iterator[Path]:
    """Where a clean environment goes; removed afterwards (a CUDA torch stack is ~5 GB)."""
    path = tmp_path / "venv"
    yield path
    shutil.rmtree(path, ignore_errors=True)


def _clean_venv(space: Path, venv: Path) -> str:
    """A new venv, with the Python the folder's front matter names, holding the folder's
    requirements and the Gradio the Space's SDK installs, from the package index (--isolated:
    no machine-wide pip settings); its python."""
    version = ".".join(_front_matter(space)["python_version"].split(".")[:2])
    subprocess.run([_python(version), "-m", "venv", str(venv)], check=True, timeout=300)
    pip = [
        str(venv / "bin" / "python"),
        "-m",
        "pip",
        "install",
        "--isolated",
        "--disable-pip-version-check",
        "-q",
    ]
    subprocess.run(
        [*pip, "-r", str(space / "requirements.txt"), f"gradio=={GRADIO_VERSION}"],
        check=True,
        timeout=1500,
    )
    return str(venv / "bin" / "python")


def _python(version: str) -> str:
    """An interpreter of ``version`` (``3.12``): on PATH, or one that pyenv installed (its shims
    answer only for the versions a folder selects)."""
    name = f"python{version}"
    roots = {Path(os.environ.get("PYENV_ROOT", Path.home() / ".pyenv")), Path.home() / ".pyenv"}
    pyenv = sorted(exe for root in roots for exe in root.glob(f"versions/{version}*/bin/{name}"))
    found = [shutil.which(name), *pyenv]
    for exe in filter(None, found):
        if (
            subprocess.run(
                [str(exe), "-c", "import venv"], capture_output=True, timeout=60
            ).returncode
            == 0
        ):
            return str(exe)
    raise AssertionError(f"{name} (the target's Python) is needed to install its folder")


@pytest.mark.slow
@pytest.mark.timeout(1800)
def test_remote_space_installs_without_torch_and_chats(tmp_path: Path, venv: Path) -> None:
    from glmv_ui.tiny import ensure_tiny_checkpoint
    from tests.app_drive import exported_turns, reply_then_stop, wait_for_model
    from tests.serve_helpers import start_transformers_serve

    server = start_transformers_serve(ensure_tiny_checkpoint("tiny-glm41v"), tmp_path / "serve.log")
    try:
        space = build_space(
            tmp_path / "space", engine="remote", url=server.url, remote_model=server.model
        )
        python = _clean_venv(space, venv)
        probe = subprocess.run([python, "-c", "import torch"], capture_output=True, timeout=60)
        assert probe.returncode != 0  # the remote Space has no torch at all
        port = free_port()
        app = start_process(
            [python, "app.py", "--port", str(port)],
            tmp_path / "app.log",
            env={"HF_HUB_OFFLINE": "1", "PYTHONPATH": "", "GRADIO_ANALYTICS_ENABLED": "False"},
            cwd=space,
            port=port,
        )
        try:
            client = wait_for_model(app)
            reply_then_stop(client, {"text": "Hello", "files": []})
            turns = exported_turns(client)
            assert turns[0]["status"] == "cancelled"
            assert turns[0]["raw"]
            assert "Traceback" not in app.output()
        finally:
            app.stop()
    finally:
        server.stop()


@pytest.mark.slow
@pytest.mark.timeout(1800)
def test_gpu_space_installs_and_answers_on_a_tiny_model(tmp_path: Path, venv: Path) -> None:
    """The GPU target's torch (the index's CUDA build) runs on this CPU: the folder installs,
    starts, and streams a reply about an image through the real processor and generate."""
    from gradio_client import handle_file

    from tests.app_drive import exported_turns, reply_then_stop, wait_for_model
    from tests.helpers import red_image

    space = build_space(tmp_path / "space", MODEL, hardware="l40sx1")
    python = _clean_venv(space, venv)
    picture = tmp_path / "red.png"
    red_image().save(picture)
    port = free_port()
    app = start_process(
        [python, "app.py", "--port", str(port), "--host", "127.0.0.1"],
        tmp_path / "app.log",
        cwd=space,
        port=port,
        env={
            "GLMV_MODEL": "tiny-glm41v",
            "HF_HUB_OFFLINE": "1",
            "PYTHONPATH": "",
            "GRADIO_ANALYTICS_ENABLED": "False",
        },
    )
    try:
        client = wait_for_model(app)
        reply_then_stop(
            client, {"text": "Describe the picture.", "files": [handle_file(str(picture))]}
        )
        turns = exported_turns(client)
        assert turns[0]["stats"]["visual_tokens"] > 0
        assert turns[0]["raw"]
        assert "Traceback" not in app.output()
    finally:
        app.stop()


@pytest.mark.slow
@pytest.mark.timeout(1800)
def test_zerogpu_space_installs_and_runs_on_the_zerogpu_path(tmp_path: Path, venv: Path) -> None:
    """The ZeroGPU target's Python, torch and the index's ``spaces``, through the same
    scenario as tests/test_zerogpu.py: image reply, Stop, the worker reused."""
    from tests.test_zerogpu import drive_zerogpu_app

    space = build_space(tmp_path / "space", MODEL, hardware=ZEROGPU)
    python = _clean_venv(space, venv)
    drive_zerogpu_app(space / "app.py", python, tmp_path)
