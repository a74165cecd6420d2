"""What a page handler changes, as one typed record: each output component with what it gets.

Handlers build :class:`Updates` and combine them with ``|`` (the right-hand side wins for a
component both name, as in a dict literal); the event functions that Gradio calls hand it
:meth:`Updates.to_gradio`, the plain ``{component: value}`` mapping Gradio reads.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import TypeAlias

from gradio.blocks import Block

__all__ = ["GradioUpdates", "Updates", "Value", "to_gradio"]

# What one output receives: a component standing for its update (``gr.Button(interactive=
# False)``), ``gr.update(...)`` / ``gr.skip()``, or a value: text, the Chatbot's messages, the
# multimodal input's ``{"text", "files"}``, None to empty it.
Value: TypeAlias = Block | Mapping[str, object] | Sequence[Mapping[str, object]] | str | None
GradioUpdates: TypeAlias = dict[Block, Value]


class Updates:
    """The changes to some of a handler's output components."""

    __slots__ = ("_changes",)

    def __init__(self, changes: Mapping[Block, Value] | None = None) -> None:
        self._changes: dict[Block, Value] = dict(changes or {})

    def set(self, block: Block, value: Value) -> Updates:
        """Change ``block`` (replacing an earlier change of it); returns this record."""
        self._changes[block] = value
        return self

    def update(self, *others: Updates) -> Updates:
        """Take in the changes of ``others``, later ones winning; returns this record."""
        for other in others:
            self._changes.update(other._changes)
        return self

    def __or__(self, other: Updates) -> Updates:
        return Updates(self._changes).update(other)

    def __getitem__(self, block: Block) -> Value:
        return self._changes[block]

    def __contains__(self, block: object) -> bool:
        return block in self._changes

    def __len__(self) -> int:
        return len(self._changes)

    def __iter__(self) -> Iterator[Block]:
        return iter(self._changes)

    def __repr__(self) -> str:
        return f"Updates({len(self._changes)} components)"

    def to_gradio(self) -> GradioUpdates:
        """The mapping Gradio receives from an event function."""
        return dict(self._changes)


def to_gradio(stream: Iterable[Updates]) -> Iterator[GradioUpdates]:
    """A streaming handler's records as Gradio receives them."""
    for updates in stream:
        yield updates.to_gradio()
