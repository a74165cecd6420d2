"""What ZeroGPU's stop flag costs per token, and how soon Stop frees the GPU worker.

    .venv/bin/python bench/bench_zerogpu.py [--tokens 512] [--repeat 5]

1. The check: ``StopFlag.is_set()`` (a ``stat`` of a file that does not exist) and the worker's
   cancel event that combines it with a local event, against ``threading.Event.is_set()``.
2. Per token: ``LocalEngine.stream`` on the tiny checkpoint with the worker's cancel event
   against the same with a plain ``threading.Event`` (tokens/s, end-of-sequence suppressed).
3. Stop through the real ``spaces`` ZeroGPU path (a child process with SPACES_ZERO_GPU on, the
   scheduler stand-in of the tests, CPU stand-ins for the device functions): from
   ``Session.stop()`` to the end of the caller's stream, and to ``/release`` (the worker is free
   for the next request), against the median interval between chunks of the same reply.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import timeit
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

CHILD = r"""
import json, sys, threading, time
sys.path[:0] = [sys.argv[1], sys.argv[1] + "/tests"]
import zerogpu_cpu  # noqa: F401 - spaces on its ZeroGPU path, device functions on the CPU
from glmv_ui.config import Sampling
from glmv_ui.engines.local import LocalEngine
from glmv_ui.media.parts import MediaPart
from glmv_ui.models import load_model
from glmv_ui.session import Session
from glmv_ui.engines.zerogpu import zerogpu_engine as gpu_engine
from PIL import Image

box = []
def load():  # in a thread, as the app's model manager does
    engine = LocalEngine(load_model("tiny-glm41v"), generate_kwargs={"min_new_tokens": 200})
    box.append(gpu_engine(engine))
loader = threading.Thread(target=load)
loader.start(); loader.join()
session = Session(box[0])
part = MediaPart(kind="image", source="red.png", image=Image.new("RGB", (120, 90), "red"))
for run in range(int(sys.argv[2])):
    arrivals, stopped = [], None
    for update in session.submit("Describe.", [part] if run == 0 else [],
                                 sampling=Sampling(max_new_tokens=4000)):
        arrivals.append(time.monotonic())
        if len(arrivals) == 20:
            stopped = time.monotonic()
            session.stop()
    gaps = [b - a for a, b in zip(arrivals[1:20], arrivals[2:20])]
    print(json.dumps({"stop": stopped, "end": time.monotonic(), "gap": sorted(gaps)[len(gaps) // 2],
                      "status": update.turn.status}), flush=True)
"""


def check_costs() -> None:
    from glmv_ui.engines.zerogpu import StopFlag, _FlagEvent

    flag = StopFlag(str(Path(tempfile.mkdtemp()) / "stop"))
    event, worker = threading.Event(), _FlagEvent(flag)
    n = 200_000
    base = min(timeit.repeat(event.is_set, number=n, repeat=5)) / n
    for name, fn in (("StopFlag.is_set", flag.is_set), ("worker cancel event", worker.is_set)):
        cost = min(timeit.repeat(fn, number=n, repeat=5)) / n
        print(
            f"{name}: {cost * 1e6:.2f} us per check; threading.Event.is_set "
            f"{base * 1e6:.3f} us; ratio {cost / base:.1f}"
        )


def per_token(tokens: int, repeat: int) -> None:
    from glmv_ui.config import Sampling
    from glmv_ui.engines.base import GenerationRequest
    from glmv_ui.engines.local import LocalEngine
    from glmv_ui.engines.zerogpu import StopFlag, _FlagEvent
    from glmv_ui.messages import user_message
    from glmv_ui.models import load_model

    loaded = load_model("tiny-glm41v")
    engine = LocalEngine(loaded, generate_kwargs={"min_new_tokens": tokens})
    request = GenerationRequest(
        messages=[user_message("Describe a picture.")],
        sampling=Sampling(temperature=0, max_new_tokens=tokens),
    )
    flag = StopFlag(str(Path(tempfile.mkdtemp()) / "stop"))
    rates: dict[str, list[float]] = {"threading.Event": [], "worker cancel event": []}
    for run in range(repeat + 1):  # the first round warms up and is not counted
        for name in rates if run % 2 else reversed(list(rates)):
            cancel = threading.Event() if name == "threading.Event" else _FlagEvent(flag)
            last = None
            for chunk in engine.stream(request, cancel):
                last = chunk
            assert last is not None
            assert last.stats.generated_tokens == tokens
            if run:
                rates[name].append(tokens / last.stats.elapsed_s)
    base = statistics.median(rates["threading.Event"])
    for name, values in rates.items():
        rate = statistics.median(values)
        print(f"LocalEngine.stream with {name}: {rate:.0f} tokens/s, ratio {rate / base:.2f}")


def stop_latency(repeat: int) -> None:
    from tests.zerogpu_standin import SchedulerStandIn

    standin = SchedulerStandIn()
    home = tempfile.mkdtemp()
    env = {
        **os.environ,
        "SPACES_ZERO_GPU": "true",
        "SPACES_ZERO_DEVICE_API_URL": standin.url,
        "HOME": home,
        "TMPDIR": home,
        "HF_HUB_OFFLINE": "1",
        "TOKENIZERS_PARALLELISM": "false",
    }
    env.setdefault("GLMV_CACHE", str(ROOT / ".cache" / "glmv"))
    try:
        run = subprocess.run(
            [sys.executable, "-c", CHILD, str(ROOT), str(repeat)],
            env=env,
            capture_output=True,
            text=True,
            timeout=900,
            start_new_session=True,
        )
        results = [json.loads(line) for line in run.stdout.splitlines() if line.startswith("{")]
        assert len(results) == repeat, run.stderr[-3000:]
        releases = [c.at for c in standin.of("/release")]
    finally:
        standin.close()
    to_end = [r["end"] - r["stop"] for r in results]
    to_free = [rel - r["stop"] for r, rel in zip(results, releases, strict=True)]
    gap = statistics.median(r["gap"] for r in results)
    print(
        f"statuses: {sorted({r['status'] for r in results})}; workers started: "
        f"{len(standin.of('/allow'))} for {repeat} requests"
    )
    print(f"interval between chunks (baseline): {gap * 1e3:.1f} ms")
    for name, values in (
        ("stop -> caller's stream ends", to_end),
        ("stop -> worker released", to_free),
    ):
        median = statistics.median(values)
        print(
            f"{name}: median {median * 1e3:.0f} ms, max {max(values) * 1e3:.0f} ms, "
            f"ratio {median / gap:.1f} chunk intervals"
        )


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--tokens", type=int, default=512)
    ap.add_argument("--repeat", type=int, default=5)
    args = ap.parse_args()
    os.environ.setdefault("GLMV_CACHE", str(ROOT / ".cache" / "glmv"))
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    check_costs()
    per_token(args.tokens, args.repeat)
    stop_latency(args.repeat)


if __name__ == "__main__":
    main()
