"""A checkpoint folder the suite never built (a glm46v config, random weights, the tokenizer and
a template written here in the GLM-V family format) loads through the normal loader and answers
in the engine, the CLI, the app (gradio_client on loopback) and a notebook."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import nbformat
import pytest

from glmv_ui.config import AppConfig, Sampling
from glmv_ui.engines.local import LocalEngine
from glmv_ui.media.parts import MediaPart
from glmv_ui.models import ModelCache, load_model
from glmv_ui.session import Session
from glmv_ui.tiny import ensure_tiny_checkpoint
from tests.helpers import drain, red_image

ROOT = Path(__file__).resolve().parent.parent
TEMPLATE = (
    "[gMASK]<sop>{% for m in messages %}<|{{ m.role }}|>\n"
    "{% if m.content is string %}{{ m.content }}{% else %}{% for p in m.content %}"
    "{% if p.type == 'image' %}<|begin_of_image|><|image|><|end_of_image|>"
    "{% elif p.type == 'text' %}{{ p.text }}{% endif %}{% endfor %}{% endif %}"
    "{% if m.role == 'user' and enable_thinking is defined and not enable_thinking %}"
    "/nothink{% endif %}{% endfor %}<|assistant|>\n"
    "{% if enable_thinking is defined and not enable_thinking %}<think></think>\n{% endif %}"
)


@pytest.fixture(scope="module")
def unseen(tmp_path_factory: pytest.TempPathFactory) -> Path:
    import torch
    from transformers import AutoModelForImageTextToText, Glm46VConfig, Glm46VProcessor

    source = ensure_tiny_checkpoint("tiny-glm46v")
    processor = Glm46VProcessor.from_pretrained(source)
    ids = processor.tokenizer.convert_tokens_to_ids
    vocab = len(processor.tokenizer)
    text = dict(
        model_type="glm4v_text",
        vocab_size=vocab + (-vocab) % 64,
        hidden_size=128,
        intermediate_size=256,
        num_hidden_layers=1,
        num_attention_heads=4,
        num_key_value_heads=2,
        rope_parameters={
            "rope_type": "default",
            "rope_theta": 10000.0,
            "mrope_section": [2, 3, 3],
            "partial_rotary_factor": 0.5,
        },
        eos_token_id=[ids("<|endoftext|>"), ids("<|user|>")],
    )
    vision = dict(
        model_type="glm4v_vision",
        depth=1,
        hidden_size=32,
        intermediate_size=64,
        num_heads=2,
        out_hidden_size=128,
    )
    config = Glm46VConfig(
        text_config=text,
        vision_config=vision,
        image_token_id=ids("<|image|>"),
        video_token_id=ids("<|video|>"),
        image_start_token_id=ids("<|begin_of_image|>"),
        image_end_token_id=ids("<|end_of_image|>"),
        video_start_token_id=ids("<|begin_of_video|>"),
        video_end_token_id=ids("<|end_of_video|>"),
    )
    torch.manual_seed(1)
    folder = tmp_path_factory.mktemp("ckpt") / "my-checkpoint"
    AutoModelForImageTextToText.from_config(config).save_pretrained(folder)
    processor.chat_template = TEMPLATE
    processor.save_pretrained(folder)
    shutil.copy(source / "generation_config.json", folder)
    return folder


def test_loads_and_answers_through_the_engine(unseen: Path) -> None:
    loaded = load_model(str(unseen), cache=ModelCache())
    assert (loaded.caps.family, loaded.caps.thinking, loaded.caps.moe) == (
        "glm46v",
        "switch",
        False,
    )
    session = Session(LocalEngine(loaded), sampling=Sampling(max_new_tokens=8, thinking=False))
    final = drain(session.submit("hi", [MediaPart("image", "a.png", image=red_image(224, 224))]))
    assert final.turn.status == "done"
    assert final.stats.visual_tokens == 64


@pytest.mark.slow
def test_answers_in_the_cli(unseen: Path) -> None:
    env = {**os.environ, "PYTHONUNBUFFERED": "1", "PYTHONPATH": str(ROOT)}
    out = subprocess.run(
        [
            *(sys.executable, "-m", "glmv_ui", "chat", "--model", str(unseen)),
            *("--prompt", "hi", "--max-new-tokens", "8", "--color", "never"),
        ],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=240,
    )
    assert out.returncode == 0, out.stderr
    assert "8 generated" in out.stdout


@pytest.mark.slow
def test_answers_in_the_app(unseen: Path, launch_app: Any) -> None:
    from gradio_client import Client

    demo = launch_app(AppConfig(model=str(unseen)))
    assert demo.glmv_model.wait(120), demo.glmv_model.error
    client = Client(demo.local_url, verbose=False)
    assert "GLM-4.6V (dense)" in client.predict(api_name="/model_status")
    result = json.loads(client.predict("hi", [], api_name="/ask"))
    assert result["conversation"]
    assert isinstance(result["answer"], str)


@pytest.mark.slow
def test_answers_in_a_notebook(
    unseen: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from nbclient import NotebookClient

    spec = tmp_path / "jupyter" / "kernels" / "python3"
    spec.mkdir(parents=True)
    argv = [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"]
    (spec / "kernel.json").write_text(json.dumps({"argv": argv, "language": "python"}))
    monkeypatch.setenv("JUPYTER_PATH", str(tmp_path / "jupyter"))
    monkeypatch.setenv("GLMV_MODEL", str(unseen))
    monkeypatch.setenv("PYTHONPATH", str(ROOT))
    nb = nbformat.read(ROOT / "notebooks" / "01_quickstart.ipynb", as_version=4)
    run = tmp_path / "run"
    run.mkdir()
    NotebookClient(
        nb, timeout=120, kernel_name="python3", resources={"metadata": {"path": str(run)}}
    ).execute()
    outputs = [o for c in nb.cells if c.cell_type == "code" for o in c.outputs]
    assert not [o for o in outputs if o.output_type == "error"]
    printed = "".join(o.get("text", "") for o in outputs if o.output_type == "stream")
    assert printed.startswith(str(unseen))
