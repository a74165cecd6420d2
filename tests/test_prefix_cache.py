"""Follow-up turns reuse the conversation's kept prompt cache, and answer exactly as a fresh engine.

The reference for every reused answer is a new engine (nothing kept) answering the same
conversation, and that reference itself is checked against plain ``model.generate`` on the
processor's inputs. Greedy answers must match token for token. The per-step scores are compared
too, within 1e-4: a prefill of the suffix alone runs other matrix shapes than a prefill of the
whole prompt, so float32 sums round differently (measured at about 1e-6 on the tiny
checkpoints), while wrong M-RoPE positions or a stale image move them by 5e-3 or more
(``test_wrong_positions_would_not_pass`` keeps that margin honest).
"""

from __future__ import annotations

import gc
import threading
import weakref
from typing import Any

import pytest

from glmv_ui.config import MediaLimits, Sampling
from glmv_ui.conversation import Turn
from glmv_ui.engines import prefill as prefill_module
from glmv_ui.engines.base import GenerationRequest
from glmv_ui.engines.local import LocalEngine
from glmv_ui.engines.prefix_cache import (
    KeptCache,
    PrefixCacheStore,
    VisualSpan,
    reusable_prefix,
)
from glmv_ui.errors import MediaBudgetError
from glmv_ui.media import ingest
from glmv_ui.media.parts import MediaPart
from glmv_ui.messages import user_message
from glmv_ui.prompt import build_messages
from glmv_ui.session import Session
from tests.helpers import drain
from tests.mediafiles import gradient, pdf_file, video_file

# A strong repetition penalty keeps the random models' greedy answers varied, so the earlier
# answers that come back in the prompt differ from turn to turn.
GREEDY = Sampling(max_new_tokens=12, temperature=0.0, repetition_penalty=1.5)
TOLERANCE = 1e-4


class Recorder:
    """A logits processor (last in the list) that records each step's scores and prompt."""

    def __init__(self) -> None:
        self.steps: list[tuple[list[int], Any]] = []

    def __call__(self, input_ids: Any, scores: Any) -> Any:
        self.steps.append((input_ids[0].tolist(), scores[0].clone()))
        return scores

    def take(self) -> list[tuple[list[int], Any]]:
        steps, self.steps = self.steps, []
        return steps


def _engine(loaded: Any, **options: Any) -> tuple[LocalEngine, Recorder]:
    from transformers import LogitsProcessorList

    recorder = Recorder()
    engine = LocalEngine(
        loaded, generate_kwargs={"logits_processor": LogitsProcessorList([recorder])}, **options
    )
    return engine, recorder


def _assert_same_steps(
    reused: list[tuple[list[int], Any]], fresh: list[tuple[list[int], Any]]
) -> None:
    assert len(reused) == len(fresh) > 0
    for (ids_a, scores_a), (ids_b, scores_b) in zip(reused, fresh, strict=True):
        assert ids_a == ids_b  # the same prompt and the same tokens chosen so far
        assert int(scores_a.argmax()) == int(scores_b.argmax())
        assert float((scores_a - scores_b).abs().max()) <= TOLERANCE


class Conversation:
    """A session on a reusing engine, each answer checked against a fresh engine."""

    def __init__(self, loaded: Any) -> None:
        self.loaded = loaded
        self.engine, self.recorder = _engine(loaded)
        self.session = Session(self.engine, sampling=GREEDY)
        self.reused: list[int] = []

    def check(self, updates: Any) -> Any:
        final = drain(updates)
        assert final.turn.status == "done"
        steps = self.recorder.take()
        fresh, fresh_recorder = _engine(self.loaded)
        messages = build_messages(self.session.turns, self.loaded.family)
        raw = "".join(
            c.text for c in fresh.stream(GenerationRequest(messages=messages, sampling=GREEDY))
        )
        assert final.turn.raw == raw
        _assert_same_steps(steps, fresh_recorder.take())
        self.reused.append(final.stats.reused_tokens)
        return final


def _images() -> tuple[list[MediaPart], list[MediaPart]]:
    first = [MediaPart("image", "a.png", image=gradient((448, 336)))]
    later = [MediaPart("image", "b.png", image=gradient((280, 420)).rotate(90, expand=True))]
    return first, later


