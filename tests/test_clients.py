"""The one per-client store behind the page's tabs and the API's conversations: owners, caps,
a full store refusing, idle reaping, and the API's conversations on it."""

from __future__ import annotations

import pytest

from glmv_ui.config import MediaLimits
from glmv_ui.engines.scripted import ScriptedEngine
from glmv_ui.errors import ConversationError
from glmv_ui.messages import AssistantMessage
from glmv_ui.session import Session
from glmv_ui.ui.api import ConversationStore
from glmv_ui.ui.clients import ClientStore
from glmv_ui.ui.fair import BusyError
from tests.helpers import drain


class _Thing:
    def __init__(self, name: str) -> None:
        self.name = name
        self.closed = False

    def close(self) -> None:
        self.closed = True


def test_a_caller_finds_only_its_own_entries() -> None:
    store: ClientStore[_Thing] = ClientStore()
    key = store.reserve("alice")
    assert store.find(key, "alice") is None  # reserved, not yet filled: as unknown
    thing = _Thing("a")
    assert store.put(key, thing)
    assert store.find(key, "alice") is thing
    assert store.find(key, "bob") is None
    assert store.find(key, "") is None
    assert store.find("guessed", "alice") is None


def test_a_callers_own_oldest_goes_first_and_a_full_store_refuses() -> None:
    store: ClientStore[_Thing] = ClientStore(limit=3, per_caller=2, full="busy: full")
    flood = [store.reserve("flood") for _ in range(2)]
    things = [_Thing(f"f{i}") for i in range(2)]
    for key, thing in zip(flood, things, strict=True):
        store.put(key, thing)
    mine = store.reserve("victim")
    store.put(mine, _Thing("mine"))
    newest = store.reserve("flood")  # the flood's own oldest is dropped, never the victim's
    assert things[0].closed
    assert store.find(flood[0], "flood") is None
    assert store.find(mine, "victim") is not None
    assert len(store) == 3
    with pytest.raises(BusyError, match="busy: full"):
        store.reserve("third")
    assert len(store) == 3
    store.discard(newest)
    assert store.reserve("third")


def test_a_reservation_dropped_meanwhile_closes_what_comes_for_it() -> None:
    store: ClientStore[_Thing] = ClientStore(per_caller=1)
    first = store.reserve("c")
    store.reserve("c")  # its own newer one pushes the first out
    late = _Thing("late")
    assert not store.put(first, late)
    assert late.closed


def test_idle_entries_are_reaped_and_closed() -> None:
    now = [0.0]
    store: ClientStore[_Thing] = ClientStore(idle_s=60, clock=lambda: now[0])
    quiet = store.get_or_make("quiet", lambda: _Thing("quiet"))
    busy = store.get_or_make("busy", lambda: _Thing("busy"))
    now[0] = 50
    assert store.get_or_make("busy", lambda: _Thing("other")) is busy  # touched
    now[0] = 70
    assert store.reap() == 1
    assert quiet.closed
    assert not busy.closed
    assert [k for k, _ in store.items()] == ["busy"]
    store.close_all()
    assert busy.closed
    assert len(store) == 0


def test_a_lookup_by_token_reaps_too() -> None:
    now = [0.0]
    store: ClientStore[_Thing] = ClientStore(idle_s=10, clock=lambda: now[0])
    old = _Thing("old")
    store.put(store.reserve("a"), old)
    now[0] = 11
    assert store.find("anything", "a") is None
    assert old.closed
    assert len(store) == 0


def test_api_conversations_keep_their_record_across_a_model_switch() -> None:
    store = ConversationStore()
    first = ScriptedEngine("glm4v", ["<answer>one</answer>"])
    session = Session(first)
    drain(session.submit("hello"))
    key = store.open(session, caller="c1")
    with pytest.raises(ConversationError, match="unknown or expired"):
        store.get(key, first, MediaLimits(), caller="c2")
    assert store.get(key, first, MediaLimits(), caller="c1") is session
    store.release_all()  # the model is being replaced
    second = ScriptedEngine("glm4v_moe", ["two"])
    again = store.get(key, second, MediaLimits(), caller="c1")
    assert again is not session
    assert again.conversation is session.conversation
    assert again.engine is second
    drain(again.submit("and now?"))
    assert [t.text for t in again.turns] == ["hello", "and now?"]
    assert second.requests[-1].messages[1] == AssistantMessage("one")
