"""Tests for the raw-HTML detector and fence repair (glmv_ui.htmlfix)."""

from __future__ import annotations

import itertools
import random
import re
from pathlib import Path

import pytest

from glmv_ui.htmlfix import VALIDATION_WINDOW, HtmlFencer, extract_html, fence_html

DOC = (
    '<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
    "<title>Shop</title>\n<style>\nbody { margin: 0 }\n.a > .b { color: red }\n</style>\n"
    '</head>\n<body>\n<div class="nav">\n  <a href="#">Home</a>\n</div>\n'
    '<script>\nif (1 < 2 && 3 > 2) { document.title = "</div>"; }\n</script>\n'
    "</body>\n</html>"
)
ESCAPED_DOC = DOC.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
FRAGMENT = (
    '<div class="card">\n  <h1>Title</h1>\n  <p>Some text with a < b</p>\n'
    '  <img src="x.png" alt="x">\n</div>'
)
# after the opener is confirmed (its fourth line-leading tag), so that the region lexer reads
# them in pieces: a comment holding a ">" and an open tag, "/>" on a non-void element, and
# pending ends that a comment, a known tag, prose or an unknown tag decide; a split delta at
# any of these places must not change the result
SECTION = (
    "<section>\n  <h2>Title</h2>\n  <p>text</p>\n  <br/>\n"
    '  <!-- a note: a > b, and an open <div> -->\n  <svg><path d="M0 0"/></svg>\n'
    "</section>\n<!-- end of card -->\n<p>more</p>\n\nProse after."
)
LISTING = "<answer>\n<ul>\n  <li>a</li>\n  <li>b</li>\n</ul>\n</answer>"
LATEX = r"So $a \neq b$, with \nabla f and \nu; also \\n in code: `s.split('\n')`."
PROSE_NO_HTML = [
    "Use `List<String>` or List<String> for that.",
    "A Map<K, V> maps keys to values.",
    "Note that a < b and c > d here.",
    "In Markdown, use <br> to break a line, <b>bold</b> and H<sub>2</sub>O.",
    "Line one<br>\nline two<br>\n<b>bold</b>\n",
    '<div align="center">\n<img src="logo.png">\n</div>\n\nA centred logo in Markdown.',
    "Put <!DOCTYPE html> at the top, then <html>.",
    "Write `<!DOCTYPE html>` first.",
    LATEX,
]


def feed_all(chunks: list[str]) -> HtmlFencer:
    fencer = HtmlFencer()
    for chunk in chunks:
        fencer.feed(chunk)
    fencer.finish()
    return fencer


def split_at(text: str, offsets: list[int]) -> list[str]:
    bounds = [0, *offsets, len(text)]
    return [text[a:b] for a, b in itertools.pairwise(bounds)]


def random_chunks(text: str, seed: int) -> list[str]:
    rng = random.Random(seed)
    chunks, i = [], 0
    while i < len(text):
        step = rng.choice([1, 1, 2, 3, 5, 8, 13, 40])
        chunks.append(text[i : i + step])
        i += step
    return chunks


# ------------------------------------------------------------------ detection and fencing
def test_document_with_prose_around_is_fenced_and_closed_before_the_prose() -> None:
    answer = f"Here is the page:\n\n{DOC}\n\nThis page uses a flex layout."
    out = fence_html(answer)
    assert out == f"Here is the page:\n\n```html\n{DOC}\n```\n\nThis page uses a flex layout."
    assert extract_html(answer) == DOC


def test_fence_opens_before_the_first_tag_not_after_it() -> None:
    # upstream fenced per chunk, so the fence landed after the first tag of the chunk
    out = fence_html(DOC)
    assert out.startswith("```html\n<!DOCTYPE html>")
    assert out.endswith("</html>\n```")


def test_mid_line_doctype_gets_the_fence_on_its_own_line() -> None:
    out = fence_html(f"Sure! {DOC} Enjoy.")
    assert out == f"Sure! \n```html\n{DOC}\n```\n Enjoy."


def test_fragment_is_fenced_and_closed_where_prose_follows() -> None:
    answer = f"{FRAGMENT}\n\nThe code above builds a card.\n"
    out = fence_html(answer)
    assert out == f"```html\n{FRAGMENT}\n```\n\nThe code above builds a card.\n"
    assert extract_html(answer) == FRAGMENT


