"""HTML fencer benchmark: the cost of fencing long streamed answers, and a region lexer on
the standard library's ``html.parser`` measured against the hand-written one.

Run: ``python bench/bench_htmlfix.py [--repeat 20] [--against OLD_HTMLFIX.py]``. Each answer
is fed in token-sized deltas (1 to 8 characters, seeded) and then finished; each figure is the
least CPU time over the rounds, the rows taking turns within a round. Rows, per answer:

- ``HTMLParser alone``: :class:`html.parser.HTMLParser` with no handlers, fed the same deltas;
  the baseline every ratio is taken against, in the same run;
- ``HtmlFencer``: the fencer as shipped (hand-written region lexer);
- ``HtmlFencer, HTMLParser lexer``: the same fencer with the scanner of plain regions replaced
  by :class:`ParserRegion` below, which tracks element depth with ``HTMLParser`` callbacks;
- with ``--against FILE``: the ``HtmlFencer`` of another ``htmlfix`` module file (an older
  version, to compare a change against).

It also prints whether the two lexers gave the same text, the cost per character of a page
whose ``<script>`` body is 4x longer (a lexer whose work per delta grows with the element shows
it there), and the most text each lexer held back from the shown answer while streaming.
"""

from __future__ import annotations

import argparse
import importlib.util
import random
import sys
import time
from collections.abc import Callable
from functools import partial
from html.parser import HTMLParser
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from glmv_ui.htmlfix import HtmlFencer  # noqa: E402
from glmv_ui.htmlfix._buffer import Buffer  # noqa: E402
from glmv_ui.htmlfix._region import Advance, Region  # noqa: E402
from glmv_ui.htmlfix._syntax import KNOWN, RAWTEXT, VOID  # noqa: E402


class ParserRegion(HTMLParser):
    """Where a plain HTML region ends (rule 6), read with ``HTMLParser``'s callbacks.

    The parser is fed each new piece of the region; the handlers keep element depth and
    whether the last thing was a closing tag, and turn the parser's line and column into
    offsets in the answer. Text the parser still holds is not emitted, so a pending end can
    never fall behind emitted text.
    """

    def __init__(self, start: int) -> None:
        super().__init__(convert_charrefs=False)
        self._fed = start  # offset up to which the answer was handed to the parser
        self._lines = [start]  # offset of the start of each line of the region
        self._raw_base = start  # offset of self.rawdata[0] during a feed
        self._depth = 0
        self._last_close = False
        self._maybe: int | None = None
        self._end: int | None = None

    def render(self, raw: str) -> str:
        return raw

    def final_end(self, buf: Buffer) -> int:
        return buf.end if self._maybe is None else self._maybe

    def advance(self, buf: Buffer) -> Advance:
        new = buf.text[self._fed - buf.base :]
        k = new.find("\n")
        while k >= 0:
            self._lines.append(self._fed + k + 1)
            k = new.find("\n", k + 1)
        self._raw_base = self._fed - len(self.rawdata)
        self._fed = buf.end
        self.feed(new)
        if buf.done and self._end is None:
            self._raw_base = self._fed - len(self.rawdata)
            self.close()
        if self._end is not None:
            return Advance(self._end, self._end, True)
        held = self._fed - len(self.rawdata)
        commit = held if self._maybe is None else self._maybe
        return Advance(commit, commit, False)

    def _here(self) -> int:
        line, column = self.getpos()
        return self._lines[line - 1] + column

    def _ahead(self, known: bool) -> bool:
        """Something that is not blank text came; False when it ended the region."""
        if self._end is not None:
            return False
        if self._maybe is not None:
            if not known:
                self._end = self._maybe
                return False
            self._maybe = None
        return True

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if not self._ahead(tag in KNOWN):
            return
        self._last_close = False
        if tag not in VOID:
            self._depth += 1
            if tag in RAWTEXT:
                self.set_cdata_mode(tag)  # script and style already are; textarea, title too

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if self._ahead(tag in KNOWN):
            self._last_close = False

    def handle_endtag(self, tag: str) -> None:
        if not self._ahead(tag in KNOWN):
            return
        self._depth = max(0, self._depth - 1)
        self._last_close = True
        if tag == "html":
            at = self._here() - self._raw_base
            self._end = self._raw_base + self.rawdata.index(">", at) + 1

    def handle_data(self, data: str) -> None:
        if self._end is not None or self.cdata_elem is not None:
            return
        start, i = self._here(), 0
        while True:
            if self._maybe is not None:
                if data[i:].strip():
                    self._end = self._maybe
                return
            k = data.find("\n", i)
            if data[i : len(data) if k < 0 else k].strip():
                self._last_close = False
            if k < 0:
                return
            if self._depth == 0 and self._last_close:
                self._maybe = start + k
            i = k + 1

    def handle_comment(self, data: str) -> None:
        self._ahead(True)

    def handle_decl(self, decl: str) -> None:
        self._ahead(True)

    def unknown_decl(self, data: str) -> None:
        self._ahead(True)

    def handle_pi(self, data: str) -> None:
        self._ahead(False)

    def handle_entityref(self, name: str) -> None:
        if self._ahead(False):
            self._last_close = False

    def handle_charref(self, name: str) -> None:
        self.handle_entityref(name)


class ParserFencer(HtmlFencer):
    def _plain_region(self, start: int) -> Region:
        return ParserRegion(start)


