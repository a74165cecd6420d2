"""GLM-4.5V's experts in 4-bit against bf16: decode speed, and memory while loading.

    .venv/bin/python bench/bench_moe_4bit.py [--tokens 256] [--repeat 3] [--threads 1]
                                             [--skip-load]

Three measurements, each with its baseline in the same run:

1. ``tiny-glm45v`` end to end: plain ``model.generate`` of ``--tokens`` greedy tokens (end of
   sequence suppressed), bf16 weights against 4-bit (both bf16 compute).
2. One MoE layer at GLM-4.5V's real shapes (hidden 4096, experts of 1408, 8 routed per
   token), random weights: a decode step (1 token) and a 128-token prefill chunk through
   transformers' bf16 experts module (8 experts) and through
   :class:`~glmv_ui.quant.experts.Experts4bit` with 8, 32 and 128 experts, every token routed
   to experts 0-7. If inactive experts did any work, the 4-bit time would grow with the expert
   count. (In the real model a prefill's tokens reach many more distinct experts.) Per-token
   figures for the whole model multiply one layer by GLM-4.5V's 45 MoE layers (experts only:
   attention, the shared expert and the router are left out). The 4-bit modules with more than
   8 experts repeat one packed expert, which costs exactly what distinct experts would.
3. Loading a random GLM-4.5V-shaped checkpoint (hidden 1024, 16 experts of 512) with 2 and with
   4 MoE layers in 4-bit, in a fresh process with a fixed glibc mmap threshold so that the
   resident anonymous memory follows the live tensors: peak (sampled every 0.5 ms by a
   thread) and final, above the process before loading. A loader that streams keeps the
   peak-minus-final gap the same however many layers there are.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from functools import partial
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bench.timing import best_of

MOE_LAYERS_GLM45V = 45


def bench_tiny(tokens: int, repeat: int) -> None:
    import torch

    from glmv_ui.config import Sampling
    from glmv_ui.engines.base import GenerationRequest
    from glmv_ui.engines.local import LocalEngine
    from glmv_ui.messages import user_message
    from glmv_ui.models import ModelCache, load_model

    cache = ModelCache()
    models = {
        "bf16": load_model("tiny-glm45v", cache=cache, dtype="bfloat16"),
        "4-bit": load_model("tiny-glm45v", cache=cache, dtype="bfloat16", quantization="4bit"),
    }
    sampling = Sampling(max_new_tokens=tokens, temperature=0.0, repetition_penalty=1.0)
    request = GenerationRequest(messages=[user_message("tell me a story")], sampling=sampling)
    inputs = LocalEngine(models["bf16"]).prepare(request)
    gen = dict(
        max_new_tokens=tokens,
        min_new_tokens=tokens,
        do_sample=False,
        temperature=None,
        top_p=None,
        top_k=None,
    )
    rates: dict[str, list[float]] = {name: [] for name in models}
    for _ in range(repeat):  # interleaved, so both see the same machine
        for name, loaded in models.items():
            start = time.perf_counter()
            with torch.inference_mode():
                loaded.model.generate(**inputs, **gen)
            rates[name].append(tokens / (time.perf_counter() - start))
    base = statistics.median(rates["bf16"])
    print(f"\n## tiny-glm45v, {tokens} tokens, median of {repeat}\n")
    print("| weights | tokens/s | vs bf16 |\n|---|---|---|")
    for name, values in rates.items():
        rate = statistics.median(values)
        print(f"| {name} | {rate:,.0f} | {rate / base:.2f} |")


def _glm45v_experts(count: int) -> tuple[Any, Any]:
    """transformers' bf16 experts module at GLM-4.5V's shapes with ``count`` experts, and its
    text config."""
    import torch
    from transformers import Glm4vMoeConfig
    from transformers.models.glm4v_moe.modeling_glm4v_moe import Glm4vMoeTextExperts

    config: Any = Glm4vMoeConfig(text_config={"head_dim": 128, "n_routed_experts": count})
    config = config.text_config
    config._experts_implementation = "eager"  # standalone module: transformers' own loop
    module = Glm4vMoeTextExperts(config).to(torch.bfloat16)
    with torch.no_grad():
        module.gate_up_proj.normal_(0.0, 0.02)
        module.down_proj.normal_(0.0, 0.02)
    return module, config


def _packed(dense: Any, count: int) -> Any:
    """An Experts4bit holding ``count`` copies of ``dense``'s first expert, packed once."""
    import torch

    from glmv_ui.quant.experts import Experts4bit

    one = Experts4bit(1, dense.hidden_dim, dense.intermediate_dim, dense.act_fn)
    for proj in ("gate_up_proj", "down_proj"):
        one.load_dense(proj, getattr(dense, proj)[:1].detach())
    many = Experts4bit(count, dense.hidden_dim, dense.intermediate_dim, dense.act_fn)
    with torch.no_grad():
        for name, param in one.named_parameters():
            tensor = param if "quant_map" in name else param.repeat(count, *[1] * (param.ndim - 1))
            setattr(many, name, torch.nn.Parameter(tensor, requires_grad=False))
    many.packed = set(one.packed)
    return many


