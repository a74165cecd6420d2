"""The 4-bit stand-in for a fused MoE experts module (GLM-4.5V's ``Glm4vMoeTextExperts``).

transformers stores the routed experts of a layer as two 3-D parameters, ``gate_up_proj``
``(experts, 2 * intermediate, hidden)`` and ``down_proj`` ``(experts, hidden, intermediate)``;
bitsandbytes only swaps ``nn.Linear`` layers, so these stay in bf16. :class:`Experts4bit` holds
each expert's matrices in bitsandbytes' NF4 format instead (the layout of
:mod:`glmv_ui.quant.layout`: packed 4-bit data, 8-bit block scales, their float32 scales and an
offset, one row per expert) and, in ``forward``, runs only the experts the router picked, each
through ``bitsandbytes.matmul_4bit``, which unpacks that one expert (or, on CUDA for a few tokens,
multiplies straight from the 4-bit data). Experts no token was routed to are never touched.

This module imports torch and bitsandbytes when it is imported: only the 4-bit loader
(:mod:`glmv_ui.quant.loader`), the tests and the benchmarks import it. It does not read
checkpoints; the loader hands it each fused tensor as the tensor streams in.
"""

from __future__ import annotations

from collections.abc import Callable

import bitsandbytes as bnb
import bitsandbytes.functional as bnbf
import torch
from torch import nn

from .layout import NF4, Nf4Layout

__all__ = ["PROJECTIONS", "Experts4bit", "held_bytes", "is_fused_experts"]

PROJECTIONS = ("gate_up_proj", "down_proj")


def is_fused_experts(module: nn.Module) -> bool:
    """True for a transformers experts module in the layout :class:`Experts4bit` reproduces:
    3-D ``gate_up_proj`` (gate then up, concatenated) and ``down_proj``, ``(out, in)`` per
    expert, no biases, no norm after the experts. The activation is the module's ``act_fn``, or
    GLM-5.3-Flash's clamped SwiGLU (``swiglu_limit``)."""
    gate_up, down = getattr(module, "gate_up_proj", None), getattr(module, "down_proj", None)
    return (
        isinstance(gate_up, nn.Parameter)
        and isinstance(down, nn.Parameter)
        and gate_up.ndim == 3
        and down.ndim == 3
        and (hasattr(module, "act_fn") or hasattr(module, "swiglu_limit"))
        and gate_up.shape[0] == down.shape[0]
        and gate_up.shape[2] == down.shape[1]
        and gate_up.shape[1] == 2 * down.shape[2]
        and getattr(module, "has_gate", True)
        and getattr(module, "is_concatenated", True)
        and not getattr(module, "has_bias", False)
        and not getattr(module, "is_transposed", False)
        and not getattr(module, "has_post_expert_norm", False)
    )


