"""Where the app listens: its flags, then ``GLMV_HOST`` / ``GLMV_PORT``, then Gradio's own
``GRADIO_SERVER_NAME`` / ``GRADIO_SERVER_PORT`` (which Docker images and other hosts set)."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from glmv_ui.config import AppConfig
from tests.serve_helpers import ROOT, free_port, http_ok, start_process, wait_ready

SCRIPTED = ["--engine", "scripted", "--model", "glm4v"]  # no model to load: starts in seconds


@pytest.mark.slow  # imports gradio
def test_launch_leaves_host_and_port_to_gradio_unless_set(monkeypatch: pytest.MonkeyPatch) -> None:
    from app import parse_args
    from glmv_ui.ui import launch_options

    for var in ("GLMV_HOST", "GLMV_PORT"):
        monkeypatch.delenv(var, raising=False)
    options = launch_options(parse_args([]))
    assert "server_name" not in options
    assert "server_port" not in options
    monkeypatch.setenv("GLMV_PORT", "8123")
    monkeypatch.setenv("GLMV_HOST", "0.0.0.0")
    options = launch_options(parse_args([]))
    assert options["server_name"] == "0.0.0.0"
    assert options["server_port"] == 8123
    options = launch_options(parse_args(["--port", "8124", "--host", "127.0.0.1"]))
    assert options["server_name"] == "127.0.0.1"
    assert options["server_port"] == 8124
    assert AppConfig().host is None
    assert AppConfig().port is None


@contextmanager
def _serving(tmp_path: Path, env: dict[str, str], url: str, port: int) -> Iterator[None]:
    """``python app.py`` with ``env``, until it serves its config at ``url``."""
    app = start_process(
        [sys.executable, "app.py", *SCRIPTED],
        tmp_path / "app.log",
        env={"GRADIO_ANALYTICS_ENABLED": "False", **env},
        cwd=ROOT,
        port=port,
    )
    try:
        wait_ready(
            app, lambda: http_ok(url + "/config", "components"), timeout_s=120, what="app.py"
        )
        yield
    finally:
        app.stop()


@pytest.mark.slow
def test_gradio_server_port_7999(tmp_path: Path) -> None:
    with _serving(tmp_path, {"GRADIO_SERVER_PORT": "7999"}, "http://127.0.0.1:7999", 7999):
        pass


@pytest.mark.slow
def test_gradio_server_name_is_honoured_and_glmv_port_wins(tmp_path: Path) -> None:
    gradio_port, glmv_port = free_port(), free_port()
    # Any 127.x address is loopback on Linux: serving on 127.0.0.2 proves the name was used.
    env = {
        "GRADIO_SERVER_NAME": "127.0.0.2",
        "GRADIO_SERVER_PORT": str(gradio_port),
        "GLMV_PORT": str(glmv_port),
    }
    with _serving(tmp_path, env, f"http://127.0.0.2:{glmv_port}", glmv_port):
        assert not http_ok(f"http://127.0.0.2:{gradio_port}/config")
        assert not http_ok(f"http://127.0.0.1:{glmv_port}/config")
