"""A scripted engine: replays given raw replies, for tests and examples that need exact content.

It goes through the same seam as the real engines (chunks, stats, cancel), so everything above it
(parser, session, UI) runs for real. It never replaces the local engine in tests of the model path.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Iterator

from ..errors import GenerationError
from .base import Chunk, GenerationRequest, Stats

__all__ = ["ScriptedEngine"]


class ScriptedEngine:
    """Streams queued replies in chunks of ``chunk_size`` characters.

    ``pause`` (if given) is waited on before each chunk after the first ``pause_after`` chunks,
    letting a test hold a reply mid-stream without sleeping; ``delay_s`` paces chunks for demos.
    A queued ``Exception`` instance is raised as a generation failure.
    """

    def __init__(
        self,
        family: str = "glm4v",
        replies: list[str | Exception] | None = None,
        *,
        name: str = "scripted",
        chunk_size: int = 3,
        delay_s: float = 0.0,
        default: str = "<think>Looking.</think><answer>Scripted answer.</answer>",
        pause: threading.Event | None = None,
        pause_after: int = 1,
    ) -> None:
        from ..caps import for_family

        self.name = name
        self.caps = for_family(family)
        self.family = self.caps.family
        self.chunk_size = max(1, chunk_size)
        self.delay_s = delay_s
        self.default = default
        self.pause = pause
        self.pause_after = pause_after
        self.requests: list[GenerationRequest] = []
        self._replies: deque[str | Exception] = deque(replies or [])
        self._lock = threading.Lock()

    def enqueue(self, *replies: str | Exception) -> None:
        with self._lock:
            self._replies.extend(replies)

    def stream(
        self, request: GenerationRequest, cancel: threading.Event | None = None
    ) -> Iterator[Chunk]:
        cancel = cancel or threading.Event()
        with self._lock:
            self.requests.append(request)
            reply = self._replies.popleft() if self._replies else self.default
        if isinstance(reply, Exception):
            raise GenerationError(f"generation failed: {reply}") from reply
        start = time.perf_counter()
        first: float | None = None
        n = 0
        limit = request.sampling.max_new_tokens * 4  # ~characters per token
        text = reply[:limit]
        finish = "stop" if len(reply) <= limit else "length"
        for i in range(0, len(text), self.chunk_size):
            if self.pause is not None and n >= self.pause_after:
                self.pause.wait()
            if cancel.is_set():
                finish = "cancelled"
                break
            if self.delay_s:
                time.sleep(self.delay_s)  # pacing for demos, not synchronisation
            now = time.perf_counter()
            first = first or now
            n += 1
            tps = (n - 1) / (now - first) if n > 1 and now > first else None
            yield Chunk(
                text[i : i + self.chunk_size],
                Stats(
                    prompt_tokens=0,
                    generated_tokens=n,
                    time_to_first_token_s=first - start,
                    elapsed_s=now - start,
                    tokens_per_s=tps,
                ),
            )
        now = time.perf_counter()
        yield Chunk(
            "",
            Stats(
                generated_tokens=n,
                time_to_first_token_s=None if first is None else first - start,
                elapsed_s=now - start,
                finish_reason=finish,
            ),
            done=True,
        )