class Experts4bit(nn.Module):
    """Routed experts in NF4; drop-in for the fused module: ``forward(hidden, top_k_index,
    top_k_weights)``.

    Parameters per projection ``p`` (``gate_up_proj``, ``down_proj``): ``p`` (packed 4-bit
    data, one row per expert) and ``p_absmax``, ``p_nested_absmax``, ``p_offset`` (its quant
    state); ``quant_map`` and ``nested_quant_map`` are the codebooks, shared by all experts.
    They are parameters, not buffers, so the transformers loader accounts for and places them
    like any weight (it re-creates non-persistent buffers empty after loading).
    """

    def __init__(
        self,
        num_experts: int,
        hidden_dim: int,
        intermediate_dim: int,
        act_fn: Callable[[torch.Tensor], torch.Tensor],
        *,
        compute_dtype: torch.dtype = torch.bfloat16,
        layout: Nf4Layout = NF4,
        swiglu_limit: float | None = None,
    ) -> None:
        super().__init__()
        self.swiglu_limit = swiglu_limit  # gate and up clamped before SiLU (GLM-5.3-Flash)
        self.num_experts = num_experts
        self.hidden_dim = hidden_dim
        self.intermediate_dim = intermediate_dim
        self.act_fn = act_fn
        self.compute_dtype = compute_dtype
        self.layout = layout
        self.shapes = {
            "gate_up_proj": (2 * intermediate_dim, hidden_dim),
            "down_proj": (hidden_dim, intermediate_dim),
        }
        for proj, (rows, cols) in self.shapes.items():
            for part in layout.parts(rows, cols, num_experts):
                self._placeholder(self._param_name(proj, part.name), part.shape, part.dtype)
        self._placeholder("quant_map", (layout.codebook,), "float32")
        if layout.double_quant:
            self._placeholder("nested_quant_map", (layout.nested_codebook,), "float32")
        self.packed: set[str] = set()  # projections that hold real weights

    @classmethod
    def replacing(
        cls,
        fused: nn.Module,
        *,
        compute_dtype: torch.dtype = torch.bfloat16,
        layout: Nf4Layout = NF4,
    ) -> Experts4bit:
        """An empty (placeholder) 4-bit module shaped like ``fused``; build it on the meta
        device to allocate nothing."""
        gate_up, down = fused.gate_up_proj, fused.down_proj
        limit = getattr(fused, "swiglu_limit", None)
        act_fn = getattr(fused, "act_fn", None) or nn.functional.silu
        assert isinstance(gate_up, torch.Tensor)
        assert isinstance(down, torch.Tensor)
        assert callable(act_fn)
        num_experts, _, hidden = gate_up.shape
        return cls(
            num_experts,
            hidden,
            down.shape[2],
            act_fn,
            compute_dtype=compute_dtype,
            layout=layout,
            swiglu_limit=None if hasattr(fused, "act_fn") else limit,
        )

    def _placeholder(self, name: str, shape: tuple[int, ...], dtype: str) -> None:
        tensor = torch.empty(shape, dtype=getattr(torch, dtype))
        self.register_parameter(name, nn.Parameter(tensor, requires_grad=False))

    @staticmethod
    def _param_name(proj: str, part: str) -> str:
        return proj if part == "packed" else f"{proj}_{part}"

    # -- packing -------------------------------------------------------------------------------

    def quantize(self, proj: str, weights: torch.Tensor) -> dict[str, nn.Parameter]:
        """Pack the fused ``weights`` of ``proj``, one expert at a time (so the scratch space is
        one expert's), into the parameters of this module, keyed by their names; the caller
        installs them (the loader through transformers, :meth:`load_dense` directly)."""
        rows, cols = self.shapes[proj]
        if tuple(weights.shape) != (self.num_experts, rows, cols):
            raise ValueError(
                f"{proj}: expected {(self.num_experts, rows, cols)}, got {tuple(weights.shape)}"
            )
        parts = {
            p.name: torch.empty(p.shape, dtype=getattr(torch, p.dtype), device=weights.device)
            for p in self.layout.parts(rows, cols, self.num_experts)
        }
        state = None
        for e in range(self.num_experts):
            packed, state = bnbf.quantize_4bit(
                weights[e].contiguous(),
                blocksize=self.layout.blocksize,
                compress_statistics=self.layout.double_quant,
                quant_type=self.layout.quant_type,
            )
            parts["packed"][e] = packed.view(-1)
            parts["absmax"][e] = state.absmax
            if self.layout.double_quant:
                parts["nested_absmax"][e] = state.state2.absmax
                parts["offset"][e] = state.offset
        assert state is not None
        out = {self._param_name(proj, name): tensor for name, tensor in parts.items()}
        out["quant_map"] = state.code
        if self.layout.double_quant:
            out["nested_quant_map"] = state.state2.code
        self.packed.add(proj)
        return {name: nn.Parameter(t, requires_grad=False) for name, t in out.items()}

    @torch.no_grad()
    def load_dense(self, proj: str, weights: torch.Tensor) -> None:
        """Pack ``weights`` (``experts x out x in``) into this module, outside transformers."""
        for name, param in self.quantize(proj, weights).items():
            setattr(self, name, param)

    def quant_state(
        self, proj: str, expert: int, dtype: torch.dtype | None = None
    ) -> bnbf.QuantState:
        """bitsandbytes' quant state of one expert's ``proj`` matrix (views, no copies);
        ``dtype`` is what unpacking yields (the compute dtype unless given)."""
        nested = None
        offset = None
        if self.layout.double_quant:
            nested = bnbf.QuantState(
                absmax=getattr(self, f"{proj}_nested_absmax")[expert],
                code=self.nested_quant_map,
                blocksize=self.layout.nested_blocksize,
                dtype=torch.float32,
            )
            offset = getattr(self, f"{proj}_offset")[expert]
        return bnbf.QuantState(
            absmax=getattr(self, f"{proj}_absmax")[expert],
            shape=torch.Size(self.shapes[proj]),
            code=self.quant_map,
            blocksize=self.layout.blocksize,
            quant_type=self.layout.quant_type,
            dtype=dtype or self.compute_dtype,
            offset=offset,
            state2=nested,
        )

    @torch.no_grad()
    def dequantize(
        self, proj: str, expert: int, dtype: torch.dtype = torch.float32
    ) -> torch.Tensor:
        """One expert's ``proj`` matrix, unpacked (for checks; ``forward`` never needs it)."""
        return bnbf.dequantize_4bit(
            getattr(self, proj)[expert], self.quant_state(proj, expert, dtype)
        )

    # -- compute -------------------------------------------------------------------------------

    def _project(self, proj: str, expert: int, x: torch.Tensor) -> torch.Tensor:
        out: torch.Tensor = bnb.matmul_4bit(  # type: ignore[attr-defined]
            x, getattr(self, proj)[expert], self.quant_state(proj, expert)
        )
        return out

    def forward(
        self, hidden_states: torch.Tensor, top_k_index: torch.Tensor, top_k_weights: torch.Tensor
    ) -> torch.Tensor:
        out = torch.zeros_like(hidden_states)
        x = hidden_states.to(self.compute_dtype)
        top_k = top_k_index.shape[-1]
        routes = top_k_index.reshape(-1)
        weights = top_k_weights.reshape(-1)
        # Group the (token, slot) pairs by expert; one host sync per layer for the counts.
        order = torch.argsort(routes, stable=True)
        counts = torch.bincount(routes, minlength=self.num_experts).tolist()
        start = 0
        for expert, count in enumerate(counts):
            if not count or expert >= self.num_experts:
                start += count
                continue
            pairs = order[start : start + count]
            start += count
            tokens = pairs // top_k
            gate, up = self._project("gate_up_proj", expert, x[tokens]).chunk(2, dim=-1)
            if self.swiglu_limit is not None:
                gate = gate.clamp(max=self.swiglu_limit)
                up = up.clamp(min=-self.swiglu_limit, max=self.swiglu_limit)
            y = self._project("down_proj", expert, self.act_fn(gate) * up)
            y = y.float() * weights[pairs, None].float()
            out.index_add_(0, tokens, y.to(out.dtype))
        return out

    def extra_repr(self) -> str:
        return (
            f"experts={self.num_experts}, hidden={self.hidden_dim}, "
            f"intermediate={self.intermediate_dim}, {self.layout.quant_type}, "
            f"compute={self.compute_dtype}"
        )


def held_bytes(module: nn.Module) -> int:
    """Bytes of tensor storage ``module`` holds: parameters, buffers and the quant states of
    bitsandbytes' ``Params4bit`` weights, each storage counted once."""
    seen: set[tuple[str, int]] = set()
    total = 0

    def add(t: torch.Tensor | None) -> None:
        nonlocal total
        if t is None or t.device.type == "meta":
            return
        storage = t.untyped_storage()
        key = (str(t.device), storage.data_ptr())
        if key not in seen:
            seen.add(key)
            total += storage.nbytes()

    for tensor in [*module.parameters(), *module.buffers()]:
        add(tensor)
        state = getattr(tensor, "quant_state", None)
        while state is not None:
            for attr in ("absmax", "code", "offset"):
                add(getattr(state, attr, None))
            state = getattr(state, "state2", None)
    return total
