"""Inputs for ``generate`` that prefill only what a kept cache does not already hold.

From a prepared prompt and, optionally, a kept cache, :func:`prefill_inputs` builds the keyword
arguments of one ``generate`` call:

- the whole prompt's token ids (``generate`` skips the ones the cache holds, and the repetition
  penalty sees them all);
- M-RoPE positions for the whole prompt, computed here with the model's own ``get_rope_index``
  from every image's and video's grid, so the suffix gets the positions it would have in a full
  prefill, and nothing depends on the ``rope_deltas`` an earlier request left on the model;
- the cache cropped to the reusable prefix, or a new, empty one;
- the pixel values of only the images and videos after that prefix, with their grids: those are
  all the vision tower encodes.

It must not decide what is kept: the engine does that with :mod:`.prefix_cache`.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any

from .prefix_cache import KeptCache, VisualSpan, reusable_prefix

__all__ = [
    "Prefill",
    "Prompt",
    "cache_nbytes",
    "fingerprint",
    "kept_from",
    "prefill_inputs",
    "prompt_of",
]

_MERGE = 4  # spatial merge 2x2: grid cells per visual token
_IMAGE, _VIDEO = 1, 2  # mm_token_type_ids values


@dataclass(frozen=True)
class Prompt:
    """A prepared prompt: the processor's tensors, its token ids and where each image and video
    sits in it (in the order of their grids)."""

    inputs: dict[str, Any]
    ids: list[int]
    images: tuple[VisualSpan, ...]
    videos: tuple[VisualSpan, ...]

    @property
    def spans(self) -> tuple[VisualSpan, ...]:
        return tuple(sorted(self.images + self.videos, key=lambda s: s.start))


@dataclass
class Prefill:
    """One ``generate`` call's inputs, the cache it fills and how many prompt tokens it reused."""

    kwargs: dict[str, Any]
    cache: Any
    reused: int


def fingerprint(images: list[Any], extra: str = "") -> str:
    """A digest of PIL images' pixels (and ``extra``, e.g. video timestamps)."""
    digest = hashlib.blake2b(digest_size=16)
    for img in images:
        digest.update(f"{img.mode}{img.size}".encode())
        digest.update(img.tobytes())
    digest.update(extra.encode())
    return digest.hexdigest()