@pytest.fixture(scope="module")
def media(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("prefix-media")
    pages = MediaLimits(pdf_tokens_per_page=300)  # small pages keep the fresh runs quick
    return {
        "image": _images(),
        "pdf": (
            ingest([pdf_file(tmp, "report.pdf", pages=2)], pages),
            ingest([pdf_file(tmp, "memo.pdf", pages=1)], pages),
        ),
        "video": (ingest([video_file(tmp, "clip.mp4", frames=12)]), []),
    }


class GenerateSpy:
    """Wraps the model's ``generate`` to see what each call was given."""

    def __init__(self, model: Any) -> None:
        self.model = model
        self.calls: list[dict[str, Any]] = []

    def __enter__(self) -> GenerateSpy:
        original = self.model.generate

        def spy(**kwargs: Any) -> Any:
            cache = kwargs.get("cache")
            self.calls.append(
                {
                    "pixels": kwargs.get("pixel_values"),
                    "video": kwargs.get("pixel_values_videos"),
                    "cached": cache.get_seq_length() if cache is not None else 0,
                    "length": kwargs["input_ids"].shape[1],
                }
            )
            return original(**kwargs)

        self.model.generate = spy
        return self

    def __exit__(self, *exc: object) -> None:
        del self.model.generate


@pytest.mark.slow
@pytest.mark.parametrize("kind", ["image", "pdf", "video"])
def test_reused_answers_match_a_fresh_engine_over_turns_edit_and_undo(kind, media, tiny_any):
    first, later = media[kind]
    talk = Conversation(tiny_any)
    session = talk.session
    with GenerateSpy(tiny_any.model) as spy:
        one = talk.check(session.submit("describe this", first))
        two = talk.check(session.submit("what else do you see?"))
        three = talk.check(session.submit("and now?", later))
    assert talk.reused[0] == 0
    # Turn 2 prefills only its own words (and the previous answer): the media came from the
    # cache. Turn 3 encodes only its new media.
    assert talk.reused[1] >= one.stats.prompt_tokens - 2
    assert talk.reused[2] >= two.stats.prompt_tokens - 2
    own = spy.calls[0::2]  # the reusing engine's calls; the fresh engine's are in between
    pixels = "video" if kind == "video" else "pixels"
    assert own[0][pixels] is not None
    assert own[1][pixels] is None
    if later:
        assert own[2]["pixels"] is not None
        assert own[2]["pixels"].shape[0] < spy.calls[5]["pixels"].shape[0]  # fresh: all media
    assert [call["cached"] for call in own] == talk.reused  # generate got the cropped cache

    # Edit the second question: the cache is cropped back to before it.
    talk.check(session.edit(1, "list the colours"))
    assert 0 < talk.reused[3] < three.stats.prompt_tokens
    # Undo it and ask something else; then answer that again.
    session.undo()
    talk.check(session.submit("count the objects"))
    again = talk.check(session.regenerate())
    assert talk.reused[4] > 0
    assert talk.reused[5] == again.stats.prompt_tokens - 1
    stats = talk.engine.cache_stats()
    assert stats.entries == 1
    assert stats.hits == 5
    assert stats.misses == 1
    assert stats.tokens_reused == sum(talk.reused)


@pytest.mark.slow  # several full prefills on the tiny model
@pytest.mark.parametrize("kind", ["image", "video"])
def test_fresh_engine_matches_plain_generate(kind, media, tiny_any):
    # The reference above computes its own M-RoPE positions too: check it against transformers'
    # own path, which derives them inside generate.
    import torch

    parts = media[kind][0]
    engine, recorder = _engine(tiny_any)
    request = GenerationRequest(
        messages=build_messages([Turn("describe", list(parts))], tiny_any.family), sampling=GREEDY
    )
    raw = "".join(c.text for c in engine.stream(request))
    inputs = engine.prepare(request)
    with torch.inference_mode():
        out = tiny_any.model.generate(
            **inputs,
            max_new_tokens=GREEDY.max_new_tokens,
            do_sample=False,
            temperature=None,
            top_p=None,
            top_k=None,
            repetition_penalty=GREEDY.repetition_penalty,
        )
    plain = out[0, inputs["input_ids"].shape[1] :]
    steps = recorder.take()
    chosen = [int(scores.argmax()) for _, scores in steps]
    assert chosen == plain.tolist()
    assert raw == tiny_any.tokenizer.decode(chosen, skip_special_tokens=False)


@pytest.mark.slow  # several full prefills on the tiny model
def test_wrong_positions_would_not_pass(tiny_any, monkeypatch):
    # The negative control: reuse with plain 1-D positions after the image (what a prefill of the
    # suffix gets without M-RoPE offsets) is caught by the comparison the tests above make.
    import torch

    first, _ = _images()
    talk = Conversation(tiny_any)
    talk.check(talk.session.submit("describe this", first))
    real = prefill_module.positions

    def flat(model: Any, inputs: dict[str, Any]) -> Any:
        length = inputs["input_ids"].shape[1]
        return torch.arange(length).view(1, 1, -1).expand(4, 1, -1)

    monkeypatch.setattr(prefill_module, "positions", flat)
    drain(talk.session.submit("what else?"))
    broken = talk.recorder.take()
    monkeypatch.setattr(prefill_module, "positions", real)
    fresh, recorder = _engine(tiny_any)
    messages = build_messages(talk.session.turns, tiny_any.family)
    drain(fresh.stream(GenerationRequest(messages=messages, sampling=GREEDY)))
    right = recorder.take()
    gap = float((broken[0][1] - right[0][1]).abs().max())
    assert gap > 10 * TOLERANCE


@pytest.mark.slow  # several full prefills on the tiny model
def test_thinking_budget_answer_from_cache_matches_a_full_prefill(tiny41):
    # Before the answer pass reused its first pass's cache, it re-encoded the image and
    # re-prefilled everything: that is the reference here, run by hand.
    import torch
    from transformers import StoppingCriteria, StoppingCriteriaList

    budget = Sampling(max_new_tokens=20, temperature=0.0, repetition_penalty=1.5, thinking_budget=4)
    first, _ = _images()
    engine, _ = _engine(tiny41)
    session = Session(engine, sampling=budget)
    final = drain(session.submit("describe this", first))
    request = GenerationRequest(messages=build_messages(session.turns, "glm4v"), sampling=budget)
    inputs = engine.prepare(request)
    greedy = dict(do_sample=False, temperature=None, top_p=None, top_k=None, repetition_penalty=1.5)
    end_think = tiny41.tokenizer.convert_tokens_to_ids("</think>")

    class Budget(StoppingCriteria):
        # As the engine counts: a token is counted once streamed, after the criteria saw it.
        def __call__(self, input_ids: Any, scores: Any, **kwargs: Any) -> bool:
            counted = input_ids[0, inputs["input_ids"].shape[1] : -1].tolist()
            return len(counted) >= 4 and end_think not in counted

    with torch.inference_mode():
        thought = tiny41.model.generate(
            **inputs,
            max_new_tokens=20,
            **greedy,
            stopping_criteria=StoppingCriteriaList([Budget()]),
        )
        closing = tiny41.tokenizer(
            "</think><answer>", add_special_tokens=False, return_tensors="pt"
        )["input_ids"]
        ids = torch.cat([thought, closing], dim=1)
        follow = dict(
            inputs,
            input_ids=ids,
            attention_mask=torch.ones_like(ids),
            mm_token_type_ids=torch.cat(
                [
                    inputs["mm_token_type_ids"],
                    torch.zeros((1, ids.shape[1] - inputs["input_ids"].shape[1]), dtype=torch.long),
                ],
                dim=1,
            ),
        )
        spent = thought.shape[1] - inputs["input_ids"].shape[1]
        answer = tiny41.model.generate(**follow, max_new_tokens=20 - spent, **greedy)
    expected = (
        tiny41.tokenizer.decode(
            thought[0, inputs["input_ids"].shape[1] :], skip_special_tokens=False
        )
        + "</think><answer>"
        + tiny41.tokenizer.decode(answer[0, ids.shape[1] :], skip_special_tokens=False)
    )
    assert "</think><answer>" in final.turn.raw
    assert final.turn.raw == expected
    # The next turn still reuses the conversation's cache, answer pass included.
    follow_up = drain(session.submit("why?"))
    assert follow_up.stats.reused_tokens >= final.stats.prompt_tokens


@pytest.mark.slow  # several full prefills on the tiny model
def test_a_different_image_of_the_same_size_is_encoded_again(tiny_any):
    engine, recorder = _engine(tiny_any)
    same_size = [MediaPart("image", "a.png", image=gradient((448, 336)))]
    other = [MediaPart("image", "b.png", image=gradient((448, 336)).transpose(0))]

    def ask(parts: list[MediaPart], key: str | None) -> Any:
        messages = [user_message("describe", parts)]
        request = GenerationRequest(messages=messages, sampling=GREEDY, cache_key=key)
        return drain(engine.stream(request))

    ask(same_size, "k")
    recorder.take()
    prompt = engine.prepare(GenerationRequest(messages=[user_message("describe", other)]))
    image_start = prompt["mm_token_type_ids"][0].tolist().index(1)
    changed = ask(other, "k")
    # Same token ids, other pixels: only the text before the image is reused.
    assert changed.stats.reused_tokens == image_start
    reused_steps = recorder.take()
    ask(other, None)
    _assert_same_steps(reused_steps, recorder.take())


@pytest.mark.slow  # several full prefills on the tiny model
def test_nothing_is_reused_without_a_key_across_sessions_or_settings(tiny45):
    engine = LocalEngine(tiny45)
    short = GREEDY.replace(max_new_tokens=2)
    first, _ = _images()
    drain(engine.stream(GenerationRequest(messages=[user_message("hello")], sampling=short)))
    assert engine.cache_stats().entries == 0  # no key: nothing kept
    one, two = Session(engine, sampling=short), Session(engine, sampling=short)
    assert drain(one.submit("hello", first)).stats.reused_tokens == 0
    assert drain(two.submit("hello", first)).stats.reused_tokens == 0  # another session
    assert drain(one.submit("more")).stats.reused_tokens > 0
    # GLM-4.5V's thinking switch changes the template: the kept cache is not used.
    off = drain(one.submit("more", sampling=short.replace(thinking=False)))
    assert off.stats.reused_tokens == 0
    other_model = LocalEngine(tiny45)
    one.engine = other_model
    assert drain(one.submit("again")).stats.reused_tokens == 0
    stats = engine.cache_stats()
    assert stats.entries == 2
    assert stats.misses == 3
    assert stats.hits == 1


@pytest.mark.slow  # several full prefills on the tiny model
def test_clear_close_and_forget_drop_the_kept_cache(tiny41):
    engine = LocalEngine(tiny41)
    short = GREEDY.replace(max_new_tokens=2)
    session = Session(engine, sampling=short)
    drain(session.submit("hello"))
    assert engine.cache_stats().entries == 1
    session.clear()
    assert engine.cache_stats().entries == 0
    drain(session.submit("hello again"))
    session.close()
    assert engine.cache_stats().entries == 0
    # Forgotten while generating: what that request ends with is not kept either.
    session = Session(engine, sampling=GREEDY.replace(max_new_tokens=200))
    stream = session.submit("tell me more")
    next(stream)
    assert engine.forget(session.cache_key)
    drain(stream)
    assert engine.cache_stats().entries == 0
    assert engine.forget(session.cache_key) is False


@pytest.mark.slow
def test_budget_evicts_least_recently_used_and_frees_their_memory(tiny41):
    short = GREEDY.replace(max_new_tokens=4)
    probe = LocalEngine(tiny41)
    one = Session(probe, sampling=short)
    drain(one.submit("describe", _images()[0]))
    size = probe.cache_stats().bytes_kept
    assert size > 0
    engine = LocalEngine(tiny41, cache_budget_bytes=int(size * 2.5))
    store: PrefixCacheStore = engine._store
    sessions = [Session(engine, sampling=short) for _ in range(5)]
    freed: list[weakref.ref[Any]] = []
    for session in sessions[:3]:
        drain(session.submit("describe", _images()[0]))
        freed.append(weakref.ref(store._entries[session.cache_key].cache.layers[0].keys))
        assert engine.cache_stats().bytes_kept <= engine.cache_stats().budget_bytes
    # Three conversations, room for two: the first is gone, and so is its memory.
    assert store.keys() == [sessions[1].cache_key, sessions[2].cache_key]
    gc.collect()
    assert freed[0]() is None
    assert freed[1]() is not None
    # Using the second makes it the most recent: the next newcomer evicts the third.
    assert drain(sessions[1].submit("more")).stats.reused_tokens > 0
    drain(sessions[3].submit("describe", _images()[0]))
    assert store.keys() == [sessions[1].cache_key, sessions[3].cache_key]
    stats = engine.cache_stats()
    assert stats.evictions == 2
    assert stats.entries == 2
    assert stats.bytes_kept <= stats.budget_bytes
    gc.collect()
    assert freed[2]() is None
    # A conversation larger than the whole budget is not kept at all.
    tiny = LocalEngine(tiny41, cache_budget_bytes=size // 2)
    drain(Session(tiny, sampling=short).submit("describe", _images()[0]))
    assert tiny.cache_stats().entries == 0
    assert tiny.cache_stats().bytes_kept == 0


@pytest.mark.slow  # a full prefill of a long prompt
def test_a_prompt_longer_than_the_context_is_refused_before_prefill(tiny41):
    engine = LocalEngine(tiny41)
    words = " ".join(["yellow"] * 70_000)
    with (
        GenerateSpy(tiny41.model) as spy,
        pytest.raises(
            MediaBudgetError,
            match=r"the conversation is [\d,]+ tokens; the model's context holds 65,536",
        ),
    ):
        drain(engine.stream(GenerationRequest(messages=[user_message(words)], sampling=GREEDY)))
    assert spy.calls == []


def test_the_answer_is_capped_to_the_context_left(tiny41):
    engine = LocalEngine(tiny41)
    request = GenerationRequest(
        messages=[user_message("hello")],
        sampling=GREEDY.replace(max_new_tokens=50, repetition_penalty=1.0),
    )
    prompt_tokens = engine.prepare(request)["input_ids"].shape[1]
    engine.context_tokens = lambda: prompt_tokens + 3  # type: ignore[method-assign]
    final = drain(engine.stream(request))
    assert final.stats.generated_tokens <= 3
    engine.context_tokens = lambda: prompt_tokens  # type: ignore[method-assign]
    with pytest.raises(MediaBudgetError, match="context holds"):
        drain(engine.stream(request))


# -- the store and the prefix rule, without a model ------------------------------------------


def _kept(key: str, nbytes: int, settings: Any = "s") -> KeptCache:
    return KeptCache(key, settings, [1, 2, 3], (), object(), nbytes)


def test_reusable_prefix_stops_at_the_first_difference_and_leaves_a_token():
    assert reusable_prefix([1, 2, 3, 4], (), [1, 2, 9, 4, 5], ()) == 2
    assert reusable_prefix([1, 2, 3, 4, 5, 6], (), [1, 2, 3, 4], ()) == 3  # regenerate
    assert reusable_prefix([], (), [1, 2], ()) == 0


def test_reusable_prefix_takes_images_whole_and_only_with_the_same_pixels():
    ids = [1, 7, 7, 7, 2, 3]
    same = (VisualSpan(1, 4, "a"),)
    assert reusable_prefix([*ids, 4], same, [*ids, 5], same) == 6
    assert reusable_prefix(ids, same, [*ids, 5], (VisualSpan(1, 4, "b"),)) == 1
    assert reusable_prefix([1, 7, 7], (), ids, same) == 1  # the cache ends inside the image
    assert reusable_prefix(ids, same, ids, (VisualSpan(1, 3, "a"),)) == 1


def test_store_evicts_least_recently_used_beyond_the_budget():
    store = PrefixCacheStore(budget_bytes=250)
    for key in "abc":
        store.put(store.lease(key, "s"), _kept(key, 100))
    assert store.keys() == ["b", "c"]
    lease = store.lease("b", "s")
    assert lease.entry is not None
    assert store.keys() == ["c"]
    store.put(lease, _kept("b", 100))
    store.put(store.lease("d", "s"), _kept("d", 100))
    assert store.keys() == ["b", "d"]
    assert store.lease("b", "other settings").entry is None
    store.record(5)
    store.record(0)
    stats = store.stats()
    assert (stats.entries, stats.bytes_kept, stats.evictions) == (1, 100, 2)
    assert (stats.hits, stats.misses, stats.tokens_reused) == (1, 1, 5)
    assert "1 conversation cached" in stats.summary()


def test_store_does_not_keep_what_a_forgotten_request_returns():
    store = PrefixCacheStore(budget_bytes=1000)
    lease = store.lease("a", "s")
    assert store.forget("a")
    store.put(lease, _kept("a", 10))
    assert store.keys() == []
    with pytest.raises(ValueError, match="budget"):
        PrefixCacheStore(budget_bytes=-1)


def test_store_is_safe_across_threads():
    store = PrefixCacheStore(budget_bytes=10_000)

    def churn(key: str) -> None:
        for _ in range(200):
            store.put(store.lease(key, "s"), _kept(key, 100))

    threads = [threading.Thread(target=churn, args=(str(i),)) for i in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert store.stats().entries == 8
    assert store.stats().bytes_kept == 800
