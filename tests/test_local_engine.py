"""The real transformers path on both tiny checkpoints: prompts, media, streaming, stop, errors."""

from __future__ import annotations

import threading

import pytest

from glmv_ui.config import LoadOptions, Sampling
from glmv_ui.engines.base import GenerationRequest
from glmv_ui.engines.local import LocalEngine
from glmv_ui.errors import GenerationError
from glmv_ui.media.parts import MediaPart
from glmv_ui.messages import AssistantMessage, user_message
from glmv_ui.models import ModelCache, load_model
from glmv_ui.session import Session
from tests.helpers import drain, forcing_processor, red_image, stop_after

SHORT = Sampling(max_new_tokens=12, temperature=0.0)


def _image(name: str = "cat.png", w: int = 120, h: int = 90, color: str = "red") -> MediaPart:
    return MediaPart("image", name, image=red_image(w, h, color))


def _video(n: int = 4) -> MediaPart:
    frames = tuple(red_image(112, 84, c) for c in ["red", "green", "blue", "white", "black"][:n])
    return MediaPart(
        "video",
        "clip.mp4",
        frames=frames,
        timestamps=tuple(0.5 * i for i in range(n)),
        duration=0.5 * n,
    )


def _run(session: Session, text: str, parts=()):  # -> last update
    return drain(session.submit(text, parts))


def test_text_only_streams_deltas_and_stats(tiny_any):
    session = Session(LocalEngine(tiny_any), sampling=SHORT)
    updates = list(session.submit("hello there"))
    assert len(updates) >= 2
    final = updates[-1]
    assert final.done
    assert final.turn.status == "done"
    assert final.stats.generated_tokens == 12
    assert final.stats.finish_reason == "length"
    assert final.stats.prompt_tokens > 3
    assert final.stats.visual_tokens == 0
    assert final.stats.time_to_first_token_s is not None
    assert (final.stats.tokens_per_s or 0) > 0
    # The raw text is exactly the concatenation of the streamed deltas.
    assert session.turns[0].raw == "".join(u.delta for u in updates)


def test_one_image_counts_visual_tokens(tiny_any):
    session = Session(LocalEngine(tiny_any), sampling=SHORT)
    final = _run(session, "what colour is this?", [_image(w=224, h=224)])
    # 224x224 -> 16x16 patches of 14 px -> 256 / (2x2 merge) = 64 visual tokens.
    assert final.stats.visual_tokens == 64
    assert final.stats.prompt_tokens > 64


def test_several_images_in_one_message(tiny_any):
    engine = LocalEngine(tiny_any)
    session = Session(engine, sampling=SHORT)
    parts = [_image("a.png", 224, 224), _image("b.png", 112, 112, "blue"), _image("c.png")]
    request = GenerationRequest(
        messages=[user_message("compare", parts)],
        sampling=SHORT,
    )
    inputs = engine.prepare(request)
    assert inputs["image_grid_thw"].shape[0] == 3
    final = _run(session, "compare these", parts)
    assert final.stats.visual_tokens == engine.count_visual_tokens(inputs)
    assert final.turn.status == "done"


def test_video_frames_keep_their_timestamps(tiny_any):
    engine = LocalEngine(tiny_any)
    part = _video(3)  # odd: padded to a pair
    request = GenerationRequest(
        messages=[user_message("what happens?", [part])],
        sampling=SHORT,
    )
    inputs = engine.prepare(request)
    assert inputs["video_grid_thw"][0][0].item() == 2  # 4 frames -> 2 temporal pairs
    prompt = tiny_any.tokenizer.decode(inputs["input_ids"][0], skip_special_tokens=False)
    # One timestamp per pair of frames, from the real presentation times (0.0 s and 1.0 s).
    assert "<|end_of_image|>0<|begin_of_image|>" in prompt
    assert prompt.count("<|begin_of_image|>") == 2
    final = _run(Session(engine, sampling=SHORT), "what happens?", [part])
    assert final.turn.status == "done"
    assert final.stats.visual_tokens > 0


