"""One local request's run: its figures, the generate worker thread and the consumer of its stream.

A :class:`Run` holds what a request counts while it streams (tokens, the first token's time,
whether the model is still thinking, whether the thinking budget was spent); the streamer's
callback, the stopping criteria and the consumer all read and write that one object. A
:class:`Pass` is one ``generate`` call in a worker thread: the request's first pass, and with a
thinking budget a second pass that writes the answer. Nothing here is shared between requests but
the loaded model, and only one ``generate`` runs at a time per loaded model. This module must not
know about prompts or media: it receives model inputs ready for ``generate``.
"""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from ..errors import GenerationError
from ..models import LoadedModel
from .base import Stats

__all__ = ["Pass", "Run", "stopping"]

_END = object()


@dataclass
class Run:
    """The running figures of one request, written by the worker thread and read by the consumer.

    Plain attribute writes of ints and bools only, so no lock is needed between the two threads.
    """

    start: float  # when the request arrived
    prompt_tokens: int
    visual_tokens: int
    end_think_id: int | None
    max_new_tokens: int
    thinking_budget: int | None = None
    on_gpu: bool = False
    reused_tokens: int = 0  # prompt tokens served by a kept cache
    generated: int = 0
    first_token_at: float | None = None
    thinking_tokens: int = 0
    in_thinking: bool = True
    waiting: bool = True  # queued behind another request for the model
    budget_hit: bool = False

    def count(self, ids: list[int]) -> None:
        """The streamer's callback: ``ids`` were just generated."""
        if self.first_token_at is None:
            self.first_token_at = time.perf_counter()
        self.generated += len(ids)
        if self.end_think_id is not None and self.end_think_id in ids:
            self.in_thinking = False
        elif self.in_thinking:
            self.thinking_tokens += len(ids)

    def budget_spent(self) -> bool:
        """A stopping criterion: the thought has used up the thinking budget."""
        if self.thinking_budget is None or not self.in_thinking:
            return False
        if self.thinking_tokens >= self.thinking_budget:
            self.budget_hit = True
            return True
        return False

    def stats(self, finish: str | None = None) -> Stats:
        now = time.perf_counter()
        first = self.first_token_at
        ttft = None if first is None else first - self.start
        tps = None
        if first is not None and self.generated > 1 and now > first:
            tps = (self.generated - 1) / (now - first)
        return Stats(
            prompt_tokens=self.prompt_tokens,
            visual_tokens=self.visual_tokens,
            generated_tokens=self.generated,
            time_to_first_token_s=ttft,
            elapsed_s=now - self.start,
            tokens_per_s=tps,
            peak_memory_bytes=_peak_memory(self.on_gpu),
            finish_reason=finish,
            reused_tokens=self.reused_tokens,
        )


class _DeltaStreamer:
    """Receives token ids from ``generate`` and queues decoded text deltas.

    Keeps two offsets into the generated ids (the vLLM-style incremental detokeniser): text is
    emitted once it no longer ends in an incomplete UTF-8 sequence, and each step decodes only the
    tokens since the last emitted boundary.
    """

    def __init__(self, tokenizer: Any, on_token: Callable[[list[int]], None]) -> None:
        self.tokenizer = tokenizer
        self.queue: queue.Queue[Any] = queue.Queue()
        self.ids: list[int] = []
        self.prefix = 0
        self.read = 0
        self.prompt_seen = False
        self.on_token = on_token

    def put(self, value: Any) -> None:
        if not self.prompt_seen:  # generate first hands over the prompt
            self.prompt_seen = True
            return
        new = value.reshape(-1).tolist()
        self.ids.extend(new)
        self.on_token(new)
        self._emit(final=False)

    def _emit(self, final: bool) -> None:
        decode = self.tokenizer.decode
        prefix_text = decode(self.ids[self.prefix : self.read], skip_special_tokens=False)
        full_text = decode(self.ids[self.prefix :], skip_special_tokens=False)
        if len(full_text) > len(prefix_text) and (final or not full_text.endswith("\ufffd")):
            self.queue.put(full_text[len(prefix_text) :])
            self.prefix = self.read
            self.read = len(self.ids)

    def end(self) -> None:
        if self.read < len(self.ids):
            self._emit(final=True)
        self.queue.put(_END)

    def fail(self, exc: BaseException) -> None:
        self.queue.put(exc)


