"""Weights memory of a GLM-V checkpoint per loading option, from its configuration alone.

:func:`census_from_config` builds the model on the meta device (nothing allocated) and counts
its weights by kind: vision tower, embeddings and ``lm_head``, ``Linear`` layers, fused MoE
experts, and the rest (norms, biases, the router, which transformers keeps in float32).
:meth:`WeightCensus.price` turns the counts into bytes for bf16, 8-bit and 4-bit loading; the
4-bit bytes of ``Linear`` layers and experts come from their shapes through
:mod:`glmv_ui.quant.layout`, the description :class:`~glmv_ui.quant.experts.Experts4bit` stores
its weights by. It never loads weights and never needs bitsandbytes.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from .layout import NF4

__all__ = ["WeightCensus", "census_from_config"]


@dataclass(frozen=True)
class WeightCensus:
    """Parameter counts by kind, and what the quantized kinds take in NF4."""

    vision: int
    embed: int  # embeddings and lm_head
    linear: int  # Linear weights bitsandbytes quantizes
    experts: int  # fused 3-D MoE expert weights
    other: int  # norms, biases, the MoE router
    fp32: int = 0  # of `other`, parameters transformers keeps in float32
    linear_nf4_bytes: int = 0
    experts_nf4_bytes: int = 0

    @classmethod
    def from_billions(
        cls, vision: float, embed: float, linear: float, experts: float
    ) -> WeightCensus:
        """Counts known without a config (large matrices: NF4 bytes per weight is exact)."""
        n = {
            k: int(v * 1e9)
            for k, v in {
                "vision": vision,
                "embed": embed,
                "linear": linear,
                "experts": experts,
            }.items()
        }
        return cls(
            other=0,
            linear_nf4_bytes=int(n["linear"] * NF4.bytes_per_weight),
            experts_nf4_bytes=int(n["experts"] * NF4.bytes_per_weight),
            **n,
        )

    @property
    def total(self) -> int:
        return self.vision + self.embed + self.linear + self.experts + self.other

    def price(self, fp8: bool = False) -> dict[str, int]:
        """Bytes of weights per option. Unquantized weights are bf16 (float32 where transformers
        insists); 8-bit quantizes ``Linear`` layers only (int8 + a float32 scale per row);
        4-bit packs ``Linear`` layers and fused experts in NF4."""
        fixed = (self.vision + self.embed + self.other - self.fp32) * 2 + self.fp32 * 4
        by_option = {
            "bf16": fixed + (self.linear + self.experts) * 2,
            "8bit": fixed + int(self.linear * 1.02) + self.experts * 2,
            "4bit": fixed + self.linear_nf4_bytes + self.experts_nf4_bytes,
        }
        if fp8:
            by_option = {"fp8": fixed + self.linear + self.experts, **by_option}
        return by_option


def census_from_config(config: dict[str, Any]) -> WeightCensus:
    """Count the weights of the model ``config`` describes, built on the meta device."""
    import torch
    from transformers import AutoConfig, AutoModelForImageTextToText

    cfg = AutoConfig.for_model(**config)
    with torch.device("meta"):
        model = AutoModelForImageTextToText.from_config(cfg)
    plan = model._get_dtype_plan(torch.bfloat16)  # what transformers keeps in float32
    linear_shapes = {
        f"{name}.weight": tuple(mod.weight.shape)
        for name, mod in model.named_modules()
        if isinstance(mod, torch.nn.Linear)
    }
    counts = {"vision": 0, "embed": 0, "linear": 0, "experts": 0, "other": 0, "fp32": 0}
    linear_bytes = experts_bytes = 0
    expert_modules: set[str] = set()
    for name, p in model.named_parameters():
        n = p.numel()
        if ".visual." in f".{name}" or name.startswith("visual"):
            counts["vision"] += n
        elif "embed_tokens" in name or name.startswith("lm_head"):
            counts["embed"] += n
        elif p.ndim == 3 and ".experts." in f".{name}":
            counts["experts"] += n
            experts_bytes += NF4.matrix_bytes(p.shape[1], p.shape[2], p.shape[0])
            expert_modules.add(name.rpartition(".")[0])
        elif name in linear_shapes:
            counts["linear"] += n
            rows, cols = linear_shapes[name]
            linear_bytes += NF4.matrix_bytes(rows, cols) + NF4.codebook_bytes
        else:
            counts["other"] += n
            if any(pattern in name for pattern in plan):
                counts["fp32"] += n
    experts_bytes += len(expert_modules) * NF4.codebook_bytes
    return WeightCensus(linear_nf4_bytes=linear_bytes, experts_nf4_bytes=experts_bytes, **counts)
