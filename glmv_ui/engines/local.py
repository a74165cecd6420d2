"""The local engine: transformers ``generate`` streaming from a worker thread.

Each request gets its own streamer, stopping criteria and worker thread (:mod:`.worker`); nothing
is shared between requests but the loaded model and the kept prompt caches. Cancelling sets an
event that a stopping criterion checks at every decoding step, so ``generate`` really ends within
a token or two. The worker's exception is passed to the consumer and re-raised there, and the
consumer waits on the streamer with a timeout, so a crash never leaves it hanging.

Follow-up questions do not pay for the images again: a request that carries a ``cache_key``
reuses the KV cache its conversation's previous request left (:mod:`.prefix_cache`), and only the
tokens after the longest common prefix are prefilled, with only the new images encoded
(:mod:`.prefill`). The thinking budget's answer pass always reuses its first pass's cache. A
prompt longer than the model's context is refused before any prefill.
"""

from __future__ import annotations

import threading
import time
import weakref
from collections.abc import Iterator, Sequence
from typing import Any

from ..errors import GenerationError, MediaBudgetError
from ..messages import (
    AssistantMessage,
    ImagePart,
    Message,
    SystemMessage,
    TextPart,
    UserMessage,
    UserPart,
    VideoPart,
)
from ..models import LoadedModel
from ..reasons import reason
from .base import Chunk, GenerationRequest
from .prefill import Prefill, Prompt, fingerprint, kept_from, prefill_inputs, prompt_of
from .prefix_cache import DEFAULT_BUDGET_BYTES, CacheStats, Lease, PrefixCacheStore
from .worker import Pass, Run, stopping

__all__ = ["LocalEngine"]


