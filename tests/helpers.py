"""Test helpers: forcing a known token sequence through the real generate path."""

from __future__ import annotations

from typing import Any


def forcing_processor(tokenizer: Any, text: str) -> Any:
    """A logits processor that makes ``generate`` emit exactly ``text``'s tokens, then stop."""
    import torch
    from transformers import LogitsProcessor

    ids = tokenizer(text, add_special_tokens=False)["input_ids"]
    stop = tokenizer.convert_tokens_to_ids("<|user|>")

    class _Force(LogitsProcessor):
        def __init__(self) -> None:
            self.prompt_len: int | None = None

        def __call__(self, input_ids: Any, scores: Any) -> Any:
            if self.prompt_len is None:
                self.prompt_len = input_ids.shape[1]
            step = input_ids.shape[1] - self.prompt_len
            target = ids[step] if step < len(ids) else stop
            forced = torch.full_like(scores, float("-inf"))
            forced[:, target] = 0.0
            return forced

    return _Force()


def drain(updates: Any) -> Any:
    """Consume a stream of updates and return the last one."""
    from collections import deque

    tail = deque(updates, maxlen=1)
    return tail[0] if tail else None


def red_image(w: int = 120, h: int = 90, color: str = "red") -> Any:
    from PIL import Image

    return Image.new("RGB", (w, h), color)


def stop_after(session: Any, text: str, tokens: int) -> tuple[int, Any]:
    """Submit ``text``, press Stop once ``tokens`` tokens have streamed, and drain the rest:
    returns the count seen when Stop was pressed and the last update."""
    at_stop = None
    final = None
    for update in session.submit(text):
        if at_stop is None and update.stats.generated_tokens >= tokens:
            at_stop = update.stats.generated_tokens
            session.stop()
        final = update
    assert at_stop is not None, "the reply ended before Stop"
    assert final is not None, "the reply ended before Stop"
    return at_stop, final


def python_steps(fn: Any, *args: Any) -> int:
    """How many lines of Python ``fn(*args)`` executes: a count of work that, unlike a clock,
    does not depend on the machine or what else runs on it."""
    import sys

    steps = 0

    def trace(frame: Any, event: str, arg: Any) -> Any:
        nonlocal steps
        if event == "line":
            steps += 1
        return trace

    previous = sys.gettrace()
    sys.settrace(trace)
    try:
        fn(*args)
    finally:
        sys.settrace(previous)
    return steps


def require_corpus(*parts: str) -> Any:
    """The shared corpus folder (``../shared/corpus`` beside the checkout), or a sub-path of it;
    a missing one fails the test, or its module at collection, naming the path: the tests that
    read real files never quietly shrink to none."""
    from pathlib import Path

    import pytest

    path = Path(__file__).resolve().parent.parent.parent.joinpath("shared", "corpus", *parts)
    if not path.exists():
        pytest.fail(
            f"{path} is missing: these tests read the shared corpus there (real files and model "
            "outputs); put it beside the checkout",
            pytrace=False,
        )
    return path
