"""Tests for the incremental reply parser (glmv_ui.stream)."""

from __future__ import annotations

import random
from pathlib import Path

import pytest

from glmv_ui.stream import Event, ParsedReply, ReplyParser, parse_raw
from tests.helpers import require_corpus

CORPUS = Path(__file__).resolve().parents[1] / ".." / "shared" / "corpus" / "raw_outputs"


def _corpus_files() -> list[Path]:
    require_corpus("raw_outputs")
    return sorted(p for p in CORPUS.iterdir() if p.is_file())


def _merge(events: list[Event]) -> list[Event]:
    """Join neighbouring text events of one kind: chunking may split them differently."""
    out: list[Event] = []
    for ev in events:
        if ev.text and out and out[-1].kind == ev.kind and out[-1].text:
            out[-1] = Event(ev.kind, out[-1].text + ev.text)
        else:
            out.append(ev)
    return out


def _run(chunks: list[str]) -> tuple[ReplyParser, list[Event]]:
    parser = ReplyParser()
    events: list[Event] = []
    for chunk in chunks:
        events.extend(parser.feed(chunk))
    events.extend(parser.finish())
    return parser, _merge(events)


def _snapshot(parser: ReplyParser, events: list[Event]) -> tuple[object, ...]:
    return (
        parser.thinking,
        parser.answer,
        parser.thinking_closed,
        parser.truncated,
        parser.boxed_spans,
        tuple(events),
    )


def _text_of(events: list[Event], kind: str) -> str:
    return "".join(e.text for e in events if e.kind == kind)


# -- formats ---------------------------------------------------------------------------------


def test_glm41v_think_and_answer() -> None:
    raw = "<think>\nUser asked me.</think>\n<answer>They're Kane.</answer>"
    parser, events = _run([raw])
    assert parser.thinking == "User asked me."
    assert parser.answer == "They're Kane."
    assert parser.thinking_closed
    assert not parser.truncated
    assert [e.kind for e in events] == ["thinking", "thinking_done", "answer"]


def test_glm41v_answer_without_closing_tag() -> None:
    r = parse_raw("<think>t</think><answer>The answer\n")
    assert (r.thinking, r.answer, r.truncated) == ("t", "The answer", False)


def test_glm45v_answer_without_answer_tags() -> None:
    r = parse_raw("<think>Let me see.</think>\n\nThe image shows a cat.")
    assert r.thinking == "Let me see."
    assert r.answer == "The image shows a cat."


def test_thinking_off_empty_think_block() -> None:
    parser, events = _run(["<think></think>\nJust the answer."])
    assert parser.thinking == ""
    assert parser.answer == "Just the answer."
    assert parser.thinking_closed
    assert [e.kind for e in events] == ["thinking_done", "answer"]


def test_no_tags_at_all_is_answer() -> None:
    parser, events = _run(["\nA plain reply with no tags.\n"])
    assert parser.thinking == ""
    assert parser.answer == "A plain reply with no tags."
    assert parser.thinking_closed  # the answer started without thinking
    assert [e.kind for e in events] == ["answer"]


def test_empty_output() -> None:
    r = parse_raw("")
    assert r == ParsedReply(thinking="", answer="", thinking_closed=False, boxed_spans=[])


def test_whitespace_before_think_is_ignored() -> None:
    r = parse_raw("  \n<think>x</think>y")
    assert (r.thinking, r.answer) == ("x", "y")


def test_text_before_think_is_answer() -> None:
    r = parse_raw("Sure. <think>hmm</think> Here it is.")
    assert r.thinking == "hmm"
    assert r.answer == "Sure. Here it is."


def test_unclosed_think_is_truncated_thinking() -> None:
    parser, events = _run(["<think>I keep thinking and", " thinking"])
    assert parser.thinking == "I keep thinking and thinking"
    assert parser.answer == ""
    assert parser.truncated
    assert not parser.thinking_closed
    assert all(e.kind == "thinking" for e in events)


def test_truncated_is_only_known_after_finish() -> None:
    parser = ReplyParser()
    parser.feed("<think>still going")
    assert parser.state == "thinking"
    assert not parser.truncated
    parser.finish()
    assert parser.truncated


def test_close_think_without_open_moves_text_to_thinking() -> None:
    parser, events = _run(["I pre-filled thinking", "</think>\nThe answer."])
    assert parser.thinking == "I pre-filled thinking"
    assert parser.answer == "The answer."
    kinds = [e.kind for e in events]
    assert kinds == ["answer", "answer_reset", "thinking", "thinking_done", "answer"]
    assert events[2].text == "I pre-filled thinking"


def test_close_think_at_the_very_start() -> None:
    r = parse_raw("</think>answer")
    assert (r.thinking, r.answer, r.thinking_closed) == ("", "answer", True)


