"""Real checkpoint shapes on a CPU: the app's memory estimates against a real load.

    .venv/bin/python bench/bench_fullsize.py [--scratch DIR] [--only glm41v,glm45v]
                                             [--options 4bit,8bit] [--tokens 3]

For each checkpoint below the command

1. writes a checkpoint with random weights from the real configuration, one shard at a time
   (never the whole model in memory), in the published layout: sharded safetensors with a
   ``model.safetensors.index.json``, the weight names as the published checkpoints spell them
   (GLM-4.5V's experts one tensor per expert), bf16; plus the tiny checkpoint's tokenizer,
   processor configuration and chat template, with the configuration's token ids pointed at
   that tokenizer's special tokens (the shapes, vocabulary included, stay the real ones);
2. loads it in a fresh process through the product's own loader (:func:`glmv_ui.load_model`)
   for each option, recording the load time, the peak resident memory above the process before
   loading (anonymous memory, and all of it with the checkpoint's mapped pages) and the bytes
   held per kind of tensor, beside :func:`glmv_ui.estimate_memory` for the same folder;
3. asks one short question about one 448x448 image through :class:`glmv_ui.Session` for
   ``--tokens`` new tokens: time to first token and seconds per token after it;
4. removes the checkpoint before writing the next one, so the scratch folder holds one at a
   time (GLM-4.1V-9B: ~21 GB).

Checkpoints:

- ``glm41v``: GLM-4.1V-9B-Thinking, all 40 layers (``Glm4vConfig()`` defaults are its shapes).
- ``glm45v``: GLM-4.5V's real layer shapes, vision tower, attention and vocabulary with three
  language layers: the dense first layer and two MoE layers of 128 experts of 1408. The
  figures per layer are extrapolated to the full 46 layers and set beside the estimate for
  ``zai-org/GLM-4.5V``. GLM-4.6V declares the same architecture and shapes.

Prints Markdown tables for ``bench/RESULTS.md``.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("HF_HUB_OFFLINE", "1")

GiB = 2**30
SHARD_BYTES = 2 * GiB


# ---------------------------------------------------------------------------------------------
# Writing a checkpoint


# The published configurations' rotary settings, which transformers' defaults leave out (without
# them GLM-4.1V's M-RoPE sections do not add up to its rotary dimensions).
ROPE = {
    "rope_type": "default",
    "rope_theta": 10000.0,
    "partial_rotary_factor": 0.5,
    "mrope_section": [8, 12, 12],
}


def _config(which: str, layers: int | None = None) -> Any:
    from transformers import Glm4vConfig, Glm4vMoeConfig

    if which == "glm41v":
        text: dict[str, Any] = {"rope_parameters": ROPE, "max_position_embeddings": 65536}
        if layers:
            text["num_hidden_layers"] = layers
        return Glm4vConfig(text_config=text)
    if which == "glm45v":
        return Glm4vMoeConfig(
            text_config={
                "num_hidden_layers": 3,
                "first_k_dense_replace": 1,
                "head_dim": 128,
                "rope_parameters": ROPE,
                "max_position_embeddings": 65536,
            }
        )
    raise SystemExit(f"unknown checkpoint {which!r}")


def _published_layout(config: Any) -> list[tuple[str, tuple[int, ...]]]:
    """(name, shape) of every tensor the published checkpoint stores, in order: the model is
    built on the meta device and its state dict mapped back through transformers' own reverse
    conversion (the one ``save_pretrained`` applies), which splits fused experts per expert."""
    import torch
    from transformers import AutoModelForImageTextToText
    from transformers.core_model_loading import revert_weight_conversion

    with torch.device("meta"):
        model = AutoModelForImageTextToText.from_config(config)
    external = revert_weight_conversion(model, model.state_dict())
    return [(name, tuple(t.shape)) for name, t in external.items()]


def _random_tensor(name: str, shape: tuple[int, ...], gen: Any) -> Any:
    import torch

    if len(shape) == 1 and "norm" in name:
        return torch.ones(shape, dtype=torch.bfloat16)
    if len(shape) == 1:
        return torch.zeros(shape, dtype=torch.bfloat16)
    t = torch.empty(shape, dtype=torch.bfloat16)
    t.normal_(0.0, 0.02, generator=gen)
    return t


def write_checkpoint(which: str, out: Path, layers: int | None = None) -> dict[str, Any]:
    """Write the ``which`` checkpoint to ``out``; returns what was written."""
    import torch
    from safetensors.torch import save_file

    from glmv_ui.tiny import ensure_tiny_checkpoint

    start = time.perf_counter()
    config = _config(which, layers)
    tiny = ensure_tiny_checkpoint("tiny-glm41v" if which == "glm41v" else "tiny-glm45v")
    tiny_config = json.loads((tiny / "config.json").read_text())
    for key in (
        "image_token_id",
        "video_token_id",
        "image_start_token_id",
        "image_end_token_id",
        "video_start_token_id",
        "video_end_token_id",
    ):
        setattr(config, key, tiny_config[key])
    text_tiny = tiny_config["text_config"]
    config.text_config.eos_token_id = text_tiny["eos_token_id"]
    config.text_config.pad_token_id = text_tiny["pad_token_id"]

    layout = _published_layout(config)
    shards: list[list[tuple[str, tuple[int, ...]]]] = [[]]
    size = 0
    for name, shape in layout:
        nbytes = 2 * math.prod(shape)
        if shards[-1] and size + nbytes > SHARD_BYTES:
            shards.append([])
            size = 0
        shards[-1].append((name, shape))
        size += nbytes
    out.mkdir(parents=True, exist_ok=True)
    gen = torch.Generator().manual_seed(0)
    weight_map: dict[str, str] = {}
    total = 0
    for i, shard in enumerate(shards, 1):
        file = f"model-{i:05d}-of-{len(shards):05d}.safetensors"
        tensors = {name: _random_tensor(name, shape, gen) for name, shape in shard}
        save_file(tensors, str(out / file), metadata={"format": "pt"})
        total += sum(t.numel() * t.element_size() for t in tensors.values())
        weight_map.update(dict.fromkeys(tensors, file))
        del tensors
    index = {"metadata": {"total_size": total}, "weight_map": weight_map}
    (out / "model.safetensors.index.json").write_text(json.dumps(index, indent=2))
    config.save_pretrained(out)
    for f in (
        "tokenizer.json",
        "tokenizer_config.json",
        "processor_config.json",
        "chat_template.jinja",
        "generation_config.json",
    ):
        shutil.copy(tiny / f, out / f)
    return {
        "tensors": len(layout),
        "shards": len(shards),
        "bytes": total,
        "params": sum(math.prod(s) for _, s in layout),
        "write_s": time.perf_counter() - start,
    }


# ---------------------------------------------------------------------------------------------
# Measuring a load (runs in a fresh process: ``--measure FOLDER OPTION``)


def _rss() -> tuple[int, int]:
    """(anonymous, total) resident bytes of this process."""
    fields: dict[str, int] = {}
    with open("/proc/self/status") as f:
        for line in f:
            key, _, value = line.partition(":")
            if key in ("RssAnon", "VmRSS"):
                fields[key] = int(value.split()[0]) * 1024
    return fields["RssAnon"], fields["VmRSS"]


class PeakSampler:
    """Samples the resident memory every few milliseconds in a thread."""

    def __init__(self) -> None:
        self.peak_anon, self.peak_total = _rss()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.wait(0.005):
            anon, total = _rss()
            self.peak_anon = max(self.peak_anon, anon)
            self.peak_total = max(self.peak_total, total)

    def __enter__(self) -> PeakSampler:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


def _kind(module_name: str, param_name: str) -> str:
    full = f"{module_name}.{param_name}" if module_name else param_name
    if full.startswith("model.visual") or full.startswith("visual"):
        return "vision"
    if "embed_tokens" in full or full.startswith("lm_head"):
        return "embeddings + lm_head"
    if ".experts" in full:
        return "routed experts"
    return "linear"


def bytes_by_kind(model: Any) -> dict[str, int]:
    """Bytes of storage held per kind of tensor, each storage counted once; bitsandbytes'
    quantization states (4-bit absmax and code, 8-bit row scales) count with their weight."""
    import torch

    seen: set[int] = set()
    out: dict[str, int] = {}

    def add(kind: str, t: Any) -> None:
        if not isinstance(t, torch.Tensor) or t.device.type == "meta":
            return
        ptr = t.untyped_storage().data_ptr()
        if ptr in seen:
            return
        seen.add(ptr)
        out[kind] = out.get(kind, 0) + t.untyped_storage().nbytes()

    for mod_name, module in model.named_modules():
        is_linear = isinstance(module, torch.nn.Linear)
        for p_name, tensor in [
            *module.named_parameters(recurse=False),
            *module.named_buffers(recurse=False),
        ]:
            kind = _kind(mod_name, p_name)
            if kind == "linear" and not (is_linear and p_name == "weight"):
                kind = "other"
            add(kind, tensor)
            add(kind, getattr(tensor, "SCB", None))
            state = getattr(tensor, "quant_state", None)
            while state is not None:
                for attr in ("absmax", "code", "offset"):
                    add(kind, getattr(state, attr, None))
                state = getattr(state, "state2", None)
    return out


@dataclass
class Measured:
    option: str
    load_s: float
    peak_anon: int
    peak_total: int
    final_anon: int
    held: dict[str, int]
    estimate: int
    per_layer_held: list[int] = field(default_factory=list)
    ttft_s: float | None = None
    s_per_token: float | None = None
    tokens: int = 0
    visual_tokens: int = 0
    answer: str = ""
    after_answer_total: int = 0
    after_answer_anon: int = 0


def measure(folder: str, option: str, tokens: int) -> Measured:
    import gc

    import torch
    from PIL import Image

    from glmv_ui import Session, estimate_memory, load_model
    from glmv_ui.config import Sampling
    from glmv_ui.engines.local import LocalEngine
    from glmv_ui.models import ModelCache
    from glmv_ui.quant.experts import held_bytes

    torch.set_num_threads(os.cpu_count() or 1)
    estimate = estimate_memory(folder).by_option[option]
    gc.collect()
    base_anon, base_total = _rss()
    start = time.perf_counter()
    with PeakSampler() as peak:
        loaded = load_model(
            folder, cache=ModelCache(), quantization=None if option == "bf16" else option
        )
    load_s = time.perf_counter() - start
    gc.collect()
    final_anon, _ = _rss()
    layers = loaded.model.model.language_model.layers
    result = Measured(
        option=option,
        load_s=load_s,
        peak_anon=peak.peak_anon - base_anon,
        peak_total=peak.peak_total - base_total,
        final_anon=final_anon - base_anon,
        held=bytes_by_kind(loaded.model),
        estimate=estimate,
        per_layer_held=[held_bytes(layer) for layer in layers],
    )

    with tempfile.TemporaryDirectory() as tmp:
        image = Path(tmp) / "photo.png"
        Image.new("RGB", (448, 448), (90, 140, 200)).save(image)
        session = Session(
            LocalEngine(loaded),
            sampling=Sampling(max_new_tokens=tokens, temperature=0.0, repetition_penalty=1.0),
        )
        parts = session.attach([str(image)])
        last = None
        for update in session.submit("What colour is this picture?", parts):
            last = update
        assert last is not None
        stats = last.stats
        result.ttft_s = stats.time_to_first_token_s
        result.tokens = stats.generated_tokens
        result.visual_tokens = stats.visual_tokens
        if stats.tokens_per_s:
            result.s_per_token = 1.0 / stats.tokens_per_s
        result.answer = (last.turn.raw or "")[:80]
    anon, total = _rss()
    result.after_answer_anon, result.after_answer_total = anon - base_anon, total - base_total
    return result


# ---------------------------------------------------------------------------------------------
# Driving it all


def _gib(n: int) -> str:
    return f"{n / GiB:.2f}"


def _run_measure(folder: Path, option: str, tokens: int) -> Measured:
    proc = subprocess.run(
        [sys.executable, __file__, "--measure", str(folder), option, "--tokens", str(tokens)],
        capture_output=True,
        text=True,
        cwd=ROOT,
    )
    if proc.returncode != 0:
        raise SystemExit(f"measuring {folder} {option} failed:\n{proc.stderr[-4000:]}")
    line = [ln for ln in proc.stdout.splitlines() if ln.startswith("RESULT ")][-1]
    return Measured(**json.loads(line[len("RESULT ") :]))


def report(which: str, written: dict[str, Any], results: list[Measured]) -> None:
    from glmv_ui import estimate_memory

    print(
        f"\n### {which}: {written['params'] / 1e9:.2f}B parameters, {written['tensors']} "
        f"tensors in {written['shards']} shards, {_gib(written['bytes'])} GiB on disk, "
        f"written in {written['write_s']:.0f} s\n"
    )
    print(
        "| option | estimate (GiB) | held (GiB) | error | peak while loading, anon (GiB) | "
        "peak incl. mapped file (GiB) | after the answer, anon / incl. mapped (GiB) | load (s) | "
        "first token (s) | s/token |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|")
    for r in results:
        held = sum(r.held.values())
        err = (r.estimate - held) / held
        ttft = f"{r.ttft_s:.1f}" if r.ttft_s is not None else "-"
        spt = f"{r.s_per_token:.2f}" if r.s_per_token is not None else "-"
        print(
            f"| {r.option} | {_gib(r.estimate)} | {_gib(held)} | {err:+.1%} | "
            f"{_gib(r.peak_anon)} | {_gib(r.peak_total)} | {_gib(r.after_answer_anon)} / "
            f"{_gib(r.after_answer_total)} | "
            f"{r.load_s:.0f} | {ttft} | {spt} |"
        )
    print("\nBytes held per kind of tensor (GiB):\n")
    kinds = sorted({k for r in results for k in r.held})
    print("| option | " + " | ".join(kinds) + " |")
    print("|---|" + "---|" * len(kinds))
    for r in results:
        print(f"| {r.option} | " + " | ".join(_gib(r.held.get(k, 0)) for k in kinds) + " |")
    for r in results:
        print(
            f"\n{r.option}: {r.visual_tokens} visual tokens, {r.tokens} tokens generated, "
            f"per layer held (MiB): "
            + ", ".join(f"{b / 2**20:.0f}" for b in r.per_layer_held[:4])
            + (" ..." if len(r.per_layer_held) > 4 else "")
        )
    if which == "glm45v":
        full = estimate_memory("zai-org/GLM-4.5V").by_option
        print(
            "\nExtrapolated to GLM-4.5V's 46 layers (1 dense + 45 MoE): fixed parts "
            "(vision, embeddings, lm_head, final norm) + the dense layer + 45 x the mean "
            "MoE layer, against the app's estimate for zai-org/GLM-4.5V:\n"
        )
        print("| option | MoE layer (GiB) | extrapolated (GiB) | estimate (GiB) | error |")
        print("|---|---|---|---|---|")
        for r in results:
            dense, moe = r.per_layer_held[0], r.per_layer_held[1:]
            moe_mean = sum(moe) / len(moe)
            fixed = sum(r.held.values()) - sum(r.per_layer_held)
            extrapolated = fixed + dense + 45 * moe_mean
            est = full[r.option]
            print(
                f"| {r.option} | {_gib(int(moe_mean))} | {_gib(int(extrapolated))} | "
                f"{_gib(est)} | {(est - extrapolated) / extrapolated:+.1%} |"
            )


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--scratch", default=None, help="folder for the checkpoint (removed after)")
    ap.add_argument("--only", default="glm41v,glm45v")
    ap.add_argument("--options", default="4bit,8bit")
    ap.add_argument("--tokens", type=int, default=3)
    ap.add_argument(
        "--layers",
        type=int,
        default=None,
        help="GLM-4.1V with fewer language layers (a quick check of the command)",
    )
    ap.add_argument("--measure", nargs=2, metavar=("FOLDER", "OPTION"), help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.measure:
        result = measure(args.measure[0], args.measure[1], args.tokens)
        print("RESULT " + json.dumps(asdict(result)))
        return
    scratch = Path(args.scratch or tempfile.mkdtemp(prefix="glmv-fullsize-"))
    for which in args.only.split(","):
        folder = scratch / which
        try:
            written = write_checkpoint(which, folder, args.layers)
            options = args.options.split(",")
            if which == "glm45v":
                options = [o for o in options if o != "8bit"]  # 8-bit leaves experts in bf16
            results = [_run_measure(folder, option, args.tokens) for option in options]
            report(which, written, results)
        finally:
            shutil.rmtree(folder, ignore_errors=True)
    if not args.scratch:
        shutil.rmtree(scratch, ignore_errors=True)


if __name__ == "__main__":
    main()
