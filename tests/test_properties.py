"""Properties over generated inputs: the stream parser, the HTML fencer and the box/action
readers hold their rules for any text and any chunking, not just for the fixed samples."""

from __future__ import annotations

from itertools import pairwise

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from glmv_ui.grounding import find_actions, find_boxes, highlight_boxes_markdown
from glmv_ui.grounding.boxes import Box
from glmv_ui.htmlfix import HtmlFencer, extract_html, fence_html
from glmv_ui.stream import BOX_BEGIN, BOX_END, STOP_TOKENS, ReplyParser, parse_raw

# Modest runs in the quick tier; no per-example deadline, so a loaded machine cannot fail them.
# No example database: a failure prints its example, and a run leaves no files behind.
QUICK = settings(
    max_examples=80, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow]
)

TAGS = ["<think>", "</think>", "<answer>", "</answer>", BOX_BEGIN, BOX_END, *STOP_TOKENS]
# Pieces that look like the start of a tag, or of HTML, or of a code block, but may not be.
LOOKALIKES = ["<", "</", "<|", "<thi", "</thin", "<|begin_of_b", "a < b", "<b>", "\\n", "```", "\n"]
WORDS = st.text(alphabet=st.characters(codec="utf-8", exclude_categories=["Cs"]), max_size=12)
RAW = st.lists(st.one_of(st.sampled_from(TAGS + LOOKALIKES), WORDS), max_size=25).map("".join)
# Text with no markup at all, no surrounding blanks: what the parser must hand back unchanged.
PLAIN = st.text(alphabet="abcdefghij KLMNOP.,:;!?0123456789-", min_size=1, max_size=40).map(
    str.strip
)


def _chunks(text: str, cuts: list[int]) -> list[str]:
    points = sorted({min(c, len(text)) for c in cuts} | {0, len(text)})
    return [text[a:b] for a, b in pairwise(points)]


# -- the stream parser ------------------------------------------------------------------------


@QUICK
@given(raw=RAW, cuts=st.lists(st.integers(min_value=0, max_value=400), max_size=12))
def test_any_chunking_parses_as_the_whole(raw: str, cuts: list[int]) -> None:
    parser = ReplyParser()
    for piece in _chunks(raw, cuts):
        parser.feed(piece)
    parser.finish()
    assert parser.result() == parse_raw(raw)


@QUICK
@given(raw=RAW, cuts=st.lists(st.integers(min_value=0, max_value=400), max_size=12))
def test_the_events_rebuild_the_thinking_and_the_answer(raw: str, cuts: list[int]) -> None:
    parser = ReplyParser()
    thinking: list[str] = []
    answer: list[str] = []
    events = [e for piece in _chunks(raw, cuts) for e in parser.feed(piece)]
    for event in [*events, *parser.finish()]:
        if event.kind == "answer_reset":
            answer.clear()
        elif event.kind == "thinking":
            thinking.append(event.text)
        elif event.kind == "answer":
            answer.append(event.text)
    assert "".join(thinking) == parser.thinking
    assert "".join(answer) == parser.answer


@QUICK
@given(thought=PLAIN, reply=PLAIN, closed=st.booleans(), cut=st.integers(0, 120))
def test_thinking_and_answer_are_the_input_without_its_tags(
    thought: str, reply: str, closed: bool, cut: int
) -> None:
    raw = f"<think>{thought}</think><answer>{reply}" + ("</answer>" if closed else "")
    parser = ReplyParser()
    for piece in _chunks(raw, [cut]):
        parser.feed(piece)
    parser.finish()
    assert parser.thinking == thought
    assert parser.answer == reply
    assert parse_raw(reply).answer == reply  # no tags at all: all of it is answer


@QUICK
@given(raw=st.text())
def test_any_text_parses(raw: str) -> None:
    reply = parse_raw(raw)
    for start, end in reply.boxed_spans:
        assert 0 <= start <= end <= len(reply.answer)


# -- the HTML fencer --------------------------------------------------------------------------

