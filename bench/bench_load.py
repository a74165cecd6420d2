"""Load: many sessions at once against the app on a real (tiny) model.

Launches the app in-process on ``--model`` (default tiny-glm41v) with ``--concurrency`` replies
at a time, then ``--sessions`` clients send ``--turns`` messages each (tests/load.py, in a
process of its own so that the clients' memory does not count, checks that every session got
exactly its own conversation back). Prints the wall time, per-turn latency (median, 95th
percentile) and the server's memory before, at the end, and after the sessions are dropped.

Run: ``python bench/bench_load.py [--sessions 16] [--turns 3] [--concurrency 4]``.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("HF_HUB_OFFLINE", "1")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", default="tiny-glm41v")
    ap.add_argument("--sessions", type=int, default=16)
    ap.add_argument("--turns", type=int, default=3)
    ap.add_argument("--concurrency", type=int, default=4)
    ap.add_argument("--tokens", type=int, default=16)
    args = ap.parse_args()

    import psutil

    from glmv_ui.config import AppConfig
    from glmv_ui.ui import create_app, launch_options
    from tests.load import LoadResult
    from tests.serve_helpers import free_port

    config = AppConfig(model=args.model, concurrency=args.concurrency)
    demo = create_app(config)
    options = launch_options(config)
    options.update(server_port=free_port(), prevent_thread_lock=True, quiet=True)
    demo.launch(**options)
    process = psutil.Process()
    try:
        assert demo.glmv_model.wait(300), demo.glmv_model.error
        # One session first, so the baseline holds what any first reply allocates for good.
        subprocess.run(
            [sys.executable, "-m", "tests.load", demo.local_url, "1", "1", str(args.tokens)],
            capture_output=True,
            check=True,
            cwd=ROOT,
        )
        demo.glmv_sessions.idle_s = 0
        demo.glmv_sessions.reap()
        demo.glmv_sessions.idle_s = 1800
        gc.collect()
        before = process.memory_info().rss
        out = subprocess.run(
            [
                sys.executable,
                "-m",
                "tests.load",
                demo.local_url,
                str(args.sessions),
                str(args.turns),
                str(args.tokens),
            ],
            capture_output=True,
            text=True,
            check=True,
            cwd=ROOT,
        )
        result = LoadResult(**json.loads(out.stdout.strip().splitlines()[-1]))
        during = process.memory_info().rss
        held = len(demo.glmv_sessions)
        demo.glmv_sessions.idle_s = 0
        gc.collect()
        dropped = demo.glmv_sessions.reap()  # also gives freed memory back to the system
        after = process.memory_info().rss
        kept = demo.glmv_model.engine.cache_stats()
    finally:
        demo.close()
    mib = 2**20
    print(
        f"{args.sessions} sessions x {args.turns} turns, {args.model}, concurrency "
        f"{args.concurrency}, {args.tokens} new tokens a reply"
    )
    print(f"failures: {len(result.failures)}; sessions held {held}, dropped afterwards {dropped}")
    print(
        f"wall {result.seconds:.1f} s; per turn median {result.median:.2f} s, "
        f"p95 {result.p95:.2f} s"
    )
    print(
        f"RSS before {before / mib:.0f} MiB, after the load {during / mib:.0f} MiB, "
        f"after dropping the sessions {after / mib:.0f} MiB"
    )
    print(f"prompt caches kept afterwards: {kept.summary()}")


if __name__ == "__main__":
    main()
