"""Registry, family detection, memory estimates, the shared cache and load errors."""

from __future__ import annotations

import builtins
import json
import shutil

import pytest

from glmv_ui import models
from glmv_ui.config import LoadOptions
from glmv_ui.errors import (
    ConfigError,
    InsufficientMemoryError,
    MissingDependencyError,
    WeightsUnavailableError,
)
from glmv_ui.models import KNOWN_MODELS, ModelCache, estimate_memory, family_of, load_model
from glmv_ui.tiny import ensure_tiny_checkpoint

GiB = 2**30


def test_known_checkpoints_and_families():
    assert set(KNOWN_MODELS) == {
        "zai-org/GLM-4.1V-9B-Thinking",
        "zai-org/GLM-4.1V-9B-Base",
        "zai-org/GLM-4.5V",
        "zai-org/GLM-4.5V-FP8",
        "zai-org/GLM-4.6V",
        "zai-org/GLM-4.6V-FP8",
        "zai-org/GLM-4.6V-Flash",
        "zai-org/GLM-5.3-Flash",
    }
    for model_type in ("glm4v", "glm4v_moe", "glm46v", "glmga", "glm5_next"):
        assert family_of({"model_type": model_type}) == model_type
    with pytest.raises(ConfigError, match="not a GLM-V chat model"):
        family_of({"model_type": "llama"})


@pytest.mark.slow  # needs torch or transformers
def test_family_comes_from_config_not_name(tmp_path):
    # A GLM-4.1V checkpoint in a folder named like GLM-4.5V is still GLM-4.1V.
    misleading = tmp_path / "GLM-4.5V-looking-name"
    shutil.copytree(ensure_tiny_checkpoint("tiny-glm41v"), misleading)
    loaded = load_model(str(misleading), cache=ModelCache())
    assert loaded.family == "glm4v"
    assert not loaded.caps.can_disable_thinking
    assert loaded.caps.uses_budget


def test_tiny_checkpoints_carry_glm_tokens_and_stop_ids():
    for name, family in [("tiny-glm41v", "glm4v"), ("tiny-glm45v", "glm4v_moe")]:
        path = ensure_tiny_checkpoint(name)
        config = json.loads((path / "config.json").read_text())
        assert config["model_type"] == family
        gen = json.loads((path / "generation_config.json").read_text())
        tok = json.loads((path / "tokenizer.json").read_text())
        specials = {t["content"]: t["id"] for t in tok["added_tokens"]}
        for t in [
            "[gMASK]",
            "<sop>",
            "<|user|>",
            "<|assistant|>",
            "<|image|>",
            "<|video|>",
            "<think>",
            "</think>",
            "<answer>",
            "<|begin_of_box|>",
            "<|end_of_box|>",
        ]:
            assert t in specials
        assert config["image_token_id"] == specials["<|image|>"]
        stops = {specials["<|endoftext|>"], specials["<|user|>"], specials["<|observation|>"]}
        assert set(gen["eos_token_id"]) == stops


def test_memory_estimates_count_glm45v_experts_at_4bit():
    dense = estimate_memory("zai-org/GLM-4.1V-9B-Thinking")
    assert 18 * GiB < dense.by_option["bf16"] < 22 * GiB
    assert dense.by_option["4bit"] < dense.by_option["8bit"] < dense.by_option["bf16"]
    assert dense.by_option["4bit"] < 9 * GiB
    moe = estimate_memory("zai-org/GLM-4.5V")
    assert moe.by_option["bf16"] > 190 * GiB
    # 8-bit quantizes Linear layers only: the fused experts (93% of the weights) stay in bf16.
    assert moe.by_option["8bit"] > 0.9 * moe.by_option["bf16"]
    # 4-bit packs them too: 99.7B experts at NF4's 4.13 bits, plus 4.3 GB of bf16 vision
    # tower and embeddings and 5.9B Linear weights in NF4.
    assert 52 * GiB < moe.by_option["4bit"] < 57 * GiB
    assert moe.by_option["4bit"] * 1.15 < 80e9  # one 80 GB GPU, with headroom
    assert "experts" in moe.notes[0]
    assert "4-bit packs them" in moe.notes[0]
    assert not any("not quantize" in note for note in moe.notes)
    assert any("4bit on one 80 GB GPU" in note for note in moe.notes)
    fp8 = estimate_memory("zai-org/GLM-4.5V-FP8")
    assert 95 * GiB < fp8.by_option["fp8"] < 110 * GiB
    assert "| bf16 |" in moe.markdown()
    assert "| 4bit |" in moe.markdown()


