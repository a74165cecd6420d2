"""The Space assembler: front matter, files, requirements, and the built app starting from its own
folder on a tiny checkpoint, with and without the ``spaces`` package."""

from __future__ import annotations

import io
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from glmv_ui.errors import ConfigError
from glmv_ui.space import GRADIO_VERSION, build_space, suggest_hardware
from tests.serve_helpers import ROOT, free_port, start_process, wait_ready


def _front_matter(readme: Path) -> dict[str, Any]:
    import yaml

    text = readme.read_text(encoding="utf-8")
    assert text.startswith("---\n")
    block = text.split("---\n", 2)[1]
    data = yaml.safe_load(block)
    assert isinstance(data, dict)
    return data


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """A project root with the real package and an app.py that only reports how it started."""
    root = tmp_path / "project"
    shutil.copytree(ROOT / "glmv_ui", root / "glmv_ui",
                    ignore=shutil.ignore_patterns("__pycache__"))
    (root / "glmv_ui" / "__pycache__").mkdir()
    (root / "glmv_ui" / "__pycache__" / "x.cpython-311.pyc").write_bytes(b"")
    (root / "requirements.txt").write_text((ROOT / "requirements.txt").read_text())
    (root / "app.py").write_text(
        "import json, os, sys\n"
        "print(json.dumps({'argv': sys.argv[1:], 'name': __name__,\n"
        "    'env': {k: v for k, v in os.environ.items() if k.startswith('GLMV_')}}))\n")
    return root


def test_front_matter_and_files_for_a_tiny_model(tmp_path: Path, project: Path) -> None:
    import gradio

    out = build_space(tmp_path / "space", "tiny-glm41v", root=project)
    meta = _front_matter(out / "README.md")
    assert meta["sdk"] == "gradio"
    assert meta["sdk_version"] == GRADIO_VERSION == gradio.__version__
    assert meta["python_version"] == "3.11"
    assert meta["app_file"] == "app.py" and (out / "app.py").is_file()
    assert meta["suggested_hardware"] == "cpu-basic"
    assert "models" not in meta and "preload_from_hub" not in meta  # tiny ids are not on the Hub
    assert (out / "glmv_app.py").read_text() == (project / "app.py").read_text()
    assert (out / "glmv_ui" / "__init__.py").is_file()
    assert (out / "glmv_ui" / "engines" / "remote.py").is_file()
    assert not list(out.rglob("__pycache__"))
    reqs = (out / "requirements.txt").read_text().splitlines()
    names = {line.split("==")[0] for line in reqs if not line.startswith("#")}
    assert {"torch", "torchvision", "transformers", "pymupdf", "av", "httpx"} <= names
    assert not names & {"gradio", "pytest", "playwright", "ipywidgets", "spaces"}
    assert "transformers==" in "\n".join(reqs) and "[serving]" not in "\n".join(reqs)
    packages = (out / "packages.txt").read_text().split()
    assert "libreoffice-impress" in packages and "fonts-noto-cjk" in packages


def test_hub_models_are_preloaded_and_hardware_follows_memory(tmp_path: Path,
                                                              project: Path) -> None:
    model = "zai-org/GLM-4.1V-9B-Thinking"
    meta = _front_matter(build_space(tmp_path / "a", model, quantization="4bit",
                                     root=project) / "README.md")
    assert meta["models"] == [model] and meta["preload_from_hub"] == [model]
    assert meta["suggested_hardware"] == "t4-medium"
    assert suggest_hardware(model) == "l40sx1"  # ~19 GiB of bf16 weights + headroom
    zero = build_space(tmp_path / "z", model, hardware="zero-a10g", root=project)
    assert _front_matter(zero / "README.md")["suggested_hardware"] == "zero-a10g"
    assert "spaces" in (zero / "requirements.txt").read_text().split()
    with pytest.raises(ConfigError, match="remote"):
        build_space(tmp_path / "b", "zai-org/GLM-4.5V", root=project)
    with pytest.raises(ConfigError, match="hardware"):
        build_space(tmp_path / "c", model, hardware="gpu-9000", root=project)


def test_remote_engine_space(tmp_path: Path, project: Path) -> None:
    out = build_space(tmp_path / "r", engine="remote", url="https://api.z.ai/api/paas/v4",
                      remote_model="glm-4.5v", root=project)
    meta = _front_matter(out / "README.md")
    assert meta["suggested_hardware"] == "cpu-basic"
    assert "preload_from_hub" not in meta
    names = {line.split("==")[0] for line in (out / "requirements.txt").read_text().splitlines()}
    assert "httpx" in names and not names & {"torch", "transformers", "bitsandbytes"}
    assert "GLMV_API_KEY" in (out / "README.md").read_text()
    launcher = (out / "app.py").read_text()
    assert "'GLMV_ENGINE', 'remote'" in launcher and "'GLMV_REMOTE_MODEL', 'glm-4.5v'" in launcher
    with pytest.raises(ConfigError, match="--url"):
        build_space(tmp_path / "r2", engine="remote", root=project)


def test_existing_folder_is_kept_unless_forced(tmp_path: Path, project: Path) -> None:
    out = tmp_path / "space"
    out.mkdir()
    (out / "keep.txt").write_text("mine")
    with pytest.raises(ConfigError, match="not empty"):
        build_space(out, "tiny-glm41v", root=project)
    assert (out / "keep.txt").read_text() == "mine"
    build_space(out, "tiny-glm41v", overwrite=True, root=project)
    assert not (out / "keep.txt").exists() and (out / "README.md").is_file()


