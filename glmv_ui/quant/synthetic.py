"""Random-weight GLM-4.5V-shaped checkpoints, for measuring the 4-bit path without real weights.

:func:`build_shaped_checkpoint` writes a ``Glm4vMoeForConditionalGeneration`` checkpoint whose
language layers have GLM-4.5V's real layer shapes (or any others) but only a few layers, a few
experts and a small vocabulary, with a tiny vision tower: big enough that memory and speed
measurements mean something, small enough to build in seconds. The checkpoint is saved the way
the real one is (one tensor per expert), so loading exercises the same merge-then-pack path.
Used by the benchmarks and the loading-memory test; the app never imports it.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

__all__ = ["GLM45V_LAYER", "LayerShape", "build_shaped_checkpoint"]


@dataclass(frozen=True)
class LayerShape:
    """The text-model shapes that set the size of one MoE layer."""

    hidden: int = 4096
    moe_intermediate: int = 1408
    experts: int = 128
    active: int = 8
    heads: int = 96
    kv_heads: int = 8
    head_dim: int = 128
    dense_intermediate: int = 10944


GLM45V_LAYER = LayerShape()
"""GLM-4.5V's language-layer shapes (its published config: head_dim 128, 128 experts of 1408)."""


def build_shaped_checkpoint(
    out: Path,
    shape: LayerShape,
    moe_layers: int,
    *,
    vocab: int = 1024,
    dtype: str = "bfloat16",
    seed: int = 0,
) -> Path:
    """Write a random checkpoint with one dense layer and ``moe_layers`` MoE layers of
    ``shape`` to ``out`` (created); returns ``out``."""
    import torch
    from transformers import Glm4vMoeConfig, Glm4vMoeForConditionalGeneration

    text = dict(
        vocab_size=vocab,
        hidden_size=shape.hidden,
        intermediate_size=shape.dense_intermediate,
        num_hidden_layers=1 + moe_layers,
        num_attention_heads=shape.heads,
        num_key_value_heads=shape.kv_heads,
        head_dim=shape.head_dim,
        moe_intermediate_size=shape.moe_intermediate,
        n_routed_experts=shape.experts,
        num_experts_per_tok=min(shape.active, shape.experts),
        n_shared_experts=1,
        first_k_dense_replace=1,
        max_position_embeddings=4096,
        rope_parameters={
            "rope_type": "default",
            "rope_theta": 10000.0,
            "partial_rotary_factor": 0.5,
            "mrope_section": _mrope_section(shape.head_dim),
        },
    )
    vision = dict(
        depth=1,
        hidden_size=64,
        intermediate_size=128,
        num_heads=2,
        out_hidden_size=shape.hidden,
        patch_size=14,
        spatial_merge_size=2,
        temporal_patch_size=2,
        image_size=336,
    )
    torch.manual_seed(seed)
    config = Glm4vMoeConfig(text_config=text, vision_config=vision)
    with torch.device("cpu"):
        model = Glm4vMoeForConditionalGeneration(config).to(getattr(torch, dtype))
    with torch.no_grad():
        # Real checkpoints have trained, non-zero routers; zeros would route every token alike.
        for layer in model.model.language_model.layers[1:]:
            layer.mlp.gate.weight.normal_(0.0, 0.02)
    out.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(out)
    return out


def _mrope_section(head_dim: int) -> list[int]:
    """Sections of the rotary frequencies (temporal, height, width) for partial rotary 0.5,
    in GLM-4.5V's 2:3:3 proportion (8, 12, 12 for head_dim 128)."""
    total = head_dim // 4
    t = total // 4
    h = (total - t) // 2
    return [t, h, total - t - h]
