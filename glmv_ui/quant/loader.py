"""4-bit loading through transformers that quantizes the fused MoE experts too.

:func:`nf4_config` returns a ``BitsAndBytesConfig`` (so everything bitsandbytes does to ``Linear``
layers still happens) whose ``quant_method`` names :class:`ExpertsNf4Quantizer`, registered with
transformers' quantizer registry on first use. Before any weight is read, the quantizer swaps
every fused experts module for an empty :class:`~glmv_ui.quant.experts.Experts4bit` on the
meta device; while transformers streams the checkpoint (one parameter at a time when quantizing
on the fly, per-expert tensors merged into the fused tensor of one layer first), each fused
tensor is packed as soon as it exists and dropped. Peak memory is the packed model plus one
layer's fused tensor in the load dtype, never the whole model in bf16.

It does not save quantized checkpoints (the packed experts have no on-disk format here), and it
imports torch, transformers and bitsandbytes when imported: :mod:`glmv_ui.models` imports it only
when asked for 4-bit.
"""

from __future__ import annotations

import threading
from typing import Any

import torch
from transformers import BitsAndBytesConfig
from transformers.core_model_loading import ConversionOps
from transformers.integrations.bitsandbytes import Bnb4bitQuantize
from transformers.quantizers.auto import (
    AUTO_QUANTIZATION_CONFIG_MAPPING,
    AUTO_QUANTIZER_MAPPING,
    register_quantization_config,
    register_quantizer,
)
from transformers.quantizers.quantizer_bnb_4bit import Bnb4BitHfQuantizer
from transformers.quantizers.quantizers_utils import get_module_from_name, should_convert_module
from transformers.utils.quantization_config import QuantizationMethod

from .experts import PROJECTIONS, Experts4bit, is_fused_experts
from .layout import Nf4Layout

__all__ = ["METHOD", "ExpertsNf4Config", "ExpertsNf4Quantizer", "nf4_config"]

METHOD = "glmv_nf4_experts"


class ExpertsNf4Config(BitsAndBytesConfig):
    """``BitsAndBytesConfig(load_in_4bit=True, ...)`` that also packs fused experts."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs["load_in_4bit"] = True
        super().__init__(**kwargs)  # type: ignore[no-untyped-call]
        self.quant_method = METHOD  # type: ignore[assignment]

    @property
    def layout(self) -> Nf4Layout:
        return Nf4Layout(
            double_quant=self.bnb_4bit_use_double_quant, quant_type=self.bnb_4bit_quant_type
        )


class _PackOnLoad(ConversionOps):
    """Runs on each tensor the quantizer claims: fused experts are packed by their module;
    every other weight goes through bitsandbytes' own ``Linear4bit`` quantization."""

    def __init__(self, hf_quantizer: ExpertsNf4Quantizer) -> None:
        self.hf_quantizer = hf_quantizer
        self._linear = Bnb4bitQuantize(hf_quantizer)

    def convert(
        self,
        input_dict: dict[str, Any],
        source_patterns: list[str] | None = None,
        target_patterns: list[str] | None = None,
        **kwargs: Any,
    ) -> dict[str, Any]:
        model = kwargs.pop("model")
        kwargs.pop("full_layer_name", None)
        result: dict[str, Any] = {}
        for name, value in input_dict.items():
            tensor = value[0] if isinstance(value, list) else value
            module, proj = get_module_from_name(model, name)
            if isinstance(module, Experts4bit):
                prefix = name[: -len(proj)]
                with torch.no_grad():
                    packed = module.quantize(proj, tensor)
                del tensor, value
                result.update({prefix + key: param for key, param in packed.items()})
            else:
                result.update(
                    self._linear.convert(
                        {name: tensor}, full_layer_name=name, model=model, **kwargs
                    )
                )
        return result


class ExpertsNf4Quantizer(Bnb4BitHfQuantizer):
    """bitsandbytes 4-bit loading, plus NF4 for fused MoE experts (:class:`Experts4bit`)."""

    quantization_config: ExpertsNf4Config

    def _process_model_before_weight_loading(
        self, model: Any, device_map: Any = None, **kwargs: Any
    ) -> Any:
        super()._process_model_before_weight_loading(model, device_map, **kwargs)
        config = self.quantization_config
        for name, module in list(model.named_modules()):
            if is_fused_experts(module) and should_convert_module(
                name, self.modules_to_not_convert
            ):
                with torch.device("meta"):
                    model.set_submodule(
                        name,
                        Experts4bit.replacing(
                            module,
                            compute_dtype=config.bnb_4bit_compute_dtype,
                            layout=config.layout,
                        ),
                    )
        return model

    def param_needs_quantization(self, model: Any, param_name: str, **kwargs: Any) -> bool:
        module, _ = get_module_from_name(model, param_name)
        if isinstance(module, Experts4bit):
            return True
        return super().param_needs_quantization(model, param_name, **kwargs)

    def param_element_size(self, model: Any, param_name: str, param: torch.Tensor) -> float:
        module, _ = get_module_from_name(model, param_name)
        if isinstance(module, Experts4bit):
            return float(param.element_size())  # placeholders already have their final shape
        return super().param_element_size(model, param_name, param)

    def get_quantize_ops(self) -> ConversionOps:
        return _PackOnLoad(self)

    def _process_model_after_weight_loading(self, model: Any, **kwargs: Any) -> Any:
        unpacked = [
            f"{name}.{proj}"
            for name, module in model.named_modules()
            if isinstance(module, Experts4bit)
            for proj in PROJECTIONS
            if proj not in module.packed
        ]
        if unpacked:
            # The loader records a failed conversion and carries on with empty tensors.
            raise RuntimeError(
                f"{len(unpacked)} expert tensors were not loaded in 4-bit "
                f"(first: {unpacked[0]}); the checkpoint may be incomplete"
            )
        model = super()._process_model_after_weight_loading(model, **kwargs)
        # It is a bitsandbytes model: transformers' guards for those (no dtype casts) apply.
        model.quantization_method = QuantizationMethod.BITS_AND_BYTES
        return model

    def is_serializable(self) -> bool:
        return False


_register_lock = threading.Lock()


def _register() -> None:
    with _register_lock:
        if METHOD not in AUTO_QUANTIZATION_CONFIG_MAPPING:
            register_quantization_config(METHOD)(ExpertsNf4Config)
        if METHOD not in AUTO_QUANTIZER_MAPPING:
            register_quantizer(METHOD)(ExpertsNf4Quantizer)


def nf4_config(
    skip_modules: list[str], compute_dtype: torch.dtype = torch.bfloat16, double_quant: bool = True
) -> ExpertsNf4Config:
    """The ``quantization_config`` for 4-bit loading: NF4 for ``Linear`` layers and fused
    experts alike, ``skip_modules`` (prefixes or suffixes of module names) left as they are."""
    _register()
    return ExpertsNf4Config(
        bnb_4bit_quant_type="nf4",
        bnb_4bit_compute_dtype=compute_dtype,
        bnb_4bit_use_double_quant=double_quant,
        llm_int8_skip_modules=list(skip_modules),
    )