def test_multi_turn_drops_old_thinking_and_keeps_history(tiny_any):
    forced = "<think>secret reasoning</think><answer>It is red.</answer>"
    if tiny_any.family == "glm4v_moe":
        forced = "<think>secret reasoning</think>It is red."
    tok = tiny_any.tokenizer
    from transformers import LogitsProcessorList

    engine = LocalEngine(
        tiny_any,
        generate_kwargs={"logits_processor": LogitsProcessorList([forcing_processor(tok, forced)])},
    )
    session = Session(engine, sampling=Sampling(max_new_tokens=40, temperature=0.0))
    final = _run(session, "what colour?", [_image()])
    assert final.thinking == "secret reasoning"
    assert final.answer == "It is red."
    session.engine = LocalEngine(tiny_any)
    session.sampling = SHORT
    from glmv_ui.prompt import build_messages

    messages = build_messages(
        [*session.turns, session.turns[0].__class__(text="and now?")], tiny_any.family
    )
    assert messages[1] == AssistantMessage("It is red.")
    inputs = session.engine.prepare(GenerationRequest(messages=messages, sampling=SHORT))
    prompt = tok.decode(inputs["input_ids"][0], skip_special_tokens=False)
    assert "secret reasoning" not in prompt
    assert "It is red." in prompt
    final2 = _run(session, "and now?")
    assert len(session.turns) == 2
    assert final2.turn.status == "done"


def test_forced_reply_with_box_parses_through_real_generate(tiny41):
    from transformers import LogitsProcessorList

    text = (
        "<think>find it</think><answer>The cat <|begin_of_box|>[10,20,300,400]"
        "<|end_of_box|> sits.</answer>"
    )
    engine = LocalEngine(
        tiny41,
        generate_kwargs={
            "logits_processor": LogitsProcessorList([forcing_processor(tiny41.tokenizer, text)])
        },
    )
    session = Session(engine, sampling=Sampling(max_new_tokens=60, temperature=0.0))
    final = _run(session, "where is the cat?", [_image()])
    assert final.stats.finish_reason == "stop"
    assert final.answer == "The cat [10,20,300,400] sits."
    assert session.turns[0].raw.startswith(text)


def test_glm45v_thinking_switch_renders_nothink(tiny45):
    engine = LocalEngine(tiny45)
    for thinking, expect in [(False, True), (True, False)]:
        request = GenerationRequest(
            messages=[user_message("hi")], sampling=SHORT.replace(thinking=thinking)
        )
        ids = engine.prepare(request)["input_ids"][0]
        prompt = tiny45.tokenizer.decode(ids, skip_special_tokens=False)
        assert ("/nothink" in prompt) is expect
        assert prompt.endswith("<think></think>\n") is expect


def test_glm41v_thinking_budget_answers_from_the_first_pass_cache(tiny41):
    engine = LocalEngine(tiny41)
    calls: list[dict] = []
    original = tiny41.model.generate

    def spy(**kwargs):
        cache = kwargs.get("cache")
        calls.append(
            {
                "pixel_values": kwargs.get("pixel_values"),
                "cache": cache,
                "cached": cache.get_seq_length(),
                "input_ids": kwargs["input_ids"],
            }
        )
        return original(**kwargs)

    tiny41.model.generate = spy
    try:
        session = Session(
            engine, sampling=Sampling(max_new_tokens=20, temperature=0.0, thinking_budget=5)
        )
        final = _run(session, "describe", [_image()])
    finally:
        del tiny41.model.generate
    raw = session.turns[0].raw
    assert "</think><answer>" in raw
    assert final.thinking_closed
    assert final.thinking
    assert len(calls) == 2
    first, second = calls
    assert first["pixel_values"] is not None
    assert first["cached"] == 0
    # The answer pass continues the first pass's cache: the image is not encoded again and
    # only the last sampled token and the closing tags are prefilled.
    assert second["pixel_values"] is None
    assert second["cache"] is first["cache"]
    closing = len(tiny41.tokenizer("</think><answer>", add_special_tokens=False)["input_ids"])
    assert second["input_ids"].shape[1] - second["cached"] == 1 + closing
    assert second["input_ids"].shape[1] > first["input_ids"].shape[1] + 5
    assert final.stats.generated_tokens <= 20


@pytest.mark.slow  # packs the weights anew in each mode
@pytest.mark.parametrize("quant", ["4bit", "8bit"])
def test_quantized_load_and_generate_on_cpu(quant, tiny_any):
    cache = ModelCache()
    loaded = load_model(tiny_any.model_id, LoadOptions(quantization=quant), cache=cache)
    kinds = {type(m).__name__ for m in loaded.model.modules()}
    assert ("Linear4bit" if quant == "4bit" else "Linear8bitLt") in kinds
    # The vision tower and lm_head stay unquantized.
    assert type(loaded.model.lm_head).__name__ == "Linear"
    assert all(
        type(m).__name__ == "Linear"
        for n, m in loaded.model.named_modules()
        if "visual" in n and "Linear" in type(m).__name__
    )
    final = _run(Session(LocalEngine(loaded), sampling=SHORT), "hi", [_image()])
    assert final.stats.generated_tokens == 12
    assert final.turn.status == "done"


