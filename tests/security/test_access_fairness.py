"""Fair use: one caller firing many requests at once gets one running and one waiting, the rest
refused at once with how many are ahead; another caller is served next; the queue is bounded."""

from __future__ import annotations

import concurrent.futures
import itertools
import threading
from collections.abc import Iterator
from typing import Any

import pytest

from glmv_ui.config import AppConfig
from glmv_ui.engines.scripted import ScriptedEngine
from glmv_ui.messages import TextPart, UserMessage

pytestmark = pytest.mark.slow


class HeldEngine(ScriptedEngine):
    """A scripted engine that says when a reply starts and holds it until ``release``."""

    def __init__(self) -> None:
        self.release = threading.Event()
        super().__init__("glm4v", chunk_size=4, pause=self.release, pause_after=1)
        self.started = threading.Semaphore(0)
        self.texts: list[str] = []

    def stream(self, request: Any, cancel: Any = None) -> Iterator[Any]:
        self.texts.append(
            next(
                p.text
                for m in request.messages
                if isinstance(m, UserMessage)
                for p in m.content
                if isinstance(p, TextPart)
            )
        )
        self.started.release()
        yield from super().stream(request, cancel)


def _client(demo: Any) -> Any:
    from gradio_client import Client

    return Client(demo.local_url, verbose=False)


def _outcome(job: Any) -> str:
    try:
        return "ok:" + job.result()
    except Exception as exc:  # noqa: BLE001 - the refusal's text is what is checked
        return "refused:" + str(exc)


def test_one_caller_firing_fifty_requests_does_not_starve_another(launch_app: Any) -> None:
    engine = HeldEngine()
    demo = launch_app(AppConfig(model="glm4v", engine="scripted"), engine)
    flood, other = _client(demo), _client(demo)
    first = flood.submit("flood 0", api_name="/ask")
    assert engine.started.acquire(timeout=60)  # flood 0 holds the only slot
    jobs = [flood.submit(f"flood {i}", api_name="/ask") for i in range(1, 50)]
    # One of them may wait (its one waiting place); the other 48 come back at once, refused.
    by_future = {job.future: job for job in jobs}
    answered = itertools.islice(concurrent.futures.as_completed(by_future, timeout=120), 48)
    refused = [_outcome(by_future[f]) for f in answered]
    assert all(o.startswith("refused:busy") and "in progress already" in o for o in refused), (
        refused[:3]
    )
    theirs = other.submit("the other user", api_name="/ask")
    engine.release.set()
    assert _outcome(theirs).startswith("ok:")
    assert _outcome(first).startswith("ok:")
    # The other user was answered before any flood request beyond the two admitted.
    done = engine.texts
    assert done.index("the other user") <= 2, done
    assert len(done) <= 3, done


def test_the_queue_is_bounded_and_says_how_many_are_ahead(launch_app: Any) -> None:
    engine = HeldEngine()
    demo = launch_app(AppConfig(model="glm4v", engine="scripted", queue_size=2), engine)
    callers = [_client(demo) for _ in range(4)]
    running = callers[0].submit("first", api_name="/ask")
    assert engine.started.acquire(timeout=60)
    waiting = [c.submit(f"waiting {i}", api_name="/ask") for i, c in enumerate(callers[1:3])]
    # Both waiting requests are admitted before the fourth caller asks: wait on the gate.
    assert demo.glmv_api.gate.wait_in_flight(3, 60)
    fourth = _outcome(callers[3].submit("one too many", api_name="/ask"))
    assert fourth.startswith("refused:"), fourth
    assert "busy: 3 requests ahead of you" in fourth, fourth
    engine.release.set()
    assert all(_outcome(j).startswith("ok:") for j in [running, *waiting])
    assert "one too many" not in engine.texts
