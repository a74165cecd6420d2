"""Privileged actions belong to the operator: model switching is off unless turned on, then only
for operator logins; the API key goes only to the URL the operator configured; a failed switch
keeps the old model serving."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path
from typing import Any

import pytest

from glmv_ui.config import AppConfig
from glmv_ui.engines.scripted import ScriptedEngine
from tests.security.loopback import listening

pytestmark = pytest.mark.slow

LOGINS = "alice:wonderland-7,op:s3cret-op"


def _client(demo: Any, auth: tuple[str, str] | None = None) -> Any:
    from gradio_client import Client

    return Client(demo.local_url, verbose=False, auth=auth)


def _load(client: Any, choice: str = "", url: str = "", served: str = "") -> str:
    status, _timer, notice = client.predict(choice, "none", url, served, api_name="/load_model")
    return f"{status}\n{notice}"


def test_switching_is_off_unless_the_operator_turns_it_on(launch_app: Any) -> None:
    engine = ScriptedEngine("glm4v")
    demo = launch_app(AppConfig(model="glm4v", engine="scripted", host="127.0.0.1"), engine)
    with listening() as attacker:
        text = _load(_client(demo), url=attacker.url + "/v1", served="evil")
        assert "turned off" in text
        assert not attacker.connected.is_set()
    assert demo.glmv_model.engine is not None
    assert demo.glmv_model.name == engine.name


def test_only_an_operator_login_may_switch(launch_app: Any) -> None:
    engine = ScriptedEngine("glm4v")
    config = AppConfig(
        model="glm4v", engine="scripted", model_switch=True, auth=LOGINS, operators="op"
    )
    demo = launch_app(config, engine)
    with listening() as attacker:
        text = _load(_client(demo, ("alice", "wonderland-7")), url=attacker.url + "/v1")
        assert "Only an operator" in text
        assert not attacker.connected.is_set()
    assert demo.glmv_model.name == engine.name
    assert not demo.glmv_model.switching
    with pytest.raises(Exception, match=r"load_model|Unauthorized|401|credentials|login"):
        _load(_client(demo), url="http://127.0.0.1:9/v1")  # anonymous: no way in at all


def test_the_api_key_goes_only_to_the_operators_url(
    launch_app: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GLMV_API_KEY", "sk-operator-secret")
    with listening() as mine, listening() as other:
        config = AppConfig(
            model="glm4v",
            engine="remote",
            remote_url=mine.url + "/v1",
            remote_model="glm",
            model_switch=True,
            auth=LOGINS,
            operators="op",
        )
        demo = launch_app(config)
        assert demo.glmv_model.wait(60)
        op = _client(demo, ("op", "s3cret-op"))
        with pytest.raises(Exception, match=r"could not|answered|failed|HTTP"):
            op.predict("hello", api_name="/ask")
        assert b"authorization: bearer sk-operator-secret" in mine.requests[0].lower()

        _load(op, url=other.url + "/v1", served="glm")
        assert demo.glmv_model.wait(60)
        assert demo.glmv_model.config.remote_url == other.url + "/v1"
        with pytest.raises(Exception, match=r"could not|answered|failed|HTTP"):
            op.predict("hello", api_name="/ask")
        assert other.requests
        assert all(b"sk-operator-secret" not in r for r in other.requests)
        assert all(b"authorization" not in r.lower() for r in other.requests)


def test_a_failed_switch_keeps_the_old_model_serving(launch_app: Any, tmp_path: Path) -> None:
    from glmv_ui.tiny import ensure_tiny_checkpoint

    broken = tmp_path / "broken-model"
    shutil.copytree(ensure_tiny_checkpoint("tiny-glm41v"), broken)
    for weights in broken.glob("*.safetensors"):
        weights.write_bytes(b"\x10\x00\x00\x00\x00\x00\x00\x00{not json at all" + b"\0" * 64)
    engine = ScriptedEngine("glm4v")
    config = AppConfig(
        model="glm4v", engine="scripted", model_switch=True, auth=LOGINS, operators="op"
    )
    demo = launch_app(config, engine)
    op = _client(demo, ("op", "s3cret-op"))
    _load(op, choice=str(broken))
    assert not demo.glmv_model.wait(120) or demo.glmv_model.state == "ready"
    manager = demo.glmv_model
    assert manager.state == "ready"
    assert manager.engine is not None
    assert not manager.switching
    assert "could not load" in manager.switch_note
    assert "still serving" in manager.switch_note
    assert str(tmp_path) not in manager.switch_note  # no server path in what callers see
    answer = json.loads(op.predict("still there?", api_name="/ask"))
    assert answer["answer"] == "Scripted answer."
    assert engine.requests
    status = op.predict(api_name="/model_status")
    assert "could not load" in status
    assert str(tmp_path) not in status


def test_switching_on_with_no_operator_refuses_to_start(tmp_path: Path) -> None:
    import subprocess
    import sys

    root = Path(__file__).resolve().parents[2]
    done = subprocess.run(
        [sys.executable, "app.py", "--engine", "scripted", "--model", "glm4v", "--model-switch"],
        cwd=root,
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "GLMV_AUTH": ""},
    )
    assert done.returncode != 0
    assert "needs GLMV_AUTH logins and GLMV_OPERATORS" in done.stderr
    assert "Traceback" not in done.stderr
    assert "Running on" not in done.stdout


def test_a_switch_that_does_not_fit_releases_the_old_model_and_restores_it(
    launch_app: Any, tmp_path: Path
) -> None:
    from glmv_ui.tiny import ensure_tiny_checkpoint

    huge = tmp_path / "huge-model"
    shutil.copytree(ensure_tiny_checkpoint("tiny-glm41v"), huge)
    config_json = json.loads((huge / "config.json").read_text())
    text = config_json.get("text_config", config_json)
    text.update(hidden_size=65536, intermediate_size=262144, num_hidden_layers=400)
    (huge / "config.json").write_text(json.dumps(config_json))
    config = AppConfig(
        model="glm4v", engine="scripted", model_switch=True, auth=LOGINS, operators="op"
    )
    demo = launch_app(config, ScriptedEngine("glm4v"))
    released: list[int] = []
    demo.glmv_model.on_release(lambda: released.append(1))
    op = _client(demo, ("op", "s3cret-op"))
    _load(op, choice=str(huge))
    manager = demo.glmv_model
    assert manager.wait(120), manager.error
    assert released, "the old model was not released to make room"
    assert "released to make room and has been loaded again" in manager.switch_note
    assert manager.config.model == "glm4v"
    assert manager.state == "ready"
    answer = json.loads(op.predict("still there?", api_name="/ask"))
    assert answer["answer"] == "Scripted answer."
