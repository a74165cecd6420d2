"""Time to first token of follow-up turns, with and without the kept prompt cache, in one run.

    .venv/bin/python bench/bench_prefix.py [--model tiny-glm41v] [--repeat 3] [--tokens 8]

One conversation of three turns about one large photo, as a user has it: the corpus' 7000x7000
astronaut through the default media limits (downscaled to about 1920x1080, ~2.6k visual
tokens; a generated 1428x1428 picture when the corpus is absent), ``media_history="all"``,
greedy, ``--tokens`` new tokens a turn. Turn 1 asks about the photo; turns 2 and 3 are text
follow-ups, so the photo is in every prompt.

- ``reuse``: the engine as shipped: turns 2 and 3 continue the conversation's kept cache;
- ``no reuse``: the same engine with ``cache_budget_bytes=0``, so nothing is kept and every turn
  re-encodes the photo and re-prefills the whole conversation (the behaviour before reuse).

Both paths run interleaved, each repeat on a new conversation. Reported: the median time to first
token of each turn (from the request to the first token, preparing the prompt included), as a
ratio to turn 1 of the same path, and the bytes the engine keeps per conversation.
"""

from __future__ import annotations

import argparse
import statistics
import sys
from collections import deque
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CORPUS = ROOT.parent / "shared" / "corpus"
sys.path.insert(0, str(ROOT))

QUESTIONS = ("What is in this photo?", "What colours stand out?", "Describe the background.")


def photo() -> list:
    from glmv_ui.media import ingest
    from glmv_ui.media.parts import MediaPart

    path = CORPUS / "images" / "huge-7000x7000-astronaut.jpg"
    if path.is_file():
        return ingest([path])
    from tests.mediafiles import gradient

    return [MediaPart("image", "picture.png", image=gradient((1428, 1428)))]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", default="tiny-glm41v")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--tokens", type=int, default=8)
    args = ap.parse_args()

    import torch

    from glmv_ui.config import Sampling
    from glmv_ui.engines.local import LocalEngine
    from glmv_ui.models import load_model
    from glmv_ui.session import Session

    loaded = load_model(args.model)
    parts = photo()
    sampling = Sampling(max_new_tokens=args.tokens, temperature=0.0)
    engines = {"reuse": LocalEngine(loaded), "no reuse": LocalEngine(loaded, cache_budget_bytes=0)}

    visual = 0

    held = 0

    def conversation(engine: LocalEngine) -> tuple[list[float], list[int], int]:
        nonlocal visual, held
        session = Session(engine, sampling=sampling)
        ttft, reused = [], []
        for i, question in enumerate(QUESTIONS):
            last = deque(session.submit(question, parts if i == 0 else ()), maxlen=1)[0]
            assert last.turn.status == "done"
            ttft.append(last.stats.time_to_first_token_s or 0.0)
            reused.append(last.stats.reused_tokens)
            visual = max(visual, last.stats.visual_tokens)
        # The cache holds the last prompt and every generated token but the last one.
        held = last.stats.prompt_tokens + last.stats.generated_tokens - 1
        kept = engine.cache_stats().bytes_kept
        session.close()
        return ttft, reused, kept

    conversation(engines["reuse"])  # warm-up: first-call costs land on neither path
    times: dict[str, list[list[float]]] = {name: [] for name in engines}
    reused: dict[str, list[int]] = {}
    kept: dict[str, int] = {}
    for _ in range(args.repeat):
        for name, engine in engines.items():
            ttft, reused[name], kept[name] = conversation(engine)
            times[name].append(ttft)
    print(
        f"model {args.model}, one photo of {visual} visual tokens, {args.tokens} new tokens a "
        f"turn, median of {args.repeat}, torch {torch.__version__}, "
        f"{torch.get_num_threads()} threads"
    )
    print(
        f"{'path':9} {'turn 1 s':>9} {'turn 2 s':>9} {'turn 3 s':>9} {'2/1':>6} {'3/1':>6}"
        f"  reused tokens"
    )
    for name, runs in times.items():
        med = [statistics.median(run[t] for run in runs) for t in range(len(QUESTIONS))]
        print(
            f"{name:9} {med[0]:9.3f} {med[1]:9.3f} {med[2]:9.3f} {med[1] / med[0]:6.2f} "
            f"{med[2] / med[0]:6.2f}  {reused[name]}"
        )
    size = kept["reuse"]
    print(
        f"kept per conversation after 3 turns: {size / 2**20:.2f} MiB for {held} tokens "
        f"({size / held:.0f} bytes a token); no reuse keeps {kept['no reuse']} bytes"
    )
    print(f"store: {engines['reuse'].cache_stats().summary()}")


if __name__ == "__main__":
    main()