class LocalEngine:
    """Generates with a :class:`~glmv_ui.models.LoadedModel` on this machine."""

    def __init__(
        self,
        loaded: LoadedModel,
        *,
        token_timeout_s: float = 300.0,
        generate_kwargs: dict[str, Any] | None = None,
        cache_budget_bytes: int = DEFAULT_BUDGET_BYTES,
    ) -> None:
        """``cache_budget_bytes`` bounds the prompt caches kept for follow-up turns, across all
        conversations of this engine (least recently used evicted; 0 keeps none)."""
        self.loaded = loaded
        self.name = loaded.model_id
        self.caps = loaded.caps
        self.family = loaded.caps.family
        self.token_timeout_s = token_timeout_s
        # Extra arguments for every generate call (e.g. a logits_processor list).
        self.generate_kwargs = dict(generate_kwargs or {})
        self._store = PrefixCacheStore(cache_budget_bytes)
        # Pixel digests by media part (parts are immutable), so a follow-up hashes nothing again.
        self._prints: weakref.WeakKeyDictionary[Any, str] = weakref.WeakKeyDictionary()

    # -- kept caches -------------------------------------------------------------------------

    def forget(self, key: str) -> bool:
        """Drop what is kept for conversation ``key`` (cleared or closed); True if anything was."""
        return self._store.forget(key)

    def cache_stats(self) -> CacheStats:
        """Entries, bytes kept against the budget, hits, misses and tokens reused."""
        return self._store.stats()

    def _settings(self, request: GenerationRequest) -> tuple[Any, ...]:
        # What must match besides the tokens: the model as loaded, and the template switch.
        thinking = self._template_kwargs(request)
        return (self.loaded.path, self.loaded.options, tuple(sorted(thinking.items())))

    def _template_kwargs(self, request: GenerationRequest) -> dict[str, Any]:
        sampling = request.sampling
        return self.caps.template_kwargs(sampling.thinking, sampling.effort)

    # -- inputs -----------------------------------------------------------------------------

    def prepare(self, request: GenerationRequest) -> dict[str, Any]:
        """Chat messages -> model inputs through the real processor (tensors on the model)."""
        return self._prompt(request).inputs

    def _prompt(self, request: GenerationRequest) -> Prompt:
        from transformers.video_utils import VideoMetadata

        processor = self.loaded.processor
        images: list[Any] = []
        videos: list[Any] = []
        image_prints: list[str] = []
        video_prints: list[str] = []
        metadata: list[Any] = []
        for part in _media_parts(request.messages):
            if isinstance(part, ImagePart):
                images.append(part.media.image)
                image_prints.append(self._print(part.media))
                continue
            media = part.media
            frames = list(media.frames)
            stamps = list(media.timestamps)
            if len(frames) % 2:  # frames go in pairs (temporal patch 2)
                frames.append(frames[-1])
                stamps.append(stamps[-1])
            videos.append(frames)
            video_prints.append(self._print(media))
            # fps=1000 with millisecond indices carries the real presentation times.
            metadata.append(
                VideoMetadata(
                    total_num_frames=len(frames),
                    fps=1000.0,
                    width=frames[0].width,
                    height=frames[0].height,
                    duration=media.duration,
                    video_backend="pyav",
                    frames_indices=[round(t * 1000) for t in stamps],
                )
            )
        if images and videos:
            raise MediaBudgetError("", reason("context.mixed"))
        template_messages = chat_template_messages(request.messages)
        kwargs = self._template_kwargs(request)
        text = processor.apply_chat_template(
            template_messages, tokenize=False, add_generation_prompt=True, **kwargs
        )
        call: dict[str, Any] = {"text": [text], "return_tensors": "pt"}
        if images:
            call["images"] = images
        if videos:
            call["videos"] = videos
            call["video_metadata"] = metadata
            call["do_sample_frames"] = False
        inputs = dict(processor(**call).to(self.loaded.model.device))
        return prompt_of(inputs, image_prints, video_prints)

    def _print(self, part: Any) -> str:
        mark = self._prints.get(part)
        if mark is None:
            if part.kind == "image":
                mark = fingerprint([part.image])
            else:
                mark = fingerprint(list(part.frames), repr(tuple(part.timestamps)))
            self._prints[part] = mark
        return mark

    def context_tokens(self) -> int:
        """The model's context window in tokens (prompt and answer together)."""
        text = self.loaded.model.config.get_text_config()
        return int(getattr(text, "max_position_embeddings", 0) or self.caps.context_tokens)

    def _fit_context(self, prompt_tokens: int, max_new: int) -> int:
        """Refuse a prompt that leaves no room to answer; cap the answer to what is left."""
        context = self.context_tokens()
        if prompt_tokens >= context:
            raise MediaBudgetError(
                "", reason("context.too_long", tokens=prompt_tokens, context=context)
            )
        return min(max_new, context - prompt_tokens)

    def count_visual_tokens(self, inputs: dict[str, Any]) -> int:
        merge = 4  # spatial merge 2x2
        total = 0
        for key in ("image_grid_thw", "video_grid_thw"):
            grid = inputs.get(key)
            if grid is not None:
                total += int(grid.prod(dim=-1).sum().item()) // merge
        return total

    # -- generation --------------------------------------------------------------------------

    def stream(
        self, request: GenerationRequest, cancel: threading.Event | None = None
    ) -> Iterator[Chunk]:
        import torch

        cancel = cancel or threading.Event()
        sampling = request.sampling
        start = time.perf_counter()  # the figures count preparing the prompt too
        try:
            prompt = self._prompt(request)
        except MediaBudgetError:
            raise
        except Exception as exc:
            raise GenerationError(f"could not prepare the prompt: {exc}") from exc
        max_new = self._fit_context(len(prompt.ids), sampling.max_new_tokens)
        on_gpu = self.loaded.model.device.type == "cuda"
        if on_gpu:
            torch.cuda.reset_peak_memory_stats()
        lease = None
        if request.cache_key is not None:
            lease = self._store.lease(request.cache_key, self._settings(request))
        prefill = prefill_inputs(
            self.loaded.model, prompt, lease.entry if lease else None, self.caps.prefix_reuse
        )
        if lease is not None:
            self._store.record(prefill.reused)
        end_think = self.loaded.tokenizer.convert_tokens_to_ids("</think>")
        run = Run(
            start=start,
            prompt_tokens=len(prompt.ids),
            visual_tokens=self.count_visual_tokens(prompt.inputs),
            end_think_id=end_think if isinstance(end_think, int) else None,
            max_new_tokens=max_new,
            thinking_budget=sampling.thinking_budget,
            on_gpu=on_gpu,
            reused_tokens=prefill.reused,
        )
        try:
            # Thinking budget: the first pass stops once the budget is spent inside the thought.
            stops = [stopping(run.budget_spent)] if run.thinking_budget is not None else []
            first = self._pass(run, cancel, lease, prompt, prefill)
            first.start(
                prefill.kwargs,
                self._generate_kwargs(request, max_new, stops, cancel),
                seed=sampling.seed,
            )
            for delta in first.deltas():
                yield Chunk(delta, run.stats())
            if run.budget_hit and not cancel.is_set():
                yield from self._answer_after_budget(
                    request, run, prompt, first, prefill.cache, cancel
                )
        except GeneratorExit:
            # The consumer went away (closed browser tab): stop generating for it.
            cancel.set()
            raise
        if cancel.is_set():
            finish = "cancelled"
        elif run.generated >= max_new:
            finish = "length"
        else:
            finish = "stop"
        yield Chunk("", run.stats(finish), done=True)

    def _answer_after_budget(
        self,
        request: GenerationRequest,
        run: Run,
        prompt: Prompt,
        first: Pass,
        cache: Any,
        cancel: threading.Event,
    ) -> Iterator[Chunk]:
        """Close the thought and continue with the answer from the first pass's cache: only the
        closing tags are prefilled."""
        closing = self.caps.budget_closing
        yield Chunk(closing, run.stats())
        if first.sequences is None:
            return
        follow = self._continue_prompt(prompt, first.sequences, closing)
        remaining = min(run.max_new_tokens - run.generated, self.context_tokens() - len(follow.ids))
        if remaining <= 0:
            return
        run.in_thinking = False
        settings = self._settings(request)
        # The first pass kept its cache for the conversation; take it back out while it grows.
        lease = None
        if request.cache_key is not None:
            lease = self._store.lease(request.cache_key, settings)
        kept = kept_from(request.cache_key or "", settings, prompt, cache, first.sequences)
        prefill = prefill_inputs(self.loaded.model, follow, kept, self.caps.prefix_reuse)
        second = self._pass(run, cancel, lease, follow, prefill)
        second.start(
            prefill.kwargs,
            self._generate_kwargs(request, remaining, [], cancel),
            seed=request.sampling.seed,
            name="glmv-generate-answer",
        )
        for delta in second.deltas():
            yield Chunk(delta, run.stats())

    def _pass(
        self,
        run: Run,
        cancel: threading.Event,
        lease: Lease | None,
        prompt: Prompt,
        prefill: Prefill,
    ) -> Pass:
        store = self._store

        def keep(sequences: Any) -> None:
            # In the worker, before the consumer hears the pass ended: a request that follows
            # at once finds the cache kept.
            if lease is not None:
                entry = (
                    None
                    if sequences is None
                    else kept_from(lease.key, lease.settings, prompt, prefill.cache, sequences)
                )
                store.put(lease, entry)

        return Pass(self.loaded, run, cancel, self.token_timeout_s, on_end=keep)

    def _generate_kwargs(
        self, request: GenerationRequest, max_new: int, stops: list[Any], cancel: threading.Event
    ) -> dict[str, Any]:
        from transformers import StoppingCriteriaList

        sampling = request.sampling
        greedy = sampling.temperature == 0
        kw: dict[str, Any] = dict(
            max_new_tokens=max_new,
            stopping_criteria=StoppingCriteriaList([stopping(cancel.is_set), *stops]),
            do_sample=not greedy,
            repetition_penalty=sampling.repetition_penalty,
        )
        if not greedy:
            kw.update(
                temperature=sampling.temperature, top_p=sampling.top_p, top_k=sampling.top_k or None
            )
        else:
            kw.update(temperature=None, top_p=None, top_k=None)
        kw.update(self.generate_kwargs)
        return kw

    def _continue_prompt(self, prompt: Prompt, sequences: Any, closing: str) -> Prompt:
        """The first pass's prompt and output with the closing tags appended."""
        import torch

        inputs = prompt.inputs
        tokenizer = self.loaded.tokenizer
        extra = tokenizer(closing, add_special_tokens=False, return_tensors="pt")["input_ids"]
        ids = torch.cat([sequences, extra.to(sequences.device)], dim=1)
        follow = dict(inputs)
        follow["input_ids"] = ids
        follow["attention_mask"] = torch.ones_like(ids)
        if "mm_token_type_ids" in inputs:
            kinds = inputs["mm_token_type_ids"]
            pad = torch.zeros(
                (1, ids.shape[1] - kinds.shape[1]), dtype=kinds.dtype, device=ids.device
            )
            follow["mm_token_type_ids"] = torch.cat([kinds, pad], dim=1)
        return Prompt(follow, ids[0].tolist(), prompt.images, prompt.videos)