def test_stray_close_think_after_answer_tag_is_dropped() -> None:
    r = parse_raw("<answer>a</think>b</answer>")
    assert (r.thinking, r.answer) == ("", "ab")


def test_nested_think_rule() -> None:
    r = parse_raw("<think>Nested <think>...</think></think><|begin_of_box|>1+x<|end_of_box|>")
    assert r.thinking == "Nested ..."
    assert r.answer == "1+x"
    assert r.boxed_spans == [(0, 3)]
    assert not r.truncated


def test_second_think_block_appends_to_thinking() -> None:
    parser, events = _run(["<think>A</think>\n<think>B</think>\n answer"])
    assert parser.thinking == "A\n\nB"
    assert parser.answer == "answer"
    assert [e.kind for e in events].count("thinking_done") == 1


def test_answer_tag_closes_unclosed_think() -> None:
    parser, events = _run(["<think>budget hit<answer>final"])
    assert (parser.thinking, parser.answer) == ("budget hit", "final")
    assert parser.thinking_closed
    assert not parser.truncated
    assert "thinking_done" in [e.kind for e in events]


def test_whitespace_trimmed_after_close_think_and_answer_tag() -> None:
    r = parse_raw("<think>\n  a \n</think>\n\n<answer>\n  b  \n</answer>\n")
    assert (r.thinking, r.answer) == ("a", "b")


def test_inner_whitespace_is_kept() -> None:
    r = parse_raw("<think>a\n\nb</think>line 1\n\n  line 2")
    assert r.thinking == "a\n\nb"
    assert r.answer == "line 1\n\n  line 2"


@pytest.mark.parametrize("stop", ["<|user|>", "<|endoftext|>", "<|observation|>"])
def test_stop_tokens_are_stripped_and_end_the_reply(stop: str) -> None:
    parser, events = _run([f"<think>t</think>answer\n{stop}", "\nNext user turn"])
    assert parser.answer == "answer"
    assert parser.stopped
    assert stop not in _text_of(events, "answer")


def test_box_markers_become_events_and_spans() -> None:
    raw = "The cat <|begin_of_box|>[100,200,300,400]<|end_of_box|> sleeps."
    parser, events = _run([raw])
    assert parser.answer == "The cat [100,200,300,400] sleeps."
    start, end = parser.boxed_spans[0]
    assert parser.answer[start:end] == "[100,200,300,400]"
    kinds = [e.kind for e in events]
    assert kinds == ["answer", "box_open", "answer", "box_close", "answer"]


def test_unterminated_box_closes_at_end() -> None:
    parser, events = _run(["text <|begin_of_box|>A person rides"])
    assert parser.answer == "text A person rides"
    assert parser.boxed_spans == [(5, len(parser.answer))]
    assert events[-1].kind == "box_close"


def test_box_markers_inside_thinking_are_dropped() -> None:
    r = parse_raw("<think>maybe <|begin_of_box|>[1,2,3,4]<|end_of_box|></think>ok")
    assert r.thinking == "maybe [1,2,3,4]"
    assert r.boxed_spans == []


def test_answer_starting_with_box_and_no_think() -> None:
    r = parse_raw("<|begin_of_box|>Title: X<|end_of_box|>")
    assert r.answer == "Title: X"
    assert r.boxed_spans == [(0, 8)]


# -- partial tags ----------------------------------------------------------------------------


def test_partial_tag_is_held_back_until_decided() -> None:
    parser = ReplyParser()
    assert parser.feed("<thi") == []
    assert parser.feed("nk>x") == [Event("thinking", "x")]
    parser2 = ReplyParser()
    assert parser2.feed("ok <|begin_of_b") == [Event("answer", "ok")]
    assert parser2.feed("ox|>z") == [Event("answer", " "), Event("box_open"), Event("answer", "z")]


def test_lookalike_tags_are_released_as_text() -> None:
    parser = ReplyParser()
    events = parser.feed("use <b")  # no tag starts with "<b": released at once
    assert _text_of(events, "answer") == "use <b"
    events = parser.feed(">bold</b> and a < b and <th")
    assert parser.answer == "use <b>bold</b> and a < b and"  # "<th" held, the space pending
    parser.finish()
    assert parser.answer == "use <b>bold</b> and a < b and <th"


def test_held_back_tail_is_released_at_finish() -> None:
    parser = ReplyParser()
    parser.feed("x <|endof")
    assert parser.answer == "x"
    parser.finish()
    assert parser.answer == "x <|endof"


def test_feed_after_finish_is_an_error() -> None:
    parser = ReplyParser()
    parser.finish()
    with pytest.raises(RuntimeError):
        parser.feed("x")


