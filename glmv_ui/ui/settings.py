"""The settings a request carries, as one typed record built from named inputs.

Every generating endpoint (the page, the API, MCP) receives the settings as named parameters
(``temperature=…``, ``pdf_first=…``); :meth:`Settings.from_inputs` turns whatever arrives
(Gradio's numbers are floats, a client may send ``None`` or omit a field) into a record with the
types the core expects, and :meth:`Settings.sampling` / :meth:`Settings.media` turn it into the
core's :class:`~glmv_ui.config.Sampling` and media options. Standard library only.
"""

from __future__ import annotations

import functools
import typing
from dataclasses import dataclass, fields, replace
from typing import TypeVar

from ..caps import Capabilities, as_caps
from ..config import (
    SAMPLING_RANGES,
    TINY_MAX_NEW_TOKENS,
    MediaLimits,
    Range,
    Sampling,
    default_sampling,
    is_tiny_model,
)
from ..media.options import MediaOptions
from .i18n import t

T = TypeVar("T")

__all__ = [
    "CARRIED_FIELDS",
    "SETTING_NAMES",
    "Carried",
    "MediaChoice",
    "Settings",
    "SettingsCarry",
    "carry_settings",
    "effort_choices",
    "model_ranges",
    "sampling_note",
]


@dataclass(frozen=True)
class MediaChoice:
    """How uploads are read for one request: the limits and the ranges the user picked."""

    limits: MediaLimits
    page_range: tuple[int, int] | None = None
    video_range: tuple[float, float] | None = None

    def options(self, password: str | None = None) -> MediaOptions:
        """The options for :func:`glmv_ui.media.ingest` besides the limits (the video's rate
        and frame count are in the limits)."""
        return MediaOptions(
            password=password, page_range=self.page_range, video_range=self.video_range
        )


@dataclass(frozen=True)
class Settings:
    """The side panel's values. ``None`` means: the model family's default."""

    thinking: bool = True
    thinking_budget: int = 0  # GLM-4.1V: 0 = no limit
    temperature: float | None = None
    top_p: float | None = None
    top_k: int | None = None
    repetition_penalty: float | None = None
    max_new_tokens: int | None = None
    seed: int = -1  # < 0: not seeded
    system_prompt: str = ""
    pdf_first: int = 0  # 0: from the first page
    pdf_last: int = 0  # 0: to the last page
    pdf_tokens: int | None = None
    video_fps: float | None = None
    video_max_frames: int | None = None
    video_start: float = 0.0
    video_end: float = 0.0  # 0: to the end
    image_mp: float | None = None
    # Last, so that callers passing the settings in order keep their places: GLM-5.3-Flash's
    # effort, one of the template's ("none": no thinking); "": the model's default.
    effort: str = ""

    @classmethod
    def from_inputs(cls, **values: object) -> Settings:
        """A record from named values, each converted to its field's declared type; unknown
        names are ignored, a value that is not a number where one is wanted is the default."""
        kwargs: dict[str, object] = {}
        for name, kind in _field_kinds().items():
            if name not in values:
                continue
            value = values[name]
            if kind is bool:
                kwargs[name] = bool(value)
            elif kind is str:
                kwargs[name] = "" if value is None else str(value)
            elif value is not None:
                number = _number(value, int if kind is int else float)
                if number is not None:
                    kwargs[name] = number
        return cls(**kwargs)  # type: ignore[arg-type]  # each value is of its field's type

    @staticmethod
    def carried(**values: object) -> dict[str, float | None]:
        """The generation settings shown on the page (those carried over a model switch) as
        numbers, ``None`` for one that did not arrive as a number."""
        return {name: _number(values.get(name), float) for name in CARRIED_FIELDS}

    def sampling(self, family: Capabilities | str, model: str | None = None) -> Sampling:
        """Decoding settings for a model that can do ``family`` (its capabilities, or a model
        type's defaults; named ``model``), defaults filled in from its table."""
        caps = as_caps(family)
        base = default_sampling(caps, model)
        return replace(
            base,
            temperature=_pick(self.temperature, base.temperature),
            top_p=_pick(self.top_p, base.top_p),
            top_k=_pick(self.top_k, base.top_k),
            repetition_penalty=_pick(self.repetition_penalty, base.repetition_penalty),
            max_new_tokens=_pick(self.max_new_tokens, base.max_new_tokens),
            seed=None if self.seed < 0 else self.seed,
            thinking=self._thinking(caps),
            effort=self.effort if self.effort in caps.efforts else None,
            thinking_budget=(
                self.thinking_budget if self.thinking_budget > 0 and caps.uses_budget else None
            ),
        )

    def _thinking(self, caps: Capabilities) -> bool:
        """Whether to think: the effort decides when the template takes one and one was
        chosen ("none" is off), else the switch, where the template has one."""
        if caps.thinking == "effort" and self.effort in caps.efforts:
            return self.effort != "none"
        return self.thinking if caps.can_disable_thinking else True

    def media(self, limits: MediaLimits) -> MediaChoice:
        """How this request reads uploads, within the operator's ``limits``."""
        chosen = replace(
            limits,
            pdf_tokens_per_page=max(64, _pick(self.pdf_tokens, limits.pdf_tokens_per_page)),
            image_max_pixels=(
                max(28 * 28, int(self.image_mp * 1e6))
                if self.image_mp is not None
                else limits.image_max_pixels
            ),
            video_fps=max(0.1, _pick(self.video_fps, limits.video_fps)),
            video_max_frames=max(2, _pick(self.video_max_frames, limits.video_max_frames)),
        )
        page_range = None
        if self.pdf_first > 0 or self.pdf_last > 0:
            page_range = (max(1, self.pdf_first), self.pdf_last if self.pdf_last > 0 else 10**6)
        video_range = None
        if self.video_start > 0 or self.video_end > 0:
            video_range = (self.video_start, self.video_end if self.video_end > 0 else 1e9)
        return MediaChoice(chosen, page_range, video_range)


