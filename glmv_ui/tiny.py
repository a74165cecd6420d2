"""Tiny random-weight GLM-V checkpoints, built locally, for offline use and tests.

One per architecture the app loads, each at a few hundred thousand parameters: ``tiny-glm41v``
(``glm4v``, GLM-4.1V's template), ``tiny-glm45v`` (``glm4v_moe``), ``tiny-glm46v-flash`` (``glm4v``
with the hybrid GLM-V family template, as GLM-4.6V-Flash is published), ``tiny-glm46v`` and
``tiny-glm46v-moe`` (``glm46v`` with a dense and an MoE text part), ``tiny-glmga`` and
``tiny-glm53`` (``glm5_next``: linear-attention and sparse MLA layers, fused experts, a template
that always opens the thought and takes a reasoning effort). Each has a small tokenizer that
carries every GLM special token, a chat template in its family's format, the real processor
configs and a generation config with the GLM stop tokens. They load through the
same code as the real checkpoints, so the app, the notebooks and the tests run without weights.

Shapes keep two constraints: every Linear that bitsandbytes quantizes has ``in_features`` a
multiple of 64 (so 4-bit and 8-bit loading work on the CPU), and
``head_dim * partial_rotary_factor / 2 == sum(mrope_section)``.

The vocabulary is made of whole English words, so a random model's output reads as word salad
rather than broken bytes. Checkpoints are written once per version under the cache folder
(``GLMV_CACHE`` or ``~/.cache/glmv_ui``) and reused.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from pathlib import Path
from typing import Any

from .config import HostSettings
from .tiny_templates import GLM53_TEMPLATE, GLM_V_HYBRID_TEMPLATE

__all__ = ["SPECIAL_TOKENS", "TINY_MODELS", "ensure_tiny_checkpoint", "is_tiny", "tiny_cache_dir"]

TINY_VERSION = 3
# name -> (model_type, chat template, MoE text part)
_TINY: dict[str, tuple[str, str, bool]] = {
    "tiny-glm41v": ("glm4v", "glm41v", False),
    "tiny-glm45v": ("glm4v_moe", "glmv", True),
    "tiny-glm46v-flash": ("glm4v", "glmv_hybrid", False),
    "tiny-glm46v": ("glm46v", "glmv_hybrid", False),
    "tiny-glm46v-moe": ("glm46v", "glmv_hybrid", True),
    "tiny-glmga": ("glmga", "glmv_hybrid", False),
    "tiny-glm53": ("glm5_next", "glm53", True),
}
TINY_MODELS = {name: kind[0] for name, kind in _TINY.items()}

# Every special token of the GLM-V tokenizers that the product relies on, in a fixed order.
SPECIAL_TOKENS = (
    "<|endoftext|>",
    "[MASK]",
    "[gMASK]",
    "[sMASK]",
    "<sop>",
    "<eop>",
    "<|system|>",
    "<|user|>",
    "<|assistant|>",
    "<|observation|>",
    "<|begin_of_image|>",
    "<|end_of_image|>",
    "<|begin_of_video|>",
    "<|end_of_video|>",
    "<|image|>",
    "<|video|>",
    "<|begin_of_box|>",
    "<|end_of_box|>",
    "<think>",
    "</think>",
    "<answer>",
    "</answer>",
    "<|pad|>",
)
STOP_TOKENS = ("<|endoftext|>", "<|user|>", "<|observation|>")

_WORDS = """
the a an and or but if then so because while when where what which who how why this that these
those it its is are was were be been being have has had do does did can could will would should may
might must shall not no yes all any some many much more most few less least each every both either
neither one two three four five six seven eight nine ten hundred thousand first second third last
next image picture photo video frame page slide chart table graph figure text title label answer
question think thought reason step result value number count left right top bottom middle center
corner edge side front back above below near far inside outside between around over under up down
red green blue yellow white black gray orange purple pink brown dark light bright small large big
tiny huge long short tall wide narrow round square circle line box point area region object person
people man woman child cat dog bird car bus tree house road sky water sun cloud grass flower table
chair window door room wall floor screen button menu icon link search click type scroll open close
show see look find read write draw make use give take move turn start stop end begin time day year
hour minute second morning evening good bad new old same different other another such only also just
very quite rather really almost about again still even already yet here there now today we you they
he she i me us them him her my your our their his data model vision language web html code style
document report paper letter word sentence paragraph list item name place city country world map
river mountain sea island street building bridge train plane ship bike ball game team player score
food apple bread coffee cup plate glass bottle book pen paper card bag hand head face eye hair
"""


def tiny_cache_dir() -> Path:
    root = HostSettings.from_env().cache_dir or os.path.join(Path.home(), ".cache", "glmv_ui")
    return Path(root) / "tiny"


def is_tiny(model_id: str) -> bool:
    return model_id in TINY_MODELS


def ensure_tiny_checkpoint(name: str) -> Path:
    """Return the folder of tiny checkpoint ``name``, building it on first use (~0.5 s)."""
    if name not in TINY_MODELS:
        raise ValueError(f"unknown tiny checkpoint {name!r}; known: {', '.join(TINY_MODELS)}")
    target = tiny_cache_dir() / f"{name}-v{TINY_VERSION}"
    if (target / "config.json").is_file() and (target / ".complete").is_file():
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    # Build in a private folder and rename, so concurrent processes never see half a checkpoint.
    work = Path(tempfile.mkdtemp(prefix=f".{name}-", dir=target.parent))
    try:
        _build(name, work)
        (work / ".complete").write_text("ok\n")
        try:
            work.rename(target)
        except OSError:
            if not (target / ".complete").is_file():
                raise
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return target


def _training_text() -> list[str]:
    import random

    words = _WORDS.split()
    rng = random.Random(0)
    lines = [" ".join(rng.choice(words) for _ in range(12)) + "\n" for _ in range(3000)]
    # Every printable ASCII character, so any English prompt encodes without unknown tokens.
    lines.append(" ".join(chr(c) for c in range(33, 127)))
    lines.append("0 1 2 3 4 5 6 7 8 9 10 100 1000 [ ] ( ) , . : ; ' \" < > { } / = - + * # !")
    return lines


def _build_tokenizer(template: str) -> Any:  # a transformers tokenizer
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    tok = Tokenizer(models.BPE(unk_token="[MASK]"))
    tok.pre_tokenizer = pre_tokenizers.Metaspace(prepend_scheme="never")
    tok.decoder = decoders.Metaspace(prepend_scheme="never")
    trainer = trainers.BpeTrainer(
        vocab_size=1200,
        special_tokens=list(SPECIAL_TOKENS),
        show_progress=False,
        initial_alphabet=["\n", "\t"] + [chr(c) for c in range(32, 127)],
    )
    tok.train_from_iterator(_training_text(), trainer=trainer)
    fast = PreTrainedTokenizerFast(
        tokenizer_object=tok,
        eos_token="<|endoftext|>",
        pad_token="<|endoftext|>",
        unk_token="[MASK]",
        padding_side="left",
        clean_up_tokenization_spaces=False,
    )
    fast.chat_template = CHAT_TEMPLATES[template]
    return fast


_VISION = dict(
    depth=2,
    hidden_size=64,
    intermediate_size=128,
    num_heads=2,
    out_hidden_size=64,
    patch_size=14,
    spatial_merge_size=2,
    temporal_patch_size=2,
    image_size=336,
)
_MOE = dict(
    moe_intermediate_size=64,
    n_routed_experts=4,
    num_experts_per_tok=2,
    n_shared_experts=1,
    first_k_dense_replace=1,
)


def _glm_text(vocab: int, ids: dict[str, int]) -> dict[str, Any]:
    # head_dim 32, partial rotary 0.5 -> 16 rotary dims -> 8 frequencies = 2 + 3 + 3.
    rope = {
        "rope_type": "default",
        "rope_theta": 10000.0,
        "mrope_section": [2, 3, 3],
        "partial_rotary_factor": 0.5,
    }
    return dict(
        vocab_size=vocab,
        hidden_size=64,
        intermediate_size=128,
        num_hidden_layers=2,
        num_attention_heads=2,
        num_key_value_heads=1,
        max_position_embeddings=65536,
        rope_parameters=rope,
        pad_token_id=ids["<|endoftext|>"],
        eos_token_id=[ids[t] for t in STOP_TOKENS],
    )


def _glm53_text(vocab: int, ids: dict[str, int]) -> dict[str, Any]:
    """GLM-5.3-Flash's layout at hidden 64: 4 layers (3 linear attention, the 4th sparse MLA),
    the first dense, 8 routed experts. Every quantized Linear has in_features 64."""
    return dict(
        vocab_size=vocab,
        hidden_size=64,
        intermediate_size=128,
        moe_intermediate_size=64,
        num_hidden_layers=4,
        num_attention_heads=2,
        num_key_value_heads=2,
        n_routed_experts=8,
        num_experts_per_tok=2,
        n_shared_experts=1,
        mlp_layer_types=["dense", "sparse", "sparse", "sparse"],
        kv_lora_rank=64,
        q_lora_rank=64,
        v_head_dim=32,
        qk_nope_head_dim=32,
        index_topk=16,
        index_kpool=4,
        index_head_dim=64,
        index_n_heads=2,
        linear_head_dim=64,
        linear_num_heads=1,
        hc_mult=2,
        hc_sinkhorn_iters=4,
        max_position_embeddings=1048576,
        pad_token_id=ids["<|endoftext|>"],
        eos_token_id=[ids[t] for t in STOP_TOKENS],
    )


def _model_and_processor(model_type: str, moe: bool, text: dict[str, Any], ids: Any) -> Any:
    """The random-weight model and the processor classes of ``model_type``."""
    import transformers as tf

    token_ids = dict(
        image_token_id=ids["<|image|>"],
        video_token_id=ids["<|video|>"],
        image_start_token_id=ids["<|begin_of_image|>"],
        image_end_token_id=ids["<|end_of_image|>"],
        video_start_token_id=ids["<|begin_of_video|>"],
        video_end_token_id=ids["<|end_of_video|>"],
    )
    if moe and model_type != "glm5_next":
        text = {**text, **_MOE}
    if model_type == "glm4v":
        config: Any = tf.Glm4vConfig(text_config=text, vision_config=_VISION, **token_ids)
        procs: tuple[Any, ...] = (tf.Glm4vProcessor, tf.Glm4vImageProcessor, tf.Glm4vVideoProcessor)
    elif model_type == "glm4v_moe":
        config = tf.Glm4vMoeConfig(text_config=text, vision_config=_VISION, **token_ids)
        procs = (tf.Glm4vProcessor, tf.Glm4vImageProcessor, tf.Glm4vVideoProcessor)
    elif model_type in ("glm46v", "glmga"):
        text = {**text, "model_type": "glm4v_moe_text" if moe else "glm4v_text"}
        vision = {**_VISION, "model_type": "glm4v_vision"}
        cls = tf.Glm46VConfig if model_type == "glm46v" else tf.GlmgaConfig
        config = cls(text_config=text, vision_config=vision, **token_ids)
        procs = (tf.Glm46VProcessor, tf.Glm46VImageProcessor, tf.Glm46VVideoProcessor)
    else:
        vision = {k: _VISION[k] for k in ("depth", "hidden_size", "intermediate_size")}
        vision.update(num_heads=2, out_hidden_size=64, projection_intermediate_size=128)
        config = tf.Glm5NextConfig(text_config=text, vision_config=vision, **token_ids)
        procs = (tf.Glm5NextProcessor, tf.Glm5NextImageProcessor, tf.Glm5NextVideoProcessor)
    return tf.AutoModelForImageTextToText.from_config(config), procs


def _build(name: str, out: Path) -> None:
    import torch
    from transformers import GenerationConfig

    model_type, template, moe = _TINY[name]
    tokenizer = _build_tokenizer(template)
    ids = {t: tokenizer.convert_tokens_to_ids(t) for t in SPECIAL_TOKENS}
    vocab = ((len(tokenizer) + 63) // 64) * 64
    text = (_glm53_text if model_type == "glm5_next" else _glm_text)(vocab, ids)
    torch.manual_seed(0)
    model, (processor_cls, image_cls, video_cls) = _model_and_processor(model_type, moe, text, ids)
    _prefer_whole_words(model, tokenizer)
    model.eval()
    model.save_pretrained(out)

    processor = processor_cls(
        image_processor=image_cls(),
        tokenizer=tokenizer,
        video_processor=video_cls(),
        chat_template=CHAT_TEMPLATES[template],
    )
    processor.save_pretrained(out)
    GenerationConfig(
        eos_token_id=[ids[t] for t in STOP_TOKENS],
        pad_token_id=ids["<|endoftext|>"],
        do_sample=True,
        top_k=2,
        top_p=0.6,
        temperature=0.3,
        repetition_penalty=1.1,
        max_new_tokens=512,
    ).save_pretrained(out)
    (out / "glmv_tiny.json").write_text(
        json.dumps({"name": name, "family": model_type, "version": TINY_VERSION})
    )


def _prefer_whole_words(model: Any, tokenizer: Any) -> None:
    """Zero the output rows of word pieces and special tokens, so random logits favour whole
    words and a random model's output reads as word salad instead of fragments."""
    import torch

    keep = torch.zeros(model.lm_head.weight.shape[0], dtype=torch.bool)
    for token, idx in tokenizer.get_vocab().items():
        word = token[1:] if token.startswith("\u2581") else ""
        if (word.isalpha() and len(word) > 1) or token in (".", ",", "\n"):
            keep[idx] = True
    with torch.no_grad():
        model.lm_head.weight[~keep] = 0.0
        model.lm_head.weight[keep] *= 8.0