# ------------------------------------------------------------------ answers
def _page(cards: int, script_chars: int) -> str:
    css = "".join(f".c{i} > .t {{ color: #{i:03x}; margin: {i % 7}px }}\n" for i in range(60))
    card = (
        '  <div class="card" data-id="{i}">\n    <img src="p{i}.png" alt="Item {i}">\n'
        '    <h3 class="t">Item {i} &amp; more</h3>\n    <p>Only {i} left, a < b.</p>\n'
        '    <a href="#buy-{i}" onclick="go(\'{i}\')">Buy</a>\n  </div>\n'
    )
    js = "".join(
        f"var v{i} = items.filter(x => x.price >= {i}).length;\n"
        for i in range(script_chars // 48 + 1)
    )[:script_chars]
    return (
        '<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        f"<title>Shop</title>\n<style>\n{css}</style>\n</head>\n<body>\n"
        '<nav>\n  <a href="#">Home</a>\n</nav>\n<main>\n'
        + "".join(card.format(i=i) for i in range(cards))
        + f"</main>\n<script>\n{js}\n</script>\n</body>\n</html>"
    )


def answers() -> dict[str, str]:
    page = _page(300, 2000)
    escaped = page.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
    fragment = (
        '<div class="row">\n  <span class="k">key</span>\n  <span>value</span>\n'
        "  <p>note</p>\n</div>\n"
    )
    prose = (
        "The gradient $\\nabla f$ is zero where $a \\neq b$; a `List<String>` holds "
        "names, and 3 < 4 > 2 in prose. Use <br> to break a line.\n\n"
    )
    return {
        "page": f"Here is the page:\n\n{page}\n\nIt uses a grid of cards.",
        "escaped page": f"Sure: {escaped}\\n\\nDone.",
        "fragments": "".join(
            f"Part {i}:\n\n{fragment * 4}\nThat is part {i}.\n\n" for i in range(120)
        ),
        "prose": prose * 400,
        "long script": f"Page:\n{_page(20, 40_000)}\nDone.",
    }


def deltas(text: str, seed: int = 1) -> list[str]:
    rng = random.Random(seed)
    out, i = [], 0
    while i < len(text):
        step = rng.randint(1, 8)
        out.append(text[i : i + step])
        i += step
    return out


def stream(make: Callable[[], HtmlFencer], parts: list[str]) -> str:
    fencer = make()
    for part in parts:
        fencer.feed(part)
    fencer.finish()
    return fencer.text


def held_back(make: Callable[[], HtmlFencer], parts: list[str]) -> int:
    """The most characters of the answer fed so far that the shown text did not cover yet."""
    fencer, fed, worst = make(), 0, 0
    for part in parts:
        fencer.feed(part)
        fed += len(part)
        worst = max(worst, fed - len(fencer.text))  # the fence adds text, never hides it
    return worst


def tokenize_only(parts: list[str]) -> None:
    parser = HTMLParser(convert_charrefs=False)
    for part in parts:
        parser.feed(part)
    parser.close()


def interleaved(fns: list[Callable[[], object]], repeat: int) -> list[float]:
    """The least CPU time of each function over ``repeat`` rounds, each round running all of
    them in turn: on a shared machine, time spent waiting for a core does not count, and a
    change in load falls on every row alike."""
    best = [float("inf")] * len(fns)
    for _ in range(repeat):
        for k, fn in enumerate(fns):
            start = time.process_time()
            fn()
            best[k] = min(best[k], time.process_time() - start)
    return best


def load_fencer(path: str) -> Callable[[], HtmlFencer]:
    spec = importlib.util.spec_from_file_location("htmlfix_against", path)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    fencer: Callable[[], HtmlFencer] = module.HtmlFencer
    return fencer


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeat", type=int, default=20)
    ap.add_argument("--against", help="another htmlfix module file to time as well")
    args = ap.parse_args()
    rows: list[tuple[str, Callable[[list[str]], object]]] = [
        ("HTMLParser alone", tokenize_only),
        ("HtmlFencer", lambda p: stream(HtmlFencer, p)),
        ("HtmlFencer, HTMLParser lexer", lambda p: stream(ParserFencer, p)),
    ]
    if args.against:
        other = load_fencer(args.against)
        rows.append((f"HtmlFencer of {Path(args.against).name}", lambda p: stream(other, p)))
    print(f"| answer | chars | {' | '.join(name for name, _ in rows)} | same text |")
    print("|---|---|" + "---|" * (len(rows) + 1))
    for name, text in answers().items():
        parts = deltas(text)
        same = stream(HtmlFencer, parts) == stream(ParserFencer, parts)
        times = interleaved([partial(fn, parts) for _, fn in rows], args.repeat)
        cells = [f"{t * 1000:.1f} ms ({t / times[0]:.2f})" for t in times]
        print(f"| {name} | {len(text)} | {' | '.join(cells)} | {'yes' if same else 'NO'} |")
    print("\nper character, long script 10k vs 40k chars (growth with the element):")
    for label, make in (("HtmlFencer", HtmlFencer), ("HTMLParser lexer", ParserFencer)):
        sized = [deltas(f"Page:\n{_page(20, size)}\nDone.") for size in (10_000, 40_000)]
        times = interleaved([partial(stream, make, p) for p in sized], args.repeat)
        per = [t / sum(map(len, p)) for t, p in zip(times, sized, strict=True)]
        print(
            f"  {label}: {per[0] * 1e6:.2f} -> {per[1] * 1e6:.2f} us/char ({per[1] / per[0]:.2f}x)"
        )
    print("\nmost answer text not yet shown while streaming, long script (40k chars):")
    parts = deltas(answers()["long script"])
    for label, make in (("HtmlFencer", HtmlFencer), ("HTMLParser lexer", ParserFencer)):
        print(f"  {label}: {held_back(make, parts)} chars")


if __name__ == "__main__":
    main()
