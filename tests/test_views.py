"""Pure view functions: messages, thinking blocks, strips, legends, labels."""

from __future__ import annotations

from glmv_ui.engines.base import Stats
from glmv_ui.media.parts import MediaPart
from glmv_ui.reply import LegendRow, Reply, ReplyStream, build_reply
from glmv_ui.ui.i18n import STRINGS, t
from glmv_ui.ui.strips import format_time, group_caption, group_parts, strip_image
from glmv_ui.ui.views import legend_markdown, thinking_message, turn_messages
from tests.helpers import red_image


def _pages(n: int) -> list[MediaPart]:
    return [
        MediaPart(kind="image", source="doc.pdf", image=red_image(100, 140), page=i + 1)
        for i in range(n)
    ]


def test_thinking_block_is_pending_then_done_with_duration() -> None:
    stream = ReplyStream()
    stream.feed("<think>hmm")
    live = thinking_message(stream.snapshot())
    assert live["metadata"] == {"title": "Thinking", "status": "pending"}
    done = thinking_message(build_reply("<think>hmm</think>ok", thinking_seconds=2.345))
    assert done["metadata"]["status"] == "done"
    assert done["metadata"]["duration"] == 2.3
    cut = thinking_message(build_reply("<think>x", status="done"))
    assert cut["metadata"]["title"].startswith("Thinking (cut off")


def test_turn_messages_order_and_text_parts() -> None:
    image = MediaPart(kind="image", source="a.png", image=red_image(200, 100))
    reply = build_reply(
        "<think>t</think>  indented\n    code [10,20,300,400]",
        [image],
        stats=Stats(prompt_tokens=5),
    )
    msgs = turn_messages("hi", [("/tmp/s.png", "a.png · 1 page")], reply, "/tmp/b.png")
    roles = [m["role"] for m in msgs]
    assert roles == ["user", "user", "user", "assistant", "assistant", "assistant", "assistant"]
    assert msgs[0]["content"]["path"] == "/tmp/s.png"
    # text goes as a typed part so indentation survives (no cleandoc)
    assert msgs[4]["content"]["text"].startswith("indented\n    code")
    assert "5 prompt tokens" in msgs[4]["content"]["text"]
    assert msgs[5]["content"]["path"] == "/tmp/b.png"
    assert "Boxes drawn on a.png" in msgs[6]["content"]["text"]


def test_cancelled_and_failed_turns_say_so() -> None:
    stopped = turn_messages("q", [], build_reply("part", status="cancelled"))
    assert "Stopped" in stopped[-1]["content"]["text"]
    failed = turn_messages("q", [], build_reply("", status="error", error="boom"), lang="zh")
    assert "回答失败：boom" in failed[-1]["content"]["text"]


def test_token_limit_is_said_in_words_not_a_bare_reason() -> None:
    reply = build_reply("an answer that", stats=Stats(generated_tokens=64, finish_reason="length"))
    text = turn_messages("q", [], reply)[-1]["content"]["text"]
    assert "reached the token limit (64 tokens)" in text
    assert not text.rstrip("</div>").endswith("length")


def test_pages_group_and_strip_caps_tiles() -> None:
    parts = [*_pages(12), MediaPart(kind="image", source="cat.png", image=red_image())]
    groups = group_parts(parts)
    assert [len(g) for g in groups] == [12, 1]
    strip = strip_image(groups[0])
    assert strip.height > 150
    assert strip.width < 12 * 120
    assert "pages 1–12 of 12" in group_caption(groups[0])
    assert "visual tokens" in group_caption(groups[1])


def test_video_strip_and_caption_show_times() -> None:
    frames = tuple(red_image(64, 48) for _ in range(20))
    video = MediaPart(
        kind="video", source="clip.mp4", frames=frames, timestamps=tuple(i * 0.5 for i in range(20))
    )
    assert "20 frames, 0:00.0–0:09.5" in group_caption([video])
    assert strip_image([video]).width > 8 * 60
    assert format_time(75.25) == "1:15.2"


def test_answer_markdown_highlights_boxes_and_legend_has_colours() -> None:
    assert Reply(text="plain").markdown() == "plain"
    shown = build_reply("<|begin_of_box|>[1,2,300,400]<|end_of_box|> here").markdown()
    assert '<mark class="glmv-box">[1,2,300,400]</mark>' in shown
    rows = [LegendRow("box", 1, "car|x", "#e6194b", (1, 2, 300, 400), (0, 0, 30, 40))]
    legend = legend_markdown(rows)
    assert "#e6194b" in legend
    assert "car\\|x" in legend


def test_every_label_exists_in_both_languages() -> None:
    assert set(STRINGS["en"]) == set(STRINGS["zh"])
    assert t("zh", "stop") == "停止"
    assert t("fr", "stop") == "Stop"


def test_family_guess_reads_the_checkpoint_config_not_the_name(tmp_path) -> None:
    import shutil

    from glmv_ui.config import AppConfig
    from glmv_ui.tiny import ensure_tiny_checkpoint
    from glmv_ui.ui.model import guess_family

    # A GLM-4.5V checkpoint in a folder whose name says nothing (or says 4.1V).
    folder = tmp_path / "GLM-4.1V-copy"
    shutil.copytree(ensure_tiny_checkpoint("tiny-glm45v"), folder)
    assert guess_family(AppConfig(model=str(folder))) == "glm4v_moe"
    assert guess_family(AppConfig(model="zai-org/GLM-4.5V")) == "glm4v_moe"
    assert guess_family(AppConfig(model="tiny-glm41v")) == "glm4v"
