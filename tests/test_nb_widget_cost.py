"""The chat widget's cost line before Send, its bounded transcript and its Enter-sends script."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from glmv_ui.engines.scripted import ScriptedEngine
from glmv_ui.media.budget import estimate_visual_tokens
from glmv_ui.media.ingest import ingest
from glmv_ui.nb.page_scripts import SUBMIT
from glmv_ui.nb.widget import TRANSCRIPT_HEIGHT, ChatWidget
from glmv_ui.notebook import sample_files

NOW = datetime(2025, 1, 1, tzinfo=UTC)


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory):
    return sample_files(tmp_path_factory.mktemp("samples"))


def _entry(name: str, data: bytes) -> dict[str, object]:
    return {
        "name": name,
        "type": "",
        "size": len(data),
        "content": memoryview(data),
        "last_modified": NOW,
    }


@pytest.mark.slow  # decodes media and generates
def test_the_cost_shows_when_files_are_attached_and_send_reuses_the_copy(files) -> None:
    widget = ChatWidget(ScriptedEngine("glm4v"))
    tokens = estimate_visual_tokens(ingest([files.photo]))
    widget.upload.value = (_entry("photo.png", files.photo.read_bytes()),)
    assert f"about {tokens:,} visual tokens of 57,344 available" in widget.cost.value
    assert "photo.png" in widget.cost.value
    widget.text.value = "What is it?"
    assert widget.send_from_ui()
    assert widget.wait(30)
    assert widget.cost.value == ""  # sent: the line goes with the files
    assert [p.name for p in Path(widget._tmp).iterdir()] == ["upload-1.png"]
    # Earlier media count: the same photo again costs twice as much in all.
    assert f"about {2 * tokens:,} visual tokens" in widget.cost_of([files.photo])
    widget.close()


def test_a_file_that_would_be_refused_says_so_before_send() -> None:
    widget = ChatWidget(ScriptedEngine("glm4v"))
    widget.upload.value = (_entry("holiday.jpg", b"nope!"),)
    assert "not sendable: holiday.jpg" in widget.cost.value
    assert widget.history == []
    widget.upload.value = ()
    assert widget.cost.value == ""
    widget.close()


def test_the_transcript_is_bounded_and_enter_sends(files) -> None:
    widget = ChatWidget(ScriptedEngine("glm4v"))
    assert widget.transcript.layout.max_height == TRANSCRIPT_HEIGHT
    assert widget.transcript.layout.overflow == "auto"
    assert "glmv-chat" in widget.view._dom_classes
    assert "glmv-chat-input" in widget.text._dom_classes
    assert "glmv-send" in widget.send_button._dom_classes
    (script,) = widget._scripts.outputs
    js = script["data"]["application/javascript"]
    assert 'e.key !== "Enter" || e.shiftKey' in js
    assert "button.glmv-send" in js
    assert "Shift+Enter" in widget.text.placeholder
    widget.close()


def test_the_enter_mark_sends_the_text_without_it() -> None:
    widget = ChatWidget(ScriptedEngine("glm4v"))
    widget.text.value = "line one\nline two"  # Shift+Enter: a newline, nothing sent
    assert widget.history == []
    widget.text.value = "line one\nline two" + SUBMIT  # what Enter writes into the box
    assert widget.wait(30)
    assert [t.text for t in widget.history] == ["line one\nline two"]
    assert widget.text.value == ""
    # Refused (nothing to send): the mark is dropped, nothing is added.
    widget.text.value = SUBMIT
    assert widget.text.value == ""
    assert len(widget.history) == 1
    assert "type a message" in widget.error
    widget.close()
