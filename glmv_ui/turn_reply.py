"""The reply of one turn of a conversation, built from the turn and kept until it changes.

A turn's :class:`~glmv_ui.reply.Reply` is rebuilt only when its raw text or its outcome
(status, error, stats, timing, the images its boxes are drawn on) changes; the memo holds a
reply no longer than its turn.
"""

from __future__ import annotations

import threading
import weakref
from collections.abc import Sequence

from .conversation import Status, Turn
from .engines.base import Stats
from .media.parts import MediaPart
from .reply import Reply, ReplyStream, build_reply

__all__ = ["candidate_images", "final_reply", "reply_for"]


def candidate_images(turns: Sequence[Turn], index: int) -> list[MediaPart]:
    """The images a reply's boxes may refer to: its own turn's, else those of the latest earlier
    turn that had any (a follow-up question about the same picture)."""
    for earlier in reversed(turns[: index + 1]):
        images = [p for p in earlier.parts if p.kind == "image" and p.image is not None]
        if images:
            return images
    return []


OutcomeKey = tuple[str, Status, str, Stats | None, float | None, tuple[int, ...]]


# The last Reply built for each turn and the outcome it was built from, held no longer than the
# turn itself.
_REPLIES: weakref.WeakKeyDictionary[Turn, tuple[OutcomeKey, Reply]] = weakref.WeakKeyDictionary()
_REPLIES_LOCK = threading.Lock()


def _remembered(turn: Turn, key: OutcomeKey) -> Reply | None:
    with _REPLIES_LOCK:
        kept = _REPLIES.get(turn)
    return kept[1] if kept is not None and kept[0] == key else None


def _remember(turn: Turn, key: OutcomeKey, reply: Reply) -> None:
    with _REPLIES_LOCK:
        _REPLIES[turn] = (key, reply)


def _outcome_key(turn: Turn, images: Sequence[MediaPart]) -> OutcomeKey:
    return (
        turn.raw,
        turn.status,
        turn.error,
        turn.stats,
        turn.thinking_seconds,
        tuple(id(p) for p in images),
    )


def reply_for(turns: Sequence[Turn], index: int) -> Reply:
    """The reply of ``turns[index]``, kept for the turn until its raw text or outcome changes."""
    turn = turns[index]
    images = candidate_images(turns, index)
    key = _outcome_key(turn, images)
    kept = _remembered(turn, key)
    if kept is not None:
        return kept
    reply = build_reply(
        turn.raw,
        images,
        stats=turn.stats,
        status=turn.status,
        error=turn.error,
        thinking_seconds=turn.thinking_seconds,
        parsed=turn.parsed(),
    )
    _remember(turn, key, reply)
    return reply


def final_reply(stream: ReplyStream, turns: Sequence[Turn], index: int) -> Reply:
    """The finished reply of ``turns[index]`` from what ``stream`` received, remembered for the
    turn as :func:`reply_for` remembers what it builds."""
    turn = turns[index]
    images = candidate_images(turns, index)
    reply = stream.final(turn, images)
    _remember(turn, _outcome_key(turn, images), reply)
    return reply
