"""Session actions on the scripted engine (exact content) and per-session stop."""

from __future__ import annotations

import gc
import threading

import pytest

from glmv_ui.config import Sampling
from glmv_ui.engines.scripted import ScriptedEngine
from glmv_ui.errors import ConversationError, GenerationError, MediaBudgetError
from glmv_ui.messages import AssistantMessage, SystemMessage, user_message
from glmv_ui.session import Session
from tests.helpers import drain

REPLY = (
    "<think>Let me look.</think><answer>A red square <|begin_of_box|>[1,2,3,4]"
    "<|end_of_box|>.</answer>"
)


_drain = drain


def test_submit_streams_thinking_then_answer_with_timing():
    session = Session(ScriptedEngine("glm4v", [REPLY], chunk_size=2))
    seen_thinking_only = False
    for update in session.submit("what is it?"):
        if update.thinking and not update.answer and not update.thinking_closed:
            seen_thinking_only = True
        last = update
    assert seen_thinking_only
    assert last.thinking == "Let me look."
    assert last.answer == "A red square [1,2,3,4]."
    assert last.thinking_seconds is not None
    assert last.thinking_seconds >= 0
    assert session.turns[0].raw == REPLY
    assert session.turns[0].status == "done"
    assert session.turns[0].settings["max_new_tokens"] == session.sampling.max_new_tokens


def test_empty_message_is_refused():
    with pytest.raises(ConversationError):
        Session(ScriptedEngine()).submit("   ")


def test_regenerate_undo_edit_clear():
    engine = ScriptedEngine(
        "glm4v_moe",
        [
            "<think>a</think>one",
            "<think>b</think>two",
            "<think>c</think>three",
            "<think>d</think>four",
        ],
    )
    session = Session(engine)
    _drain(session.submit("q1"))
    _drain(session.submit("q2"))
    assert [t.raw for t in session.turns] == ["<think>a</think>one", "<think>b</think>two"]
    _drain(session.regenerate())
    assert session.turns[-1].raw == "<think>c</think>three"
    assert len(session.turns) == 2
    # The regenerated request saw the same history (q1's answer, q2 again).
    req = engine.requests[-1].messages
    assert req[-1] == user_message("q2")
    assert req[1] == AssistantMessage("one")
    _drain(session.edit(0, "q1 edited"))
    assert len(session.turns) == 1
    assert session.turns[0].text == "q1 edited"
    assert session.turns[0].raw == "<think>d</think>four"
    turn = session.undo()
    assert turn.text == "q1 edited"
    assert session.turns == []
    _drain(session.submit("again"))
    session.clear()
    assert session.turns == []
    with pytest.raises(ConversationError):
        session.edit(3, "x")


def test_stop_in_one_session_does_not_touch_another():
    gate = threading.Event()
    long_reply = "<think>hm</think><answer>" + "word " * 200 + "</answer>"
    a = Session(ScriptedEngine("glm4v", [long_reply], pause=gate, pause_after=2))
    b = Session(ScriptedEngine("glm4v", [long_reply], chunk_size=50))
    stream_a = a.submit("A")
    first = next(stream_a)
    assert first.turn.status == "streaming"
    a.stop()
    gate.set()
    last_a = _drain(stream_a)
    last_b = _drain(b.submit("B"))
    assert last_a.stats.finish_reason == "cancelled"
    assert a.turns[0].status == "cancelled"
    assert 0 < len(a.turns[0].raw) < len(long_reply)
    assert last_b.stats.finish_reason == "stop"
    assert b.turns[0].raw == long_reply


def test_engine_failure_keeps_history_and_session_usable():
    session = Session(
        ScriptedEngine(
            "glm4v", ["<answer>fine</answer>", RuntimeError("boom"), "<answer>fine again</answer>"]
        )
    )
    _drain(session.submit("one"))
    with pytest.raises(GenerationError, match="boom"):
        _drain(session.submit("two"))
    assert session.turns[1].status == "error"
    assert "boom" in session.turns[1].error
    last = _drain(session.submit("three"))
    assert last.answer == "fine again"
    assert len(session.turns) == 3