def _matmuls_4bit(fn: Any) -> int:
    """How many bitsandbytes 4-bit matmuls ``fn`` runs (the work that scales with experts)."""
    from torch.profiler import ProfilerActivity, profile

    with profile(activities=[ProfilerActivity.CPU]) as prof:
        fn()
    return sum(1 for ev in prof.events() if ev.name == "bitsandbytes::gemm_4bit")


def bench_layer(repeat: int) -> None:
    import torch

    dense, config = _glm45v_experts(8)
    top_k = config.num_experts_per_tok
    modules: dict[str, torch.nn.Module] = {"bf16, 8 experts": dense}
    for count in (8, 32, 128):
        modules[f"4-bit, {count} experts"] = _packed(dense, count)
    generator = torch.Generator().manual_seed(0)
    x1 = torch.randn(1, dense.hidden_dim, generator=generator).to(torch.bfloat16)
    x128 = torch.randn(128, dense.hidden_dim, generator=generator).to(torch.bfloat16)
    # Experts 0-7 for every token, whatever the module holds: the same work in every row, so
    # any cost of holding more experts shows as a slower row.
    calls = {
        "step": (x1, torch.arange(top_k)[None, :], torch.full((1, top_k), 1.0 / top_k)),
        "prefill": (
            x128,
            torch.stack([torch.randperm(top_k, generator=generator) for _ in range(128)]),
            torch.full((128, top_k), 1.0 / top_k),
        ),
    }
    best = {(name, kind): float("inf") for name in modules for kind in calls}
    with torch.inference_mode():
        for _ in range(repeat):  # interleaved: every row sees the same machine
            for name, module in modules.items():
                for kind, args in calls.items():
                    best[name, kind] = min(best[name, kind], best_of(partial(module, *args), 1))
        matmuls = {
            name: _matmuls_4bit(partial(module, *calls["step"])) for name, module in modules.items()
        }
    print(
        f"\n## One MoE layer at GLM-4.5V's shapes (hidden {dense.hidden_dim}, experts of "
        f"{dense.intermediate_dim}, {top_k} routed per token), best of {repeat}\n"
    )
    print(
        "| experts module | 4-bit matmuls per step | decode step, ms | x45 layers: tokens/s "
        "| vs bf16 | prefill 128 tokens, ms | vs bf16 |\n|---|---|---|---|---|---|---|"
    )
    step0, prefill0 = best["bf16, 8 experts", "step"], best["bf16, 8 experts", "prefill"]
    for name in modules:
        step, prefill = best[name, "step"], best[name, "prefill"]
        print(
            f"| {name} | {matmuls[name]} | {step * 1e3:.1f} "
            f"| {1 / (step * MOE_LAYERS_GLM45V):.2f} | {step0 / step:.2f} "
            f"| {prefill * 1e3:.0f} | {prefill0 / prefill:.2f} |"
        )


