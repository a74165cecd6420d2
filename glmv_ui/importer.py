"""Reading a conversation file back: the checks an import passes before anything is rebuilt.

Importing a JSON file written by :func:`glmv_ui.export.to_json` is an upload and meets the upload
rules (:mod:`glmv_ui.media.rules`): the file's size first, then its whole structure (every field's
type and length, no unknown stats field) and the image/video counts and mix, all before any
picture is decoded; then each picture's pixel count from its header, decoding and downscaling as
for an uploaded image; then the visual-token budget. What breaks a rule is refused by name
(:class:`ConversationError` for the structure, :class:`MediaError` for media), never as a raw
exception.
"""

from __future__ import annotations

import base64
import binascii
import dataclasses
import io
import json
import os
import types
import typing
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, cast

from .caps import SUPPORTED
from .config import MediaLimits, Sampling
from .conversation import Conversation, Turn, TurnSettings
from .engines.base import Stats
from .errors import ConversationError, GlmvError, MediaError
from .media.budget import DEFAULT_LIMITS
from .media.images import load_image
from .media.parts import MediaPart
from .media.rules import admit, check_file_size, check_visual_budget
from .media.video import MAX_FRAME_PIXELS
from .reasons import Joined, Reason, plain, reason

__all__ = ["FORMAT", "VERSION", "from_json", "read_json"]

FORMAT = "glmv-workbench/conversation"
VERSION = 1
_SETTING_KEYS = (
    "temperature",
    "top_p",
    "top_k",
    "repetition_penalty",
    "max_new_tokens",
    "seed",
    "thinking",
    "thinking_budget",
)
MAX_TEXT_CHARS = 1_000_000  # a message, raw output, error or system prompt; real ones are far less
MAX_NAME_CHARS = 1_000  # a file name, model id or note
MAX_NOTES = 50
# A reply still running when the file was written is imported as stopped.
_STATUS: dict[str, Literal["done", "cancelled", "error"]] = {
    "done": "done",
    "cancelled": "cancelled",
    "error": "error",
    "pending": "cancelled",
    "streaming": "cancelled",
}
_FAMILIES = SUPPORTED
_JSON_TYPES: dict[str, tuple[type, ...]] = {
    "int": (int,),
    "float": (int, float),
    "str": (str,),
    "bool": (bool,),
    "None": (type(None),),
    "list": (list,),
    "object": (dict,),
}


def from_json(
    text: str, source: str = "conversation.json", limits: MediaLimits = DEFAULT_LIMITS
) -> Conversation:
    """Rebuild a conversation written by :func:`to_json`, through the upload rules (see the
    module doc). ``source`` is the file name the messages give."""
    try:
        check_file_size(len(text), source, limits)  # characters: never more than the bytes
        try:
            data = json.loads(text)
        except RecursionError:
            raise ConversationError(reason("import.nested"), subject=source) from None
        except json.JSONDecodeError as exc:
            raise ConversationError(
                reason("import.not_json", line=exc.lineno), subject=source
            ) from exc
        except ValueError as exc:  # e.g. a number with more digits than Python converts
            raise ConversationError(reason("import.not_json_value"), subject=source) from exc
        plan = _plan(data, source, limits)
        turns = [_turn(record, limits) for record in plan.turns]
        check_visual_budget([p for t in turns for p in t.parts], limits, name=source)
    except GlmvError:
        raise
    except Exception as exc:  # a case the checks above did not foresee: still no raw error
        raise ConversationError(reason("import.failed"), subject=source) from exc
    return Conversation(
        turns, system_prompt=plan.system_prompt, model=plan.model, family=plan.family
    )


def read_json(path: str | Path, limits: MediaLimits = DEFAULT_LIMITS) -> Conversation:
    """:func:`from_json` on a file, whose size is checked before it is read."""
    path = Path(path)
    try:
        check_file_size(os.path.getsize(path), path.name, limits)
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ConversationError(
            reason("import.not_text" if isinstance(exc, UnicodeDecodeError) else "file.missing"),
            subject=path.name,
        ) from exc
    return from_json(text, path.name, limits)


@dataclass(frozen=True)
class _PartPlan:
    """One part as the file states it; ``pictures`` are base64 PNGs, not yet decoded."""

    label: Reason  # "conversation.json (turn 2, part 1, photo.png)", for messages
    kind: Literal["image", "video"]
    source: str
    pictures: tuple[str, ...]
    timestamps: tuple[float, ...]
    notes: tuple[Reason, ...]
    numbers: dict[str, Any]  # page, slide, page_count, fps, duration when given


@dataclass(frozen=True)
class _TurnPlan:
    text: str
    parts: tuple[_PartPlan, ...]
    raw: str
    status: Literal["done", "cancelled", "error"]
    error: str
    stats: Stats | None
    settings: dict[str, Any]


@dataclass(frozen=True)
class _Plan:
    model: str
    family: str
    system_prompt: str
    turns: tuple[_TurnPlan, ...]


