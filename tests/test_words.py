"""One wording system: what the core says is a Reason, each view renders it in its language.

Notes on uploads, notices on replies and the thinking block's title are records; the app's
captions, the notebook and the export write them from the same templates, no sentence is held
in two tables, and no view reads a rendered sentence back to decide something.
"""

from __future__ import annotations

import ast
import base64
import io
import json
import re
from pathlib import Path

from PIL import Image

import glmv_ui
from glmv_ui.config import MediaLimits
from glmv_ui.conversation import Conversation, Turn
from glmv_ui.engines.base import Stats
from glmv_ui.export import from_json, to_json, to_markdown
from glmv_ui.media import ingest
from glmv_ui.media.dataurl import data_url
from glmv_ui.media.parts import MediaPart
from glmv_ui.nb.render import reply_html
from glmv_ui.reasons import TEMPLATES, Reason, plain, reason
from glmv_ui.reply import build_reply, thinking_title
from glmv_ui.ui.i18n import STRINGS
from glmv_ui.ui.reasons_zh import ZH
from glmv_ui.ui.strips import group_caption, group_parts
from glmv_ui.ui.views import reply_messages, thinking_message
from tests.helpers import red_image
from tests.mediafiles import pdf_file

VIEWS = ("ui", "nb", "export.py", "cli.py")


def _words(text: str) -> str:
    return " ".join(re.sub(r"\{[^}]*\}", "{}", text).split())


def test_no_sentence_is_in_two_tables() -> None:
    for lang, reasons in (("en", TEMPLATES), ("zh", ZH)):
        said = {_words(text) for key, text in reasons.items() if not key.startswith("_") and key}
        labels = {_words(text) for text in STRINGS[lang].values()}
        assert said & labels == set(), lang


def test_no_view_reads_a_rendered_sentence_back() -> None:
    """The old caption code split an English note to find out whether it named a range; a
    view now asks the record (``note.key``), so no string test on notes or notices is left."""
    root = Path(glmv_ui.__file__).parent
    files: list[Path] = []
    for view in VIEWS:
        path = root / view
        files += sorted(path.rglob("*.py")) if path.is_dir() else [path]
    assert len(files) > 10
    for path in files:
        source = path.read_text(encoding="utf-8")
        assert "NOTICE_TEXT" not in source, path.name
        for node in ast.walk(ast.parse(source)):
            if not isinstance(node, ast.Compare):
                continue
            for side in (node.left, *node.comparators):
                # `... in note`, `... in str(notice)`, `" used" in ...`: reading words back.
                names = {n.id for n in ast.walk(side) if isinstance(n, ast.Name)}
                attrs = {n.attr for n in ast.walk(side) if isinstance(n, ast.Attribute)}
                assert not names & {"note", "notice", "notes", "notices"} or not any(
                    isinstance(op, ast.In | ast.NotIn) for op in node.ops
                ), f"{path.name}:{node.lineno}"
                assert not attrs & {"notes", "notices", "wording"} or not any(
                    isinstance(op, ast.In | ast.NotIn) for op in node.ops
                ), f"{path.name}:{node.lineno}"


def test_a_pdf_cut_to_its_cap_says_so_once_in_either_language(tmp_path: Path) -> None:
    parts = ingest([pdf_file(tmp_path, pages=7)], MediaLimits(max_pdf_pages=3))
    assert all(isinstance(n, Reason) for p in parts for n in p.notes)
    assert [n.key for n in parts[0].notes] == ["note.pages_capped"]
    (group,) = group_parts(parts)
    en = group_caption(group, "en")
    assert en.startswith("doc.pdf · pages 1–3 of 7 · ~")
    assert "of 7 used" not in en  # the reader's range note is the caption's own range: shown once
    assert "not all 7 pages are used" in en
    zh = group_caption(group, "zh")
    assert "第 1–3 页（共 7 页）" in zh
    assert not re.search(r"pages|used|of 7", zh)


def test_a_note_that_is_not_a_range_is_shown_in_the_chosen_language() -> None:
    note = reason("note.downscaled", width=4000, height=3000, new_width=1000, new_height=750)
    part = MediaPart(kind="image", source="big.png", image=red_image(100, 75), notes=(note,))
    assert group_caption([part], "en").endswith("*downscaled from 4000x3000 to 1000x750 pixels*")
    assert group_caption([part], "zh").endswith("*已从 4000×3000 像素缩小到 1000×750 像素*")


def test_notes_are_written_in_english_and_read_back_as_written() -> None:
    note = reason("note.time_range", start=1.0, end=3.0, duration=5.0)
    part = MediaPart(kind="image", source="a.png", image=red_image(), notes=(note,))
    written = json.loads(to_json(Conversation([Turn("q", [part], raw="a", status="done")])))
    assert written["turns"][0]["parts"][0]["notes"] == ["1–3 s of 5.0 s used"]
    back = from_json(json.dumps(written)).turns[0].parts[0]
    assert back.notes == (plain("1–3 s of 5.0 s used"),)
    assert group_caption([back], "zh").endswith("*1–3 s of 5.0 s used*")  # the file's words


def test_the_thinking_title_is_the_same_on_the_page_the_notebook_and_the_export() -> None:
    raw = "<think>Adding.</think><answer>Four.</answer>"
    reply = build_reply(raw, thinking_seconds=2.345)
    title = thinking_title(reply)
    assert (title.wording.key, title.done, title.seconds) == ("thinking.done", True, 2.345)
    page = thinking_message(reply)["metadata"]
    assert page == {"title": "Thought", "status": "done", "duration": 2.3}
    assert "<summary>Thought for 2.3 s</summary>" in reply_html(reply)
    turn = Turn("2+2?", [], raw=raw, status="done", thinking_seconds=2.345)
    assert "<details><summary>Thought for 2.3 s</summary>" in to_markdown(Conversation([turn]))
    assert thinking_message(reply, "zh")["metadata"]["title"] == "已思考"
    cut = build_reply("<think>" + "more " * 10, status="done")
    assert thinking_title(cut).wording == reason("thinking.cut")
    assert "<summary>Thinking (cut off at the token limit)</summary>" in reply_html(cut)


def test_a_failed_reply_escapes_the_error_not_the_sentence() -> None:
    reply = build_reply("", status="error", error="*boom* [x](http://h)")
    (notice,) = reply.notices
    assert notice.wording == reason("notice.failed", detail="*boom* [x](http://h)")
    body = reply_messages(reply)[-1]["content"]["text"]
    assert body.startswith("**The reply failed: \\*boom\\*")
    assert "](http" not in body
    long = build_reply("an", stats=Stats(generated_tokens=12_345, finish_reason="length"))
    assert long.notices[0].text() == (
        "The answer reached the token limit (12,345 tokens) and may be incomplete."
    )
    assert "12,345 个 token" in reply_messages(long, lang="zh")[-1]["content"]["text"]


def test_one_encoder_for_every_data_url() -> None:
    image = Image.new("RGB", (1600, 400), "blue")
    png = data_url(image)
    assert png.startswith("data:image/png;base64,")
    small = Image.open(io.BytesIO(base64.b64decode(data_url(image, max_width=800).split(",")[1])))
    assert small.size == (800, 200)
    jpeg = data_url(image.convert("RGBA"), "jpeg")
    assert jpeg.startswith("data:image/jpeg;base64,")
    decoded = Image.open(io.BytesIO(base64.b64decode(jpeg.split(",")[1])))
    assert (decoded.format, decoded.mode) == ("JPEG", "RGB")