def test_second_submit_while_streaming_is_refused():
    gate = threading.Event()
    session = Session(ScriptedEngine("glm4v", [REPLY], pause=gate, pause_after=1))
    stream = session.submit("one")
    next(stream)
    with pytest.raises(ConversationError, match="still being generated"):
        session.submit("two")
    assert len(session.turns) == 1  # the refused message left no turn behind
    session.stop()  # Stop still reaches the running reply
    gate.set()
    assert _drain(stream).stats.finish_reason == "cancelled"


def test_max_new_tokens_truncation_marks_unclosed_thinking():
    session = Session(
        ScriptedEngine("glm4v", ["<think>" + "x" * 400]), sampling=Sampling(max_new_tokens=10)
    )
    last = _drain(session.submit("q"))
    assert last.stats.finish_reason == "length"
    assert last.reply().truncated
    assert last.answer == ""
    assert [n.kind for n in last.reply().notices] == ["truncated"]


def test_a_message_longer_than_the_context_is_refused_before_the_engine() -> None:
    engine = ScriptedEngine("glm4v")
    session = Session(engine)
    huge = "word " * 200_000  # 1 MB of text, past a 65,536-token context
    with pytest.raises(MediaBudgetError, match=r"999,999 characters; at most 262,144"):
        session.submit(huge)
    assert engine.requests == []
    assert session.turns == []
    session.submit("short")  # the session goes on
    with pytest.raises(MediaBudgetError, match="65,536-token context"):
        session.edit(0, huge)
    assert session.turns[0].text == "short"


def test_two_submits_before_either_is_read_refuse_the_second_and_stop_ends_the_first():
    gate = threading.Event()
    engine = ScriptedEngine("glm4v", [REPLY, "<answer>second</answer>"], pause=gate, pause_after=1)
    session = Session(engine)
    first = session.submit("one")  # not read yet: the session is busy all the same
    with pytest.raises(ConversationError, match="still being generated"):
        session.submit("two")
    with pytest.raises(ConversationError, match="still being generated"):
        session.regenerate()
    assert [t.text for t in session.turns] == ["one"]
    next(first)
    session.stop()
    gate.set()
    assert _drain(first).stats.finish_reason == "cancelled"
    assert len(engine.requests) == 1  # the refused request never reached the engine
    # Once the first has ended, the session takes the next message.
    assert _drain(session.submit("three")).answer == "second"


@pytest.mark.slow  # a full garbage collection of the process
def test_a_stream_dropped_before_it_is_read_frees_the_session():
    session = Session(ScriptedEngine("glm4v", ["<answer>kept</answer>", "<answer>next</answer>"]))
    stream = session.submit("one")
    assert session.busy
    stream.close()  # type: ignore[attr-defined]  # a generator, typed as an iterator
    assert not session.busy
    dropped = session.submit("two")
    del dropped  # never read, never closed: dropping it frees the session too
    gc.collect()
    assert not session.busy
    assert _drain(session.submit("three")).answer == "kept"  # the engine saw no dropped request


