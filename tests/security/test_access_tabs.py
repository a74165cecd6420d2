"""A tab's state belongs to the login that opened it: a request of another login that carries
the tab's session hash (the client chooses it) reaches a state of its own, never the tab's
conversation: not its export, its chat, its undo or its clear."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from glmv_ui.config import AppConfig
from glmv_ui.engines.scripted import ScriptedEngine

pytestmark = pytest.mark.slow

LOGINS = "alice:pw-alice-1,bob:pw-bob-2"
TAB = "alicetab0001"
SECRET = "ALICE SECRET 4242"


def _client(demo: Any, user: str, password: str) -> Any:
    from gradio_client import Client

    client = Client(demo.local_url, verbose=False, auth=(user, password))
    client.session_hash = TAB  # the same hash for both logins, as a caller may send
    return client


def _export(client: Any) -> str:
    return Path(client.predict("json", api_name="/export")).read_text(encoding="utf-8")


def test_another_login_with_my_tabs_hash_never_reaches_my_conversation(
    launch_app: Any, tmp_path: Path
) -> None:
    from gradio_client import handle_file

    from glmv_ui import export
    from glmv_ui.conversation import Conversation, Turn

    engine = ScriptedEngine("glm4v", chunk_size=16)
    demo = launch_app(AppConfig(model="glm4v", engine="scripted", auth=LOGINS), engine)
    saved = tmp_path / "c.json"
    saved.write_text(
        export.to_json(
            Conversation(
                [
                    Turn(
                        text="ALICE PRIVATE QUESTION",
                        raw=f"<answer>{SECRET}</answer>",
                        status="done",
                    )
                ],
                model="m",
            )
        ),
        encoding="utf-8",
    )
    alice, bob = _client(demo, "alice", "pw-alice-1"), _client(demo, "bob", "pw-bob-2")
    alice.predict(handle_file(str(saved)), api_name="/import_conversation")
    assert SECRET in _export(alice)

    # Bob, with alice's hash, finds nothing to export...
    with pytest.raises(Exception, match="no conversation to export"):
        bob.predict("json", api_name="/export")
    # ...his chat continues a conversation of his own, which never saw alice's turns...
    chat = bob.predict({"text": "what did I ask before?", "files": []}, api_name="/chat")[0]
    assert SECRET not in str(chat)
    assert "ALICE PRIVATE" not in str(chat)
    assert engine.requests
    assert "ALICE PRIVATE" not in str(engine.requests[-1])
    assert "what did I ask before?" in _export(bob)
    assert SECRET not in _export(bob)
    # ...and his undo, clear and stop act on his own.
    bob.predict(api_name="/undo")
    bob.predict(api_name="/clear")
    bob.predict(api_name="/stop")

    mine = _export(alice)
    assert SECRET in mine
    assert "what did I ask before?" not in mine
    # Two states for the one hash: one per login.
    assert len([k for k, _ in demo.glmv_sessions.items() if k.endswith(TAB)]) == 2
