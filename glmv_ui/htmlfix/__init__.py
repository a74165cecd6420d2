"""Find raw HTML in a model answer and wrap it in a ```html fence, incrementally while it streams.

GLM-V answers to "replicate this web page" sometimes hold a raw HTML document with no code fence,
and sometimes that document arrives with literal ``\\n`` / ``\\"`` escapes. :class:`HtmlFencer`
takes the *answer* deltas (never the thinking) and keeps a repaired copy of the answer in which
the HTML sits in a ```html fence, ready for Markdown rendering and for the preview. Standard
library only; no work at import time.

Rules, each pinned by a test in ``tests/test_htmlfix.py``:

1. **Detection runs on the growing answer, not per chunk.** The final text never depends on how
   the answer was split; while streaming, text that might start an HTML region is held back until
   it is decided (a few characters, at most :data:`VALIDATION_WINDOW` characters after a
   block-level tag), so the opening fence always appears before the first tag.
2. **Where HTML may start** (outside code blocks, outside inline code, outside ``<think>``):
   ``<!DOCTYPE html`` anywhere, or a tag at the start of a line (after indentation only) whose
   name is one of: *document* tags ``html`` / ``head`` / ``body``; *paired* tags ``style`` /
   ``script``; *block* tags (``div``, ``section``, ``header``, ``nav``, ``main``, ``article``,
   ``aside``, ``footer``, ``form``, ``table``, ``ul``, ``ol``, ``svg``, ``canvas``, ``template``,
   ``meta``, ``link``, ``title``). Inline tags (``<br>``, ``<b>``, ``<sub>``) never start HTML,
   and neither do generics such as ``List<String>`` or comparisons such as ``a < b``.
3. **What confirms it**, read from the opener on: ``<!DOCTYPE html>`` must be followed, after only
   whitespace, by another tag (``<html>``, ``<head>``, ``<!-- -->`` ...); a document tag is
   confirmed the same way, or by one more tag at the start of a line; a paired tag by one more
   tag at the start of a line (its closing tag counts); a block tag by four line-leading tags in
   all (so a lone ``<div align="center">`` around an image in Markdown stays prose). A literal
   ``\\n`` counts as a line break here. It is refused when :data:`VALIDATION_WINDOW` characters
   pass unconfirmed, when a blank line is followed by a line that does not start with ``<``
   (a prose paragraph), when a code fence starts, or when the answer ends first.
4. **The fence** is ```html on its own line: a line-start opener's indentation goes inside the
   fence; text before a mid-line ``<!DOCTYPE`` stays on its line and the fence starts a new one.
   HTML that itself contains a line of three backticks is not handled (the fence would end there).
5. **Escapes** (``\\n``, ``\\t``, ``\\r``, ``\\"``, ``\\'``, ``\\/``, ``\\\\``) are undone only
   inside an HTML region that is clearly escaped, decided once from its start: the first of
   three literal ``\\n`` (escaped when at most one real newline came before) or three real newlines
   (not escaped); when neither comes within :data:`ESCAPE_WINDOW` characters or before the region
   ends, it is escaped when it has more literal ``\\n`` than real newlines. Escaped blank
   space (``\\n``, ``\\t``, spaces) right after an escaped ``</html>`` is dropped. Prose, LaTeX
   (``\\neq``, ``\\nabla``, ``\\nu``) and code blocks are never touched.
6. **Where HTML ends**: right after ``</html>``; or, for a region that is not escaped, at a line
   break where every opened element is closed, the last thing was a closing tag, and the next
   non-blank line does not start with a known tag, a comment or a doctype (so ``</answer>`` or a
   prose sentence ends it). An escaped region ends only at ``</html>``. Whatever is still open
   when the answer finishes is closed at the end. Prose after the closing fence starts on a new
   line. ``<script>``, ``<style>``, ``<textarea>`` and ``<title>`` contents and quoted attribute
   values are skipped when counting elements.
7. **Existing code blocks** (``` or ~~~, any info string) pass through untouched, and nothing is
   detected inside them; :attr:`HtmlFencer.html` returns the content of the first block whose
   info string is ``html`` / ``htm`` / ``xhtml``, or of an unlabelled block that starts with a
   doctype, ``<html>`` or a rule-2 tag, when no raw HTML region came before it.
8. ``<think>…</think>`` passes through untouched, in case a caller feeds the raw reply.
9. **Cost**: each :meth:`HtmlFencer.feed` works on the held-back text plus the delta only, so
   the work per delta does not grow with the answer; :attr:`HtmlFencer.text` joins new output
   once per change and is free to read again.

The parts, one job each; only the fencer knows the others:

- ``_buffer``: the answer as it streams in; every part keeps absolute offsets into the answer,
  and only the buffer knows how much of its start was dropped once emitted;
- ``_prose``: prose, where openers are looked for (rule 2), and the code blocks and thinking
  that pass through (rules 7, 8);
- ``_validate``: whether a candidate opener really starts HTML (rule 3);
- ``_escape``: whether a region is escaped, and reading an escaped region (rule 5);
- ``_lexer``: where a plain region ends (rule 6), a hand-written lexer: one built on
  :class:`html.parser.HTMLParser` took about twice the time over long pages, and held a
  ``<script>`` body back until its end tag, searching it again on every delta (figures in
  ``bench/RESULTS.md``);
- ``_output``: the repaired text and where its code blocks lie (:attr:`HtmlFencer.html`);
- ``_fencer``: :class:`HtmlFencer`, which drives the parts, switches mode and writes the
  fences (rule 4);
- ``_syntax``: the tag names and patterns the parts share; ``_region``: the seam a region
  scanner fills.
"""

from __future__ import annotations

from ._fencer import HtmlFencer
from ._syntax import ESCAPE_WINDOW, VALIDATION_WINDOW

__all__ = ["ESCAPE_WINDOW", "VALIDATION_WINDOW", "HtmlFencer", "extract_html", "fence_html"]


def fence_html(answer: str) -> str:
    """The whole answer with raw HTML fenced (HtmlFencer fed once, then finished)."""
    fencer = HtmlFencer()
    fencer.feed(answer)
    fencer.finish()
    return fencer.text


def extract_html(answer: str) -> str | None:
    """The HTML page in an answer (a raw region or an existing html code block), or None."""
    fencer = HtmlFencer()
    fencer.feed(answer)
    fencer.finish()
    return fencer.html