def test_cli_space_command(tmp_path: Path, project: Path) -> None:
    from glmv_ui.cli import main

    buf = io.StringIO()
    assert main(["space", "--out", str(tmp_path / "s"), "--model", "tiny-glm45v",
                 "--root", str(project)], out=buf) == 0
    assert "Space folder written" in buf.getvalue()
    assert _front_matter(tmp_path / "s" / "README.md")["app_file"] == "app.py"
    buf = io.StringIO()
    assert main(["space", "--out", str(tmp_path / "t"), "--model", "zai-org/GLM-4.5V"],
                out=buf) == 2
    assert "remote-engine Space" in buf.getvalue()


def test_launcher_applies_defaults_that_space_variables_override(tmp_path: Path,
                                                                 project: Path) -> None:
    out = build_space(tmp_path / "space", "tiny-glm41v", root=project)
    assert not list(out.rglob("__pycache__"))
    env = {k: v for k, v in os.environ.items() if not k.startswith(("GLMV_", "SPACE_ID"))}
    run = subprocess.run([sys.executable, "app.py", "--port", "9"], cwd=out, env=env,
                         capture_output=True, text=True, timeout=60, check=True)
    seen = json.loads(run.stdout)
    assert seen["name"] == "__main__"
    assert seen["argv"] == ["--port", "9", "--model", "tiny-glm41v"]
    assert seen["env"]["GLMV_ENGINE"] == "local"
    # In a Space: listen on all interfaces; a Space variable wins over the built-in default.
    env.update(SPACE_ID="someone/glmv", GLMV_MODEL="tiny-glm45v")
    run = subprocess.run([sys.executable, "app.py"], cwd=out, env=env, capture_output=True,
                         text=True, timeout=60, check=True)
    seen = json.loads(run.stdout)
    assert seen["argv"] == ["--model", "tiny-glm45v", "--host", "0.0.0.0"]


def _start_built_app(space: Path, log: Path, pythonpath: str) -> None:
    port = free_port()
    env = {"GLMV_MODEL": "tiny-glm41v", "HF_HUB_OFFLINE": "1", "PYTHONPATH": pythonpath,
           "GRADIO_ANALYTICS_ENABLED": "False", "TOKENIZERS_PARALLELISM": "false"}
    server = start_process([sys.executable, "app.py", "--model", "tiny-glm41v", "--port",
                            str(port), "--host", "127.0.0.1"], log, env=env, cwd=space,
                           port=port)
    try:
        wait_ready(server, lambda: _serves_gradio(server.base_url), timeout_s=180,
                   what="the Space app")
        assert "Traceback" not in server.output()
    finally:
        server.stop()


def _serves_gradio(base_url: str) -> bool:
    import httpx

    try:
        page = httpx.get(base_url + "/", timeout=5.0)
        config = httpx.get(base_url + "/config", timeout=5.0)
    except httpx.HTTPError:
        return False
    return (page.status_code == 200 and config.status_code == 200
            and "components" in config.json())


def test_missing_app_is_reported(tmp_path: Path, project: Path) -> None:
    (project / "app.py").unlink()
    with pytest.raises(ConfigError, match=r"app\.py"):
        build_space(tmp_path / "space", "tiny-glm41v", root=project)


@pytest.mark.slow
def test_built_app_starts_with_spaces(tmp_path: Path) -> None:
    space = build_space(tmp_path / "space", "tiny-glm41v")
    _start_built_app(space, tmp_path / "app.log", pythonpath="")


@pytest.mark.slow
def test_built_app_starts_without_spaces(tmp_path: Path) -> None:
    space = build_space(tmp_path / "space", "tiny-glm41v")
    shim = tmp_path / "shim"
    shim.mkdir()
    (shim / "spaces.py").write_text("raise ImportError('spaces is not installed here')\n")
    check = subprocess.run([sys.executable, "-c", "import spaces"], cwd=space,
                           env={**os.environ, "PYTHONPATH": str(shim)}, capture_output=True,
                           text=True, timeout=60)
    assert check.returncode != 0 and "spaces is not installed here" in check.stderr
    _start_built_app(space, tmp_path / "app.log", pythonpath=str(shim))


@pytest.mark.slow
def test_remote_engine_space_chats_and_stops(tmp_path: Path) -> None:
    """The built remote-engine Space, its app, the remote engine and a real server together:
    a reply streams through the page's API and Stop ends it early."""
    import time

    from gradio_client import Client

    from glmv_ui.tiny import ensure_tiny_checkpoint
    from tests.serve_helpers import http_ok, start_transformers_serve

    server = start_transformers_serve(ensure_tiny_checkpoint("tiny-glm41v"),
                                      tmp_path / "serve.log")
    try:
        space = build_space(tmp_path / "space", engine="remote", url=server.url,
                            remote_model=server.model)
        port = free_port()
        env = {"HF_HUB_OFFLINE": "1", "PYTHONPATH": "", "GRADIO_ANALYTICS_ENABLED": "False"}
        app = start_process([sys.executable, "app.py", "--port", str(port)],
                            tmp_path / "app.log", env=env, cwd=space, port=port)
        try:
            wait_ready(app, lambda: http_ok(app.base_url + "/config", "components"),
                       timeout_s=180, what="the remote Space app")
            client = Client(app.base_url + "/", verbose=False)
            job = client.submit({"text": "Hello", "files": []}, api_name="/chat")
            first = ""
            for output in job:
                messages = output[0]
                if messages and messages[-1]["role"] == "assistant" and messages[-1]["content"]:
                    first = messages[-1]["content"][0]["text"]
                    break
            assert first.strip()
            started = time.perf_counter()
            client.predict(api_name="/stop")
            final = job.result(timeout=60)[0][-1]["content"][0]["text"]
            assert final.startswith(first)
            # Thousands of tokens were asked for; Stop ended the reply after a few.
            assert len(final) < 3000 and time.perf_counter() - started < 30
        finally:
            app.stop()
    finally:
        server.stop()