class _Object:
    """One JSON object of the file, read field by field; a wrong field names where it is."""

    def __init__(self, value: object, file: str, where: Reason | None) -> None:
        self.file, self.where = file, where
        if not isinstance(value, dict):
            raise self.error(reason("import.object", actual=_json_type(value)))
        self.value: dict[str, Any] = value

    def error(self, what: Reason) -> ConversationError:
        subject = (
            self.file
            if self.where is None
            else reason("import.at", file=self.file, where=self.where)
        )
        return ConversationError(what, subject=subject)

    def type_error(self, key: str) -> Callable[[Joined, Reason], ConversationError]:
        """How a field ``key`` of the wrong type is refused."""
        return lambda wanted, actual: self.error(
            reason("import.type", key=repr(key), wanted=wanted, actual=actual)
        )

    def get(self, key: str, kinds: str, default: Any = ..., limit: int = MAX_TEXT_CHARS) -> Any:
        """The field ``key``, of the JSON types ``kinds`` ("int | None", "str", ...)."""
        if key not in self.value:
            if default is ...:
                raise self.error(reason("import.missing", key=repr(key)))
            return default
        value = self.value[key]
        _check_type(value, kinds, self.type_error(key))
        if isinstance(value, str | list) and len(value) > limit:
            raise self.error(
                reason(
                    "import.too_long_text" if isinstance(value, str) else "import.too_long_list",
                    key=repr(key),
                    count=len(value),
                    limit=limit,
                )
            )
        return value


_WANTED = {
    "int": reason("json.int"),
    "float": reason("json.float"),
    "str": reason("json.str"),
    "bool": reason("json.bool"),
    "None": reason("json.None"),
    "list": reason("json.list"),
    "object": reason("json.object"),
}


def _json_type(value: object) -> Reason:
    kind = {dict: "object", list: "list", str: "str", bool: "bool", type(None): "None"}
    return _WANTED[kind.get(type(value), "float")]  # ints and floats are both "a number"


def _check_type(
    value: object,
    kinds: str | tuple[str, ...],
    error: Callable[[Joined, Reason], ConversationError],
) -> None:
    """Refuse ``value`` unless it is of one of the JSON ``kinds`` (names of :data:`_JSON_TYPES`,
    written ``"int | None"`` where a reader spells them out)."""
    allowed = [k.strip() for k in kinds.split("|")] if isinstance(kinds, str) else list(kinds)
    accepted = tuple(t for k in allowed for t in _JSON_TYPES[k])
    if not isinstance(value, accepted) or (isinstance(value, bool) and "bool" not in allowed):
        raise error(Joined(tuple(_WANTED[k] for k in allowed), "or"), _json_type(value))


def _typed_fields(obj: _Object, record: type, keys: Sequence[str] | None) -> dict[str, Any]:
    """The fields of ``obj`` that are fields of the dataclass ``record`` (only ``keys`` of them
    when given), each of its declared type; with ``keys=None`` an unknown field is refused."""
    declared = _json_kinds(record)
    out = {}
    for key, value in obj.value.items():
        if key not in declared or (keys is not None and key not in keys):
            if keys is None:
                raise obj.error(reason("import.unknown_field", key=repr(key)))
            continue  # settings: only the sampling fields are kept (never keys or secrets)
        _check_type(value, declared[key], obj.type_error(key))
        out[key] = value
    return out


_PYTHON_KINDS: dict[object, str] = {
    int: "int",
    float: "float",
    str: "str",
    bool: "bool",
    type(None): "None",
    list: "list",
    dict: "object",
}


def _json_kinds(record: type) -> dict[str, tuple[str, ...]]:
    """The JSON kinds each field of the dataclass ``record`` accepts, from its resolved type
    (``int | None``: an int or null; ``list[str]``: a list)."""
    hints = typing.get_type_hints(record)
    out = {}
    for f in dataclasses.fields(record):
        hint = hints[f.name]
        union = typing.get_origin(hint) in (typing.Union, types.UnionType)
        members = typing.get_args(hint) if union else (hint,)
        out[f.name] = tuple(_PYTHON_KINDS[typing.get_origin(m) or m] for m in members)
    return out


def _plan(data: object, file: str, limits: MediaLimits) -> _Plan:
    """The whole file checked and counted, nothing decoded yet."""
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        raise ConversationError(reason("import.not_ours"), subject=file)
    top = _Object(data, file, None)
    version = top.get("version", "int", VERSION)
    if version > VERSION:
        raise top.error(reason("import.newer", version=version))
    family = top.get("family", "str", "glm4v", MAX_NAME_CHARS)
    if family not in _FAMILIES:
        raise top.error(_one_of("family", _FAMILIES, family))
    turns = []
    images = videos = 0
    for t, item in enumerate(top.get("turns", "list", []), 1):
        turn = _Object(item, file, reason("import.turn", turn=t))
        parts = []
        for n, value in enumerate(turn.get("parts", "list", []), 1):
            part = _part_plan(
                _Object(value, file, reason("import.turn_part", turn=t, part=n)), limits
            )
            # The counting rules, before any picture is decoded.
            admit(part.label, part.kind, images, videos, limits)
            images, videos = images + (part.kind == "image"), videos + (part.kind == "video")
            parts.append(part)
        stated = turn.get("status", "str", "done")
        status = _STATUS.get(stated)
        if status is None:
            raise turn.error(_one_of("status", tuple(_STATUS), stated))
        stats = turn.get("stats", "object | None", None)
        settings = turn.get("settings", "object | None", None)
        turns.append(
            _TurnPlan(
                text=turn.get("text", "str", ""),
                parts=tuple(parts),
                raw=turn.get("raw", "str", ""),
                status=status,
                error=turn.get("error", "str", ""),
                stats=None
                if stats is None
                else Stats(
                    **_typed_fields(
                        _Object(stats, file, reason("import.turn_stats", turn=t)), Stats, None
                    )
                ),
                settings={}
                if settings is None
                else _typed_fields(
                    _Object(settings, file, reason("import.turn_settings", turn=t)),
                    Sampling,
                    _SETTING_KEYS,
                ),
            )
        )
    return _Plan(
        model=top.get("model", "str", "", MAX_NAME_CHARS),
        family=family,
        system_prompt=top.get("system_prompt", "str", ""),
        turns=tuple(turns),
    )


