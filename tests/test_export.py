"""Export / import of conversations: JSON round trip, Markdown, LLaMA-Factory records."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

import pytest

from glmv_ui.engines.base import Stats
from glmv_ui.errors import ConversationError
from glmv_ui.export import from_json, to_json, to_llamafactory, to_markdown, write_export
from glmv_ui.media.parts import MediaPart
from glmv_ui.prompt import Turn
from tests.helpers import red_image

RAW41 = ("<think>The players wear red.</think><answer>They are at "
         "<|begin_of_box|>[10,20,300,400]<|end_of_box|>.</answer>")


def _turns() -> list[Turn]:
    image = MediaPart(kind="image", source="team.png", image=red_image())
    page = MediaPart(kind="image", source="doc.pdf", image=red_image(60, 80, "blue"), page=2,
                     page_count=3)
    return [
        Turn("Who are they?", [image, page], raw=RAW41, status="done",
             stats=Stats(prompt_tokens=120, visual_tokens=100, generated_tokens=30),
             settings={"temperature": 0.3, "top_p": 0.6, "api_key": "sk-secret"}),
        Turn("And now?", [], raw="<think>Hmm", status="cancelled"),
    ]


def test_json_round_trip_keeps_text_media_raw_and_settings() -> None:
    turns = _turns()
    text = to_json(turns, model="m", family="glm4v", system_prompt="Be brief.")
    back = from_json(text)
    assert back.model == "m" and back.system_prompt == "Be brief."
    assert [t.text for t in back.turns] == ["Who are they?", "And now?"]
    assert back.turns[0].raw == RAW41 and back.turns[1].status == "cancelled"
    assert back.turns[0].stats == turns[0].stats
    first, second = back.turns[0].parts
    assert first.source == "team.png" and first.image.getpixel((5, 5)) == (255, 0, 0)
    assert second.page == 2 and second.page_count == 3 and second.image.size == (60, 80)
    assert back.turns[0].settings == {"temperature": 0.3, "top_p": 0.6}


def test_exports_never_hold_api_keys(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GLMV_API_KEY", "sk-secret")
    for fmt in ("json", "markdown", "llamafactory"):
        path = write_export(_turns(), fmt, tmp_path / fmt, model="m")
        data = path.read_bytes()
        if fmt == "llamafactory":
            with zipfile.ZipFile(path) as zf:
                data = zf.read("data.json")
        assert b"sk-secret" not in data and b"api_key" not in data


def test_llamafactory_record_follows_the_readme_example() -> None:
    record, files = to_llamafactory(_turns(), "glm4v")
    # the cancelled turn without an answer is left out; thinking removed, <answer> kept (4.1V)
    assert record["messages"] == [
        {"role": "user", "content": "<image><image>Who are they?"},
        {"role": "assistant",
         "content": "<answer>They are at <|begin_of_box|>[10,20,300,400]<|end_of_box|>."
                    "</answer>"},
    ]
    assert record["images"] == ["images/0000.png", "images/0001.png"]
    assert [name for name, _ in files] == record["images"]
    record45, _ = to_llamafactory(_turns()[:1], "glm4v_moe", include_thinking=True)
    assert record45["messages"][1]["content"].startswith("<think>\nThe players wear red.</think>")
    assert "<answer>" not in record45["messages"][1]["content"]


def test_video_frames_become_a_video_entry(tmp_path: Path) -> None:
    video = MediaPart(kind="video", source="clip.mp4", frames=(red_image(), red_image()),
                      timestamps=(0.0, 0.5))
    turn = Turn("What happens?", [video], raw="<think></think>A red screen.", status="done")
    record, files = to_llamafactory([turn], "glm4v_moe")
    assert record["messages"][0]["content"] == "<video>What happens?"
    assert record["videos"] == [["images/0000.png", "images/0001.png"]] and len(files) == 2
    path = write_export([turn], "llamafactory", tmp_path, family="glm4v_moe")
    with zipfile.ZipFile(path) as zf:
        assert json.loads(zf.read("data.json"))[0] == record
        assert set(zf.namelist()) == {"data.json", "images/0000.png", "images/0001.png"}
    back = from_json(to_json([turn]))
    assert back.turns[0].parts[0].timestamps == (0.0, 0.5)


def test_markdown_lists_media_and_folds_thinking() -> None:
    md = to_markdown(_turns(), model="GLM-4.1V")
    assert "# Conversation with GLM-4.1V" in md
    assert "*image: doc.pdf p. 2*" in md
    assert "<details><summary>Thinking</summary>" in md
    assert "Stopped" in md and "120 prompt tokens" in md


def test_import_refuses_other_files() -> None:
    with pytest.raises(ConversationError, match="not a JSON file"):
        from_json("{nope", "x.json")
    with pytest.raises(ConversationError, match="not a conversation"):
        from_json('{"turns": []}', "x.json")
