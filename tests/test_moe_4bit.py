"""GLM-4.5V's fused MoE experts in 4-bit: storage, accuracy, routed-only compute, the real
generate path, and memory while loading."""

from __future__ import annotations

import json
import math
import subprocess
import sys
from pathlib import Path

import pytest

from glmv_ui.config import Sampling
from glmv_ui.engines.base import GenerationRequest
from glmv_ui.engines.local import LocalEngine
from glmv_ui.media.parts import MediaPart
from glmv_ui.messages import user_message
from glmv_ui.models import LoadedModel, ModelCache, load_model
from glmv_ui.quant import NF4
from glmv_ui.session import Session
from tests.helpers import drain, forcing_processor, red_image, stop_after

SHORT = Sampling(max_new_tokens=12, temperature=0.0)
BF16_UNIT = 2.0**-8  # bf16 keeps 8 significant bits: relative rounding error at most 2^-8


@pytest.fixture(scope="module")
def quant45() -> LoadedModel:
    return load_model("tiny-glm45v", cache=ModelCache(), quantization="4bit")


@pytest.fixture(scope="module")
def pair45() -> tuple[LoadedModel, LoadedModel]:
    """The same checkpoint in bf16 and in 4-bit (bf16 compute), so the 4-bit experts were packed
    from exactly the bf16 weights they are compared with."""
    cache = ModelCache()
    return (
        load_model("tiny-glm45v", cache=cache, dtype="bfloat16"),
        load_model("tiny-glm45v", cache=cache, dtype="bfloat16", quantization="4bit"),
    )


def _moe_layers(loaded: LoadedModel) -> list:
    return [
        layer.mlp
        for layer in loaded.model.model.language_model.layers
        if hasattr(layer.mlp, "experts")
    ]


def test_every_routed_expert_tensor_is_stored_in_4bit(quant45):
    import torch

    from glmv_ui.quant.experts import Experts4bit, held_bytes

    model = quant45.model
    assert not [n for n, p in model.named_parameters() if p.ndim == 3]  # no fused tensor left
    layers = _moe_layers(quant45)
    assert layers
    for mlp in layers:
        experts = mlp.experts
        assert isinstance(experts, Experts4bit)
        assert experts.packed == {"gate_up_proj", "down_proj"}
        e, h, i = experts.num_experts, experts.hidden_dim, experts.intermediate_dim
        expected = NF4.matrix_bytes(2 * i, h, e) + NF4.matrix_bytes(h, i, e) + NF4.codebook_bytes
        assert held_bytes(experts) == expected
        packed = experts.gate_up_proj
        assert isinstance(packed, torch.Tensor)
        assert packed.dtype == torch.uint8
        assert packed.numel() * 2 == e * 2 * i * h  # two weights per byte
        bf16 = (e * 2 * i * h + e * h * i) * 2
        assert held_bytes(experts) < 0.27 * bf16  # 4 bits + ~0.13 of scales, of 16
        # Router and shared experts stay as they are: fp32 router, bitsandbytes' Linear4bit.
        assert mlp.gate.weight.dtype == torch.float32
        assert type(mlp.shared_experts.down_proj).__name__ == "Linear4bit"
    assert type(model.lm_head).__name__ == "Linear"
    assert all(type(m).__name__ != "Linear4bit" for n, m in model.named_modules() if "visual" in n)


