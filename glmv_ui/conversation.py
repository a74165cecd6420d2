"""The conversation record: its turns, its system prompt and the key engines cache it under.

One :class:`Conversation` is what a browser tab, an API caller, a notebook chat and an export
file each hold; a :class:`~glmv_ui.session.Session` drives one on an engine, and a model switch
hands the same conversation to a new session. A :class:`Turn` keeps the user's words and media
and the model's raw output (special tokens kept): everything else (the parse, the reply as shown,
the next prompt) is derived from it, never stored beside it.

Standard library only, and it imports none of the modules that read it (``reply``, ``prompt``,
``session``, ``export``, the views): records point one way.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field, fields
from typing import Literal, TypedDict, cast

from .config import Sampling
from .engines.base import Stats
from .media.parts import MediaPart
from .stream import ParsedReply, parse_raw

__all__ = ["Conversation", "Status", "Turn", "TurnSettings", "settings_of"]

Status = Literal["pending", "streaming", "done", "cancelled", "error"]


class TurnSettings(TypedDict, total=False):
    """The sampling a reply was made with, as export writes it (an imported file may name only
    some of them)."""

    temperature: float
    top_p: float
    top_k: int
    repetition_penalty: float
    max_new_tokens: int
    seed: int | None
    thinking: bool
    thinking_budget: int | None


def settings_of(sampling: Sampling) -> TurnSettings:
    """The fields of ``sampling`` a turn records."""
    kept = TurnSettings.__annotations__
    return cast(
        TurnSettings,
        {f.name: getattr(sampling, f.name) for f in fields(sampling) if f.name in kept},
    )


@dataclass(eq=False)
class Turn:
    """One user message and the model's reply to it.

    Compared by identity: two turns with the same words are still two turns (views key what
    they drew on the turn itself).
    """

    text: str
    parts: list[MediaPart] = field(default_factory=list)
    raw: str = ""  # the model's raw output, special tokens kept
    status: Status = "pending"
    error: str = ""
    stats: Stats | None = None
    settings: TurnSettings = field(default_factory=TurnSettings)
    thinking_seconds: float | None = None  # from the request to the end of the thinking
    # The parse of ``raw`` and the raw text it was made from: stale as soon as ``raw`` changes.
    _parsed: tuple[str, ParsedReply] | None = field(default=None, init=False, repr=False)

    def parsed(self) -> ParsedReply:
        """``raw`` split into thinking and answer, parsed once per raw text."""
        memo = self._parsed
        if memo is not None and memo[0] == self.raw:  # the same string object: no compare
            return memo[1]
        result = parse_raw(self.raw)
        self._parsed = (self.raw, result)
        return result

    def keep_parse(self, result: ParsedReply) -> None:
        """Remember ``result`` as the parse of the current ``raw`` (a streamed reply was parsed
        while it arrived: parsing it again would give the same)."""
        self._parsed = (self.raw, result)

    def reset(self) -> None:
        """Forget the reply, before it is asked for again."""
        self.raw, self.status, self.error, self.stats = "", "pending", "", None
        self.thinking_seconds = None


@dataclass(eq=False)
class Conversation:
    """The turns of one conversation, its system prompt and the key an engine caches it under.

    ``model`` and ``family`` say which model answered it, as an export file records it.
    """

    turns: list[Turn] = field(default_factory=list)
    system_prompt: str = ""
    cache_key: str = field(default_factory=lambda: uuid.uuid4().hex)
    model: str = ""
    family: str = "glm4v"

    def __len__(self) -> int:
        return len(self.turns)

    def __iter__(self) -> Iterator[Turn]:
        return iter(self.turns)

    def __bool__(self) -> bool:
        return True  # an empty conversation is still one

    def append(self, turn: Turn) -> int:
        """Add ``turn`` at the end; returns its index."""
        self.turns.append(turn)
        return len(self.turns) - 1

    def last(self) -> Turn | None:
        return self.turns[-1] if self.turns else None

    def pop(self) -> Turn | None:
        """Remove the last turn and return it (None when there is none)."""
        return self.turns.pop() if self.turns else None

    def truncate(self, count: int) -> None:
        """Keep the first ``count`` turns."""
        del self.turns[count:]

    def clear(self) -> None:
        self.turns.clear()

    @property
    def parts(self) -> list[MediaPart]:
        """Every turn's media, in order."""
        return [p for t in self.turns for p in t.parts]

    def replace_with(self, other: Conversation) -> None:
        """Take ``other``'s turns and system prompt (an imported file) in place, so whoever
        holds this conversation sees them; the cache key stays this conversation's."""
        self.turns[:] = other.turns
        self.system_prompt = other.system_prompt

    def for_export(self, *, model: str | None = None, family: str | None = None) -> Conversation:
        """A copy to write out: its own list of the same turns (a reply that ends meanwhile
        adds nothing to it), with the model and family that answered."""
        return Conversation(
            turns=list(self.turns),
            system_prompt=self.system_prompt,
            cache_key=self.cache_key,
            model=self.model if model is None else model,
            family=self.family if family is None else family,
        )