def test_cancel_ends_generate_within_a_few_tokens(tiny41):
    engine = LocalEngine(tiny41)
    session = Session(engine, sampling=Sampling(max_new_tokens=5000, temperature=0.0))
    count_at_stop, final = stop_after(session, "write a long story", 5)
    assert final.stats.finish_reason == "cancelled"
    assert final.turn.status == "cancelled"
    assert final.stats.generated_tokens < count_at_stop + 10  # generate really ended
    assert session.turns[0].raw  # the partial answer is kept
    # The next request works.
    session.sampling = SHORT
    again = _run(session, "again")
    assert again.turn.status == "done"
    assert again.stats.generated_tokens == 12


def test_crash_inside_generate_reaches_the_caller(tiny41):
    model = tiny41.model.lm_head  # a layer inside generate's loop
    original = model.forward
    calls = {"n": 0}

    def broken_forward(*args, **kwargs):
        calls["n"] += 1
        if calls["n"] == 3:
            raise RuntimeError("simulated kernel failure")
        return original(*args, **kwargs)

    model.forward = broken_forward
    try:
        session = Session(LocalEngine(tiny41), sampling=Sampling(max_new_tokens=50))
        with pytest.raises(GenerationError, match="simulated kernel failure"):
            _run(session, "hi")
    finally:
        del model.forward
    assert session.turns[0].status == "error"
    assert not session.busy
    assert _run(session, "hi again").turn.status == "done"


@pytest.mark.slow  # waits out a real timeout
def test_stalled_generate_times_out_instead_of_hanging(tiny41):
    model = tiny41.model.lm_head
    original = model.forward
    release = threading.Event()

    def stalled_forward(*args, **kwargs):
        release.wait(30)  # blocks until the test lets go
        return original(*args, **kwargs)

    model.forward = stalled_forward
    try:
        engine = LocalEngine(tiny41, token_timeout_s=0.5)
        with pytest.raises(GenerationError, match="no token for"):
            list(engine.stream(GenerationRequest(messages=[user_message("hi")], sampling=SHORT)))
    finally:
        release.set()
        del model.forward
        # The timed-out worker was cancelled; let it finish before the interpreter exits.
        for thread in threading.enumerate():
            if thread.name.startswith("glmv-generate"):
                thread.join(30)


@pytest.mark.slow  # several full generations
def test_concurrent_requests_on_one_model_match_their_solo_runs(tiny41):
    # Different images give different M-RoPE offsets, which transformers keeps on the model
    # instance: interleaved generations would corrupt each other. Each must match its solo run.
    greedy = Sampling(max_new_tokens=40, temperature=0.0)
    parts = {"a": [_image("a.png", 224, 112)], "b": [_image("b.png", 112, 336, "blue")]}
    solo = {
        k: _run(Session(LocalEngine(tiny41), sampling=greedy), "describe", p).turn.raw
        for k, p in parts.items()
    }
    results: dict[str, str] = {}
    errors: list[BaseException] = []

    def ask(key: str) -> None:
        try:
            session = Session(LocalEngine(tiny41), sampling=greedy)
            results[key] = _run(session, "describe", parts[key]).turn.raw
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=ask, args=(k,)) for k in ("a", "b", "a", "b")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    assert not errors
    assert results == solo


def test_a_request_waiting_for_the_model_can_be_stopped(tiny41):
    session_a = Session(
        LocalEngine(tiny41), sampling=Sampling(max_new_tokens=5000, temperature=0.0)
    )
    stream_a = session_a.submit("long")
    first = next(stream_a)  # a is generating and holds the model
    assert first.turn.status == "streaming"
    session_b = Session(LocalEngine(tiny41), sampling=SHORT)
    stream_b = session_b.submit("queued")
    session_b.stop()  # b is still waiting for the model
    last_b = drain(stream_b)
    assert last_b.stats.finish_reason == "cancelled"
    assert last_b.stats.generated_tokens == 0
    session_a.stop()
    assert drain(stream_a).stats.finish_reason == "cancelled"
