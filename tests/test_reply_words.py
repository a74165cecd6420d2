"""Reply states and names in words (pure): an empty answer gets a notice, the stats line in
both languages, a finished turn without a thinking time reads "Thought", file names as chosen."""

from __future__ import annotations

import pytest

from glmv_ui.engines.base import Stats
from glmv_ui.reply import build_reply
from glmv_ui.ui.strips import display_name
from glmv_ui.ui.views import reply_messages, stats_line, thinking_message


def test_an_empty_answer_has_a_notice_and_a_real_one_none() -> None:
    empty = build_reply("<think>Hmm.</think><answer></answer>", status="done")
    assert [n.kind for n in empty.notices] == ["empty"]
    text = reply_messages(empty)[-1]["content"]["text"]
    assert "The model gave an empty answer" in text
    assert build_reply("<think>x</think><answer>Four.</answer>", status="done").notices == ()
    # Stopped or failed before a word: that notice, not "empty".
    stopped = build_reply("", status="cancelled")
    assert [n.kind for n in stopped.notices] == ["stopped"]


def test_the_stats_line_in_both_languages() -> None:
    stats = Stats(
        prompt_tokens=120,
        visual_tokens=100,
        generated_tokens=7,
        time_to_first_token_s=0.5,
        tokens_per_s=12.25,
    )
    assert stats_line(stats, "en") == stats.summary()
    zh = stats_line(stats, "zh")
    assert zh == "提示 120 个 token (视觉 100) · 生成 7 个 · 首个 token 0.50 秒 · 12.2 token/秒"


def test_a_finished_turn_without_a_time_reads_thought() -> None:
    reply = build_reply("<think>Adding.</think><answer>Four.</answer>", status="done")
    assert reply.thinking_seconds is None
    assert thinking_message(reply)["metadata"]["title"] == "Thought"
    assert thinking_message(reply, "zh")["metadata"]["title"] == "已思考"


def test_file_names_keep_the_characters_browsers_escape() -> None:
    assert display_name("report %22final%22.pdf") == 'report "final".pdf'
    assert display_name("100%25 sure.png") == "100%25 sure.png"  # nothing else is decoded


def test_a_gui_action_lists_its_own_box_and_element() -> None:
    from PIL import Image

    from glmv_ui.ui.views import legend_markdown

    raw = (
        "<answer>CLICK(point=(150, 340), box=[[100,300,200,380]], element_info='Dinners')</answer>"
    )
    reply = build_reply(raw, [Image.new("RGB", (400, 300), "white")])
    (row,) = reply.legend()
    assert row.label == 'CLICK "Dinners"'
    assert row.grid == (150.0, 340.0)
    assert row.box == (100.0, 300.0, 200.0, 380.0)
    assert row.box_pixels == (40, 90, 80, 114)
    legend = legend_markdown(reply.legend())
    assert 'CLICK "Dinners"' in legend
    assert "150, 340 · [100, 300, 200, 380]" in legend
    # The box is drawn: its outline colour lies on the box's left edge.
    drawn = reply.annotated_image().convert("RGB")
    assert drawn.getpixel((40, 100)) != (255, 255, 255)


@pytest.mark.slow  # imports Gradio for a pure function
def test_a_long_reply_is_redrawn_less_often() -> None:
    from glmv_ui.ui.chat import FRAME_SECONDS, frame_interval

    assert frame_interval(0) == frame_interval(2_000) == FRAME_SECONDS
    assert frame_interval(131_000) > 10 * FRAME_SECONDS
    assert frame_interval(262_000) == 2 * frame_interval(131_000)