TAG_NAMES = ["div", "p", "span", "section", "ul", "li", "style", "script", "h1", "table"]
ELEMENT = st.builds(
    lambda name, body: f"<{name}>{body}</{name}>",
    st.sampled_from(TAG_NAMES),
    st.text(alphabet="abc xyz", max_size=10),
)
DOCUMENT = st.lists(ELEMENT, min_size=1, max_size=6).map(
    lambda parts: "<!DOCTYPE html>\n<html>\n<body>\n" + "\n".join(parts) + "\n</body>\n</html>"
)
# Prose with none of the characters that can start HTML, a code block, an escape or a tag.
PROSE = st.text(alphabet="abcdefgh ijk,.;:!?()=+-*0123456789\n", max_size=60)
ANSWER = st.lists(st.one_of(PROSE, DOCUMENT, st.sampled_from(LOOKALIKES + TAGS)), max_size=8).map(
    "".join
)


@QUICK
@given(answer=ANSWER, cuts=st.lists(st.integers(min_value=0, max_value=600), max_size=12))
def test_fencing_does_not_depend_on_the_chunking(answer: str, cuts: list[int]) -> None:
    fencer = HtmlFencer()
    for piece in _chunks(answer, cuts):
        fencer.feed(piece)
    fencer.finish()
    assert fencer.text == fence_html(answer)
    assert fencer.html == extract_html(answer)


@QUICK
@given(answer=ANSWER)
def test_fencing_twice_changes_nothing_more(answer: str) -> None:
    once = fence_html(answer)
    assert fence_html(once) == once


@QUICK
@given(prose=PROSE)
def test_prose_passes_through_unchanged(prose: str) -> None:
    assert fence_html(prose) == prose
    assert extract_html(prose) is None


@QUICK
@given(before=PROSE, page=DOCUMENT, after=PROSE)
def test_a_raw_page_is_fenced_and_read_back_with_the_prose_kept(
    before: str, page: str, after: str
) -> None:
    answer = f"{before}\n{page}\n{after}"
    fenced = fence_html(answer)
    assert "```html\n" in fenced
    for line in (before + "\n" + after).splitlines():
        assert line.strip() in fenced  # no prose dropped
    found = extract_html(answer)
    assert found is not None
    assert found.strip() == page
    # The fenced answer gives back the same page (a code block's content ends with its newline).
    assert (extract_html(fenced) or "").strip() == page


@QUICK
@given(answer=st.text())
def test_any_text_fences(answer: str) -> None:
    fence_html(answer)
    extract_html(answer)


# -- boxes and actions ------------------------------------------------------------------------

EDGES = st.tuples(
    st.integers(0, 999), st.integers(0, 999), st.integers(1, 1000), st.integers(1, 1000)
).filter(lambda v: v[0] < v[2] and v[1] < v[3])
STYLES = ["[{}]", "[[{}]]", "({})", "<{}>"]
SEPARATORS = [",", ", ", " "]


@QUICK
@given(edges=EDGES, style=st.sampled_from(STYLES), sep=st.sampled_from(SEPARATORS))
def test_a_box_in_any_bracket_style_reads_as_the_same_numbers(
    edges: tuple[int, int, int, int], style: str, sep: str
) -> None:
    inner = style.format(sep.join(str(v) for v in edges))
    boxes = find_boxes(f"The cat {BOX_BEGIN}{inner}{BOX_END} sits.")
    assert [(b.x1, b.y1, b.x2, b.y2) for b in boxes] == [tuple(float(v) for v in edges)]
    if style == "[{}]" and max(edges) >= 10:  # unmarked, only square brackets count
        assert len(find_boxes(f"The cat {inner} sits.")) == 1


@QUICK
@given(edges=EDGES, which=st.integers(0, 3), over=st.integers(1, 100_000))
def test_a_value_beyond_the_grid_is_no_box(
    edges: tuple[int, int, int, int], which: int, over: int
) -> None:
    values = list(edges)
    values[which] = 1000 + over
    text = "[" + ",".join(str(v) for v in values) + "]"
    assert find_boxes(f"{BOX_BEGIN}{text}{BOX_END} and {text}") == []


@QUICK
@given(
    edges=st.tuples(*[st.floats(-5000, 5000, allow_nan=False)] * 4),
    size=st.tuples(st.integers(1, 4000), st.integers(1, 4000)),
)
def test_pixels_stay_inside_the_image_whatever_the_values(
    edges: tuple[float, float, float, float], size: tuple[int, int]
) -> None:
    width, height = size
    left, top, right, bottom = Box(*edges).to_pixels(width, height)
    assert 0 <= left <= right <= width
    assert 0 <= top <= bottom <= height


@QUICK
@given(text=st.one_of(st.text(), RAW))
def test_the_readers_never_raise(text: str) -> None:
    find_boxes(text)
    find_actions(text)
    highlight_boxes_markdown(text)
