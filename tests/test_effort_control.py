"""A checkpoint whose template takes a reasoning effort (GLM-5.3-Flash) gets an effort dropdown
on the page, labelled in both languages, and the API, MCP and the CLI take the same setting; the
thinking switch and the budget stay for the checkpoints that have them."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from glmv_ui.caps import Capabilities, as_caps
from glmv_ui.config import AppConfig
from glmv_ui.ui.settings import Settings, effort_choices

ROOT = Path(__file__).resolve().parent.parent


def test_the_effort_decides_thinking_where_the_template_takes_one() -> None:
    caps = as_caps("glm5_next")
    assert caps.thinking == "effort"
    low = Settings.from_inputs(effort="low").sampling(caps)
    assert (low.effort, low.thinking) == ("low", True)
    off = Settings.from_inputs(effort="none", thinking=True).sampling(caps)
    assert (off.effort, off.thinking) == ("none", False)
    assert caps.template_kwargs(off.thinking, off.effort) == {"reasoning_effort": "none"}
    unknown = Settings.from_inputs(effort="extreme").sampling(caps)
    assert unknown.effort is None
    assert caps.template_kwargs(unknown.thinking, unknown.effort) == {"reasoning_effort": "high"}
    assert caps.default_effort == "high"


def test_other_checkpoints_ignore_an_effort() -> None:
    for family in ("glm4v_moe", "glm4v"):
        caps = as_caps(family)
        sampling = Settings.from_inputs(effort="none", thinking=True).sampling(caps)
        assert sampling.effort is None
        assert sampling.thinking is True
        assert "reasoning_effort" not in caps.template_kwargs(sampling.thinking, sampling.effort)


def test_effort_labels_in_both_languages_keep_the_values() -> None:
    caps = as_caps("glm5_next")
    en, zh = effort_choices(caps, "en"), effort_choices(caps, "zh")
    assert [value for _, value in en] == list(caps.efforts) == [value for _, value in zh]
    assert en[0] == ("Off (a quick answer)", "none")
    assert dict((v, k) for k, v in zh)["high"] == "高"
    assert effort_choices(as_caps("glm4v_moe"), "en") == [("", "")]  # hidden, and "" is none


@pytest.mark.slow  # launches the app on a real checkpoint
def test_the_page_offers_an_effort_and_the_api_sends_it(
    launch_app: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from gradio_client import Client

    sent: list[dict[str, Any]] = []
    real = Capabilities.template_kwargs

    def spy(self: Capabilities, thinking: bool, effort: str | None = None) -> dict[str, Any]:
        out = real(self, thinking, effort)
        sent.append(out)
        return out

    monkeypatch.setattr(Capabilities, "template_kwargs", spy)
    demo = launch_app(AppConfig(model="tiny-glm53"))
    assert demo.glmv_model.wait(120), demo.glmv_model.error
    # The components as the page draws them: the effort dropdown, no switch, no budget.
    ui = demo.glmv_chat.ui
    props = {c["id"]: c["props"] for c in demo.config["components"]}
    effort = props[ui.effort._id]
    assert effort["visible"] is True
    assert effort["label"] == "Reasoning effort"
    assert [value for _, value in effort["choices"]] == ["none", "low", "medium", "high"]
    assert effort["value"] == "high"
    assert props[ui.thinking._id]["visible"] is False
    assert props[ui.thinking_budget._id]["visible"] is False

    client = Client(demo.local_url, verbose=False)
    info = json.loads(client.predict(api_name="/model_info"))
    assert info["thinking_control"] == "effort"
    assert info["efforts"] == ["none", "low", "medium", "high"]
    sent.clear()
    json.loads(client.predict("hi", [], effort="low", max_new_tokens=4, api_name="/ask"))
    assert {"reasoning_effort": "low"} in sent
    sent.clear()
    json.loads(client.predict("hi", [], effort="none", max_new_tokens=4, api_name="/ask"))
    assert {"reasoning_effort": "none"} in sent
    # The language switch relabels the dropdown and its choices, the values stay.
    relabelled = client.predict("zh", api_name="/set_language")
    assert any(
        isinstance(u, dict)
        and u.get("label") == "推理强度"
        and ["关闭（快速作答）", "none"] in (u.get("choices") or [])
        for u in relabelled
    )


@pytest.mark.slow  # a fresh interpreter loads the checkpoint
def test_the_cli_takes_an_effort_and_names_the_ones_a_model_knows() -> None:
    env = {**os.environ, "PYTHONUNBUFFERED": "1", "PYTHONPATH": str(ROOT)}
    base = [sys.executable, "-m", "glmv_ui", "chat", "--prompt", "hi", "--max-new-tokens", "4"]

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [*base, *args, "--color", "never"],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=240,
        )

    ok = run("--model", "tiny-glm53", "--effort", "none")
    assert ok.returncode == 0, ok.stderr
    assert "4 generated" in ok.stdout
    refused = run("--model", "tiny-glm41v", "--effort", "low")
    assert refused.returncode != 0
    assert "--effort low: this model takes no effort" in (refused.stdout + refused.stderr)
    assert "Traceback" not in refused.stderr