_LOAD_PROBE = r"""
import json, sys, threading, time
import torch
from transformers import AutoModelForImageTextToText
from glmv_ui.quant.experts import held_bytes
from glmv_ui.quant.loader import nf4_config

def anon():
    with open("/proc/self/status") as f:
        return next(int(l.split()[1]) * 1024 for l in f if l.startswith("RssAnon"))

peak, done = [0], threading.Event()
def sample():
    while not done.is_set():
        peak[0] = max(peak[0], anon())
        time.sleep(0.0005)
base = anon()
thread = threading.Thread(target=sample)
thread.start()
start = time.perf_counter()
model = AutoModelForImageTextToText.from_pretrained(
    sys.argv[1], dtype=torch.bfloat16, device_map="cpu",
    quantization_config=nf4_config(["model.visual", "visual", "lm_head"]))
seconds = time.perf_counter() - start
done.set()
thread.join()
print(json.dumps({"base": base, "peak": peak[0], "final": anon(), "held": held_bytes(model),
                  "seconds": seconds}))
"""


def bench_load() -> None:
    from glmv_ui.quant.synthetic import LayerShape, build_shaped_checkpoint

    shape = LayerShape(
        hidden=1024,
        moe_intermediate=512,
        experts=16,
        active=4,
        heads=8,
        kv_heads=2,
        dense_intermediate=1024,
    )
    fused = shape.experts * 2 * shape.moe_intermediate * shape.hidden * 2
    mib = 2**20
    print(
        f"\n## Loading in 4-bit: anonymous memory above the process before loading, MiB "
        f"(one layer's fused gate_up in bf16: {fused / mib:.0f} MiB)\n"
    )
    print(
        "| MoE layers | checkpoint (bf16) | experts in bf16 | held after loading | final "
        "| peak | peak - final | load s |\n|---|---|---|---|---|---|---|---|"
    )
    env = {
        **os.environ,
        "MALLOC_MMAP_THRESHOLD_": "65536",
        "PYTHONPATH": str(Path(__file__).resolve().parent.parent),
    }
    with tempfile.TemporaryDirectory() as tmp:
        for layers in (2, 4):
            folder = build_shaped_checkpoint(Path(tmp) / f"l{layers}", shape, layers)
            size = sum(f.stat().st_size for f in folder.glob("*.safetensors"))
            out = subprocess.run(
                [sys.executable, "-c", _LOAD_PROBE, str(folder)],
                capture_output=True,
                text=True,
                env=env,
                check=True,
            )
            r = json.loads(out.stdout.strip().splitlines()[-1])
            experts = layers * shape.experts * 3 * shape.hidden * shape.moe_intermediate * 2
            final, peak = r["final"] - r["base"], r["peak"] - r["base"]
            print(
                f"| {layers} | {size / mib:.0f} | {experts / mib:.0f} | {r['held'] / mib:.0f} "
                f"| {final / mib:.0f} | {peak / mib:.0f} | {(peak - final) / mib:.0f} "
                f"| {r['seconds']:.1f} |"
            )


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--tokens", type=int, default=256)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--skip-load", action="store_true")
    ap.add_argument(
        "--threads",
        type=int,
        default=1,
        help="torch intra-op threads (1: steady figures on a shared machine)",
    )
    args = ap.parse_args()
    import logging

    import torch

    logging.getLogger("bitsandbytes.backends.cpu.ops").setLevel(logging.ERROR)
    torch.set_num_threads(args.threads)
    os.environ["OMP_NUM_THREADS"] = str(args.threads)  # for the loading subprocesses
    bench_tiny(args.tokens, args.repeat)
    bench_layer(args.repeat)
    if not args.skip_load:
        bench_load()


if __name__ == "__main__":
    main()
