"""Switching the model from the page: the old model is released (its memory comes back), every
tab keeps its conversation and is told once; only an operator may switch, and only when the
operator turned switching on."""

from __future__ import annotations

import gc
import sys
import weakref
from pathlib import Path
from typing import Any

import pytest

from glmv_ui.config import AppConfig, LoadOptions
from tests.serve_helpers import free_port, http_ok, start_process, wait_ready

ROOT = Path(__file__).resolve().parent.parent

# Loading a model in the app process reads, builds and warms it: on a shared 2-core machine
# that has taken tens of seconds. The wait is for the status line, with a ceiling that only
# catches hangs.
LOAD_WAIT_MS = 180_000


class _Request:
    def __init__(self, session_hash: str) -> None:
        self.session_hash = session_hash


@pytest.mark.slow  # loads and frees both models
def test_switching_releases_the_old_model_and_keeps_conversations() -> None:
    from glmv_ui.conversation import Turn
    from glmv_ui.session import Session
    from glmv_ui.ui.api import ConversationStore
    from glmv_ui.ui.model import ModelManager
    from glmv_ui.ui.state import SessionRegistry

    # Options of their own, so the shared cache of other tests does not hold the same model.
    options = LoadOptions(dtype="float32")
    manager = ModelManager(AppConfig(model="tiny-glm41v", load=options))
    registry = SessionRegistry()
    store = ConversationStore()  # the conversations of MCP and API callers
    manager.on_release(registry.release_all)
    manager.on_release(store.release_all)
    manager.start()
    assert manager.wait(120), manager.error
    old_engine = manager.require("en")
    model = weakref.ref(old_engine.loaded.model)  # type: ignore[attr-defined]
    a, b = registry.get(_Request("a")), registry.get(_Request("b"))
    for state in (a, b):
        state.ensure_session(old_engine, manager.config).conversation.append(
            Turn("hello", raw="hi")
        )
    caller = Session(old_engine)
    caller.conversation.append(Turn("from mcp", raw="ok"))
    key = store.open(caller)
    del old_engine, caller

    manager.switch(AppConfig(model="tiny-glm45v", load=options))
    assert manager.wait(120), manager.error
    assert manager.family == "glm4v_moe"
    assert manager.generation == 1
    gc.collect()
    assert model() is None, "the old model is still held somewhere"
    assert [t.text for t in a.turns] == ["hello"]
    assert [t.text for t in b.turns] == ["hello"]
    session = a.ensure_session(manager.require("en"), manager.config)
    assert session.engine.family == "glm4v_moe"
    assert session.turns[0].raw == "hi"
    again = store.get(key, manager.require("en"), manager.config.media)
    assert again.engine is manager.require("en")
    assert again.turns[0].text == "from mcp"


def test_switching_is_the_operators_choice() -> None:
    from glmv_ui.errors import ConfigError

    logins = "ann:pw-ann,op:pw-op"
    assert not AppConfig().switching_allowed()  # off unless turned on, wherever it listens
    assert not AppConfig(host="127.0.0.1", auth=logins, operators="op").switching_allowed()
    on = AppConfig(model_switch=True, auth=logins, operators="op")
    assert on.switching_allowed()
    assert on.may_switch("op")
    assert not on.may_switch("ann")
    assert not on.may_switch(None)
    assert not on.may_switch("")
    with pytest.raises(ConfigError, match="GLMV_OPERATORS"):
        AppConfig(model_switch=True).check_access()  # on, but nobody may use it
    with pytest.raises(ConfigError, match="GLMV_OPERATORS"):
        AppConfig(model_switch=True, auth=logins, operators="mallory").check_access()
    assert AppConfig.from_env({"GLMV_MODEL_SWITCH": "0"}).model_switch is False
    assert AppConfig.from_env({"GLMV_OPERATORS": "op"}).operators == "op"


@pytest.mark.browser
@pytest.mark.slow
def test_switching_from_the_page_and_back_returns_the_memory(tmp_path: Path, chromium: Any) -> None:
    import psutil
    from playwright.sync_api import expect

    port = free_port()
    server = start_process(
        [sys.executable, "app.py", "--model", "tiny-glm41v", "--port", str(port), "--model-switch"],
        tmp_path / "app.log",
        port=port,
        cwd=ROOT,
        env={"GLMV_AUTH": "op:pw-op", "GLMV_OPERATORS": "op"},
    )
    try:
        wait_ready(server, lambda: http_ok(server.base_url), what="the app")
        process = psutil.Process(server.process.pid)
        page = chromium.new_page(viewport={"width": 1400, "height": 1000})
        page.set_default_timeout(LOAD_WAIT_MS)
        # Only an operator may switch: log in as one (the context keeps the cookie).
        login = page.request.post(
            server.base_url + "/login", form={"username": "op", "password": "pw-op"}
        )
        assert login.ok, login.status
        page.goto(server.base_url)
        status = page.locator("#glmv-model-status")
        expect(status).to_contain_text("loaded in", timeout=LOAD_WAIT_MS)
        tokens = page.locator("#glmv-max-new-tokens input[type=number]")
        tokens.fill("24")
        tokens.press("Enter")
        page.locator("#glmv-input textarea").fill("Say something.")
        page.locator("#glmv-input textarea").press("Enter")
        expect(page.locator("#glmv-chat")).to_contain_text("generated")
        baseline = process.memory_info().rss

        page.locator("#glmv-model-acc").click()
        choice = page.locator("#glmv-model-choice input")
        for target, family in (("tiny-glm45v", "GLM-4.5V"), ("tiny-glm41v", "GLM-4.1V")):
            choice.fill(target)
            choice.press("Enter")
            expect(page.locator("#glmv-model-estimate")).to_contain_text(target)
            page.locator("#glmv-model-load").click()
            expect(status).to_contain_text(f"{target}")
            expect(status).to_contain_text(family)
            expect(status).to_contain_text("loaded in", timeout=LOAD_WAIT_MS)
            expect(page.locator("#glmv-notice")).to_contain_text(f"The model is now {target}")
            page.screenshot(path=str(ROOT / "tests" / "artifacts" / f"page_switch_{target}.png"))
        expect(page.locator("#glmv-chat")).to_contain_text("Say something.")
        after = process.memory_info().rss
        assert after <= baseline * 1.10, (baseline, after)
    finally:
        server.stop()