def prompt_of(inputs: dict[str, Any], image_prints: list[str], video_prints: list[str]) -> Prompt:
    """Locate each image's and video's tokens in ``inputs`` (``mm_token_type_ids`` marks them,
    each grid says how many are its own)."""
    ids = inputs["input_ids"][0].tolist()
    kinds = inputs["mm_token_type_ids"][0].tolist() if "mm_token_type_ids" in inputs else None

    def spans(kind: int, key: str, prints: list[str]) -> tuple[VisualSpan, ...]:
        grid = inputs.get(key)
        if grid is None:
            return ()
        positions = [i for i, k in enumerate(kinds or []) if k == kind]
        counts = [int(n) // _MERGE for n in grid.prod(dim=-1).tolist()]
        if kinds is None or len(counts) != len(prints) or sum(counts) != len(positions):
            # Unexpected layout: mark every token as one unmatched item, so nothing is reused.
            return (VisualSpan(0, len(ids), "unknown"),)
        out, offset = [], 0
        for n, mark in zip(counts, prints, strict=True):
            out.append(VisualSpan(positions[offset], positions[offset + n - 1] + 1, mark))
            offset += n
        return tuple(out)

    return Prompt(
        inputs,
        ids,
        spans(_IMAGE, "image_grid_thw", image_prints),
        spans(_VIDEO, "video_grid_thw", video_prints),
    )


def positions(model: Any, inputs: dict[str, Any]) -> Any:
    """``[4, 1, L]`` position ids for the whole prompt: the text position first, then the three
    M-RoPE rows, as GLM-V's ``generate`` builds them. None for a model without M-RoPE
    (GLM-5.3-Flash): its own ``generate`` counts positions from the cache."""
    import torch

    if not hasattr(model.model, "get_rope_index"):
        return None

    ids = inputs["input_ids"]
    text = torch.arange(ids.shape[1], device=ids.device).view(1, 1, -1)
    grids = {k: inputs.get(k) for k in ("image_grid_thw", "video_grid_thw")}
    if "mm_token_type_ids" not in inputs or all(g is None for g in grids.values()):
        return text.expand(4, 1, -1)
    vision, _ = model.model.get_rope_index(
        ids, inputs["mm_token_type_ids"], attention_mask=inputs.get("attention_mask"), **grids
    )
    return torch.cat([text, vision.to(text.dtype)], dim=0)


def prefill_inputs(
    model: Any, prompt: Prompt, kept: KeptCache | None, reuse: str = "crop"
) -> Prefill:
    """``generate`` arguments that prefill only what ``kept`` does not hold (everything when
    ``kept`` is None or shares nothing). ``reuse="extend"`` (a cache with linear-attention
    layers, whose recurrent state cannot be cropped): ``kept`` serves only a prompt that extends
    all of it exactly."""
    import torch
    from transformers import DynamicCache

    inputs = prompt.inputs
    reused = 0
    if kept is not None:
        reused = reusable_prefix(kept.ids, kept.spans, prompt.ids, prompt.spans)
        if reuse == "extend" and reused != kept.cache.get_seq_length():
            reused = 0
    if kept is not None and reused > 0:
        cache = kept.cache
        if reused < cache.get_seq_length():  # a linear-attention layer refuses even crop(0)
            cache.crop(reused - cache.get_seq_length())
    else:
        cache = DynamicCache(config=model.config)
    kwargs: dict[str, Any] = {
        "input_ids": inputs["input_ids"],
        "attention_mask": torch.ones_like(inputs["input_ids"]),
        "cache": cache,
    }
    position_ids = positions(model, inputs)
    if position_ids is not None:
        kwargs["position_ids"] = position_ids
    if "mm_token_type_ids" in inputs:
        kwargs["mm_token_type_ids"] = inputs["mm_token_type_ids"]
    for spans, pixels, grid_key in (
        (prompt.images, "pixel_values", "image_grid_thw"),
        (prompt.videos, "pixel_values_videos", "video_grid_thw"),
    ):
        grid = inputs.get(grid_key)
        if grid is None:
            continue
        new = [i for i, span in enumerate(spans) if span.start >= reused]
        if len(new) == len(spans):  # all of them: no copy
            kwargs[pixels], kwargs[grid_key] = inputs[pixels], grid
        elif new:
            rows = grid.prod(dim=-1).tolist()
            starts = [sum(rows[:i]) for i in range(len(rows))]
            kwargs[pixels] = torch.cat(
                [inputs[pixels][starts[i] : starts[i] + rows[i]] for i in new]
            )
            kwargs[grid_key] = grid[new]
    return Prefill(kwargs, cache, reused)


def kept_from(
    key: str, settings: Any, prompt: Prompt, cache: Any, sequences: Any
) -> KeptCache | None:
    """What to keep after ``generate`` returned ``sequences`` having filled ``cache``: the cache
    holds every token but the last one sampled."""
    held = int(cache.get_seq_length())
    if held == 0 or held > sequences.shape[1]:
        return None
    spans = tuple(s for s in prompt.spans if s.end <= held)
    return KeptCache(key, settings, sequences[0, :held].tolist(), spans, cache, cache_nbytes(cache))


def cache_nbytes(cache: Any) -> int:
    """Bytes the cache's tensors hold in memory (their whole storage, views included): keys and
    values, an indexer's keys, and a linear-attention layer's convolution and recurrent states."""
    total = 0
    for layer in getattr(cache, "layers", ()):
        for name in ("keys", "values", "indexer_keys", "conv_states", "recurrent_states"):
            held = getattr(layer, name, None)
            tensors = held.values() if isinstance(held, dict) else held
            if not isinstance(tensors, (list, tuple, type({}.values()))):
                tensors = (tensors,)
            for tensor in tensors:
                if hasattr(tensor, "untyped_storage"):
                    total += int(tensor.untyped_storage().nbytes())
    return total
