"""Known checkpoints, memory estimates and the one shared model loader.

The model type always comes from ``config.model_type``, never from the model's name; what the
checkpoint can do (:class:`~glmv_ui.caps.Capabilities`) is read from its config and chat
template once, at load. :func:`load_model` hands every caller asking
for the same model and options the same loaded object through a process-wide
:class:`ModelCache`, so the app and a notebook in one kernel share one copy in memory.
torch and transformers are imported inside the functions that need them.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from .caps import Capabilities, from_checkpoint
from .checkpoints import (
    FAMILIES,
    KNOWN_MODELS,
    ModelInfo,
    family_of,
    read_config,
    resolve_model,
)
from .config import LoadOptions
from .errors import (
    ConfigError,
    InsufficientMemoryError,
    MissingDependencyError,
    ModelLoadError,
    WeightsUnavailableError,
)
from .tiny import TINY_MODELS

__all__ = [
    "FAMILIES",
    "KNOWN_MODELS",
    "LoadedModel",
    "MemoryEstimate",
    "ModelCache",
    "ModelInfo",
    "default_cache",
    "estimate_memory",
    "family_of",
    "human_bytes",
    "load_model",
    "read_config",
    "resolve_model",
]

GiB = 2**30
# ---------------------------------------------------------------------------------------------
# Memory estimate


@dataclass(frozen=True)
class MemoryEstimate:
    """Bytes of weights per loading option, plus what the figures mean."""

    model_id: str
    family: str
    params: int
    by_option: dict[str, int]  # "bf16", "8bit", "4bit" (and "fp8" for FP8 checkpoints)
    notes: tuple[str, ...] = ()

    def table(self) -> list[tuple[str, str]]:
        return [(k, human_bytes(v)) for k, v in self.by_option.items()]

    def markdown(self) -> str:
        rows = "\n".join(f"| {k} | {v} |" for k, v in self.table())
        notes = "".join(f"\n- {n}" for n in self.notes)
        return f"| weights | memory |\n|---|---|\n{rows}\n{notes}".rstrip()


def _human_count(n: int) -> str:
    for size, unit in ((1e9, "B"), (1e6, "M"), (1e3, "K")):
        if n >= size:
            return f"{n / size:.1f}{unit}"
    return str(n)


def human_bytes(n: int) -> str:
    """``1.5 GiB`` from a GiB up, else ``12.3 MiB``."""
    if n >= GiB:
        return f"{n / GiB:,.1f} GiB"
    return f"{n / 2**20:,.1f} MiB"


# Single GPUs people load these models on, by memory as sold (GB = 10^9 bytes, which
# understates what the card holds: a margin of its own).
GPU_SIZES_GB = (12, 16, 24, 48, 80, 141)
HEADROOM = 1.15  # activations and the KV cache of an ordinary chat on top of the weights


def _fits(by_option: dict[str, int]) -> str:
    """Which single GPU each option fits, weights plus headroom."""
    parts = []
    for option, need in by_option.items():
        fits = [gb for gb in GPU_SIZES_GB if need * HEADROOM <= gb * 1e9]
        parts.append(
            f"{option} on one {fits[0]} GB GPU" if fits else f"{option} needs several GPUs"
        )
    return "fits (weights + 15%): " + "; ".join(parts)


def estimate_memory(model_id: str) -> MemoryEstimate:
    """Weights memory for bf16 / 8-bit / 4-bit loading, without loading anything.

    Uses the checkpoint's config when it is on disk (counting its weights on the meta device),
    else the table of known checkpoints. 4-bit packs ``Linear`` layers and GLM-4.5V's fused
    experts in NF4; 8-bit quantizes ``Linear`` layers only; the vision tower and ``lm_head``
    stay in bf16 under both.
    """
    from .quant.footprint import WeightCensus, census_from_config

    config = read_config(model_id)
    fp8 = False
    if config is not None:
        family, census = family_of(config), census_from_config(config)
        fp8 = (
            "quantization_config" in config and "fp8" in str(config["quantization_config"]).lower()
        )
    elif model_id in KNOWN_MODELS:
        info = KNOWN_MODELS[model_id]
        family, fp8 = info.family, info.fp8
        census = WeightCensus.from_billions(
            info.vision_b, info.embed_b, info.linear_b, info.experts_b
        )
    else:
        raise WeightsUnavailableError(
            f"cannot estimate memory for {model_id!r}: its config.json is neither in a local "
            "folder nor in the Hugging Face cache"
        )
    by_option = census.price(fp8)
    notes = [
        "vision tower and lm_head stay in bf16 under 8-bit and 4-bit loading",
        _fits(by_option),
        "add 10-20% for activations and the KV cache; long videos and many pages need more",
    ]
    if census.experts:
        share = census.experts / max(1, census.total)
        notes.insert(
            0,
            (
                f"{_human_count(census.experts)} of {_human_count(census.total)} parameters "
                f"({share:.0%}) are fused MoE experts: 4-bit packs them in NF4 (about 4.1 bits a "
                "weight, only the routed experts compute); 8-bit leaves them in bf16"
            ),
        )
    if fp8:
        notes.insert(0, "FP8 checkpoint: needs a GPU with FP8 support (Hopper or newer)")
    return MemoryEstimate(model_id, family, census.total, by_option, tuple(notes))


def available_memory() -> tuple[str, int]:
    """Where the weights would go and how much room there is: ('cuda', free GPU memory of all
    GPUs) when CUDA works, else ('cpu', available RAM)."""
    try:
        import torch

        if torch.cuda.is_available():
            free = sum(torch.cuda.mem_get_info(i)[0] for i in range(torch.cuda.device_count()))
            return "cuda", int(free)
    except Exception:  # noqa: BLE001 - a broken CUDA setup means: plan for the CPU
        pass
    return "cpu", _available_ram()


def _available_ram() -> int:
    import psutil

    return int(psutil.virtual_memory().available)


# ---------------------------------------------------------------------------------------------
# Loading


@dataclass(eq=False)
class LoadedModel:
    """A loaded checkpoint: model, processor and what the rest of the package needs to know."""

    model_id: str
    path: str
    caps: Capabilities
    options: LoadOptions
    model: Any
    processor: Any
    load_seconds: float = 0.0
    lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def family(self) -> str:
        return self.caps.family

    @property
    def device(self) -> Any:
        return self.model.device

    @property
    def tokenizer(self) -> Any:
        return self.processor.tokenizer


ProgressFn = Callable[[float, str], None]


class ModelCache:
    """Loaded models by (resolved path, options). Thread-safe; loads each key once."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._models: dict[tuple[str, LoadOptions], LoadedModel] = {}
        self._key_locks: dict[tuple[str, LoadOptions], threading.Lock] = {}

    def get(
        self, model_id: str, options: LoadOptions, progress: ProgressFn | None = None
    ) -> LoadedModel:
        key = (resolve_model(model_id), options)
        with self._lock:
            if key in self._models:
                return self._models[key]
            key_lock = self._key_locks.setdefault(key, threading.Lock())
        with key_lock:
            with self._lock:
                if key in self._models:
                    return self._models[key]
            loaded = _load(model_id, key[0], options, progress)
            with self._lock:
                self._models[key] = loaded
            return loaded

    def loaded(self) -> list[LoadedModel]:
        with self._lock:
            return list(self._models.values())

    def evict(self, loaded: LoadedModel) -> bool:
        """Forget ``loaded`` so its memory can be freed once nothing else holds it."""
        with self._lock:
            for key, value in list(self._models.items()):
                if value is loaded:
                    del self._models[key]
                    self._key_locks.pop(key, None)
                    return True
        return False

    def clear(self) -> None:
        with self._lock:
            self._models.clear()
            self._key_locks.clear()


