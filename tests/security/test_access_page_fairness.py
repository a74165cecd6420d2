"""Fair use through the page's own endpoints: with logins, one reply per login across all its
sessions, tabs and ``ask`` calls, the next refused at once with "busy"; another login is
served meanwhile; the page's queue is bounded, and one past its bound is refused at once."""

from __future__ import annotations

import json
from typing import Any

import pytest

from glmv_ui.config import AppConfig
from tests.security.test_access_fairness import HeldEngine

pytestmark = pytest.mark.slow


def _client(demo: Any, auth: tuple[str, str] | None = None) -> Any:
    from gradio_client import Client

    return Client(demo.local_url, verbose=False, auth=auth)


def _notice(outputs: Any) -> str:
    update = outputs[-1]
    return str(update.get("value") or "") if update.get("visible") else ""


def _message(text: str) -> dict[str, Any]:
    return {"text": text, "files": []}


def test_one_login_runs_one_reply_across_its_sessions(launch_app: Any) -> None:
    engine = HeldEngine()
    demo = launch_app(
        AppConfig(
            model="glm4v", engine="scripted", concurrency=2, auth="alice:pw-alice,bob:pw-bob"
        ),
        engine,
    )
    alice = [_client(demo, ("alice", "pw-alice")) for _ in range(4)]
    bob = _client(demo, ("bob", "pw-bob"))
    try:
        first = alice[0].submit(_message("alice one"), api_name="/chat")
        assert engine.started.acquire(timeout=60)
        for other in alice[1:]:  # refused at once, not queued behind the first
            notice = _notice(other.predict(_message("alice again"), api_name="/chat"))
            assert notice.startswith("⚠ Not sent: busy: a reply for your login"), notice
        with pytest.raises(Exception, match="busy: a reply for your login"):
            alice[1].predict("and by the API?", api_name="/ask")
        served = bob.submit(_message("bob one"), api_name="/chat")
        assert engine.started.acquire(timeout=60)  # another login is not kept out
        assert engine.texts == ["alice one", "bob one"]
    finally:
        engine.release.set()
    assert "answer" in str(first.result()[0])
    assert "answer" in str(served.result()[0])
    # Once it ended, the login may send again, from any of its sessions or by the API.
    again = alice[2].predict(_message("alice two"), api_name="/chat")
    assert _notice(again) == ""
    assert "alice two" in json.dumps(again[0])
    assert json.loads(alice[3].predict("and now?", api_name="/ask"))["answer"]


def test_the_pages_queue_is_bounded(launch_app: Any) -> None:
    import time

    from gradio_client.utils import QueueError

    from glmv_ui.ui import page_queue_size

    engine = HeldEngine()
    config = AppConfig(model="glm4v", engine="scripted", concurrency=1, queue_size=1)
    demo = launch_app(config, engine)
    bound = page_queue_size(config)
    tabs = [_client(demo) for _ in range(bound + 2)]
    try:
        running = tabs[0].submit(_message("one"), api_name="/chat")
        assert engine.started.acquire(timeout=60)
        waiting = [tab.submit(_message("more"), api_name="/chat") for tab in tabs[1:-1]]
        deadline = time.monotonic() + 60
        while len(demo._queue) < bound and time.monotonic() < deadline:
            time.sleep(0.05)  # polling the server's queue until every request is in it
        assert len(demo._queue) == bound
        assert not any(job.done() for job in waiting)
        # One more finds the queue full and is refused at once, not kept waiting.
        with pytest.raises(QueueError, match="Queue is full"):
            tabs[-1].predict(_message("one too many"), api_name="/chat")
    finally:
        engine.release.set()
    assert running.result()
    assert all(job.result() for job in waiting)
    assert engine.texts.count("more") == bound
