"""Streaming overhead of the engine and session against plain ``generate``, in one run.

    .venv/bin/python bench/bench_engine.py [--model tiny-glm41v] [--tokens 1024] [--repeat 3]

Every path generates exactly ``--tokens`` tokens (end-of-sequence suppressed with
``min_new_tokens``) from the same prompt with greedy decoding, so the only difference is what
happens around ``generate``:

- ``generate``: plain ``model.generate`` (the baseline, 1.00);
- ``hf-streamer``: ``generate`` in a thread with transformers' ``TextIteratorStreamer``
  (re-decodes the current line every token);
- ``engine``: ``LocalEngine.stream`` (incremental detokeniser, stats per chunk);
- ``session``: ``Session.submit`` (engine + reply parser + history);
- ``session+render``: the session plus a view that joins the whole answer on every chunk, the
  per-token re-render that our UIs avoid by coalescing.

A tiny model is the harshest case for overhead: its own step takes well under a millisecond, so
any per-token work shows up in the ratio. On a real checkpoint the same overhead is a far smaller
share of each step.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import threading
import time
from collections import deque
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", default="tiny-glm41v")
    ap.add_argument("--tokens", type=int, default=1024)
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()

    import torch
    from transformers import TextIteratorStreamer

    from glmv_ui.config import Sampling
    from glmv_ui.engines.base import GenerationRequest
    from glmv_ui.engines.local import LocalEngine
    from glmv_ui.messages import user_message
    from glmv_ui.models import load_model
    from glmv_ui.session import Session

    loaded = load_model(args.model)
    n = args.tokens
    fixed = {"min_new_tokens": n}
    engine = LocalEngine(loaded, generate_kwargs=fixed)

    sampling = Sampling(max_new_tokens=n, temperature=0.0, repetition_penalty=1.0)
    request = GenerationRequest(messages=[user_message("tell me a story")], sampling=sampling)
    inputs = engine.prepare(request)
    gen = dict(
        max_new_tokens=n,
        min_new_tokens=n,
        do_sample=False,
        temperature=None,
        top_p=None,
        top_k=None,
    )

    def plain() -> int:
        with torch.inference_mode():
            out = loaded.model.generate(**inputs, **gen)
        return int(out.shape[1] - inputs["input_ids"].shape[1])

    def hf_streamer() -> int:
        streamer = TextIteratorStreamer(
            loaded.tokenizer, skip_prompt=True, skip_special_tokens=False
        )
        result: dict = {}

        def run() -> None:
            with torch.inference_mode():
                result["out"] = loaded.model.generate(**inputs, **gen, streamer=streamer)

        t = threading.Thread(target=run)
        t.start()
        for _ in streamer:
            pass
        t.join()
        return int(result["out"].shape[1] - inputs["input_ids"].shape[1])

    def via_engine() -> int:
        tail = deque(engine.stream(request), maxlen=1)
        return tail[0].stats.generated_tokens

    def via_session(render: bool) -> int:
        session = Session(engine, sampling=sampling)
        last = None
        for last in session.submit("tell me a story"):
            if render:
                _ = last.thinking + last.answer  # what a naive per-token re-render costs
        return last.stats.generated_tokens

    paths = {
        "generate": plain,
        "hf-streamer": hf_streamer,
        "engine": via_engine,
        "session": lambda: via_session(False),
        "session+render": lambda: via_session(True),
    }
    plain()  # warm-up
    results: dict[str, list[float]] = {k: [] for k in paths}
    for _ in range(args.repeat):
        for name, fn in paths.items():  # interleaved so drift hits every path alike
            start = time.perf_counter()
            tokens = fn()
            elapsed = time.perf_counter() - start
            assert tokens == n, (name, tokens)
            results[name].append(tokens / elapsed)
    base = statistics.median(results["generate"])
    print(
        f"model {args.model}, {n} tokens, median of {args.repeat} runs, torch "
        f"{torch.__version__}, {torch.get_num_threads()} threads"
    )
    print(f"{'path':16} {'tokens/s':>10} {'ratio':>7}")
    for name, speeds in results.items():
        med = statistics.median(speeds)
        print(f"{name:16} {med:10.1f} {med / base:7.2f}")


if __name__ == "__main__":
    main()
