"""Load: many sessions at once against the app on a real (tiny) model.

Launches the app in-process on ``--model`` (default tiny-glm41v) with ``--concurrency`` replies
at a time, then ``--sessions`` clients send ``--turns`` messages each (see tests/load.py, which
also checks that every session got exactly its own conversation back). Prints the wall time,
per-turn latency (median, 95th percentile) and the process's memory before, at the end, and
after the sessions are dropped.

Run: ``python bench/bench_load.py [--sessions 16] [--turns 3] [--concurrency 4]``.
"""

from __future__ import annotations

import argparse
import gc
import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
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
    from tests.load import run_load
    from tests.serve_helpers import free_port

    config = AppConfig(model=args.model, concurrency=args.concurrency)
    demo = create_app(config)
    options = launch_options(config)
    options.update(server_port=free_port(), prevent_thread_lock=True, quiet=True)
    demo.launch(**options)
    process = psutil.Process()
    try:
        assert demo.glmv_model.wait(300), demo.glmv_model.error
        gc.collect()
        before = process.memory_info().rss
        result = run_load(demo.local_url, args.sessions, args.turns, args.tokens)
        during = process.memory_info().rss
        demo.glmv_sessions.idle_s = 0
        dropped = demo.glmv_sessions.reap()
        gc.collect()
        after = process.memory_info().rss
    finally:
        demo.close()
    mib = 2**20
    print(f"{args.sessions} sessions x {args.turns} turns, {args.model}, concurrency "
          f"{args.concurrency}, {args.tokens} new tokens a reply")
    print(f"failures: {len(result.failures)}; sessions dropped afterwards: {dropped}")
    print(f"wall {result.seconds:.1f} s; per turn median {result.median:.2f} s, "
          f"p95 {result.p95:.2f} s")
    print(f"RSS before {before / mib:.0f} MiB, after the load {during / mib:.0f} MiB, "
          f"after dropping the sessions {after / mib:.0f} MiB")


if __name__ == "__main__":
    main()