def test_each_expert_unpacks_within_the_nf4_error_bound(quant45):
    import torch

    """Per block of 64 weights with absmax A: NF4 rounds w/A to the nearest of 16 code values,
    so |w - c*A| <= h*A with h half the widest gap of the code; the stored scale Â is A after
    8-bit double quantization, so |w - c*Â| <= h*A + |A - Â| (|c| <= 1)."""
    import bitsandbytes.functional as bnbf

    original = load_model("tiny-glm45v", cache=ModelCache())  # fp32, what 4-bit packed
    code = None
    for ref_mlp, mlp in zip(_moe_layers(original), _moe_layers(quant45), strict=True):
        experts = mlp.experts
        code = experts.quant_map.sort().values
        h = float((code[1:] - code[:-1]).max()) / 2
        for proj in ("gate_up_proj", "down_proj"):
            dense = getattr(ref_mlp.experts, proj).detach()
            for e in range(experts.num_experts):
                w = dense[e].reshape(-1, NF4.blocksize)
                state = experts.quant_state(proj, e, torch.float32)
                scales = bnbf.dequantize_blockwise(state.absmax, state.state2) + state.offset
                absmax = w.abs().amax(dim=1)
                bound = h * absmax + (absmax - scales).abs() + 1e-6
                err = (experts.dequantize(proj, e).reshape(-1, NF4.blocksize) - w).abs()
                assert bool((err <= bound[:, None]).all()), (proj, e)
                assert float(err.max()) > 0  # it really is quantized
    assert code is not None
    assert len(code) == 16


def _routing(mlp, x):
    _, weights, index = mlp.gate(x)
    return index, weights


def test_moe_output_stays_within_the_predicted_quantization_error(pair45):
    import torch

    """Quantization perturbs each matrix by a relative error eps (measured: ||Ŵ-W|| / ||W||).
    To first order the errors are independent, so gate and up each carry eps_gu into
    act(gate) * up (the SiLU keeps a relative error near 1x), and down adds eps_d:
    ||y_4bit - y|| / ||y|| ~ sqrt(2 eps_gu^2 + eps_d^2). 25% of slack covers SiLU's gain
    (1 to 1.28) and the spread of 128 random tokens.
    Separately, against the same experts computed with the unpacked weights, the only
    difference is bf16 arithmetic: about six roundings (input, weights, two products, the
    activation, the output) of at most 2^-8 each, 2 * sqrt(6) * 2^-8 with a factor 2 of slack."""
    import copy

    bf16, q4 = pair45
    generator = torch.Generator().manual_seed(0)
    for ref_mlp, mlp in zip(_moe_layers(bf16), _moe_layers(q4), strict=True):
        experts, dense = mlp.experts, ref_mlp.experts
        x = torch.randn(128, experts.hidden_dim, generator=generator).to(torch.bfloat16)
        index, weights = _routing(ref_mlp, x)
        index4, weights4 = _routing(mlp, x)
        assert torch.equal(index, index4)
        assert torch.equal(weights, weights4)
        assert len(set(index.reshape(-1).tolist())) > 1

        eps = {}
        unpacked = copy.deepcopy(dense)
        for proj in ("gate_up_proj", "down_proj"):
            w = getattr(dense, proj).detach().float()
            w4 = torch.stack([experts.dequantize(proj, e) for e in range(experts.num_experts)])
            eps[proj] = float((w4 - w).norm() / w.norm())
            getattr(unpacked, proj).data = w4.to(torch.bfloat16)
        with torch.no_grad():
            y = dense(x, index, weights).float()
            y4 = experts(x, index, weights).float()
            y_unpacked = unpacked(x, index, weights).float()
        predicted = math.sqrt(2 * eps["gate_up_proj"] ** 2 + eps["down_proj"] ** 2)
        rel = float((y4 - y).norm() / y.norm())
        assert 0.75 * predicted <= rel <= 1.25 * predicted, (rel, predicted)
        arithmetic = float((y4 - y_unpacked).norm() / y_unpacked.norm())
        assert arithmetic <= 2 * math.sqrt(6) * BF16_UNIT, arithmetic


def _bnb_calls(fn) -> list[tuple]:
    """The bitsandbytes 4-bit matmuls ``fn`` runs, with the shapes of their inputs."""
    from torch.profiler import ProfilerActivity, profile

    with profile(activities=[ProfilerActivity.CPU], record_shapes=True) as prof:
        fn()
    return [
        tuple(tuple(s) for s in ev.input_shapes[:3])
        for ev in prof.events()
        if ev.name == "bitsandbytes::gemm_4bit"
    ]


