"""Conversation -> chat-template messages. Standard library only.

The conversation stores the raw model text of each reply; the next prompt is built from it, never
from anything rendered. Rules:

- Old thinking is dropped: an earlier reply is sent as its answer only, box markers kept, as a
  plain string (GLM-4.1V's template prints a list of parts into the prompt verbatim, and it does
  not strip old thinking itself).
- The system prompt is a plain string.
- Media of earlier turns: with ``media_history="all"`` (the default) every earlier image, page or
  video is sent again with its turn, so follow-up questions can refer back to it; the visual-token
  budget counts all of them. With ``"last"`` only the newest turn's media is sent and earlier ones
  are replaced by a text note (``[image: cat.jpg]``), which keeps long conversations cheap.
- A turn whose reply failed or is empty is still sent (the user's words), with an empty answer
  left out, so the model does not see a fabricated reply.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

from .conversation import Turn
from .grounding import with_box_markers
from .media.parts import MediaPart
from .messages import AssistantMessage, Message, SystemMessage, UserMessage, user_message

__all__ = ["MediaHistory", "answer_for_history", "build_messages"]

MediaHistory = Literal["all", "last"]


def answer_for_history(turn: Turn) -> str:
    """The answer of a turn's reply as the model should see it again: no thinking, boxes kept."""
    result = turn.parsed()
    return with_box_markers(result.answer, result.boxed_spans).strip()


def _media_note(part: MediaPart) -> str:
    return f"[{part.kind}: {part.label}]"


def build_messages(
    turns: Sequence[Turn],
    family: str,
    *,
    system_prompt: str = "",
    media_history: MediaHistory = "all",
) -> list[Message]:
    """Messages for the engine: the last turn is the one to answer."""
    messages: list[Message] = []
    if system_prompt.strip():
        messages.append(SystemMessage(system_prompt.strip()))
    last = len(turns) - 1
    for i, turn in enumerate(turns):
        if media_history == "all" or i == last:
            user = user_message(turn.text, turn.parts)
        else:
            notes = " ".join(_media_note(part) for part in turn.parts)
            text = notes + ("\n" + turn.text if turn.text else "") if notes else turn.text
            user = user_message(text)
        # Consecutive user messages (after a failed reply) are merged: both templates expect
        # turns to alternate.
        if messages and isinstance(messages[-1], UserMessage):
            messages[-1] = UserMessage(messages[-1].content + user.content)
        else:
            messages.append(user)
        if i < last:
            answer = answer_for_history(turn) if turn.raw else ""
            if answer:
                messages.append(AssistantMessage(answer))
    return messages
