"""Prompt building rules: old thinking dropped, plain strings, media of earlier turns."""

from __future__ import annotations

from glmv_ui.conversation import Turn
from glmv_ui.media.parts import MediaPart
from glmv_ui.messages import AssistantMessage, ImagePart, SystemMessage, TextPart, UserMessage
from glmv_ui.prompt import answer_for_history, build_messages


def _part(name: str) -> MediaPart:
    return MediaPart("image", name, image=None)


def test_answer_for_history_drops_thinking_and_keeps_boxes():
    raw = (
        "<think>long reasoning</think><answer>The cat <|begin_of_box|>[1,2,3,4]"
        "<|end_of_box|> sleeps.</answer><|user|>"
    )
    boxed = "The cat <|begin_of_box|>[1,2,3,4]<|end_of_box|> sleeps."
    assert answer_for_history(Turn("q", raw=raw)) == boxed
    plain = Turn("q", raw="<think>x</think>\nplain 4.5V answer")
    assert answer_for_history(plain) == "plain 4.5V answer"


def test_messages_alternate_with_plain_string_answers():
    turns = [
        Turn("first", [_part("a.png")], raw="<think>t1</think><answer>A1</answer>"),
        Turn("second", raw="<think>t2</think>A2"),
        Turn("third"),
    ]
    msgs = build_messages(turns, "glm4v", system_prompt="Be brief.")
    assert [m.role for m in msgs] == ["system", "user", "assistant", "user", "assistant", "user"]
    assert msgs[0] == SystemMessage("Be brief.")
    assert msgs[2] == AssistantMessage("A1")
    assert msgs[4] == AssistantMessage("A2")
    assert all(isinstance(m.content, str) for m in msgs if not isinstance(m, UserMessage))
    assert msgs[1] == UserMessage((ImagePart(turns[0].parts[0]), TextPart("first")))
    assert "t1" not in str(msgs)
    assert "t2" not in str(msgs)


def test_media_history_last_replaces_old_media_with_a_note():
    turns = [
        Turn("what is this", [_part("cat.png")], raw="<answer>A cat.</answer>"),
        Turn("and this", [_part("dog.png")]),
    ]
    everything = build_messages(turns, "glm4v")
    users = [m for m in everything if isinstance(m, UserMessage)]
    assert sum(isinstance(c, ImagePart) for m in users for c in m.content) == 2
    last_only = build_messages(turns, "glm4v", media_history="last")
    assert last_only[0] == UserMessage((TextPart("[image: cat.png]\nwhat is this"),))
    newest = last_only[2]
    assert isinstance(newest, UserMessage)
    assert isinstance(newest.content[0], ImagePart)


def test_failed_turn_is_merged_not_answered_with_nothing():
    turns = [Turn("first", status="error"), Turn("second")]
    msgs = build_messages(turns, "glm4v_moe")
    assert msgs == [UserMessage((TextPart("first"), TextPart("second")))]
