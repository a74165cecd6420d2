"""16 sessions x 3 turns at once on the tiny model: nothing lost, nothing crossed between
sessions, and the server's memory comes back once the sessions are gone. The timings are
recorded by bench/bench_load.py, not asserted here."""

from __future__ import annotations

import gc
from typing import Any

import psutil
import pytest

from glmv_ui.config import AppConfig
from tests.load import run_load

pytestmark = pytest.mark.slow


def test_sixteen_sessions_three_turns_each(launch_app: Any) -> None:
    demo = launch_app(AppConfig(model="tiny-glm41v", concurrency=4))
    assert demo.glmv_model.wait(120), demo.glmv_model.error
    process = psutil.Process()
    gc.collect()
    before = process.memory_info().rss
    result = run_load(demo.local_url, sessions=16, turns=3)
    assert result.failures == []
    assert len(result.latencies) == 48
    registry = demo.glmv_sessions
    assert len(registry) == 16
    registry.idle_s = 0  # every client is done: drop their sessions as idle
    assert registry.reap() == 16
    assert not any(registry.root.glob("*/*")), "session files left behind"
    gc.collect()
    after = process.memory_info().rss
    assert after - before < 200 * 2**20, (before, after)
