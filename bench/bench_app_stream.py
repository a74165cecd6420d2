"""App streaming benchmark: tokens/s of plain ``model.generate`` vs our engine vs the whole app.

All three generate the same number of tokens on the same checkpoint in one run (default: the tiny
GLM-4.1V model, greedy, EOS ignored so every path decodes exactly ``--tokens`` tokens):

1. plain ``model.generate`` (no streaming) and
   ``model.generate`` with a ``TextIteratorStreamer`` consumed in this thread (what most
   demos do); ratios are against the plain call, the model's own speed;
2. engine: ``LocalEngine.stream`` through ``Session.submit`` (parser included);
3. app: the Gradio app launched in-process, driven through ``gradio_client`` (``/chat``), timed
   from submit to the final output, so queueing, coalesced frames, SSE and post-processing count.

Run: ``python bench/bench_app_stream.py [--model tiny-glm41v] [--tokens 400] [--repeat 3]``.
"""

from __future__ import annotations

import argparse
import os
import socket
import statistics
import sys
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("HF_HUB_OFFLINE", "1")


def _force_length(loaded, n: int):
    """generate kwargs that decode exactly ``n`` tokens: no EOS, greedy."""
    return {"min_new_tokens": n, "max_new_tokens": n, "do_sample": False}


def plain(loaded, prompt_inputs, n: int) -> float:
    """The model's own speed: one ``generate`` call, no streaming at all."""
    start = time.perf_counter()
    loaded.model.generate(**prompt_inputs, **_force_length(loaded, n))
    return n / (time.perf_counter() - start)


def baseline(loaded, prompt_inputs, n: int) -> float:
    from transformers import TextIteratorStreamer

    tok = loaded.tokenizer
    streamer = TextIteratorStreamer(tok, skip_prompt=True, skip_special_tokens=False)
    kwargs = {**prompt_inputs, **_force_length(loaded, n), "streamer": streamer}
    start = time.perf_counter()
    t = threading.Thread(target=loaded.model.generate, kwargs=kwargs)
    t.start()
    for _ in streamer:
        pass
    t.join()
    return n / (time.perf_counter() - start)


def engine_path(loaded, n: int) -> float:
    from glmv_ui.config import Sampling
    from glmv_ui.engines.local import LocalEngine
    from glmv_ui.session import Session

    engine = LocalEngine(loaded, generate_kwargs={"min_new_tokens": n})
    session = Session(engine)
    sampling = Sampling(temperature=0, top_p=1.0, max_new_tokens=n)
    start = time.perf_counter()
    for _ in session.submit("Describe the picture.", sampling=sampling):
        pass
    return n / (time.perf_counter() - start)


def app_path(loaded, n: int, port: int) -> float:
    from gradio_client import Client

    client = Client(f"http://127.0.0.1:{port}/", verbose=False)
    start = time.perf_counter()
    job = client.submit(
        {"text": "Describe the picture.", "files": []},
        temperature=0.0,
        top_p=1.0,
        top_k=2,
        repetition_penalty=1.0,
        max_new_tokens=n,
        seed=1,
        api_name="/chat",
    )
    frames = sum(1 for _ in job)
    elapsed = time.perf_counter() - start
    app_path.frames = frames  # type: ignore[attr-defined]
    return n / elapsed


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", default="tiny-glm41v")
    ap.add_argument("--tokens", type=int, default=400)
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()

    from glmv_ui.config import AppConfig
    from glmv_ui.conversation import Turn
    from glmv_ui.engines.base import GenerationRequest
    from glmv_ui.engines.local import LocalEngine
    from glmv_ui.models import load_model
    from glmv_ui.prompt import build_messages
    from glmv_ui.ui import create_app, launch_options

    loaded = load_model(args.model)
    engine = LocalEngine(loaded, generate_kwargs={"min_new_tokens": args.tokens})

    messages = build_messages([Turn("Describe the picture.")], loaded.family)
    inputs = engine.prepare(GenerationRequest(messages=messages))
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    config = AppConfig(model=args.model)
    demo = create_app(config, engine=engine)
    opts = launch_options(config)
    opts.update(server_port=port, prevent_thread_lock=True, quiet=True)
    demo.launch(**opts)
    try:
        baseline(loaded, inputs, 8)  # warm-up
        results: dict[str, list[float]] = {"plain": [], "baseline": [], "engine": [], "app": []}
        for _ in range(args.repeat):
            results["plain"].append(plain(loaded, inputs, args.tokens))
            results["baseline"].append(baseline(loaded, inputs, args.tokens))
            results["engine"].append(engine_path(loaded, args.tokens))
            results["app"].append(app_path(loaded, args.tokens, port))
    finally:
        demo.close()
    base = statistics.median(results["plain"])
    print(f"model {args.model}, {args.tokens} tokens, median of {args.repeat}")
    print("| path | tokens/s | vs plain generate |\n|---|---|---|")
    for name, label in (
        ("plain", "model.generate, no streaming (the model's own speed)"),
        ("baseline", "model.generate + TextIteratorStreamer"),
        ("engine", "LocalEngine via Session (parser included)"),
        ("app", "whole app via gradio_client /chat"),
    ):
        v = statistics.median(results[name])
        print(f"| {label} | {v:,.0f} | {v / base:.2f} |")
    print(f"app frames per reply: {getattr(app_path, 'frames', 0)}")


if __name__ == "__main__":
    main()