_default_cache: ModelCache | None = None
_default_cache_lock = threading.Lock()


def default_cache() -> ModelCache:
    """The process-wide cache that :func:`load_model` uses unless given another."""
    global _default_cache
    with _default_cache_lock:
        if _default_cache is None:
            _default_cache = ModelCache()
        return _default_cache


def load_model(
    model_id: str,
    options: LoadOptions | None = None,
    *,
    cache: ModelCache | None = None,
    progress: ProgressFn | None = None,
    **overrides: Any,
) -> LoadedModel:
    """Load ``model_id`` (a hub id, a local folder, or ``tiny-glm41v`` / ``tiny-glm45v``).

    ``overrides`` are LoadOptions fields (``quantization="4bit"``, ``dtype="bfloat16"``, ...).
    """
    options = options or LoadOptions()
    if overrides:
        from dataclasses import replace

        options = replace(options, **overrides)
    return (cache or default_cache()).get(model_id, options, progress)


def _torch_dtype(name: str, on_gpu: bool, small: bool) -> Any:
    import torch

    if name == "auto":
        # bf16 halves memory on a GPU and for real checkpoints on a CPU; tiny models stay fp32.
        return torch.float32 if (small and not on_gpu) else torch.bfloat16
    return getattr(torch, name)


def _quantization_config(options: LoadOptions) -> Any:
    if options.quantization is None:
        return None
    import logging

    # On a CPU, bitsandbytes announces at import that an optional kernels package is missing and
    # falls back to its own implementation; the warning only alarms users.
    logging.getLogger("bitsandbytes.backends.cpu.ops").setLevel(logging.ERROR)
    try:
        import bitsandbytes  # noqa: F401
    except ImportError as exc:
        raise MissingDependencyError(
            "bitsandbytes",
            f"{options.quantization} quantization",
            "pip install bitsandbytes==0.50.2",
        ) from exc
    import torch

    # Matched from the start of a module path (or as a suffix): keep the vision tower and the
    # output layer exact.
    # GLM-5.3-Flash's per-head gate and indexer weights are a few thousand parameters with a
    # handful of outputs (bitsandbytes' CPU kernel wants outputs in multiples of 32): exact too.
    skip = ["model.visual", "visual", "lm_head", "self_attn.b_proj", "indexer.weights_proj"]
    if options.quantization == "4bit":
        from .quant.loader import nf4_config

        return nf4_config(skip, compute_dtype=torch.bfloat16)
    from transformers import BitsAndBytesConfig

    return BitsAndBytesConfig(load_in_8bit=True, llm_int8_skip_modules=skip)


