"""Export and import a conversation: JSON (lossless), Markdown (to read), LLaMA-Factory (to train).

JSON keeps everything needed to restore the conversation: each turn's text, media (embedded as
base64 PNG), the model's raw output, status, stats and the sampling settings used. It never holds
API keys or any other configuration beyond the model id: settings are copied from a fixed list of
sampling fields only.

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

import base64
import io
import json
import zipfile
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from .engines.base import Stats
from .errors import ConversationError
from .media.parts import MediaPart
from .prompt import Turn
from .reply import reply_for

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

FORMAT = "glmv-workbench/conversation"
VERSION = 1
_SETTING_KEYS = ("temperature", "top_p", "top_k", "repetition_penalty", "max_new_tokens", "seed",
                 "thinking", "thinking_budget")


@dataclass
class Conversation:
    turns: list[Turn]
    model: str = ""
    family: str = "glm4v"
    system_prompt: str = ""
    meta: dict[str, Any] = field(default_factory=dict)


def _png(image: Any) -> str:
    buf = io.BytesIO()
    image.convert("RGB").save(buf, format="PNG")
    return "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode("ascii")


def _unpng(data: str, source: str) -> Any:
    from PIL import Image

    try:
        raw = base64.b64decode(data.split(",", 1)[-1], validate=True)
        img = Image.open(io.BytesIO(raw))
        img.load()
    except Exception as exc:
        raise ConversationError(f"{source}: an embedded image could not be decoded ({exc})") \
            from exc
    return img.convert("RGB")


def _settings(settings: dict[str, Any]) -> dict[str, Any]:
    return {k: settings[k] for k in _SETTING_KEYS if k in settings}


def _part_json(part: MediaPart) -> dict[str, Any]:
    out: dict[str, Any] = {"kind": part.kind, "source": part.source}
    for key in ("page", "slide", "page_count", "fps", "duration"):
        value = getattr(part, key)
        if value is not None:
            out[key] = value
    if part.notes:
        out["notes"] = list(part.notes)
    if part.kind == "image":
        out["image"] = _png(part.image)
    else:
        out["frames"] = [_png(f) for f in part.frames]
        out["timestamps"] = list(part.timestamps)
    return out


def to_json(turns: Sequence[Turn], *, model: str = "", family: str = "glm4v",
            system_prompt: str = "") -> str:
    """The whole conversation as JSON, media embedded as base64 PNG."""
    payload = {
        "format": FORMAT,
        "version": VERSION,
        "model": model,
        "family": family,
        "system_prompt": system_prompt,
        "turns": [
            {
                "text": turn.text,
                "parts": [_part_json(p) for p in turn.parts],
                "raw": turn.raw,
                "status": turn.status,
                "error": turn.error,
                "settings": _settings(turn.settings),
                "stats": asdict(turn.stats) if isinstance(turn.stats, Stats) else None,
            }
            for turn in turns
        ],
    }
    return json.dumps(payload, ensure_ascii=False, indent=1)


def from_json(text: str, source: str = "conversation.json") -> Conversation:
    """Rebuild a conversation written by :func:`to_json`."""
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ConversationError(f"{source}: not a JSON file ({exc.msg} at line {exc.lineno})") \
            from None
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        raise ConversationError(f"{source}: not a conversation exported by this app")
    turns = []
    for item in data.get("turns", []):
        parts = []
        for p in item.get("parts", []):
            common = {k: p[k] for k in ("page", "slide", "page_count", "fps", "duration")
                      if k in p}
            if p.get("kind") == "video":
                parts.append(MediaPart(
                    kind="video", source=p["source"],
                    frames=tuple(_unpng(f, source) for f in p.get("frames", [])),
                    timestamps=tuple(float(x) for x in p.get("timestamps", [])),
                    notes=tuple(p.get("notes", ())), **common))
            else:
                parts.append(MediaPart(kind="image", source=p["source"],
                                       image=_unpng(p["image"], source),
                                       notes=tuple(p.get("notes", ())), **common))
        stats = Stats(**item["stats"]) if isinstance(item.get("stats"), dict) else None
        status = item.get("status", "done")
        if status in ("pending", "streaming"):
            status = "cancelled"
        turns.append(Turn(text=item.get("text", ""), parts=parts, raw=item.get("raw", ""),
                          status=status, error=item.get("error", ""), stats=stats,
                          settings=_settings(item.get("settings") or {})))
    return Conversation(turns, model=str(data.get("model", "")),
                        family=str(data.get("family", "glm4v")),
                        system_prompt=str(data.get("system_prompt", "")))


def read_json(path: str | Path) -> Conversation:
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ConversationError(f"{path.name}: could not be read ({exc})") from None
    return from_json(text, path.name)


def to_markdown(turns: Sequence[Turn], *, model: str = "", system_prompt: str = "") -> str:
    """A readable transcript: media listed by name, thinking in a collapsed block."""
    lines = [f"# Conversation with {model or 'GLM-V'}", ""]
    if system_prompt:
        lines += [f"> System: {system_prompt}", ""]
    for i, turn in enumerate(turns, 1):
        lines += [f"## {i}. User", ""]
        lines += [f"- *{p.kind}: {p.label}*" for p in turn.parts]
        if turn.parts:
            lines.append("")
        if turn.text:
            lines += [turn.text, ""]
        reply = reply_for(turns, i - 1)
        lines += [f"## {i}. Assistant", ""]
        if reply.thinking:
            lines += ["<details><summary>Thinking</summary>", "", reply.thinking, "",
                      "</details>", ""]
        if reply.answer:
            lines += [reply.marked_answer, ""]
        lines += [f"*({notice.text()})*" for notice in reply.notices]
        if reply.notices:
            lines.append("")
        if reply.stats is not None:
            lines += [f"<sub>{reply.stats.summary()}</sub>", ""]
    return "\n".join(lines).rstrip() + "\n"


def _assistant_target(answer: str, thinking: str, family: str, include_thinking: bool) -> str:
    body = f"<answer>{answer}</answer>" if family == "glm4v" else answer
    if include_thinking:
        return f"<think>\n{thinking}</think>\n{body}"
    return body


def to_llamafactory(turns: Sequence[Turn], family: str, *, image_prefix: str = "images",
                    system_prompt: str = "", include_thinking: bool = False,
                    ) -> tuple[dict[str, Any], list[tuple[str, Any]]]:
    """One LLaMA-Factory record and the (relative path, PIL image) files it refers to.

    Turns without an answer (failed or empty) are left out with their user message, so the
    record never trains on a reply the model did not give.
    """
    messages: list[dict[str, str]] = []
    if system_prompt:
        messages.append({"role": "system", "content": system_prompt})
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


def write_export(turns: Sequence[Turn], fmt: str, folder: str | Path, *, model: str = "",
                 family: str = "glm4v", system_prompt: str = "") -> Path:
    """Write the export file for ``fmt`` (``json``, ``markdown``, ``llamafactory``) in ``folder``.

    LLaMA-Factory exports are a zip holding ``data.json`` (a list with one record) and the images.
    """
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    if fmt == "json":
        path = folder / "conversation.json"
        path.write_text(to_json(turns, model=model, family=family, system_prompt=system_prompt),
                        encoding="utf-8")
        return path
    if fmt == "markdown":
        path = folder / "conversation.md"
        path.write_text(to_markdown(turns, model=model, system_prompt=system_prompt),
                        encoding="utf-8")
        return path
    if fmt == "llamafactory":
        record, files = to_llamafactory(turns, family, system_prompt=system_prompt)
        path = folder / "conversation_llamafactory.zip"
        with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
            zf.writestr("data.json", json.dumps([record], ensure_ascii=False, indent=2))
            for name, image in files:
                buf = io.BytesIO()
                image.convert("RGB").save(buf, format="PNG")
                zf.writestr(name, buf.getvalue())
        return path
    raise ConversationError(f"unknown export format {fmt!r}; expected json, markdown or "
                            "llamafactory")
