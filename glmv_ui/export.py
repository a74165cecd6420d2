"""Export and import a conversation: JSON (lossless), Markdown (to read), LLaMA-Factory (to train).

JSON keeps everything needed to restore the conversation: each turn's text, media (embedded as
base64 PNG), the model's raw output, status, stats and the sampling settings used. It never holds
API keys or any other configuration beyond the model id: settings are copied from a fixed list of
sampling fields only.

Importing a JSON file (:func:`from_json`, :func:`read_json`) is an upload: its checks are in
:mod:`glmv_ui.importer`.

LLaMA-Factory format (as in the GLM-V README's fine-tuning example): a list of records with
sharegpt-style ``messages`` (``role`` / ``content``), an ``<image>`` placeholder in the user text
for each image (``<video>`` for a video) and an ``images`` (``videos``) list of file paths in the
same order. Thinking is removed from assistant answers: past thinking is never sent back to the
model, so a fine-tuning target keeps only what the model answered. For GLM-4.1V the answer keeps
the ``<answer>…</answer>`` wrapper that the README's example shows (the model emits it and the
chat template expects it); GLM-4.5V answers carry no tags. ``include_thinking=True`` keeps the
README's full ``<think>…</think>`` form instead. Box markers stay in the answer. A video is
written as its sampled frames (a list of image paths, which LLaMA-Factory accepts as a video).
"""

from __future__ import annotations

import io
import json
import zipfile
from collections.abc import Mapping
from dataclasses import asdict
from pathlib import Path
from typing import Any

from .caps import Capabilities, as_caps
from .conversation import Conversation
from .errors import ConversationError
from .importer import _SETTING_KEYS, FORMAT, VERSION, from_json, read_json
from .media.dataurl import data_url
from .media.parts import MediaPart
from .reasons import map_text, render
from .reply import thinking_title
from .sanitize import chat_markdown, plain_markdown
from .turn_reply import reply_for

__all__ = [
    "FORMAT",
    "Conversation",
    "from_json",
    "read_json",
    "to_json",
    "to_llamafactory",
    "to_markdown",
    "write_export",
]


def _settings(settings: Mapping[str, object]) -> dict[str, object]:
    return {k: settings[k] for k in _SETTING_KEYS if k in settings}


def _part_json(part: MediaPart) -> dict[str, Any]:
    out: dict[str, Any] = {"kind": part.kind, "source": part.source}
    for key in ("page", "slide", "page_count", "fps", "duration"):
        value = getattr(part, key)
        if value is not None:
            out[key] = value
    if part.notes:
        out["notes"] = [str(note) for note in part.notes]  # in English, as the file always had
    if part.kind == "image":
        out["image"] = data_url(part.image)
    else:
        out["frames"] = [data_url(f) for f in part.frames]
        out["timestamps"] = list(part.timestamps)
    return out


def to_json(conversation: Conversation) -> str:
    """The whole conversation as JSON, media embedded as base64 PNG; its ``model`` and
    ``family`` say which model answered."""
    payload = {
        "format": FORMAT,
        "version": VERSION,
        "model": conversation.model,
        "family": conversation.family,
        "system_prompt": conversation.system_prompt,
        "turns": [
            {
                "text": turn.text,
                "parts": [_part_json(p) for p in turn.parts],
                "raw": turn.raw,
                "status": turn.status,
                "error": turn.error,
                "settings": _settings(turn.settings),
                "stats": asdict(turn.stats) if turn.stats is not None else None,
            }
            for turn in conversation.turns
        ],
    }
    return json.dumps(payload, ensure_ascii=False, indent=1)