def _check_memory(model_id: str, path: str, options: LoadOptions) -> None:
    try:
        estimate = estimate_memory(path if os.path.isdir(path) else model_id)
    except (WeightsUnavailableError, ConfigError):
        return
    option = options.quantization or "bf16"
    need = estimate.by_option[option]
    where, free = available_memory()
    if where == "cuda" and options.device_map == "auto":
        free += _available_ram()  # accelerate spills what does not fit the GPUs to RAM
        where = "GPU + CPU"
    if need > free * 1.1:
        raise InsufficientMemoryError(
            f"{model_id} needs about {need / GiB:.0f} GiB for {option} weights, but only "
            f"{free / GiB:.0f} GiB of {where} memory is free. Try 4-bit loading (GLM-4.1V), "
            "a machine with more memory, or the remote engine (--engine remote)"
        )


def _load(
    model_id: str, path: str, options: LoadOptions, progress: ProgressFn | None
) -> LoadedModel:
    import time

    report = progress or (lambda _f, _m: None)
    start = time.perf_counter()
    report(0.0, f"Reading the configuration of {model_id}")
    offline = os.environ.get("HF_HUB_OFFLINE") == "1"
    try:
        from transformers import AutoConfig

        config = AutoConfig.from_pretrained(path)
    except (OSError, ValueError) as exc:
        local = os.path.isdir(path)
        raise WeightsUnavailableError(
            f"no weights found for {model_id!r}"
            + (" (offline mode)" if offline else "")
            + (
                ": the folder has no config.json"
                if local
                else ": the hub could not be reached or the id is wrong"
            )
            + f". Download it on a machine with internet (hf download {model_id}"
            " --local-dir DIR) and pass --model DIR, or try the app without weights with"
            " --model tiny-glm41v"
        ) from exc
    try:
        family_of(config)
    except ConfigError as exc:
        raise ConfigError(f"{model_id}: {exc}") from None
    small = model_id in TINY_MODELS

    # Refuse early rather than swap the machine to death or die half-way with an OOM.
    if not small:
        _check_memory(model_id, path, options)

    import torch
    from transformers import AutoModelForImageTextToText, AutoProcessor

    on_gpu = torch.cuda.is_available()
    kwargs: dict[str, Any] = {"dtype": _torch_dtype(options.dtype, on_gpu, small)}
    quant = _quantization_config(options)
    if quant is not None:
        kwargs["quantization_config"] = quant
    device_map = options.device_map
    if device_map == "auto" and not on_gpu:
        device_map = "cpu" if quant is not None else None  # bitsandbytes on CPU wants a map
    if device_map is not None:
        kwargs["device_map"] = device_map
    if options.attn_implementation:
        kwargs["attn_implementation"] = options.attn_implementation
    report(0.1, f"Loading {model_id} ({options.quantization or kwargs['dtype']})")
    try:
        processor = AutoProcessor.from_pretrained(path)
        model = AutoModelForImageTextToText.from_pretrained(path, **kwargs)
    except (torch.OutOfMemoryError, MemoryError) as exc:
        raise InsufficientMemoryError(
            f"ran out of memory loading {model_id}; try 4-bit loading or the remote engine"
        ) from exc
    except OSError as exc:
        raise WeightsUnavailableError(
            f"the weights of {model_id!r} could not be read: {exc}. Point --model at a folder "
            "holding the full checkpoint"
        ) from exc
    except ImportError as exc:
        raise MissingDependencyError(
            str(getattr(exc, "name", "") or "a package"), f"loading {model_id}"
        ) from exc
    except Exception as exc:
        raise ModelLoadError(f"loading {model_id} failed: {exc}") from exc
    model.eval()
    caps = from_checkpoint(config, getattr(processor, "chat_template", None))
    elapsed = time.perf_counter() - start
    report(1.0, f"Loaded {model_id} in {elapsed:.1f} s")
    return LoadedModel(
        model_id=model_id,
        path=path,
        caps=caps,
        options=options,
        model=model,
        processor=processor,
        load_seconds=elapsed,
    )