SAMPLES = [
    "<think>\nUser asked.</think>\n<answer>They're <b>Kane</b> & Goretzka.</answer><|user|>",
    "<think>a < b</think>\n\nThe <|begin_of_box|>[1,2,3,4]<|end_of_box|> box.<|endoftext|>",
    "<think></think>\nAnswer with </ and <| and <thin in it",
    "pre-filled thinking</think>answer <|begin_of_box|>unterminated",
    "<think>Nested <think>...</think></think><|begin_of_box|>1+x<|end_of_box|>",
    "<think>cut off while think",
    "  \n plain <answer> text </answer>\n",
    "<think>A</think> <think>B</think> C <|observation|> D",
]


@pytest.mark.parametrize("raw", SAMPLES)
def test_every_split_point_gives_the_same_result(raw: str) -> None:
    expected = _snapshot(*_run([raw]))
    for i in range(len(raw) + 1):
        assert _snapshot(*_run([raw[:i], raw[i:]])) == expected, i
    for i in range(len(raw) + 1):
        for j in range(i, min(len(raw), i + MAX_TAG_SPAN) + 1):
            assert _snapshot(*_run([raw[:i], raw[i:j], raw[j:]])) == expected, (i, j)


MAX_TAG_SPAN = 18


def test_random_chunkings_of_long_samples() -> None:
    rng = random.Random(1234)
    long_raw = "".join(SAMPLES[:3]).replace("<|user|>", "").replace("<|endoftext|>", "") * 20
    texts = [long_raw, *(p.read_text(encoding="utf-8") for p in _corpus_files())]
    for raw in texts:
        expected = _snapshot(*_run([raw]))
        for _ in range(25):
            cuts = sorted(rng.sample(range(len(raw) + 1), k=min(len(raw) + 1, rng.randint(1, 60))))
            chunks = [raw[a:b] for a, b in zip([0, *cuts], [*cuts, len(raw)], strict=True)]
            assert _snapshot(*_run(chunks)) == expected


# -- corpus ----------------------------------------------------------------------------------


def test_corpus_outputs_parse_whole_and_char_by_char() -> None:
    files = _corpus_files()
    if not files:
        pytest.skip("corpus folder ../shared/corpus is absent")
    for path in files:
        raw = path.read_text(encoding="utf-8")
        whole = parse_raw(raw)
        parser, _ = _run(list(raw))
        assert parser.result() == whole, path.name
        for marker in ("<think>", "</think>", "<answer>", "<|begin_of_box|>", "<|end_of_box|>"):
            assert marker not in whole.answer, path.name
        for start, end in whole.boxed_spans:
            assert 0 <= start <= end <= len(whole.answer)


def test_corpus_known_shapes() -> None:
    files = {p.name: p for p in _corpus_files()}
    if not files:
        pytest.skip("corpus folder ../shared/corpus is absent")

    def parsed(name: str) -> ParsedReply:
        return parse_raw(files[name].read_text(encoding="utf-8"))

    fx01 = parsed("fx01_glm41v_readme_finetune_example.txt")
    assert fx01.answer == "They're Kane and Goretzka from Bayern Munich."
    assert fx01.thinking.startswith("User asked me")
    cm03 = parsed("cm03_glm_41v_9b_thinking.txt")  # cut inside thinking
    assert cm03.truncated
    assert cm03.answer == ""
    cm01 = parsed("cm01_glm_41v_9b_thinking.txt")  # <answer> never closed
    assert cm01.answer.startswith("Title: Felixstowe")
    assert not cm01.truncated
    cm05 = parsed("cm05_glm_46v.txt")  # no thinking, the whole answer boxed
    assert cm05.thinking == ""
    assert cm05.boxed_spans == [(0, len(cm05.answer))]
    cm10 = parsed("cm10_glm_46v_flash.txt")  # unterminated box
    assert cm10.boxed_spans
    assert cm10.boxed_spans[-1][1] == len(cm10.answer)
    assert parsed("gh_errev_e-0002_glm45v.txt").answer == ""


# -- cost ------------------------------------------------------------------------------------


def _single_char_run(n: int) -> int:
    pattern = "word <thi a < b <|begin_of_b x \n\n"
    text = "<think>" + (pattern * (n // len(pattern) + 1))[:n]
    parser = ReplyParser()
    for ch in text:
        parser.feed(ch)
    parser.finish()
    assert len(parser.thinking) > n // 2
    return parser.work


def test_single_char_feeding_is_linear() -> None:
    small_work, big_work = _single_char_run(10_000), _single_char_run(40_000)
    # Work counts the characters scanned: each char once, plus a held-back tail below 16 chars.
    assert small_work <= 16 * 10_010
    assert big_work <= 16 * 40_010
    # Quadratic behaviour would give a ratio near 16; linear gives about 4.
    assert big_work / small_work < 4.5


def test_answer_property_is_cached() -> None:
    parser = ReplyParser()
    for ch in "x" * 1000:
        parser.feed(ch)
    first = parser.answer
    assert parser.answer is first  # no new join when nothing changed
