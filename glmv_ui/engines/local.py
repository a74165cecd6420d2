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

import threading
import time
from collections.abc import Iterator
from typing import Any

from ..errors import GenerationError, MediaBudgetError
from ..models import LoadedModel
from .base import Chunk, GenerationRequest
from .worker import Pass, Run, stopping

__all__ = ["LocalEngine"]


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
        start = time.perf_counter()  # the figures count preparing the prompt too
        try:
            inputs = self.prepare(request)
        except MediaBudgetError:
            raise
        except Exception as exc:
            raise GenerationError(f"could not prepare the prompt: {exc}") from exc
        on_gpu = self.loaded.model.device.type == "cuda"
        if on_gpu:
            torch.cuda.reset_peak_memory_stats()
        end_think = self.loaded.tokenizer.convert_tokens_to_ids("</think>")
        run = Run(start=start, prompt_tokens=int(inputs["input_ids"].shape[1]),
                  visual_tokens=self.count_visual_tokens(inputs),
                  end_think_id=end_think if isinstance(end_think, int) else None,
                  thinking_budget=sampling.thinking_budget, on_gpu=on_gpu)
        try:
            # Thinking budget: the first pass stops once the budget is spent inside the thought.
            stops = [stopping(run.budget_spent)] if run.thinking_budget is not None else []
            first = self._pass(run, cancel)
            first.start(inputs, self._generate_kwargs(request, sampling.max_new_tokens, stops,
                                                      cancel), seed=sampling.seed)
            for delta in first.deltas():
                yield Chunk(delta, run.stats())
            if run.budget_hit and not cancel.is_set():
                yield from self._answer_after_budget(request, run, inputs, first, cancel)
        except GeneratorExit:
            # The consumer went away (closed browser tab): stop generating for it.
            cancel.set()
            raise
        if cancel.is_set():
            finish = "cancelled"
        elif run.generated >= sampling.max_new_tokens:
            finish = "length"
        else:
            finish = "stop"
        yield Chunk("", run.stats(finish), done=True)

    def _answer_after_budget(self, request: GenerationRequest, run: Run,
                             inputs: dict[str, Any], first: Pass,
                             cancel: threading.Event) -> Iterator[Chunk]:
        """Close the thought and continue with the answer, re-using every visual input."""
        closing = "</think><answer>" if self.loaded.traits.answer_tags else "</think>\n"
        yield Chunk(closing, run.stats())
        remaining = request.sampling.max_new_tokens - run.generated
        if remaining <= 0:
            return
        run.in_thinking = False
        follow = self._continue_inputs(inputs, first.sequences, closing)
        second = self._pass(run, cancel)
        second.start(follow, self._generate_kwargs(request, remaining, [], cancel),
                     seed=request.sampling.seed, name="glmv-generate-answer")
        for delta in second.deltas():
            yield Chunk(delta, run.stats())

    def _pass(self, run: Run, cancel: threading.Event) -> Pass:
        return Pass(self.loaded, run, cancel, self.token_timeout_s)

    def _generate_kwargs(self, request: GenerationRequest, max_new: int, stops: list[Any],
                         cancel: threading.Event) -> dict[str, Any]:
        from transformers import StoppingCriteriaList

        sampling = request.sampling
        greedy = sampling.temperature == 0
        kw: dict[str, Any] = dict(
            max_new_tokens=max_new,
            stopping_criteria=StoppingCriteriaList([stopping(cancel.is_set), *stops]),
            do_sample=not greedy, repetition_penalty=sampling.repetition_penalty,
        )
        if not greedy:
            kw.update(temperature=sampling.temperature, top_p=sampling.top_p,
                      top_k=sampling.top_k or None)
        else:
            kw.update(temperature=None, top_p=None, top_k=None)
        kw.update(self.generate_kwargs)
        return kw

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