def chat_template_messages(messages: Sequence[Message]) -> list[dict[str, Any]]:
    """The records as ``processor.apply_chat_template`` takes them: system and assistant content
    as plain strings, a user message as a list of parts where each image or video is a bare
    placeholder (the pixels go to the processor separately, in the same order)."""
    out: list[dict[str, Any]] = []
    for message in messages:
        match message:
            case UserMessage(content=parts):
                out.append({"role": "user", "content": [_template_part(p) for p in parts]})
            case SystemMessage(content=text) | AssistantMessage(content=text):
                out.append({"role": message.role, "content": text})
            case _:
                raise TypeError(f"not a message record: {type(message).__name__}")
    return out


def _template_part(part: UserPart) -> dict[str, str]:
    match part:
        case TextPart(text=text):
            return {"type": "text", "text": text}
        case ImagePart():
            return {"type": "image"}
        case VideoPart():
            return {"type": "video"}
        case _:
            raise TypeError(f"not a message part: {type(part).__name__}")


def _media_parts(messages: Sequence[Message]) -> Iterator[ImagePart | VideoPart]:
    """The image and video parts of ``messages`` in prompt order (the template's order)."""
    for message in messages:
        if isinstance(message, UserMessage):
            for part in message.content:
                if not isinstance(part, TextPart):
                    yield part