def _one_of(key: str, allowed: tuple[str, ...], value: str) -> Reason:
    return reason(
        "import.one_of", key=repr(key), allowed=Joined(allowed, "comma"), value=repr(value)
    )


def _part_plan(part: _Object, limits: MediaLimits) -> _PartPlan:
    kind = part.get("kind", "str")
    if kind not in ("image", "video"):
        raise part.error(_one_of("kind", ("image", "video"), kind))
    source = part.get("source", "str", limit=MAX_NAME_CHARS)
    label = reason("import.part", file=part.file, where=part.where or "", source=source)
    numbers = {
        key: part.get(key, "int")
        for key in ("page", "slide", "page_count")
        if part.value.get(key) is not None
    }
    if any(number < 1 for number in numbers.values()):
        raise part.error(reason("import.numbers"))
    numbers.update(
        {
            key: float(part.get(key, "float"))
            for key in ("fps", "duration")
            if part.value.get(key) is not None
        }
    )
    notes = part.get("notes", "list", [], MAX_NOTES)
    for note in notes:
        _check_type(
            note,
            "str",
            lambda wanted, actual: part.error(
                reason("import.note_type", wanted=wanted, actual=actual)
            ),
        )
        if len(note) > MAX_NAME_CHARS:
            raise part.error(reason("import.note_long", count=len(note), limit=MAX_NAME_CHARS))
    # A note in a file is its words only: it is shown as written, in every language.
    said = tuple(plain(note) for note in notes)
    if kind == "image":
        return _PartPlan(label, kind, source, (part.get("image", "str"),), (), said, numbers)
    frames = part.get("frames", "list")
    times = part.get("timestamps", "list")
    for frame in frames:
        _check_type(
            frame,
            "str",
            lambda wanted, actual: part.error(
                reason("import.frame_type", wanted=wanted, actual=actual)
            ),
        )
    for time in times:
        _check_type(
            time,
            "float",
            lambda wanted, actual: part.error(
                reason("import.time_type", wanted=wanted, actual=actual)
            ),
        )
    if not frames or len(frames) % 2 or len(times) != len(frames):
        raise part.error(reason("import.frames"))
    if len(frames) > limits.video_max_frames:
        raise MediaError(
            label, reason("import.video_frames", frames=len(frames), limit=limits.video_max_frames)
        )
    return _PartPlan(
        label, kind, source, tuple(frames), tuple(float(x) for x in times), said, numbers
    )


def _turn(plan: _TurnPlan, limits: MediaLimits) -> Turn:
    return Turn(
        text=plan.text,
        parts=[_part(p, limits) for p in plan.parts],
        raw=plan.raw,
        status=plan.status,
        error=plan.error,
        stats=plan.stats,
        settings=cast(TurnSettings, plan.settings),  # only the sampling fields, each typed
    )


def _part(plan: _PartPlan, limits: MediaLimits) -> MediaPart:
    """Decode a part's pictures like uploaded images: header checked first, then downscaled."""
    label = plan.label
    if plan.kind == "image":
        image = _picture(plan.pictures[0], label, limits)
        return MediaPart(
            kind="image",
            source=plan.source,
            image=image.image,
            notes=plan.notes + image.notes,
            **plan.numbers,
        )
    # Frames are bounded like sampled ones (the sampler's per-frame pixel cap).
    frame_limits = dataclasses.replace(limits, image_max_pixels=MAX_FRAME_PIXELS)
    frames = tuple(_picture(data, label, frame_limits).image for data in plan.pictures)
    if len({f.size for f in frames}) > 1:
        raise MediaError(label, reason("import.frame_sizes"))
    return MediaPart(
        kind="video",
        source=plan.source,
        frames=frames,
        timestamps=plan.timestamps,
        notes=plan.notes,
        **plan.numbers,
    )


def _picture(data: str, label: Reason, limits: MediaLimits) -> MediaPart:
    body = data.split(",", 1)[1] if data.startswith("data:") and "," in data else data
    try:
        raw = base64.b64decode(body, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise MediaError(label, reason("import.base64")) from exc
    return load_image(io.BytesIO(raw), label, limits)
