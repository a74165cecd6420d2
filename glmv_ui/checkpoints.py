"""Known checkpoints, and finding a checkpoint's folder and config.

The table of known checkpoints backs the memory estimate before anything is on disk; what a
checkpoint can do is read from the checkpoint itself at load (:mod:`glmv_ui.caps`).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .caps import SUPPORTED, Capabilities, check_model_type, for_family
from .tiny import TINY_MODELS, ensure_tiny_checkpoint

__all__ = ["FAMILIES", "KNOWN_MODELS", "ModelInfo", "family_of", "read_config", "resolve_model"]

# vision, embeddings + lm_head, Linear, fused experts (billions), counted on the meta device.
GLM53_FLASH_BILLIONS = (0.46, 1.27, 7.56, 304.41)


# The model types the loader accepts; what each checkpoint can do is read from it at load
# (:mod:`glmv_ui.caps`).
FAMILIES: tuple[str, ...] = SUPPORTED


@dataclass(frozen=True)
class ModelInfo:
    """A known checkpoint. Parameter counts (billions) back the estimate when no config is at hand:
    vision tower, embeddings + lm_head, other Linear layers, fused MoE experts."""

    model_id: str
    family: str
    vision_b: float
    embed_b: float
    linear_b: float
    experts_b: float = 0.0
    fp8: bool = False
    note: str = ""
    hybrid: bool = False  # a glm4v checkpoint whose template switches thinking off

    @property
    def caps(self) -> Capabilities:
        """What the checkpoint is known to do, before anything is on disk."""
        from dataclasses import replace

        base = for_family(self.family)
        if self.hybrid:
            return replace(
                base,
                thinking="switch",
                answer_tags=False,
                template_drops_old_thinking=True,
                plain_string_content=False,
                sampling="vendor",
                label="GLM-V hybrid (dense, glm4v)",
            )
        return base


KNOWN_MODELS: dict[str, ModelInfo] = {
    m.model_id: m
    for m in (
        ModelInfo("zai-org/GLM-4.1V-9B-Thinking", "glm4v", 0.9, 1.24, 8.15),
        ModelInfo("zai-org/GLM-4.1V-9B-Base", "glm4v", 0.9, 1.24, 8.15),
        ModelInfo("zai-org/GLM-4.5V", "glm4v_moe", 0.9, 1.24, 5.93, 99.7),
        ModelInfo("zai-org/GLM-4.5V-FP8", "glm4v_moe", 0.9, 1.24, 5.93, 99.7, fp8=True),
        # GLM-4.6V keeps GLM-4.5V's shapes; GLM-4.6V-Flash keeps GLM-4.1V-9B's, with the hybrid
        # template. GLM-5.3-Flash: counted on the meta device from transformers' config-class
        # defaults (the release's own config.json replaces them once it is on disk).
        ModelInfo("zai-org/GLM-4.6V", "glm4v_moe", 0.9, 1.24, 5.93, 99.7),
        ModelInfo("zai-org/GLM-4.6V-FP8", "glm4v_moe", 0.9, 1.24, 5.93, 99.7, fp8=True),
        ModelInfo("zai-org/GLM-4.6V-Flash", "glm4v", 0.9, 1.24, 8.15, hybrid=True),
        ModelInfo(
            "zai-org/GLM-5.3-Flash",
            "glm5_next",
            *GLM53_FLASH_BILLIONS,
            note="shapes from transformers' Glm5NextConfig defaults",
        ),
    )
}


def family_of(config: Any) -> str:
    """The model type of a transformers config (or its dict), if the app can load it."""
    model_type = (
        config.get("model_type")
        if isinstance(config, dict)
        else getattr(config, "model_type", None)
    )
    return check_model_type(model_type)


def resolve_model(model_id: str) -> str:
    """Map a model id to what ``from_pretrained`` takes: tiny names become local folders."""
    model_id = model_id.strip()
    if model_id in TINY_MODELS:
        return str(ensure_tiny_checkpoint(model_id))
    return os.path.expanduser(model_id)


def read_config(model_id: str) -> dict[str, Any] | None:
    """The checkpoint's config.json if it is on disk (a folder or the hub cache), else None."""
    import json

    path = resolve_model(model_id)
    candidate = Path(path) / "config.json"
    if candidate.is_file():
        found: dict[str, Any] = json.loads(candidate.read_text())
        return found
    try:
        from huggingface_hub import try_to_load_from_cache
    except ImportError:
        return None
    cached = try_to_load_from_cache(model_id, "config.json")
    if isinstance(cached, str) and os.path.isfile(cached):
        cached_config: dict[str, Any] = json.loads(Path(cached).read_text())
        return cached_config
    return None