# Chat templates in each family's prompt format. GLM-4.1V: content of system and assistant turns
# must be plain strings. GLM-4.5V: `enable_thinking=false` adds /nothink to user turns and
# pre-fills an empty thought; old thinking in assistant turns is dropped by the template itself.
_GLM41V_TEMPLATE = """[gMASK]<sop>
{%- for msg in messages %}
{%- if msg.role == 'system' %}<|system|>
{{ msg.content }}
{%- elif msg.role == 'user' %}<|user|>
{% if msg.content is string %}{{ msg.content }}{% else %}{% for item in msg.content %}
{%- if item.type == 'video' or 'video' in item %}<|begin_of_video|><|video|><|end_of_video|>
{%- elif item.type == 'image' or 'image' in item %}<|begin_of_image|><|image|><|end_of_image|>
{%- elif item.type == 'text' %}{{ item.text }}{% endif %}{% endfor %}{% endif %}
{%- elif msg.role == 'assistant' %}<|assistant|>
{{ msg.content }}
{%- endif %}
{%- endfor %}
{%- if add_generation_prompt %}<|assistant|>
{% endif %}"""

_GLM45V_TEMPLATE = """[gMASK]<sop>
{%- for msg in messages %}
{%- if msg.role == 'system' %}<|system|>
{% if msg.content is string %}{{ msg.content }}{% else %}{% for item in msg.content %}
{%- if item.type == 'text' %}{{ item.text }}{% endif %}{% endfor %}{% endif %}
{%- elif msg.role == 'user' %}<|user|>
{% if msg.content is string %}{{ msg.content }}{% else %}{% for item in msg.content %}
{%- if item.type == 'video' or 'video' in item %}<|begin_of_video|><|video|><|end_of_video|>
{%- elif item.type == 'image' or 'image' in item %}<|begin_of_image|><|image|><|end_of_image|>
{%- elif item.type == 'text' %}{{ item.text }}{% endif %}{% endfor %}{% endif %}
{%- if enable_thinking is defined and not enable_thinking %}/nothink{% endif %}
{%- elif msg.role == 'assistant' %}
{%- if msg.content is string %}{% set text = msg.content %}{% else %}
{%- set text = namespace(v='') %}{% for item in msg.content %}
{%- if item.type == 'text' %}{% set text.v = text.v + item.text %}{% endif %}{% endfor %}
{%- set text = text.v %}{% endif %}
{%- if '</think>' in text %}{% set text = text.split('</think>')[-1].lstrip('\\n') %}{% endif %}
<|assistant|>
<think></think>
{{ text }}
{%- endif %}
{%- endfor %}
{%- if add_generation_prompt %}<|assistant|>
{% if enable_thinking is defined and not enable_thinking %}<think></think>
{% endif %}{% endif %}"""

CHAT_TEMPLATES = {
    "glm41v": _GLM41V_TEMPLATE,
    "glmv": _GLM45V_TEMPLATE,
    "glmv_hybrid": GLM_V_HYBRID_TEMPLATE,
    "glm53": GLM53_TEMPLATE,
}