def test_fragment_with_prose_on_the_next_line_and_answer_tag() -> None:
    answer = f"<answer>\n{FRAGMENT}\nThat is all.</answer>"
    assert fence_html(answer) == f"<answer>\n```html\n{FRAGMENT}\n```\nThat is all.</answer>"
    answer = f"<answer>{DOC}</answer>"
    assert fence_html(answer) == f"<answer>\n```html\n{DOC}\n```\n</answer>"


def test_siblings_separated_by_blank_lines_stay_in_one_region() -> None:
    html = "<style>\n.a { color: red }\n</style>\n\n<section>\n  <p>x</p>\n</section>"
    assert fence_html(html + "\n\nDone.") == f"```html\n{html}\n```\n\nDone."


def test_unclosed_document_is_closed_at_the_end() -> None:
    cut = DOC[: DOC.index("<script>")]
    out = fence_html("Page:\n" + cut)
    assert out == "Page:\n```html\n" + cut + "```"
    fencer = HtmlFencer()
    fencer.feed("Page:\n" + cut)
    assert fencer.in_html
    fencer.finish()
    assert not fencer.in_html


def test_comments_self_closing_tags_and_a_pending_end() -> None:
    head, prose = SECTION.split("\n\n")
    assert fence_html(SECTION) == f"```html\n{head}\n```\n\n{prose}"
    body = LISTING.removeprefix("<answer>\n").removesuffix("\n</answer>")
    assert fence_html(LISTING) == f"<answer>\n```html\n{body}\n```\n</answer>"


def test_fence_closes_while_streaming_not_only_at_the_end() -> None:
    fencer = HtmlFencer()
    fencer.feed(DOC)
    fencer.feed("\n\nMore text follows")
    assert not fencer.in_html
    assert "</html>\n```\n\nMore text follows" in fencer.text


def test_two_documents_get_two_fences() -> None:
    out = fence_html(f"First:\n{DOC}\nSecond:\n{DOC}\n")
    assert out.count("```html\n") == 2
    assert out.count("\n```\n") == 2
    assert out.endswith("```\n")
    assert extract_html(f"First:\n{DOC}\nSecond:\n{DOC}\n") == DOC


@pytest.mark.parametrize("text", PROSE_NO_HTML)
def test_prose_generics_and_inline_tags_are_not_fenced(text: str) -> None:
    assert fence_html(text) == text
    assert extract_html(text) is None