def to_markdown(conversation: Conversation) -> str:
    """A readable transcript: media listed by name, thinking in a collapsed block.

    Everything written by the model, the user or an imported file goes through
    :func:`~glmv_ui.sanitize.chat_markdown` (raw HTML escaped, remote images as links that name
    their host) or :func:`~glmv_ui.sanitize.plain_markdown` (names, error text), so a Markdown
    viewer shows the transcript as text and fetches nothing.
    """
    turns = conversation.turns
    lines = [f"# Conversation with {plain_markdown(conversation.model or 'GLM-V')}", ""]
    if conversation.system_prompt:
        lines += [f"> System: {chat_markdown(conversation.system_prompt)}", ""]
    for i, turn in enumerate(turns, 1):
        lines += [f"## {i}. User", ""]
        lines += [f"- *{p.kind}: {plain_markdown(p.label)}*" for p in turn.parts]
        if turn.parts:
            lines.append("")
        if turn.text:
            lines += [chat_markdown(turn.text), ""]
        reply = reply_for(turns, i - 1)
        lines += [f"## {i}. Assistant", ""]
        if reply.thinking:
            lines += [
                f"<details><summary>{render(thinking_title(reply).timed)}</summary>",
                "",
                chat_markdown(reply.thinking),
                "",
                "</details>",
                "",
            ]
        if reply.answer:
            lines += [chat_markdown(reply.marked_answer), ""]
        lines += [
            f"*({render(map_text(notice.wording, plain_markdown))})*" for notice in reply.notices
        ]
        if reply.notices:
            lines.append("")
        if reply.stats is not None:
            lines += [f"<sub>{reply.stats.summary()}</sub>", ""]
    return "\n".join(lines).rstrip() + "\n"


def _assistant_target(
    answer: str, thinking: str, family: Capabilities | str, include_thinking: bool
) -> str:
    body = f"<answer>{answer}</answer>" if as_caps(family).answer_tags else answer
    if include_thinking:
        return f"<think>\n{thinking}</think>\n{body}"
    return body


def to_llamafactory(
    conversation: Conversation, *, image_prefix: str = "images", include_thinking: bool = False
) -> tuple[dict[str, Any], list[tuple[str, Any]]]:
    """One LLaMA-Factory record and the (relative path, PIL image) files it refers to, in the
    form of the conversation's ``family``.

    Turns without an answer (failed or empty) are left out with their user message, so the
    record never trains on a reply the model did not give.
    """
    turns, family = conversation.turns, conversation.family
    messages: list[dict[str, str]] = []
    if conversation.system_prompt:
        messages.append({"role": "system", "content": conversation.system_prompt})
    images: list[str] = []
    videos: list[list[str]] = []
    files: list[tuple[str, Any]] = []
    for index, turn in enumerate(turns):
        reply = reply_for(turns, index)
        answer = reply.marked_answer.strip()
        if not answer:
            continue
        target = _assistant_target(answer, reply.thinking, family, include_thinking)
        placeholders = []
        for part in turn.parts:
            if part.kind == "image":
                name = f"{image_prefix}/{len(files):04d}.png"
                files.append((name, part.image))
                images.append(name)
                placeholders.append("<image>")
            else:
                frames = []
                for frame in part.frames:
                    name = f"{image_prefix}/{len(files):04d}.png"
                    files.append((name, frame))
                    frames.append(name)
                videos.append(frames)
                placeholders.append("<video>")
        messages.append({"role": "user", "content": "".join(placeholders) + turn.text})
        messages.append({"role": "assistant", "content": target})
    record: dict[str, Any] = {"messages": messages}
    if images:
        record["images"] = images
    if videos:
        record["videos"] = videos
    return record, files


def write_export(conversation: Conversation, fmt: str, folder: str | Path) -> Path:
    """Write the export file for ``fmt`` (``json``, ``markdown``, ``llamafactory``) in ``folder``.

    LLaMA-Factory exports are a zip holding ``data.json`` (a list with one record) and the images.
    """
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    if fmt == "json":
        path = folder / "conversation.json"
        path.write_text(to_json(conversation), encoding="utf-8")
        return path
    if fmt == "markdown":
        path = folder / "conversation.md"
        path.write_text(to_markdown(conversation), encoding="utf-8")
        return path
    if fmt == "llamafactory":
        record, files = to_llamafactory(conversation)
        path = folder / "conversation_llamafactory.zip"
        with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
            zf.writestr("data.json", json.dumps([record], ensure_ascii=False, indent=2))
            for name, image in files:
                buf = io.BytesIO()
                image.convert("RGB").save(buf, format="PNG")
                zf.writestr(name, buf.getvalue())
        return path
    raise ConversationError(
        f"unknown export format {fmt!r}; expected json, markdown or llamafactory"
    )