def stopping(fn: Callable[[], bool]) -> Any:
    """A transformers stopping criterion that asks ``fn`` at every decoding step."""
    from transformers import StoppingCriteria

    class _Criterion(StoppingCriteria):
        def __call__(self, input_ids: Any, scores: Any, **kwargs: Any) -> bool:
            return bool(fn())

    return _Criterion()


class Pass:
    """One ``generate`` call in a worker thread, streaming into a queue the consumer reads.

    ``sequences`` is ``generate``'s result once the pass has ended without error. ``on_end`` is
    called once in the worker, while it still holds the model, with that result (or None when
    ``generate`` did not run or failed), before the consumer hears that the pass ended.
    """

    def __init__(
        self,
        loaded: LoadedModel,
        run: Run,
        cancel: threading.Event,
        token_timeout_s: float,
        on_end: Callable[[Any], None] | None = None,
    ) -> None:
        self.loaded = loaded
        self.run = run
        self.cancel = cancel
        self.token_timeout_s = token_timeout_s
        self.on_end = on_end
        self.streamer = _DeltaStreamer(loaded.tokenizer, run.count)
        self.sequences: Any = None
        self._thread: threading.Thread | None = None

    def start(
        self,
        inputs: dict[str, Any],
        kwargs: dict[str, Any],
        *,
        seed: int | None,
        name: str = "glmv-generate",
    ) -> None:
        self.run.waiting = True  # set before the worker can clear it
        self._thread = threading.Thread(
            target=self._work, args=(inputs, kwargs, seed), daemon=True, name=name
        )
        self._thread.start()

    def _work(self, inputs: dict[str, Any], kwargs: dict[str, Any], seed: int | None) -> None:
        import torch

        # One generate at a time per loaded model: transformers keeps GLM-V's M-RoPE offsets
        # (rope_deltas) on the model instance, so two interleaved generations would corrupt each
        # other's positions. Waiting for the model stays cancellable.
        lock = self.loaded.lock
        while not lock.acquire(timeout=0.05):
            if self.cancel.is_set():
                self._ended(None)
                self.streamer.end()
                return
        try:
            self.run.waiting = False
            if not self.run.on_gpu:
                _leave_a_core()
            if seed is not None:
                torch.manual_seed(seed)
            with torch.inference_mode():
                sequences = self.loaded.model.generate(**inputs, **kwargs, streamer=self.streamer)
            self._ended(sequences)
            self.sequences = sequences
            self.streamer.end()
        except BaseException as exc:  # noqa: BLE001 - handed to the consumer, re-raised there
            self._ended(None)
            self.streamer.fail(exc)
        finally:
            lock.release()

    def _ended(self, sequences: Any) -> None:
        on_end, self.on_end = self.on_end, None  # once, even if it raises
        if on_end is not None:
            on_end(sequences)

    def deltas(self) -> Iterator[str]:
        """Text deltas until the pass ends; the worker's exception is re-raised here."""
        assert self._thread is not None, "start the pass first"
        q = self.streamer.queue
        while True:
            try:
                item = q.get(timeout=self.token_timeout_s)
            except queue.Empty:
                if self.run.waiting:
                    continue  # queued behind another generation: not a stall
                self.cancel.set()
                raise GenerationError(
                    f"no token for {self.token_timeout_s:.0f} s; generation was stopped"
                ) from None
            if item is _END:
                self._thread.join()
                return
            if isinstance(item, BaseException):
                self._thread.join()
                raise GenerationError(f"generation failed: {item}") from item
            # Take whatever else is already queued in one go: when the consumer falls behind, it
            # yields one chunk per wake-up instead of one per token.
            pending = [item]
            while True:
                try:
                    more = q.get_nowait()
                except queue.Empty:
                    break
                if more is _END or isinstance(more, BaseException):
                    q.put(more)  # handled on the next turn of the loop
                    break
                pending.append(more)
            yield "".join(pending)


def _leave_a_core() -> None:
    """On a CPU, keep torch's intra-op threads (for this generating thread) one short of the
    core count: the consumer of the stream needs a core too, and an oversubscribed OpenMP team
    spins against it (measured: 0.60x of plain generate's speed with every core, 0.88x with one
    left free, on 2 cores; bench/RESULTS.md)."""
    import os

    import torch

    cores = os.cpu_count() or 1
    if cores > 1 and torch.get_num_threads() >= cores:
        torch.set_num_threads(cores - 1)


def _peak_memory(on_gpu: bool) -> int | None:
    if on_gpu:
        import torch

        return int(torch.cuda.max_memory_allocated())
    try:
        import resource

        return int(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss) * 1024
    except (ImportError, OSError):
        return None
