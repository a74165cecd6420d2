"""The local engine: transformers ``generate`` streaming from a worker thread.

Each request gets its own streamer, stopping criteria and worker thread; nothing is shared between
requests but the loaded model. Cancelling sets an event that a stopping criterion checks at every
decoding step, so ``generate`` really ends within a token or two. The worker's exception is passed
to the consumer and re-raised there, and the consumer waits on the streamer with a timeout, so a
crash never leaves it hanging.

Detokenisation is incremental (a few tokens re-decoded per step, never the whole answer), so the
cost per token stays flat however long the answer grows.
"""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Iterator
from typing import Any

from ..errors import GenerationError, MediaBudgetError
from ..models import LoadedModel
from .base import Chunk, GenerationRequest, Stats

__all__ = ["LocalEngine"]

_END = object()


class _DeltaStreamer:
    """Receives token ids from ``generate`` and queues decoded text deltas.

    Keeps two offsets into the generated ids (the vLLM-style incremental detokeniser): text is
    emitted once it no longer ends in an incomplete UTF-8 sequence, and each step decodes only the
    tokens since the last emitted boundary.
    """

    def __init__(self, tokenizer: Any, on_token: Any) -> None:
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
        prefix_text = decode(self.ids[self.prefix:self.read], skip_special_tokens=False)
        full_text = decode(self.ids[self.prefix:], skip_special_tokens=False)
        if len(full_text) > len(prefix_text) and (final or not full_text.endswith("\ufffd")):
            self.queue.put(full_text[len(prefix_text):])
            self.prefix = self.read
            self.read = len(self.ids)

    def end(self) -> None:
        if self.read < len(self.ids):
            self._emit(final=True)
        self.queue.put(_END)

    def fail(self, exc: BaseException) -> None:
        self.queue.put(exc)


def _stopping(fn: Any) -> Any:
    from transformers import StoppingCriteria

    class _Criterion(StoppingCriteria):
        def __call__(self, input_ids: Any, scores: Any, **kwargs: Any) -> bool:
            return bool(fn())

    return _Criterion()