@pytest.mark.slow  # needs torch or transformers
def test_memory_estimate_from_the_real_glm45v_shapes_matches_the_table():
    # GLM-4.5V's published config: transformers' defaults plus head_dim 128 and its vocabulary.
    from transformers import Glm4vMoeConfig

    from glmv_ui.quant.footprint import census_from_config

    config = Glm4vMoeConfig(
        text_config={
            "head_dim": 128,
            "vocab_size": 151552,
            "rope_parameters": {
                "rope_type": "default",
                "rope_theta": 10000.0,
                "partial_rotary_factor": 0.5,
                "mrope_section": [8, 12, 12],
            },
        }
    )
    census = census_from_config(config.to_dict())
    assert census.experts == 45 * 128 * 3 * 4096 * 1408
    table = estimate_memory("zai-org/GLM-4.5V").by_option
    for option, need in census.price().items():
        assert abs(need - table[option]) < 0.01 * table[option], option


@pytest.mark.slow  # needs torch or transformers
def test_memory_estimate_from_a_local_config_counts_parameters():
    estimate = estimate_memory("tiny-glm45v")
    assert estimate.family == "glm4v_moe"
    assert 300_000 < estimate.params < 1_000_000
    assert "experts" in estimate.notes[0]


@pytest.mark.slow  # loads the model afresh
@pytest.mark.parametrize("quantization", [None, "4bit"])
def test_memory_estimate_matches_the_bytes_held_after_loading(quantization):
    # Loaded in bf16 (as real checkpoints are), so the estimate's dtypes apply. The estimate
    # counts parameters; the model also holds buffers (rotary frequencies, the router's bias),
    # which is the whole allowed difference.
    from glmv_ui.quant.experts import held_bytes

    loaded = load_model(
        "tiny-glm45v", cache=ModelCache(), dtype="bfloat16", quantization=quantization
    )
    held = held_bytes(loaded.model)
    buffers = sum(b.numel() * b.element_size() for b in loaded.model.buffers())
    estimate = estimate_memory("tiny-glm45v").by_option[quantization or "bf16"]
    assert abs(held - estimate) <= buffers, (held, estimate, buffers)


@pytest.mark.slow  # loads the model twice, once in 8-bit
def test_cache_shares_one_model_per_id_and_options():
    cache = ModelCache()
    a = load_model("tiny-glm41v", cache=cache)
    b = load_model("tiny-glm41v", LoadOptions(), cache=cache)
    c = load_model("tiny-glm41v", cache=cache, quantization="8bit")
    assert a is b
    assert a is not c
    assert len(cache.loaded()) == 2


def test_default_cache_is_process_wide():
    assert models.default_cache() is models.default_cache()


@pytest.mark.slow  # needs torch or transformers
def test_missing_bitsandbytes_is_named(monkeypatch):
    real_import = builtins.__import__

    def fake_import(name, *args, **kwargs):
        if name == "bitsandbytes":
            raise ImportError("No module named 'bitsandbytes'")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", fake_import)
    with pytest.raises(MissingDependencyError, match="bitsandbytes"):
        load_model("tiny-glm41v", cache=ModelCache(), quantization="4bit")


@pytest.mark.slow  # needs torch or transformers
def test_offline_without_weights_names_the_model_and_the_remedy(monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises(WeightsUnavailableError) as err:
        load_model("zai-org/GLM-4.5V", cache=ModelCache())
    message = str(err.value)
    assert "zai-org/GLM-4.5V" in message
    assert "--model" in message
    assert "tiny-glm41v" in message


@pytest.mark.slow  # needs torch or transformers
def test_missing_local_folder_is_clear(tmp_path):
    with pytest.raises(WeightsUnavailableError, match=r"no config\.json"):
        load_model(str(tmp_path), cache=ModelCache())


@pytest.mark.slow  # needs torch or transformers
def test_not_enough_memory_is_refused_before_loading(tmp_path, monkeypatch):
    # A folder with the full-size GLM-4.1V config and no weights: the estimate alone refuses it.
    folder = tmp_path / "glm41v-full"
    folder.mkdir()
    full = {
        "model_type": "glm4v",
        "architectures": ["Glm4vForConditionalGeneration"],
        "text_config": {"model_type": "glm4v_text"},
        "vision_config": {},
    }
    (folder / "config.json").write_text(json.dumps(full))
    monkeypatch.setattr(models, "available_memory", lambda: ("cpu", 4 * GiB))
    with pytest.raises(InsufficientMemoryError, match="GiB") as err:
        load_model(str(folder), cache=ModelCache())
    assert "4-bit" in str(err.value)