def test_submits_racing_from_threads_let_exactly_one_through():
    """The busy state is taken inside submit itself: of several threads submitting at the same
    moment, before any stream is read, one gets a stream and every other is refused."""
    engine = ScriptedEngine("glm4v", ["<answer>only</answer>"] * 8)
    session = Session(engine)
    start = threading.Barrier(8)
    streams, refused = [], []
    lock = threading.Lock()

    def submit(n: int) -> None:
        start.wait(timeout=60)
        try:
            stream = session.submit(f"message {n}")
        except ConversationError:
            with lock:
                refused.append(n)
        else:
            with lock:
                streams.append(stream)

    workers = [threading.Thread(target=submit, args=(n,)) for n in range(8)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(60)
    assert (len(streams), len(refused)) == (1, 7)
    assert len(session.turns) == 1  # the refused ones left no turn behind
    assert _drain(streams[0]).answer == "only"
    assert len(engine.requests) == 1


def test_stop_before_the_stream_is_first_read_ends_that_request():
    engine = ScriptedEngine("glm4v", [REPLY, REPLY])
    session = Session(engine)
    first = session.submit("one")
    session.stop()  # pressed before the stream was read: its cancel event exists already
    assert _drain(first).stats.finish_reason == "cancelled"
    assert session.turns[0].status == "cancelled"
    # The next request has a cancel event of its own: the earlier Stop does not reach it.
    second = _drain(session.submit("two"))
    assert second.stats.finish_reason == "stop"
    assert session.turns[1].raw == REPLY


def test_stop_while_idle_leaves_the_next_request_alone():
    session = Session(ScriptedEngine("glm4v", ["<answer>one</answer>", "<answer>two</answer>"]))
    _drain(session.submit("one"))
    session.stop()  # nothing runs: it ends nothing, and nothing later
    last = _drain(session.submit("two"))
    assert last.stats.finish_reason == "stop"
    assert last.answer == "two"


def test_stop_reaches_the_running_request_only():
    """Each request has its own cancel event: Stop during the second request ends the second,
    and the first (already finished) and a third are untouched."""
    gate = threading.Event()
    engine = ScriptedEngine(
        "glm4v", ["<answer>first</answer>", REPLY, "<answer>third</answer>"], pause=gate
    )
    session = Session(engine)
    gate.set()
    _drain(session.submit("one"))
    gate.clear()
    running = session.submit("two")
    next(running)
    session.stop()
    gate.set()
    assert _drain(running).stats.finish_reason == "cancelled"
    assert _drain(session.submit("three")).stats.finish_reason == "stop"
    assert [t.status for t in session.turns] == ["done", "cancelled", "done"]


def test_a_conversation_outlives_its_session():
    """A model switch hands the conversation to a new session: turns, system prompt and the
    cache key carry over, and the new session answers with the old turns as history."""
    from glmv_ui.conversation import Conversation

    conversation = Conversation(system_prompt="Be brief.")
    old = Session(ScriptedEngine("glm4v", ["<think>t</think><answer>A1</answer>"]), conversation)
    _drain(old.submit("q1"))
    engine = ScriptedEngine("glm4v_moe", ["A2"])
    new = Session(engine, conversation)
    assert new.turns is conversation.turns
    assert new.cache_key == old.cache_key == conversation.cache_key
    _drain(new.submit("q2"))
    messages = engine.requests[-1].messages
    assert messages[0] == SystemMessage("Be brief.")
    assert messages[2] == AssistantMessage("A1")  # no old thinking
    assert engine.requests[-1].cache_key == conversation.cache_key
    assert [t.text for t in old.turns] == ["q1", "q2"]  # one record, seen by both


def test_load_replaces_the_turns_in_place():
    from glmv_ui.conversation import Conversation, Turn

    session = Session(ScriptedEngine("glm4v", ["<answer>x</answer>"]))
    held = session.conversation
    _drain(session.submit("old"))
    session.load(Conversation([Turn("imported", raw="<answer>y</answer>", status="done")], "S"))
    assert session.conversation is held  # whoever holds it sees the import
    assert [t.text for t in held.turns] == ["imported"]
    assert session.system_prompt == "S"
    assert session.reply().answer == "y"


def test_undo_clear_and_load_wait_for_no_reply_and_change_nothing_while_one_runs():
    """They take the busy state like submit: while a reply runs each is refused and the turns
    stay as they are; once it has ended they work; close never refuses."""
    from glmv_ui.conversation import Conversation, Turn

    gate = threading.Event()
    engine = ScriptedEngine("glm4v", [REPLY, "<answer>next</answer>"], pause=gate, pause_after=1)
    session = Session(engine)
    stream = session.submit("running")
    next(stream)
    for change in (
        session.undo,
        session.clear,
        lambda: session.load(Conversation([Turn("imported")])),
    ):
        with pytest.raises(ConversationError, match="still being generated"):
            change()
        assert [t.text for t in session.turns] == ["running"]
    assert session.busy
    session.stop()
    gate.set()
    assert _drain(stream).stats.finish_reason == "cancelled"
    turn = session.undo()
    assert turn is not None
    assert turn.text == "running"
    assert session.turns == []
    running = session.submit("again")
    next(running)
    session.close()  # the conversation is over: the reply is stopped, nothing is raised
    _drain(running)
    assert not session.busy
