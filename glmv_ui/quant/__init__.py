"""4-bit storage for GLM-4.5V's fused MoE experts, which bitsandbytes' ``Linear`` swap misses.

- :mod:`.layout`: the bytes of an NF4 matrix (standard library only), shared by the memory
  estimate and the module that holds the weights, so the two cannot disagree.
- :mod:`.experts`: :class:`~glmv_ui.quant.experts.Experts4bit`, the module that replaces a fused
  experts module: per expert, packed 4-bit data and its quant state; only routed experts compute.
- :mod:`.loader`: the transformers quantizer that swaps those modules in before the weights are
  read and packs each fused expert tensor as it streams in, next to bitsandbytes' usual work.

Importing this package imports nothing heavy; :mod:`.experts` and :mod:`.loader` import torch,
bitsandbytes and transformers and are imported only when a model is loaded in 4-bit.
"""

from __future__ import annotations

from .layout import NF4, Nf4Layout

__all__ = ["NF4", "Nf4Layout"]
