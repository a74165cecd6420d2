"""The newer GLM-V checkpoints on the real transformers path: capabilities read from each tiny
checkpoint, the hybrid template's prompts, media, the thinking controls, Stop, grounding,
4-bit experts, meta-device memory figures, prefix reuse under linear attention, refusals."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from glmv_ui.caps import as_caps, from_folder
from glmv_ui.config import Sampling, default_sampling
from glmv_ui.engines.base import GenerationRequest
from glmv_ui.engines.local import LocalEngine
from glmv_ui.errors import ConfigError
from glmv_ui.media.budget import estimate_visual_tokens
from glmv_ui.media.parts import MediaPart
from glmv_ui.messages import AssistantMessage, SystemMessage, user_message
from glmv_ui.models import ModelCache, estimate_memory, load_model
from glmv_ui.session import Session
from glmv_ui.tiny import ensure_tiny_checkpoint
from tests.helpers import drain, forcing_processor, red_image, stop_after

NEW = ["tiny-glm46v-flash", "tiny-glm46v", "tiny-glm46v-moe", "tiny-glmga", "tiny-glm53"]
SHORT = Sampling(max_new_tokens=10, temperature=0.0)
PACKAGE = Path(__file__).resolve().parent.parent / "glmv_ui"


@pytest.fixture(params=NEW, scope="module")
def tiny_new(request):
    return load_model(request.param)


def _image(w: int = 224, h: int = 224) -> MediaPart:
    return MediaPart("image", "a.png", image=red_image(w, h))


def _video() -> MediaPart:
    frames = tuple(red_image(112, 84, c) for c in ("red", "green", "blue", "white"))
    return MediaPart("video", "v.mp4", frames=frames, timestamps=(0.0, 0.5, 1.0, 1.5), duration=2.0)


def _prompt(engine: LocalEngine, messages, **sampling) -> str:
    request = GenerationRequest(messages=messages, sampling=SHORT.replace(**sampling))
    ids = engine.prepare(request)["input_ids"][0]
    return str(engine.loaded.tokenizer.decode(ids, skip_special_tokens=False))


# -- what each checkpoint can do, read from it -------------------------------------------------


@pytest.mark.parametrize(
    ("name", "model_type", "moe", "thinking", "reuse"),
    [
        ("tiny-glm41v", "glm4v", False, "budget", "crop"),
        ("tiny-glm45v", "glm4v_moe", True, "switch", "crop"),
        ("tiny-glm46v-flash", "glm4v", False, "switch", "crop"),
        ("tiny-glm46v", "glm46v", False, "switch", "crop"),
        ("tiny-glm46v-moe", "glm46v", True, "switch", "crop"),
        ("tiny-glmga", "glmga", False, "switch", "crop"),
        ("tiny-glm53", "glm5_next", True, "effort", "extend"),
    ],
)
def test_capabilities_come_from_config_and_template(name, model_type, moe, thinking, reuse):
    caps = from_folder(ensure_tiny_checkpoint(name))
    assert caps is not None
    assert (caps.family, caps.moe, caps.thinking, caps.prefix_reuse) == (
        model_type,
        moe,
        thinking,
        reuse,
    )
    # Only the always-thinking template's model writes <answer> tags and gets the near-greedy
    # defaults; the budget closes the thought accordingly.
    assert caps.answer_tags is (thinking == "budget")
    assert caps.budget_closing == ("</think><answer>" if thinking == "budget" else "</think>\n")
    assert default_sampling(caps).top_p == (1e-5 if thinking == "budget" else 0.6)


def test_glm53_efforts_and_context_come_from_the_checkpoint():
    caps = from_folder(ensure_tiny_checkpoint("tiny-glm53"))
    assert caps is not None
    assert caps.efforts == ("none", "low", "medium", "high")
    assert caps.context_tokens == 1048576
    assert caps.template_kwargs(thinking=False) == {"reasoning_effort": "none"}
    assert caps.template_kwargs(thinking=True, effort="low") == {"reasoning_effort": "low"}
    assert caps.template_kwargs(thinking=True) == {"reasoning_effort": "high"}


@pytest.mark.slow  # needs torch or transformers
@pytest.mark.parametrize("model_type", ["glm_image", "glm_ocr", "llama"])
def test_other_model_types_are_refused_naming_what_loads(tmp_path, model_type):
    folder = tmp_path / "ckpt"
    folder.mkdir()
    (folder / "config.json").write_text(json.dumps({"model_type": model_type}))
    with pytest.raises(ConfigError) as err:
        load_model(str(folder), cache=ModelCache())
    text = str(err.value)
    assert str(folder) in text
    assert model_type in text
    for loadable in ("glm4v", "glm4v_moe", "glm46v", "glmga", "glm5_next"):
        assert loadable in text
    if model_type == "glm_image":
        assert "image generator" in text
    if model_type == "glm_ocr":
        assert "GlmOcrProcessor" in text


def test_no_family_or_name_comparisons_outside_the_record():
    """Behaviour follows the capabilities record: nothing compares a family string or looks
    for a version in a model's name (the record, the loader's table and the tiny builder
    excepted)."""
    own = {"caps.py", "models.py", "tiny.py", "tiny_templates.py", "config.py"}
    family = r"""["'](glm4v|glm4v_moe|glm46v|glmga|glm5_next)["']"""
    patterns = [
        re.compile(rf"(==|!=)\s*{family}"),
        re.compile(rf"{family}\s*(==|!=)"),
        re.compile(r"""["']\d\.\dv["']\s+in\s"""),
    ]
    found = []
    for path in PACKAGE.rglob("*.py"):
        if path.name in own:
            continue
        for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            if any(p.search(line) for p in patterns):
                found.append(f"{path.relative_to(PACKAGE)}:{n}: {line.strip()}")
    assert found == []


# -- GLM-4.6V-Flash-style prompts: the GLM-V family template -----------------------------------


@pytest.mark.slow  # needs torch or transformers
def test_hybrid_prompts_with_thinking_on_and_off():
    engine = LocalEngine(load_model("tiny-glm46v-flash"))
    text = [user_message("hi")]
    assert _prompt(engine, text, thinking=True) == "[gMASK]<sop><|user|>\nhi<|assistant|>\n"
    assert _prompt(engine, text, thinking=False) == (
        "[gMASK]<sop><|user|>\nhi/nothink<|assistant|>\n<think></think>\n"
    )
    image = [user_message("", [_image(56, 56)])]
    shown = _prompt(engine, image, thinking=False)
    assert shown.startswith("[gMASK]<sop><|user|>\n<|begin_of_image|><|image|>")
    assert shown.endswith("<|end_of_image|>/nothink<|assistant|>\n<think></think>\n")
    video = [user_message("what?", [_video()])]
    shown = _prompt(engine, video, thinking=True)
    assert shown.startswith("[gMASK]<sop><|user|>\n<|begin_of_video|>")
    assert shown.endswith("<|end_of_video|>what?<|assistant|>\n")
    # Earlier reasoning is dropped by the template itself; each past reply is rebuilt as an
    # empty thought plus its answer.
    turns = [
        SystemMessage("Be brief."),
        user_message("a"),
        AssistantMessage("<think>old</think>first"),
        user_message("b"),
    ]
    assert _prompt(engine, turns, thinking=False) == (
        "[gMASK]<sop><|system|>\nBe brief.<|user|>\na/nothink<|assistant|>\n<think></think>\n"
        "first<|user|>\nb/nothink<|assistant|>\n<think></think>\n"
    )
    assert _prompt(engine, turns, thinking=True) == (
        "[gMASK]<sop><|system|>\nBe brief.<|user|>\na<|assistant|>\n<think></think>\n"
        "first<|user|>\nb<|assistant|>\n"
    )


@pytest.mark.slow  # needs torch or transformers
def test_glm53_prompt_opens_the_thought_and_takes_an_effort():
    engine = LocalEngine(load_model("tiny-glm53"))
    text = [user_message("hi")]
    assert _prompt(engine, text, thinking=True, effort="low") == (
        "[gMASK]<sop><|system|>\nReasoning effort: low<|user|>\nhi<|assistant|>\n<think>"
    )
    assert _prompt(engine, text, thinking=False) == (
        "[gMASK]<sop><|user|>\nhi<|assistant|>\n<think></think>\n"
    )


# -- the local engine on each new checkpoint --------------------------------------------------


def test_text_image_video_and_follow_up(tiny_new):
    engine = LocalEngine(tiny_new)
    session = Session(engine, sampling=SHORT)
    first = drain(session.submit("hello there"))
    assert first.turn.status == "done"
    assert first.stats.generated_tokens == 10
    seen = drain(session.submit("what colour?", [_image()]))
    assert seen.stats.visual_tokens == 64  # 224 px -> 16x16 patches -> 2x2 merge
    again = drain(session.submit("and now?"))
    assert again.turn.status == "done"
    clip = Session(engine, sampling=SHORT.replace(thinking=False))
    watched = drain(clip.submit("what happens?", [_video()]))
    assert watched.stats.visual_tokens == 24  # 2 temporal pairs x 6x8 patches / 4
    if tiny_new.caps.prefix_reuse == "crop":
        assert again.stats.reused_tokens > 0
    else:
        assert engine.cache_stats().tokens_reused == 0  # nothing extended a kept prompt exactly


def test_a_pdf_is_read_page_by_page(tiny_new, tmp_path):
    from tests.mediafiles import pdf_file

    session = Session(LocalEngine(tiny_new), sampling=SHORT)
    parts = session.attach([str(pdf_file(tmp_path, pages=2))])
    assert [p.kind for p in parts] == ["image", "image"]
    final = drain(session.submit("what do the pages say?", parts))
    assert final.turn.status == "done"
    # The pages take in the prompt what the budget counted before anything ran (which also
    # counts each image's begin and end markers).
    counted = estimate_visual_tokens(parts) - 2 * len(parts)
    if tiny_new.caps.family != "glm5_next":
        assert final.stats.visual_tokens == counted > 0
    else:
        # GLM-5.3-Flash's processor rounds each side up to the 28-pixel grid where the others
        # round to the nearest: at most one more row and column of merged patches per page.
        extra = sum(p.image.height // 28 + p.image.width // 28 + 1 for p in parts if p.image)
        assert counted < final.stats.visual_tokens <= counted + extra


def test_thinking_control_reaches_the_template(tiny_new):
    engine = LocalEngine(tiny_new)
    on = _prompt(engine, [user_message("hi")], thinking=True)
    off = _prompt(engine, [user_message("hi")], thinking=False)
    assert on != off
    assert off.endswith("<|assistant|>\n<think></think>\n")


def test_parsed_reply_with_a_box_and_stop(tiny_new):
    forced = "<think>look</think>It is at <|begin_of_box|>[100,200,300,400]<|end_of_box|>."
    engine = LocalEngine(
        tiny_new,
        generate_kwargs={"logits_processor": [forcing_processor(tiny_new.tokenizer, forced)]},
    )
    final = drain(
        Session(engine, sampling=Sampling(max_new_tokens=60, temperature=0.0)).submit(
            "where?", [_image()]
        )
    )
    assert final.thinking == "look"
    assert "<|begin_of_box|>" in final.turn.raw
    from glmv_ui.grounding import find_boxes

    assert [(b.x1, b.y1, b.x2, b.y2) for b in find_boxes(final.answer)] == [(100, 200, 300, 400)]
    stopper = Session(LocalEngine(tiny_new), sampling=Sampling(max_new_tokens=2048))
    _, last = stop_after(stopper, "go on", 3)
    assert last.stats.finish_reason == "cancelled"
    assert last.stats.generated_tokens < 2048


# -- 4-bit, memory, prefix reuse ---------------------------------------------------------------


@pytest.mark.slow  # needs torch or transformers
@pytest.mark.parametrize("name", ["tiny-glm46v-moe", "tiny-glm53"])
def test_4bit_packs_fused_experts_and_generates(name):
    from glmv_ui.quant.experts import Experts4bit

    loaded = load_model(name, cache=ModelCache(), quantization="4bit")
    model = loaded.model
    assert not [n for n, p in model.named_parameters() if p.ndim == 3 and ".experts." in n]
    packed = [m for m in model.modules() if isinstance(m, Experts4bit)]
    assert packed
    assert all(m.packed == {"gate_up_proj", "down_proj"} for m in packed)
    final = drain(Session(LocalEngine(loaded), sampling=SHORT).submit("hi", [_image()]))
    assert final.turn.status == "done"
    assert final.stats.generated_tokens == 10


@pytest.mark.slow  # needs torch or transformers
@pytest.mark.parametrize("name", NEW)
def test_memory_estimate_on_the_meta_device(name):
    estimate = estimate_memory(str(ensure_tiny_checkpoint(name)))
    assert estimate.params > 100_000
    assert estimate.by_option["4bit"] < estimate.by_option["bf16"]
    assert estimate.family == as_caps(estimate.family).family


def test_known_new_checkpoints_have_figures():
    for model_id, low, high in [
        ("zai-org/GLM-4.6V", 190, 215),
        ("zai-org/GLM-4.6V-Flash", 18, 22),
        ("zai-org/GLM-5.3-Flash", 560, 600),
    ]:
        estimate = estimate_memory(model_id)
        assert low * 2**30 < estimate.by_option["bf16"] < high * 2**30, model_id
    assert "fp8" in estimate_memory("zai-org/GLM-4.6V-FP8").by_option


@pytest.mark.slow  # needs torch or transformers
def test_linear_attention_cache_serves_only_an_exact_extension():
    from glmv_ui.engines.prefill import kept_from, prefill_inputs

    loaded = load_model("tiny-glm53")
    engine = LocalEngine(loaded)
    request = GenerationRequest(messages=[user_message("hello")], sampling=SHORT)
    prompt = engine._prompt(request)
    first = prefill_inputs(loaded.model, prompt, None, "extend")
    out = loaded.model.generate(**first.kwargs, max_new_tokens=4, do_sample=False)
    kept = kept_from("k", (), prompt, first.cache, out)
    assert kept is not None
    extended = engine._continue_prompt(prompt, out, "</think>\n")
    assert prefill_inputs(loaded.model, extended, kept, "extend").reused == len(kept.ids)
    # The same prompt again shares only a prefix of what was kept: no reuse, a fresh cache.
    again = prefill_inputs(loaded.model, prompt, kept, "extend")
    assert again.reused == 0
    assert again.cache is not kept.cache
