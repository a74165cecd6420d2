"""Every reason a user can see: a template with named values, in English and in Chinese.

The rule for Chinese text: once the file names are taken out, the only Latin words left are those
a Chinese interface writes in Latin letters too (:data:`LATIN_IN_ZH`): file formats (PDF, MP4,
...), units (MB), product names (LibreOffice, PowerPoint, Office), and the technical words the
app's Chinese labels already use (token) or that name what the user must type or look for
(JSON, base64, null, true, false, http(s), data:, HTTP).
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

import glmv_ui
from glmv_ui.config import MediaLimits
from glmv_ui.engines.scripted import ScriptedEngine
from glmv_ui.errors import ConversationError, GlmvError, MediaBudgetError, MediaError
from glmv_ui.export import from_json
from glmv_ui.media import ingest
from glmv_ui.reasons import TEMPLATES, Joined, fields, reason, render
from glmv_ui.session import Session
from glmv_ui.ui.attach import read_attachments, refusal_text
from glmv_ui.ui.reasons_zh import ZH, reason_text
from glmv_ui.ui.settings import MediaChoice
from tests.mediafiles import image_file, video_file

LATIN_IN_ZH = {
    "PDF",
    "PPTX",
    "PPT",
    "ODP",
    "JPEG",
    "PNG",
    "WebP",
    "GIF",
    "BMP",
    "TIFF",
    "SVG",
    "HEIC",
    "AVIF",
    "MP4",
    "MOV",
    "WebM",
    "AVI",
    "MKV",
    "ZIP",
    "JSON",
    "MB",
    "LibreOffice",
    "PowerPoint",
    "Office",
    "token",
    "base64",
    "null",
    "true",
    "false",
    "http",
    "s",
    "data",
    "HTTP",
}
SEPARATORS = {"", "_list", "_or", "_comma"}


def english_words(text: str, names: tuple[str, ...] = ()) -> list[str]:
    """The Latin words of ``text`` that the Chinese rule above does not allow, once ``names``
    (file names, parts of a deck) are taken out."""
    for name in sorted(names, key=len, reverse=True):
        text = text.replace(name, "")
    return [w for w in re.findall(r"[A-Za-z][A-Za-z0-9]*", text) if w not in LATIN_IN_ZH]


def test_every_template_has_a_chinese_one_with_the_same_fields() -> None:
    assert set(ZH) == set(TEMPLATES)
    for key, english in TEMPLATES.items():
        assert fields(ZH[key]) == fields(english), key


def test_chinese_templates_hold_no_english_words() -> None:
    for key, text in ZH.items():
        literal = re.sub(r"\{[^}]*\}", "", text)
        assert english_words(literal) == [], key


def test_no_template_asks_a_question_or_quotes_a_library() -> None:
    for key in TEMPLATES:
        for text in (TEMPLATES[key], ZH[key]):
            assert "?" not in text, key
            assert "？" not in text, key
            assert "not processed" not in text, key
            assert "Error" not in text, key


def test_a_reason_about_a_file_reads_after_its_name() -> None:
    # "scan.pdf: is damaged, ..." and "scan.pdf was not attached: it is damaged, ..."
    verbs = {"is", "has", "holds", "cannot", "could", "does", "would", "took", "was", "points"}
    about_a_file = [
        key
        for key in TEMPLATES
        if key.split(".")[0] in ("file", "rules", "image", "pdf", "slides", "deck", "video", "url")
        or key.startswith("budget.over")
    ]
    assert len(about_a_file) > 50
    for key in about_a_file:
        assert TEMPLATES[key].split()[0] in verbs, key


def _reason_calls() -> list[tuple[str, str, set[str], bool]]:
    """(file, key, keyword names, has **values) of every ``reason("key", ...)`` in the package;
    a key written as ``"a" if cond else "b"`` counts as both."""
    calls = []
    root = Path(glmv_ui.__file__).parent
    for path in sorted(root.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if not (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Name)
                and node.func.id == "reason"
            ):
                continue
            first = node.args[0]
            branches = [first.body, first.orelse] if isinstance(first, ast.IfExp) else [first]
            names = {k.arg for k in node.keywords if k.arg is not None}
            spread = any(k.arg is None for k in node.keywords)
            for branch in branches:
                where = f"{path.name}:{node.lineno}: the key must be written out"
                assert isinstance(branch, ast.Constant), where
                assert isinstance(branch.value, str), where
                calls.append((f"{path.name}:{node.lineno}", branch.value, names, spread))
    return calls


def test_every_reason_in_the_code_names_a_template_and_all_its_values() -> None:
    calls = _reason_calls()
    assert len(calls) > 80
    for where, key, names, spread in calls:
        assert key in TEMPLATES, f"{where}: no template {key!r}"
        wanted = set(fields(TEMPLATES[key]))
        assert names <= wanted if spread else names == wanted, f"{where}: {key}"
    unused = set(TEMPLATES) - SEPARATORS - {key for _, key, _, _ in calls}
    assert unused == set()


def test_numbers_keep_their_format_in_both_languages() -> None:
    why = reason("message.too_long", length=300_000, limit=262_144, context=65_536)
    assert "300,000 characters; at most 262,144" in str(why)
    assert "300,000 个字符" in render(why, ZH)
    assert "65,536 token" in render(why, ZH)
    size = reason("file.too_large", size_mb=1234.4, limit_mb=1000)
    assert str(size).startswith("is 1,234 MB; uploads are limited to 1,000 MB")
    assert render(size, ZH).startswith("大小为 1,234 MB")


def test_nested_reasons_and_lists_are_written_in_the_same_language() -> None:
    hints = Joined((reason("budget.pages"), reason("budget.new")))
    why = reason("budget.over", total=9_000, budget=8_000, context=10_000, hints=hints)
    assert str(why).endswith(
        "context; choose a page range or fewer pages; start a new conversation"
    )
    assert render(why, ZH).endswith("请选择页码范围或减少页数；新建对话")


def test_the_exception_keeps_english_and_the_app_renders_chinese(tmp_path: Path) -> None:
    with pytest.raises(MediaError) as info:
        ingest([image_file(tmp_path, "wide.png", size=(4020, 10))])
    exc = info.value
    assert exc.source == "wide.png"
    assert exc.wording.key == "image.aspect"
    assert str(exc) == f"wide.png: {exc.reason}"
    assert exc.reason == str(exc.wording)
    assert reason_text(exc, "en") == str(exc)
    assert reason_text(exc, "zh") == (
        "wide.png：尺寸为 4020×10 像素，长宽比超过了模型接受的 200:1；请裁成几段后分别上传"
    )
    assert reason_text(exc, "zh", subject=False).startswith("尺寸为")
    plain = GlmvError("nothing to regenerate yet")
    assert reason_text(plain, "zh") == "nothing to regenerate yet"  # no template: as written
    assert reason_text(ValueError("x"), "zh") == "x"


def test_import_refusals_render_where_and_what_in_chinese() -> None:
    with pytest.raises(ConversationError) as info:
        from_json(
            '{"format": "glmv-workbench/conversation", "turns": [{"parts": '
            '[{"kind": "audio", "source": "a.wav"}]}]}',
            "c.json",
        )
    assert (
        str(info.value) == "c.json: turn 1, part 1: 'kind' must be one of image, video, not 'audio'"
    )
    assert reason_text(info.value, "zh") == (
        "c.json：第 1 轮第 1 部分：'kind' 必须是 image、video 之一，而不是 'audio'"
    )


def test_a_message_too_long_is_refused_in_the_session_language() -> None:
    session = Session(ScriptedEngine("glm4v"))
    with pytest.raises(MediaBudgetError) as info:
        session.submit("word " * 200_000)
    text = reason_text(info.value, "zh")
    assert text.startswith("消息有 999,999 个字符")
    assert english_words(text) == []


def test_a_damaged_second_video_is_called_damaged_not_one_too_many(tmp_path: Path) -> None:
    first = ingest([video_file(tmp_path, "first.mp4", frames=10)])
    good = video_file(tmp_path, "good.mp4", frames=20)
    cut = tmp_path / "cut.mp4"
    cut.write_bytes(good.read_bytes()[:200])  # no index: the container cannot be opened
    with pytest.raises(MediaError) as info:
        ingest([cut], names=["second.mp4"], existing=first)
    assert info.value.wording.key == "video.unreadable"
    assert "one video" not in str(info.value)
    with pytest.raises(
        MediaBudgetError,
        match=r"^good.mp4: cannot join this conversation, "
        r"which already holds a video",
    ):
        ingest([good], existing=first)


def test_the_attachment_line_names_the_file_and_reads_in_both_languages(tmp_path: Path) -> None:
    good = video_file(tmp_path, "clip.mp4", frames=10)
    cut = tmp_path / "broken.mp4"
    cut.write_bytes(good.read_bytes()[:200])
    att = read_attachments([str(good), str(cut)], [], MediaChoice(MediaLimits()))
    refused = att.refused
    assert [f.name for f in refused] == ["broken.mp4"]
    assert refusal_text(refused[0], "en").startswith(
        "**broken.mp4** was not attached: it is not a readable video: it is damaged"
    )
    zh = refusal_text(refused[0], "zh")
    assert zh.startswith("**broken.mp4** 未能附加：不是可读取的视频")
    assert english_words(zh, ("broken.mp4",)) == []