class LocalEngine:
    """Generates with a :class:`~glmv_ui.models.LoadedModel` on this machine."""

    def __init__(self, loaded: LoadedModel, *, token_timeout_s: float = 300.0,
                 generate_kwargs: dict[str, Any] | None = None) -> None:
        self.loaded = loaded
        self.name = loaded.model_id
        self.family = loaded.family
        self.token_timeout_s = token_timeout_s
        # Extra arguments for every generate call (e.g. a logits_processor list).
        self.generate_kwargs = dict(generate_kwargs or {})

    # -- inputs -----------------------------------------------------------------------------

    def prepare(self, request: GenerationRequest) -> dict[str, Any]:
        """Chat messages -> model inputs through the real processor (tensors on the model)."""
        from transformers.video_utils import VideoMetadata

        processor = self.loaded.processor
        images: list[Any] = []
        videos: list[Any] = []
        metadata: list[Any] = []
        template_messages: list[dict[str, Any]] = []
        for msg in request.messages:
            content = msg["content"]
            if isinstance(content, str):
                template_messages.append({"role": msg["role"], "content": content})
                continue
            parts: list[dict[str, Any]] = []
            for item in content:
                if item["type"] == "text":
                    parts.append({"type": "text", "text": item["text"]})
                elif item["type"] == "image":
                    images.append(item["part"].image)
                    parts.append({"type": "image"})
                elif item["type"] == "video":
                    part = item["part"]
                    frames = list(part.frames)
                    stamps = list(part.timestamps)
                    if len(frames) % 2:  # frames go in pairs (temporal patch 2)
                        frames.append(frames[-1])
                        stamps.append(stamps[-1])
                    videos.append(frames)
                    # fps=1000 with millisecond indices carries the real presentation times.
                    metadata.append(VideoMetadata(
                        total_num_frames=len(frames), fps=1000.0,
                        width=frames[0].width, height=frames[0].height,
                        duration=part.duration, video_backend="pyav",
                        frames_indices=[round(t * 1000) for t in stamps]))
                    parts.append({"type": "video"})
            template_messages.append({"role": msg["role"], "content": parts})
        if images and videos:
            raise MediaBudgetError("", "images and a video cannot be sent in one conversation: "
                                   "start a new conversation for the video")
        kwargs: dict[str, Any] = {}
        if self.loaded.traits.can_disable_thinking:
            kwargs["enable_thinking"] = request.sampling.thinking
        text = processor.apply_chat_template(
            template_messages, tokenize=False, add_generation_prompt=True, **kwargs)
        call: dict[str, Any] = {"text": [text], "return_tensors": "pt"}
        if images:
            call["images"] = images
        if videos:
            call["videos"] = videos
            call["video_metadata"] = metadata
            call["do_sample_frames"] = False
        inputs = processor(**call)
        return dict(inputs.to(self.loaded.model.device))

    def count_visual_tokens(self, inputs: dict[str, Any]) -> int:
        merge = 4  # spatial merge 2x2
        total = 0
        for key in ("image_grid_thw", "video_grid_thw"):
            grid = inputs.get(key)
            if grid is not None:
                total += int(grid.prod(dim=-1).sum().item()) // merge
        return total

    # -- generation --------------------------------------------------------------------------

    def stream(self, request: GenerationRequest,
               cancel: threading.Event | None = None) -> Iterator[Chunk]:
        import torch

        cancel = cancel or threading.Event()
        sampling = request.sampling
        start = time.perf_counter()
        try:
            inputs = self.prepare(request)
        except MediaBudgetError:
            raise
        except Exception as exc:
            raise GenerationError(f"could not prepare the prompt: {exc}") from exc
        prompt_tokens = int(inputs["input_ids"].shape[1])
        visual = self.count_visual_tokens(inputs)
        on_gpu = self.loaded.model.device.type == "cuda"
        if on_gpu:
            torch.cuda.reset_peak_memory_stats()

        state = {"generated": 0, "first": None, "thinking_tokens": 0, "in_thinking": True,
                 "waiting": True}
        tokenizer = self.loaded.tokenizer
        end_think_id = tokenizer.convert_tokens_to_ids("</think>")
        budget = sampling.thinking_budget

        def stats(finish: str | None = None) -> Stats:
            now = time.perf_counter()
            first = state["first"]
            ttft = None if first is None else first - start
            tps = None
            if first is not None and state["generated"] > 1 and now > first:
                tps = (state["generated"] - 1) / (now - first)
            return Stats(prompt_tokens=prompt_tokens, visual_tokens=visual,
                         generated_tokens=state["generated"], time_to_first_token_s=ttft,
                         elapsed_s=now - start, tokens_per_s=tps,
                         peak_memory_bytes=_peak_memory(on_gpu), finish_reason=finish)

        def on_token(ids: list[int]) -> None:
            if state["first"] is None:
                state["first"] = time.perf_counter()
            state["generated"] += len(ids)
            if end_think_id in ids:
                state["in_thinking"] = False
            elif state["in_thinking"]:
                state["thinking_tokens"] += len(ids)

        def gen_kwargs(streamer: _DeltaStreamer, max_new: int, extra_stop: list[Any]) -> dict:
            from transformers import StoppingCriteriaList

            greedy = sampling.temperature == 0
            kw: dict[str, Any] = dict(
                max_new_tokens=max_new, streamer=streamer,
                stopping_criteria=StoppingCriteriaList([_stopping(cancel.is_set), *extra_stop]),
                do_sample=not greedy, repetition_penalty=sampling.repetition_penalty,
            )
            if not greedy:
                kw.update(temperature=sampling.temperature, top_p=sampling.top_p,
                          top_k=sampling.top_k or None)
            else:
                kw.update(temperature=None, top_p=None, top_k=None)
            kw.update(self.generate_kwargs)
            return kw

        def run(streamer: _DeltaStreamer, model_inputs: dict, kw: dict,
                out: dict[str, Any]) -> None:
            # One generate at a time per loaded model: transformers keeps GLM-V's M-RoPE
            # offsets (rope_deltas) on the model instance, so two interleaved generations would
            # corrupt each other's positions. Waiting for the model stays cancellable.
            lock = self.loaded.lock
            while not lock.acquire(timeout=0.05):
                if cancel.is_set():
                    streamer.end()
                    return
            try:
                state["waiting"] = False
                if not on_gpu:
                    _leave_a_core()
                if sampling.seed is not None:
                    torch.manual_seed(sampling.seed)
                with torch.inference_mode():
                    out["sequences"] = self.loaded.model.generate(**model_inputs, **kw)
                streamer.end()
            except BaseException as exc:  # noqa: BLE001 - handed to the consumer, re-raised there
                streamer.fail(exc)
            finally:
                lock.release()

        def consume(streamer: _DeltaStreamer, worker: threading.Thread) -> Iterator[str]:
            while True:
                try:
                    item = streamer.queue.get(timeout=self.token_timeout_s)
                except queue.Empty:
                    if state["waiting"]:
                        continue  # queued behind another generation: not a stall
                    cancel.set()
                    raise GenerationError(
                        f"no token for {self.token_timeout_s:.0f} s; generation was stopped"
                    ) from None
                if item is _END:
                    worker.join()
                    return
                if isinstance(item, BaseException):
                    worker.join()
                    raise GenerationError(f"generation failed: {item}") from item
                # Take whatever else is already queued in one go: when the consumer falls
                # behind, it yields one chunk per wake-up instead of one per token.
                pending = [item]
                while True:
                    try:
                        more = streamer.queue.get_nowait()
                    except queue.Empty:
                        break
                    if more is _END or isinstance(more, BaseException):
                        streamer.queue.put(more)  # handled on the next turn of the loop
                        break
                    pending.append(more)
                yield "".join(pending)

        # Thinking budget: stop when the budget is spent inside the thought, then continue with
        # "</think><answer>" appended, re-using every visual input tensor.
        budget_hit = {"hit": False}

        def budget_criterion() -> bool:
            if budget is None or not state["in_thinking"]:
                return False
            if state["thinking_tokens"] >= budget:
                budget_hit["hit"] = True
                return True
            return False

        streamer = _DeltaStreamer(tokenizer, on_token)
        out: dict[str, Any] = {}
        extra = [_stopping(budget_criterion)] if budget is not None else []
        kw = gen_kwargs(streamer, sampling.max_new_tokens, extra)
        worker = threading.Thread(target=run, args=(streamer, inputs, kw, out), daemon=True,
                                  name="glmv-generate")
        worker.start()
        try:
            for delta in consume(streamer, worker):
                yield Chunk(delta, stats())
            if budget_hit["hit"] and not cancel.is_set():
                remaining = sampling.max_new_tokens - state["generated"]
                closing = "</think><answer>" if self.loaded.traits.answer_tags else "</think>\n"
                yield Chunk(closing, stats())
                if remaining > 0:
                    state["in_thinking"] = False
                    follow = self._continue_inputs(inputs, out["sequences"], closing)
                    streamer2 = _DeltaStreamer(tokenizer, on_token)
                    kw2 = gen_kwargs(streamer2, remaining, [])
                    out2: dict[str, Any] = {}
                    worker = threading.Thread(target=run, args=(streamer2, follow, kw2, out2),
                                              daemon=True, name="glmv-generate-answer")
                    state["waiting"] = True  # set before the worker can clear it
                    worker.start()
                    for delta in consume(streamer2, worker):
                        yield Chunk(delta, stats())
        except GeneratorExit:
            # The consumer went away (closed browser tab): stop generating for it.
            cancel.set()
            raise
        if cancel.is_set():
            finish = "cancelled"
        elif state["generated"] >= sampling.max_new_tokens:
            finish = "length"
        else:
            finish = "stop"
        yield Chunk("", stats(finish), done=True)

    def _continue_inputs(self, inputs: dict[str, Any], sequences: Any,
                         closing: str) -> dict[str, Any]:
        import torch

        tokenizer = self.loaded.tokenizer
        extra = tokenizer(closing, add_special_tokens=False, return_tensors="pt")["input_ids"]
        extra = extra.to(sequences.device)
        ids = torch.cat([sequences, extra], dim=1)
        follow = dict(inputs)
        follow["input_ids"] = ids
        follow["attention_mask"] = torch.ones_like(ids)
        if "mm_token_type_ids" in inputs:
            pad = ids.shape[1] - inputs["mm_token_type_ids"].shape[1]
            follow["mm_token_type_ids"] = torch.cat(
                [inputs["mm_token_type_ids"],
                 torch.zeros((1, pad), dtype=inputs["mm_token_type_ids"].dtype,
                             device=ids.device)], dim=1)
        return follow


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
