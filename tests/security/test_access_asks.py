"""``ask``: a conversation id continues its conversation only for the caller that opened it
(the login, else the Gradio session), and one caller's files are decoded before its request
takes the model's slot, so a slow file never delays another caller's turn."""

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

LOGINS = "alice:pw-alice-1,bob:pw-bob-2"
UNKNOWN = "unknown or expired conversation id"


def _client(demo: Any, auth: tuple[str, str] | None = None) -> Any:
    from gradio_client import Client

    return Client(demo.local_url, verbose=False, auth=auth)


def _ask(client: Any, text: str, conversation: str = "", files: Any = None) -> dict[str, Any]:
    return dict(json.loads(client.predict(text, files, conversation, api_name="/ask")))


def test_a_conversation_id_continues_only_for_the_login_that_got_it(launch_app: Any) -> None:
    engine = ScriptedEngine("glm4v")
    demo = launch_app(AppConfig(model="glm4v", engine="scripted", auth=LOGINS), engine)
    alice = _client(demo, ("alice", "pw-alice-1"))
    bob = _client(demo, ("bob", "pw-bob-2"))
    mine = _ask(alice, "ALICE PRIVATE QUESTION")["conversation"]
    asked = len(engine.requests)
    with pytest.raises(Exception, match=UNKNOWN):
        _ask(bob, "what did she ask?", mine)
    assert len(engine.requests) == asked  # refused before the model saw anything
    # Alice's own other session (a second client of her login) continues it.
    again = _ask(_client(demo, ("alice", "pw-alice-1")), "and then?", mine)
    assert again["conversation"] == mine
    assert "ALICE PRIVATE QUESTION" in str(engine.requests[-1])


def test_without_logins_a_conversation_id_belongs_to_its_session(launch_app: Any) -> None:
    engine = ScriptedEngine("glm4v")
    demo = launch_app(AppConfig(model="glm4v", engine="scripted"), engine)
    owner, other = _client(demo), _client(demo)
    mine = _ask(owner, "my question")["conversation"]
    with pytest.raises(Exception, match=UNKNOWN):
        _ask(other, "continue theirs", mine)
    assert _ask(owner, "still mine?", mine)["conversation"] == mine


def _png_url() -> str:
    from PIL import Image

    buffer = io.BytesIO()
    Image.new("RGB", (64, 48), "teal").save(buffer, "PNG")
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode()


def test_a_file_being_decoded_never_holds_another_callers_turn(launch_app: Any) -> None:
    engine = ScriptedEngine("glm4v")
    # One slot for API callers: a request decoding in it would hold every other caller.
    demo = launch_app(AppConfig(model="glm4v", engine="scripted", concurrency=1), engine)
    slow, quick = _client(demo), _client(demo)
    outcome: list[Any] = []
    with contextlib.ExitStack() as held:
        for _ in range(DECODING.max_jobs):  # the decoding places taken: slow's file waits
            held.enter_context(DECODING.hold(0))
        worker = threading.Thread(
            target=lambda: outcome.append(_ask(slow, "what colour?", files=[_png_url()]))
        )
        worker.start()
        assert DECODING.wait_for_waiters(1, 60)  # slow's request is at its decoding
        job = quick.submit("just text", None, "", api_name="/ask")
        answer = json.loads(job.result(timeout=60))
        assert answer["answer"]
        assert answer["conversation"]
        # quick's turn is done while slow's file is still waiting to be decoded.
        assert worker.is_alive()
        assert outcome == []
        assert len(engine.requests) == 1
        assert "just text" in str(engine.requests[0])
    worker.join(60)
    assert outcome
    assert outcome[0]["answer"]
    assert len(engine.requests) == 2
    assert DECODING.in_flight == (0, 0)