SETTING_NAMES: tuple[str, ...] = tuple(f.name for f in fields(Settings))


@functools.cache
def _field_kinds() -> dict[str, type]:
    """Each field's type with ``None`` taken out (``int | None`` is ``int``), as resolved by
    :func:`typing.get_type_hints` from the annotations."""
    hints = typing.get_type_hints(Settings)
    kinds = {}
    for f in fields(Settings):
        hint = hints[f.name]
        args = [a for a in typing.get_args(hint) if a is not type(None)]
        kinds[f.name] = args[0] if args else hint
    return kinds


def _number(value: object, kind: type[int] | type[float]) -> float | None:
    """``value`` as a number of ``kind``; None for anything that is not a number."""
    try:
        number = float(value)  # type: ignore[arg-type]  # whatever a client sent
    except (TypeError, ValueError, OverflowError):
        return None
    if number != number or number in (float("inf"), float("-inf")):  # NaN, infinities
        return None
    return int(number) if kind is int else number


def _pick(value: T | None, default: T) -> T:
    return default if value is None else value


# -- settings across a model switch ------------------------------------------------------------

CARRIED_FIELDS: tuple[str, ...] = (
    "temperature",
    "top_p",
    "top_k",
    "repetition_penalty",
    "max_new_tokens",
    "thinking_budget",
)
TINY_MAX_NEW_TOKENS_LIMIT = 2048  # random weights: longer answers are only slower word salad


def model_ranges(model: str) -> dict[str, Range]:
    """The values ``model`` accepts for each generation setting (the sliders' ranges)."""
    ranges = dict(SAMPLING_RANGES)
    if is_tiny_model(model):
        step = ranges["max_new_tokens"].step
        ranges["max_new_tokens"] = Range(
            ranges["max_new_tokens"].minimum, TINY_MAX_NEW_TOKENS_LIMIT, step
        )
    return ranges


@dataclass(frozen=True)
class Carried:
    """One setting after a switch: its value, and why (``default``: the user had not changed
    it; ``kept``; ``clamped``: outside the new model's range, ``was`` the user's value)."""

    name: str
    value: float
    reason: str
    was: float
    limit: float = 0.0


@dataclass(frozen=True)
class SettingsCarry:
    """The generation settings for the newly loaded model, one :class:`Carried` per field."""

    fields: tuple[Carried, ...]
    thinking_forced: bool = False  # the user turned thinking off; the new family always thinks

    def clamped(self) -> tuple[Carried, ...]:
        return tuple(c for c in self.fields if c.reason == "clamped")

    def defaulted(self) -> tuple[Carried, ...]:
        return tuple(c for c in self.fields if c.reason == "default" and c.value != c.was)


def _same(a: float, b: float) -> bool:
    return abs(a - b) <= 1e-9 * max(1.0, abs(a), abs(b))


def carry_settings(
    shown: dict[str, float | None],
    old: Sampling,
    new: Sampling,
    ranges: dict[str, Range],
    *,
    thinking: bool = True,
    family: Capabilities | str = "glm4v",
) -> SettingsCarry:
    """What the settings become when the model changes: a value the user never touched (equal
    to the old model's default) takes the new model's default; a touched value stays, clamped
    into ``ranges`` when the new model does not accept it."""
    out = []
    for name in CARRIED_FIELDS:
        old_default = float(getattr(old, name) or 0)
        new_default = float(getattr(new, name) or 0)
        value = shown.get(name)
        current = old_default if value is None else float(value)
        if _same(current, old_default):
            out.append(Carried(name, new_default, "default", current))
            continue
        r = ranges[name]
        if current > r.maximum or current < r.minimum:
            limit = r.maximum if current > r.maximum else r.minimum
            out.append(Carried(name, limit, "clamped", current, limit))
        else:
            out.append(Carried(name, current, "kept", current))
    return SettingsCarry(tuple(out), thinking_forced=not thinking and as_caps(family).uses_budget)


def effort_choices(caps: Capabilities, lang: str) -> list[tuple[str, str]]:
    """The effort dropdown's (label, value) pairs, in the template's order; for a model that
    takes no effort, one empty choice (the dropdown is hidden, and its value "" means: none)."""
    return [(t(lang, f"effort_{e}"), e) for e in caps.efforts] or [("", "")]


def sampling_note(family: Capabilities | str, lang: str, model: str = "") -> str:
    """Why the sampling settings are what they are for this model (and a tiny checkpoint)."""
    caps = as_caps(family)
    note = t(lang, f"sampling_note_{caps.sampling}")
    if caps.prefix_reuse == "extend":
        note += "\n\n" + t(lang, "reuse_extend")
    if is_tiny_model(model):
        note = t(lang, "sampling_note_tiny", n=TINY_MAX_NEW_TOKENS) + "\n\n" + note
    return note
