"""What the chunks of an OpenAI-compatible chat reply say: raw text and running stats.

The remote engine hands every decoded JSON payload (a streamed ``chat.completion.chunk``, or the
whole ``chat.completion`` of a server that ignored ``stream: true``) to one :class:`Reply`. It
returns the raw text the rest of the stack expects, with reasoning that the server split out
(``reasoning_content`` or ``reasoning``) folded back into ``<think>…</think>``, and keeps the
figures for :class:`~glmv_ui.engines.base.Stats`.

Standard library only; no I/O. Framing (SSE), HTTP and the wording of errors shown to users
belong to the engine: this module only says that a payload is malformed.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass

from .base import Stats

__all__ = ["MalformedChunk", "Reply", "error_text"]

_ERROR_BODY_CHARS = 500


class MalformedChunk(ValueError):
    """A payload that does not have the shape of a chat completion (chunk)."""


@dataclass
class Reply:
    """The state of one reply while it streams."""

    start: float  # perf_counter() when the request was sent
    text_chunks: int = 0  # payloads that carried text (a token each on the usual servers)
    first_text_at: float | None = None
    prompt_tokens: int = 0
    completion_tokens: int | None = None  # the server's own count, from ``usage``
    finish_reason: str | None = None  # as the server gave it
    in_reasoning: bool = False  # an opened ``<think>`` awaits its ``</think>``

    def fold(self, payload: object) -> str:
        """One payload -> its raw text; usage and finish reason are recorded on the way."""
        if not isinstance(payload, dict):
            raise MalformedChunk("not a JSON object")
        usage = payload.get("usage")
        if isinstance(usage, dict):
            try:
                self.prompt_tokens = int(usage.get("prompt_tokens") or self.prompt_tokens)
                if usage.get("completion_tokens") is not None:
                    self.completion_tokens = int(usage["completion_tokens"])
            except (TypeError, ValueError):
                raise MalformedChunk("usage counts are not numbers") from None
        out: list[str] = []
        for choice in payload.get("choices") or []:
            if not isinstance(choice, dict):
                raise MalformedChunk("a choice that is not an object")
            delta = choice.get("delta") or choice.get("message") or {}
            if not isinstance(delta, dict):
                raise MalformedChunk("a delta that is not an object")
            reasoning = delta.get("reasoning_content") or delta.get("reasoning")
            content = delta.get("content")
            if reasoning:
                if not self.in_reasoning:
                    out.append("<think>")
                    self.in_reasoning = True
                out.append(str(reasoning))
            if content:
                out.append(self.close_reasoning())
                out.append(str(content))
            if choice.get("finish_reason"):
                self.finish_reason = str(choice["finish_reason"])
        return "".join(out)

    def close_reasoning(self) -> str:
        """``</think>`` when reasoning is still open (and close it), else nothing."""
        if not self.in_reasoning:
            return ""
        self.in_reasoning = False
        return "</think>"

    def got_text(self) -> None:
        """Count a chunk that carried text; the first one times the first token."""
        if self.first_text_at is None:
            self.first_text_at = time.perf_counter()
        self.text_chunks += 1

    def finish(self) -> str:
        """The finish reason for :class:`Stats`: the server's, ``stop`` when it named none."""
        return self.finish_reason or "stop"

    def stats(self, finish: str | None = None) -> Stats:
        """The running figures; with ``finish`` (the last chunk), the server's token count wins
        over the chunk count, since a chunk may carry several tokens."""
        now = time.perf_counter()
        n = self.text_chunks
        if finish is not None and self.completion_tokens is not None:
            n = self.completion_tokens
        first = self.first_text_at
        tps = (n - 1) / (now - first) if first is not None and n > 1 and now > first else None
        return Stats(
            prompt_tokens=self.prompt_tokens,
            generated_tokens=n,
            time_to_first_token_s=None if first is None else first - self.start,
            elapsed_s=now - self.start,
            tokens_per_s=tps,
            finish_reason=finish,
        )


def error_text(text: str) -> str:
    """A server's error body, trimmed; the ``message`` or ``detail`` of a JSON body when present."""
    text = text.strip()
    try:
        payload = json.loads(text)
    except ValueError:
        payload = None
    if isinstance(payload, dict):
        err = payload.get("error", payload.get("detail", payload.get("message")))
        if isinstance(err, dict):
            err = err.get("message") or err
        if err:
            text = err if isinstance(err, str) else json.dumps(err)
    text = " ".join(text.split())
    if len(text) > _ERROR_BODY_CHARS:
        text = text[:_ERROR_BODY_CHARS] + "…"
    return text or "(empty body)"
