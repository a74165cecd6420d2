"""No caller's ``ask`` conversation is dropped because of another caller: each keeps a few of
its own (its oldest goes first), and a full store refuses a new conversation with "busy"
rather than evicting someone else's. ``ask`` decodes its files under the decode budget the
page's previews share."""

from __future__ import annotations

import base64
import contextlib
import io
import json
import threading
from typing import Any

import pytest

from glmv_ui.config import AppConfig
from glmv_ui.engines.scripted import ScriptedEngine
from glmv_ui.media.inflight import DECODING

pytestmark = pytest.mark.slow


def _client(demo: Any) -> Any:
    from gradio_client import Client

    return Client(demo.local_url, verbose=False)


def _ask(client: Any, text: str, conversation: str = "", files: Any = None) -> dict[str, Any]:
    return dict(json.loads(client.predict(text, files, conversation, api_name="/ask")))


def test_another_callers_conversations_never_evict_mine(launch_app: Any) -> None:
    demo = launch_app(AppConfig(model="glm4v", engine="scripted"), ScriptedEngine("glm4v"))
    store = demo.glmv_api.store
    store.limit, store.per_caller = 4, 2  # small, so that the test fills them quickly
    victim, flood, third, fourth = (_client(demo) for _ in range(4))
    mine = _ask(victim, "my question")["conversation"]
    flooded = [_ask(flood, f"cheap {i}")["conversation"] for i in range(6)]
    assert len(set(flooded)) == 6
    assert len(store) == 3
    assert _ask(victim, "still there?", mine)["conversation"] == mine
    # The flood's own oldest were dropped; its newest still answer.
    with pytest.raises(Exception, match="unknown or expired conversation id"):
        _ask(flood, "and this one?", flooded[0])
    assert _ask(flood, "newest", flooded[-1])["conversation"] == flooded[-1]
    _ask(third, "fills the store")
    with pytest.raises(Exception, match="busy: too many conversations are open"):
        _ask(fourth, "one more")
    assert len(store) == 4
    assert _ask(victim, "and now?", mine)["conversation"] == mine


def _png_url() -> str:
    from PIL import Image

    buffer = io.BytesIO()
    Image.new("RGB", (64, 48), "teal").save(buffer, "PNG")
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode()


def test_ask_decodes_under_the_shared_decode_budget(launch_app: Any) -> None:
    engine = ScriptedEngine("glm4v")
    demo = launch_app(AppConfig(model="glm4v", engine="scripted"), engine)
    client = _client(demo)
    outcome: list[Any] = []
    with contextlib.ExitStack() as taken:
        for _ in range(DECODING.max_jobs):  # every decoding place taken, as by previews
            taken.enter_context(DECODING.hold(0))
        worker = threading.Thread(
            target=lambda: outcome.append(_ask(client, "what colour?", files=[_png_url()]))
        )
        worker.start()
        # The request waits for the budget before it decodes; nothing reached the model.
        assert DECODING.wait_for_waiters(1, 60)
        assert engine.requests == []
        assert worker.is_alive()
    worker.join(60)
    assert outcome
    assert outcome[0]["answer"]
    assert len(engine.requests) == 1
    assert DECODING.in_flight == (0, 0)
