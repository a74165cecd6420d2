"""The messages an engine is asked to answer: typed records, standard library only.

:func:`glmv_ui.prompt.build_messages` makes them from a conversation and every engine takes them
apart by type. A user message holds a tuple of parts (text, an image, a video); system and
assistant messages hold plain strings, because GLM-4.1V's chat template prints any other content
into the prompt verbatim. An image part is a photo, a PDF page or a slide alike: its
:class:`~glmv_ui.media.parts.MediaPart` says which (``page``, ``slide``).

The records are frozen and pickle with the PIL images they carry: on ZeroGPU a request crosses
into the GPU worker process by pickling (:mod:`glmv_ui.engines.zerogpu`). Each engine converts
them into its own wire shape at the last moment: the local engine into what the processor's chat
template takes, the remote engine into OpenAI-style JSON.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import ClassVar, Literal

from .media.parts import MediaPart

__all__ = [
    "AssistantMessage",
    "ImagePart",
    "Message",
    "SystemMessage",
    "TextPart",
    "UserMessage",
    "UserPart",
    "VideoPart",
    "media_of",
    "media_part",
    "user_message",
]


@dataclass(frozen=True)
class TextPart:
    """Words of a user message."""

    text: str


@dataclass(frozen=True)
class ImagePart:
    """One image of a user message: a photo, a PDF page or a slide."""

    media: MediaPart


@dataclass(frozen=True)
class VideoPart:
    """One sampled video of a user message (its frames and their timestamps)."""

    media: MediaPart


UserPart = TextPart | ImagePart | VideoPart


@dataclass(frozen=True)
class SystemMessage:
    """The system prompt, a plain string."""

    content: str
    role: ClassVar[Literal["system"]] = "system"


@dataclass(frozen=True)
class UserMessage:
    """What the user sent: its parts in the order the model sees them."""

    content: tuple[UserPart, ...]
    role: ClassVar[Literal["user"]] = "user"

    @property
    def text(self) -> str:
        """The text parts joined, for views and checks."""
        return "".join(p.text for p in self.content if isinstance(p, TextPart))

    @property
    def media(self) -> tuple[MediaPart, ...]:
        """The images and videos, in order."""
        return tuple(p.media for p in self.content if not isinstance(p, TextPart))


@dataclass(frozen=True)
class AssistantMessage:
    """An earlier answer as the model should see it again: a plain string, no thinking."""

    content: str
    role: ClassVar[Literal["assistant"]] = "assistant"


Message = SystemMessage | UserMessage | AssistantMessage


def media_part(media: MediaPart) -> ImagePart | VideoPart:
    """The message part for one upload piece, by its kind."""
    return VideoPart(media) if media.kind == "video" else ImagePart(media)


def user_message(text: str = "", media: Iterable[MediaPart] = ()) -> UserMessage:
    """A user message of ``media`` followed by ``text`` (left out when empty), the order the
    conversation sends them in."""
    parts: list[UserPart] = [media_part(m) for m in media]
    if text:
        parts.append(TextPart(text))
    return UserMessage(tuple(parts))


def media_of(messages: Sequence[Message]) -> Iterator[MediaPart]:
    """Every image and video in ``messages``, in prompt order."""
    for message in messages:
        if isinstance(message, UserMessage):
            yield from message.media