def test_block_opener_is_refused_after_the_window() -> None:
    text = "<div>\n" + "words " * (VALIDATION_WINDOW // 3) + "\n<p>a</p>\n<p>b</p>\n</div>"
    assert fence_html(text) == text


def test_answer_ending_while_an_opener_is_undecided_leaves_it_prose() -> None:
    for text in ("<div>\n<p>a</p>\n", "<div>\n<p>a</p>\n  ", "<div>\n<p>a</p>\n<sp"):
        assert fence_html(text) == text
        assert feed_all(list(text)).text == text


def test_a_comment_after_the_doctype_confirms_it() -> None:
    page = DOC.replace("<html", "<!-- saved page -->\n<html", 1)
    assert fence_html(page) == f"```html\n{page}\n```"


def test_block_opener_needs_several_line_leading_tags() -> None:
    three = "<div>\n<span>a</span>\n</div>"
    four = "<div>\n<span>a</span>\n<span>b</span>\n</div>"
    assert fence_html(three) == three
    assert fence_html(four) == f"```html\n{four}\n```"


# ------------------------------------------------------------------ escapes
def test_escaped_document_is_unescaped_inside_the_fence_only() -> None:
    answer = f"Here you go: {ESCAPED_DOC}\\n\\nHope this helps \\n not unescaped."
    out = fence_html(answer)
    assert out == f"Here you go: \n```html\n{DOC}\n```\nHope this helps \\n not unescaped."
    assert extract_html(answer) == DOC
    assert '\\"' not in (extract_html(answer) or "")


def test_escaped_backslashes_in_the_page_survive() -> None:
    page = '<!DOCTYPE html>\n<html>\n<body>\n<p>$\\neq$ and "q"</p>\n</body>\n</html>'
    escaped = page.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
    assert extract_html(escaped) == page


def test_escapes_after_one_real_newline_are_undone_after_two_they_are_not() -> None:
    # the escape decision is taken at the third literal \n: escaped if at most one real newline
    # came before it in the region
    body = '<body>\\n<p class=\\"a\\">x</p>\\n<p>y</p>\\n</body>\\n</html>'
    one = "<!DOCTYPE html>\n<html>" + body
    assert extract_html(one) == (
        '<!DOCTYPE html>\n<html><body>\n<p class="a">x</p>\n<p>y</p>\n</body>\n</html>'
    )
    two = "<!DOCTYPE html>\n<html>\n" + body
    assert extract_html(two) == two


def test_real_newlines_mean_no_unescaping() -> None:
    page = DOC.replace("</script>", "alert('a\\nb');\n</script>")
    assert extract_html(page) == page


def test_latex_outside_html_is_untouched() -> None:
    answer = f"{LATEX}\n\n{ESCAPED_DOC}\n\n{LATEX}"
    out = fence_html(answer)
    assert out.startswith(LATEX + "\n\n```html\n<!DOCTYPE html>\n<html")
    assert out.endswith("```\n\n" + LATEX)
    assert r"\neq" in out
    assert r"\nabla" in out
    assert r"\nu" in out


# ------------------------------------------------------------------ existing fences, thinking
@pytest.mark.parametrize("info", ["html", "", "HTML"])
def test_already_fenced_html_is_left_alone(info: str) -> None:
    answer = f"Here:\n```{info}\n{DOC}\n```\nDone."
    assert fence_html(answer) == answer
    assert extract_html(answer) == DOC + "\n"


def test_other_code_blocks_are_left_alone_and_are_not_html() -> None:
    answer = f"```python\nx = '<div>'\n```\n\n~~~\n{FRAGMENT}\n~~~\n"
    assert fence_html(answer) == answer
    assert extract_html("```python\nprint('<html>')\n```") is None
    assert extract_html(answer) == FRAGMENT + "\n"


def test_unclosed_code_block_runs_to_the_end() -> None:
    answer = f"```html\n{DOC}"
    assert fence_html(answer) == answer
    assert extract_html(answer) == DOC


def test_thinking_passes_through_untouched() -> None:
    # upstream ran the repair on the thinking too; the fencer takes the answer, and if it is
    # handed a raw reply anyway, <think>...</think> passes through
    raw = f"<think>Plan:\n{DOC}\n</think>\n{DOC}"
    out = fence_html(raw)
    assert out == f"<think>Plan:\n{DOC}\n</think>\n```html\n{DOC}\n```"


# ------------------------------------------------------------------ streaming behaviour
SAMPLES = [
    f"Here is the page:\n\n{DOC}\n\nThis page uses flexbox.",
    f"Sure: {ESCAPED_DOC}\\n\\nDone.",
    f"{FRAGMENT}\n\nThe card.",
    "Generic List<String> and Map<K, V>; a < b and c > d; use <br> to break.",
    f"```html\n{FRAGMENT}\n```\nok <!DOCTYPE html> then",
    f"<think>x <html>\n<head>\n</think><answer>{DOC}</answer>",
    LATEX + "\n" + '<div align="center">\n<img src="a.png">\n</div>\n\nprose',
    SECTION,
    LISTING,
]


@pytest.mark.parametrize("text", SAMPLES[2:], ids=range(2, len(SAMPLES)))
def test_every_split_offset_gives_the_whole_text_result(text: str) -> None:
    whole = fence_html(text)
    for k in range(len(text) + 1):
        assert feed_all(split_at(text, [k])).text == whole, k
    for k in range(0, len(text), 7):
        assert feed_all(split_at(text, [k, min(len(text), k + 3)])).text == whole, k


@pytest.mark.parametrize("text", SAMPLES, ids=range(len(SAMPLES)))
def test_random_chunkings_give_the_whole_text_result(text: str) -> None:
    whole = fence_html(text)
    for seed in range(25):
        fencer = feed_all(random_chunks(text, seed))
        assert fencer.text == whole, seed
        assert fencer.html == extract_html(text)
    assert feed_all(list(text)).text == whole


@pytest.mark.parametrize("text", SAMPLES, ids=range(len(SAMPLES)))
def test_streamed_text_only_grows_towards_the_final_text(text: str) -> None:
    # every shown prefix is a prefix of the final text: a fence is never slipped in behind
    # text that was already shown, so the opening fence is always there before the first tag
    whole = fence_html(text)
    fencer = HtmlFencer()
    for i, ch in enumerate(text):
        fencer.feed(ch)
        shown = fencer.text
        assert whole.startswith(shown), i
    fencer.finish()
    assert fencer.text == whole


def test_every_prefix_shows_the_fence_before_any_tag_of_the_document() -> None:
    answer = f"Intro line.\n{DOC}\nOutro."
    fencer = HtmlFencer()
    for ch in answer:
        fencer.feed(ch)
        shown = fencer.text
        tag = shown.find("<!DOCTYPE")
        if tag >= 0:
            assert shown[:tag].endswith("```html\n")
        assert "<html" not in shown or "```html\n<!DOCTYPE" in shown
        assert fencer.in_html == (shown.count("```") == 1)


def test_held_back_text_is_small() -> None:
    fencer = HtmlFencer()
    prose = "Plain prose with a < b and List<String>. " * 20
    for i, ch in enumerate(prose, 1):
        fencer.feed(ch)
        assert len(fencer.text) >= i - len("<!doctype html")
    assert fencer.text == prose


def test_text_is_cached_between_reads() -> None:
    fencer = HtmlFencer()
    fencer.feed("Hello ")
    first = fencer.text
    assert fencer.text is first
    fencer.feed("world")
    assert fencer.text == "Hello world"


def test_feed_after_finish_is_an_error() -> None:
    fencer = feed_all(["x"])
    with pytest.raises(RuntimeError):
        fencer.feed("y")


# ------------------------------------------------------------------ cost
def _work_per_char(text: str) -> tuple[float, int]:
    fencer = HtmlFencer()
    worst = 0
    for i in range(0, len(text), 4):
        before = fencer._work
        fencer.feed(text[i : i + 4])
        worst = max(worst, fencer._work - before)
    fencer.finish()
    return fencer._work / len(text), worst


@pytest.mark.parametrize(
    "unit",
    [
        '<div class="row">\n  <p>cell a < b</p>\n  <span>x</span>\n</div>\n',
        "Prose with $a \\neq b$ and List<String>, a < b, <br> inline.\n",
        '<p class=\\"x\\">escaped</p>\\n',
    ],
)
def test_feed_work_does_not_grow_with_the_answer(unit: str) -> None:
    if unit.startswith("Prose"):
        head = ""  # stays prose all along
    elif "\\n" in unit:
        head = "<!DOCTYPE html>\\n<html>\\n"
    else:
        head = "<!DOCTYPE html>\n<html>\n<body>\n"
    short = head + unit * 50
    long = head + unit * 2000
    per_short, worst_short = _work_per_char(short)
    per_long, worst_long = _work_per_char(long)
    # the work per character is the same for a 40x longer answer, and no single feed
    # costs more than a bounded amount (held text + delta), whatever came before
    assert per_long < per_short * 1.5 + 1
    assert per_long < 20
    assert worst_long <= worst_short + 16
    assert worst_long < VALIDATION_WINDOW + 200


# ------------------------------------------------------------------ real model outputs
def _answer_part(raw: str) -> str:
    answer = raw.rsplit("</think>", 1)[-1]
    return answer.replace("<answer>", "").replace("</answer>", "")


def test_every_corpus_output_runs_through(corpus: Path) -> None:
    files = sorted(p for p in (corpus / "raw_outputs").iterdir() if p.is_file())
    assert files
    for path in files:
        answer = _answer_part(path.read_text(encoding="utf-8", errors="replace"))
        whole = fence_html(answer)
        assert feed_all(random_chunks(answer, 1)).text == whole, path.name
        # none of these answers holds a web page, so nothing may change
        assert whole == answer, path.name
        assert not re.search(r"```html", whole)


def test_seeded_mixtures_stream_like_the_whole_text() -> None:
    # random soup of the constructs the detector cares about, split at random places
    pieces = [
        "<!DOCTYPE html>",
        "<html>",
        "</html>",
        "<div>",
        "</div>",
        "<p>",
        "</p>",
        "\n",
        "\\n",
        '\\"',
        "```",
        "```html\n",
        "~~~\n",
        "<think>",
        "</think>",
        "<script>",
        "</script>",
        "<style>",
        "</style>",
        "<!--",
        "-->",
        "a < b",
        "List<String>",
        "text ",
        "  ",
        "<br>",
        "</answer>",
        "<section ",
        'class="x>"',
        ">",
        "\\\\",
        "`",
        "<head>",
        "<body>",
        "\t",
        "<sect",
    ]
    rng = random.Random(7)
    for _ in range(400):
        text = "".join(rng.choice(pieces) for _ in range(rng.randint(1, 40)))
        whole = fence_html(text)
        fencer = HtmlFencer()
        for chunk in random_chunks(text, rng.randrange(1000)):
            fencer.feed(chunk)
            assert whole.startswith(fencer.text), text
        fencer.finish()
        assert fencer.text == whole, text