@pytest.mark.parametrize("routed", [[[1, 2]], [[3, 0], [0, 3], [3, 0]], [[0, 1], [2, 3]]])
def test_only_the_routed_experts_do_any_work(quant45, routed):
    import torch

    experts = _moe_layers(quant45)[0].experts
    index = torch.tensor(routed)
    x = torch.randn(len(routed), experts.hidden_dim)
    weights = torch.full(index.shape, 0.5)
    calls = _bnb_calls(lambda: experts(x, index, weights))
    active = set(index.reshape(-1).tolist())
    # One gate_up and one down matmul per routed expert, each on that expert's packed matrix.
    assert len(calls) == 2 * len(active)
    h, i = experts.hidden_dim, experts.intermediate_dim
    sizes = sorted(shapes[1][0] for shapes in calls)
    assert sizes == sorted([2 * i * h // 2] * len(active) + [h * i // 2] * len(active))
    # Each matmul sees exactly the tokens routed to its expert.
    tokens = sorted(shapes[0][0] for shapes in calls)
    per_expert = [sum(row.count(e) for row in routed) for e in active]
    assert tokens == sorted(per_expert * 2)


def test_a_decode_step_touches_only_the_active_experts(quant45, monkeypatch):
    """Generation drives the real router: every step (prefill, then one token at a time) runs
    gate_up and down for each expert the router picked in each MoE layer, and nothing for the
    others. (generate runs on a worker thread, out of the profiler's sight: count the calls.)"""
    from collections import Counter

    from glmv_ui.quant.experts import Experts4bit

    moe = _moe_layers(quant45)
    picked: Counter[int] = Counter()
    steps: list[int] = []
    ran: Counter[tuple[str, int]] = Counter()
    project = Experts4bit._project

    def counting(self, proj, expert, x):
        ran[(proj, expert)] += 1
        return project(self, proj, expert, x)

    def record(_module, args, _out):
        chosen = set(args[1].reshape(-1).tolist())
        picked.update(chosen)
        steps.append(len(chosen))

    monkeypatch.setattr(Experts4bit, "_project", counting)
    handles = [mlp.experts.register_forward_hook(record) for mlp in moe]
    try:
        drain(Session(LocalEngine(quant45), sampling=SHORT).submit("hello"))
    finally:
        for handle in handles:
            handle.remove()
    assert len(steps) == SHORT.max_new_tokens * len(moe)  # prefill + 11 decode steps
    assert steps[1:]
    assert max(steps[1:]) <= 2
    for proj in ("gate_up_proj", "down_proj"):
        assert Counter({e: n for (p, e), n in ran.items() if p == proj}) == picked


def _image() -> MediaPart:
    return MediaPart("image", "cat.png", image=red_image(224, 224))


def test_4bit_generates_streams_and_sees_images(quant45):
    session = Session(LocalEngine(quant45), sampling=SHORT)
    updates = list(session.submit("what colour is this?", [_image()]))
    final = updates[-1]
    assert len(updates) >= 2
    assert final.turn.status == "done"
    assert final.stats.generated_tokens == 12
    assert final.stats.visual_tokens == 64
    assert session.turns[0].raw == "".join(u.delta for u in updates)


def test_4bit_thinking_switch_and_parsed_reply(quant45):
    from transformers import LogitsProcessorList

    engine = LocalEngine(quant45)
    for thinking in (False, True):
        request = GenerationRequest(
            messages=[user_message("hi")], sampling=SHORT.replace(thinking=thinking)
        )
        prompt = quant45.tokenizer.decode(
            engine.prepare(request)["input_ids"][0], skip_special_tokens=False
        )
        assert ("/nothink" in prompt) is (not thinking)
    forced = "<think>look closely</think>It is red."
    engine = LocalEngine(
        quant45,
        generate_kwargs={
            "logits_processor": LogitsProcessorList([forcing_processor(quant45.tokenizer, forced)])
        },
    )
    session = Session(engine, sampling=Sampling(max_new_tokens=40, temperature=0.0))
    final = drain(session.submit("what colour?", [_image()]))
    assert final.thinking == "look closely"
    assert final.answer == "It is red."
    nothink = Session(LocalEngine(quant45), sampling=SHORT.replace(thinking=False))
    assert drain(nothink.submit("hi")).turn.status == "done"


def test_4bit_stop_ends_generate(quant45):
    session = Session(LocalEngine(quant45), sampling=Sampling(max_new_tokens=5000, temperature=0.0))
    at_stop, final = stop_after(session, "write a long story", 5)
    assert final.stats.finish_reason == "cancelled"
    assert final.stats.generated_tokens < at_stop + 10
    session.sampling = SHORT
    assert drain(session.submit("again")).turn.status == "done"  # the model is free again


# The loading-memory probe runs in a fresh process: glibc otherwise keeps freed blocks of up to
# 32 MiB in its heap (its mmap threshold grows as memory is freed), so the process size would
# show the allocator's history rather than the tensors alive. A fixed threshold returns every
# large block on free. Anonymous memory is read at each pack call, when the fused tensor being
# packed is alive: the loader's high-water mark for the experts.
_PROBE = r"""
import json, sys
import torch
from transformers import AutoModelForImageTextToText
from glmv_ui.quant import experts as ex
from glmv_ui.quant.loader import nf4_config

def anon():
    with open("/proc/self/status") as f:
        return next(int(l.split()[1]) * 1024 for l in f if l.startswith("RssAnon"))

seen, pack = [], ex.Experts4bit.quantize
def probe(self, proj, weights):
    seen.append((anon(), weights.numel() * weights.element_size()))
    return pack(self, proj, weights)
ex.Experts4bit.quantize = probe
base = anon()
model = AutoModelForImageTextToText.from_pretrained(
    sys.argv[1], dtype=torch.bfloat16, device_map="cpu",
    quantization_config=nf4_config(["model.visual", "visual", "lm_head"]))
final = anon()
print(json.dumps({"base": base, "final": final, "held": ex.held_bytes(model),
                  "at_pack": [a for a, _ in seen], "fused": max(n for _, n in seen)}))
"""


@pytest.mark.slow
def test_loading_streams_layer_by_layer(tmp_path: Path):
    """Three MoE layers of 16 experts at hidden 1024: while a layer's fused tensor is packed,
    the process holds at most that one tensor (plus a quarter for scratch) beyond what it ends
    with; loading everything in bf16 first would hold two more layers' experts (~96 MiB)."""
    import os

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
    folder = build_shaped_checkpoint(tmp_path / "shaped", shape, moe_layers=3)
    env = {
        **os.environ,
        "MALLOC_MMAP_THRESHOLD_": "65536",
        "OMP_NUM_THREADS": "1",
        "PYTHONPATH": str(Path(__file__).resolve().parent.parent),
    }
    out = subprocess.run(
        [sys.executable, "-c", _PROBE, str(folder)],
        capture_output=True,
        text=True,
        env=env,
        check=True,
        timeout=240,
    )
    probe = json.loads(out.stdout.strip().splitlines()[-1])
    assert len(probe["at_pack"]) == 2 * 3
    assert probe["fused"] == 16 * 2 * 512 * 1024 * 2
    transient = max(probe["at_pack"]) - probe["final"]
    assert transient <= 1.25 * probe["fused"], transient
    experts_bf16 = 3 * 16 * 3 * 512 * 1024 * 2
    assert probe["final"] - probe["base"] < probe["held"] + experts_bf16 / 3


@pytest.mark.slow  # imports in a fresh interpreter
def test_quant_package_imports_nothing_heavy():
    # The estimate and the layout are read without torch; only loading imports the rest.
    code = (
        "import sys, glmv_ui.quant, glmv_ui.quant.layout, glmv_ui.quant.footprint\n"
        "print(','.join(m for m in ('torch', 'transformers', 'bitsandbytes') "
        "if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""
