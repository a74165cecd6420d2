"""The conversation record: the turn's parse memo, the conversation's small methods, the typed
settings, and the notebook view registering itself for Reply."""

from __future__ import annotations

import dataclasses
import gc
import os
import subprocess
import sys
import weakref
from pathlib import Path

from glmv_ui.config import Sampling
from glmv_ui.conversation import Conversation, Turn, TurnSettings, settings_of
from glmv_ui.stream import parse_raw
from glmv_ui.turn_reply import reply_for


def test_the_parse_is_made_once_per_raw_text() -> None:
    turn = Turn("q", raw="<think>a</think>first")
    parsed = turn.parsed()
    assert (parsed.thinking, parsed.answer) == ("a", "first")
    assert turn.parsed() is parsed
    turn.raw = "<think>b</think>second"  # a regenerated reply
    again = turn.parsed()
    assert again is not parsed
    assert (again.thinking, again.answer) == ("b", "second")


def test_a_kept_parse_belongs_to_the_raw_text_it_was_kept_for() -> None:
    turn = Turn("q", raw="<answer>streamed</answer>")
    kept = parse_raw(turn.raw)
    turn.keep_parse(kept)
    assert turn.parsed() is kept
    turn.reset()
    assert (turn.raw, turn.status, turn.stats) == ("", "pending", None)
    assert turn.parsed() is not kept
    assert turn.parsed().answer == ""


def test_turns_are_told_apart_by_identity() -> None:
    one, two = Turn("same", raw="x"), Turn("same", raw="x")
    assert one != two
    assert len({one, two}) == 2
    assert reply_for([one], 0) is not reply_for([two], 0)


def test_a_reply_is_remembered_no_longer_than_its_turn() -> None:
    turn = Turn("q", raw="<answer>a</answer>")
    reply = weakref.ref(reply_for([turn], 0))
    assert reply() is not None
    del turn
    gc.collect()
    assert reply() is None  # the memo holds no turn, and so no reply, alive


def test_settings_are_the_sampling_fields_a_turn_records() -> None:
    recorded = settings_of(Sampling(temperature=0.2, seed=7))
    assert recorded["temperature"] == 0.2
    assert recorded["seed"] == 7
    assert set(recorded) == set(TurnSettings.__annotations__)
    # Every recorded key is a field of Sampling, so a recorded setting can be used again.
    assert set(recorded) <= {f.name for f in dataclasses.fields(Sampling)}
    assert Sampling(**recorded) == Sampling(temperature=0.2, seed=7)


def test_conversation_methods() -> None:
    conversation = Conversation(system_prompt="Be brief.")
    assert conversation.last() is None
    assert conversation.pop() is None
    assert conversation  # an empty conversation is still one
    first = Turn("one")
    assert conversation.append(first) == 0
    assert conversation.append(Turn("two")) == 1
    assert conversation.last() is conversation.turns[1]
    assert [t.text for t in conversation] == ["one", "two"]
    conversation.truncate(1)
    assert conversation.turns == [first]
    assert conversation.pop() is first
    assert len(conversation) == 0


def test_an_export_copy_keeps_its_own_list_of_turns() -> None:
    conversation = Conversation([Turn("one", raw="a")], system_prompt="S")
    copy = conversation.for_export(model="tiny", family="glm4v_moe")
    conversation.append(Turn("two"))  # a reply that starts while the file is written
    assert [t.text for t in copy.turns] == ["one"]
    assert copy.turns[0] is conversation.turns[0]
    assert (copy.model, copy.family, copy.system_prompt) == ("tiny", "glm4v_moe", "S")
    assert copy.cache_key == conversation.cache_key
    assert (conversation.model, conversation.family) == ("", "glm4v")


def test_replace_with_keeps_the_object_and_its_cache_key() -> None:
    conversation = Conversation([Turn("old")])
    key = conversation.cache_key
    imported = Conversation([Turn("new")], system_prompt="S")
    conversation.replace_with(imported)
    assert [t.text for t in conversation.turns] == ["new"]
    assert conversation.system_prompt == "S"
    assert conversation.cache_key == key != imported.cache_key
    imported.append(Turn("later"))
    assert len(conversation) == 1  # the lists are not shared


def test_the_notebook_registers_its_html_view_for_replies() -> None:
    """reply.py imports no view: without the notebook a Reply has no HTML form (Jupyter shows
    its Markdown), and importing the notebook side gives it one."""
    code = (
        "import sys\n"
        "from glmv_ui.reply import build_reply\n"
        "reply = build_reply('<think>t</think><answer>**hi**</answer>')\n"
        "assert not any(m.startswith('glmv_ui.nb') for m in sys.modules), 'nb imported'\n"
        "assert reply._repr_html_() is None\n"
        "assert reply._repr_markdown_() == '**hi**'\n"
        "try:\n"
        "    reply.to_html()\n"
        "except LookupError as exc:\n"
        "    assert 'glmv_ui.notebook' in str(exc)\n"
        "else:\n"
        "    raise AssertionError('to_html without a view')\n"
        "import glmv_ui.notebook\n"
        "html = reply._repr_html_()\n"
        "assert 'glmv-reply' in html and '<strong>hi</strong>' in html, html\n"
        "assert reply.to_html(live=True).startswith('<style>')\n"
        "print('ok')\n"
    )
    root = str(Path(__file__).resolve().parent.parent)
    env = {**os.environ, "PYTHONPATH": root}
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120, cwd=root, env=env
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "ok"
