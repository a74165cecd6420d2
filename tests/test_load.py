"""16 sessions x 3 turns at once on the tiny model: nothing lost, nothing crossed between
sessions, and the server's memory is back near where it was once the sessions are gone. The
clients run in a process of their own, so only the server's memory is measured; the timings
are recorded by bench/bench_load.py, not asserted here."""

from __future__ import annotations

import gc
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import psutil
import pytest

from glmv_ui.config import AppConfig
from tests.load import LoadResult

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parent.parent


def _load(url: str, sessions: int, turns: int) -> LoadResult:
    out = subprocess.run(
        [sys.executable, "-m", "tests.load", url, str(sessions), str(turns), "16"],
        capture_output=True,
        text=True,
        check=True,
        cwd=ROOT,
        timeout=600,
    )
    return LoadResult(**json.loads(out.stdout.strip().splitlines()[-1]))


def test_sixteen_sessions_three_turns_each(launch_app: Any) -> None:
    demo = launch_app(AppConfig(model="tiny-glm41v", concurrency=4))
    assert demo.glmv_model.wait(120), demo.glmv_model.error
    registry = demo.glmv_sessions
    process = psutil.Process()
    # One session first: what any first reply allocates for good belongs to the baseline.
    assert _load(demo.local_url, 1, 1).failures == []
    registry.idle_s = 0
    registry.reap()
    gc.collect()
    before = process.memory_info().rss

    result = _load(demo.local_url, 16, 3)
    assert result.failures == []
    assert len(result.latencies) == 48
    gc.collect()
    registry.reap()  # every client is gone: their sessions are idle (or already unloaded)
    assert len(registry) == 0
    assert not any(registry.root.glob("*/*")), "session files left behind"
    assert demo.glmv_model.engine.cache_stats().entries == 0
    after = process.memory_info().rss
    assert after - before < 64 * 2**20, (before, after)
