"""The notebook chat widget driven from Python, the rich reply display and open_app."""

from __future__ import annotations

import sys
import threading
import types
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

import glmv_ui
from glmv_ui.engines.local import LocalEngine
from glmv_ui.engines.scripted import ScriptedEngine
from glmv_ui.notebook import (
    PHOTO_OBJECTS,
    ChatWidget,
    Reply,
    ask,
    load,
    open_app,
    sample_files,
    show_reply,
)
from glmv_ui.session import Session
from tests.helpers import drain

GLM41_REPLY = (
    "<think>The user wants the ball.</think><answer>The red ball is at "
    "<|begin_of_box|>[125,521,281,729]<|end_of_box|>.</answer>"
)
NOW = datetime(2025, 1, 1, tzinfo=UTC)
HTML_REPLY = (
    "<think>Build it.</think><answer>Here is the page:\n"
    "<!DOCTYPE html><html><head><title>Shop</title></head><body><h1>Acme</h1>"
    "<script>document.title='x'</script></body></html></answer>"
)


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory):
    return sample_files(tmp_path_factory.mktemp("samples"))


def test_send_streams_answer_and_history_grows(files) -> None:
    engine = ScriptedEngine(
        "glm4v", [GLM41_REPLY, "<think>Again.</think><answer>Second."], chunk_size=4
    )
    widget = ChatWidget(engine)
    assert widget.send("Where is the red ball?", files=[files.photo])
    assert widget.wait(120)
    assert widget.error == ""
    assert len(widget.history) == 1
    assert widget.history[0].status == "done"
    assert widget.conversation.turns is widget.history  # the chat's one record
    assert "The red ball is at" in widget.answer
    # The finished reply is in the transcript: box highlighted, image drawn, thinking folded.
    assert '<mark class="glmv-box">[125,521,281,729]</mark>' in widget.output
    assert "data:image/png;base64," in widget.output
    assert "<details><summary>" in widget.output
    assert "The user wants the ball." in widget.output
    assert widget.last_reply is not None
    assert len(widget.last_reply.boxes) == 1
    assert widget.send("And now?")
    assert widget.wait(120)
    assert len(widget.history) == 2
    assert widget.answer == "Second."
    # The second prompt carried the first answer (without its thinking) as history.
    messages = engine.requests[-1].messages
    assert [m.role for m in messages] == ["user", "assistant", "user"]
    assert "The user wants the ball" not in messages[1].content
    assert widget.stop_button.disabled
    assert not widget.send_button.disabled


def test_redraws_are_coalesced() -> None:
    reply = "<think>" + "step " * 60 + "</think><answer>" + "word " * 60 + "</answer>"
    engine = ScriptedEngine("glm4v", [reply], chunk_size=1)
    widget = ChatWidget(engine, clock=lambda: 0.0)  # a frozen clock: only the first draw is due
    assert widget.send("go")
    assert widget.wait(120)
    assert widget.draws == 1  # not one redraw per chunk (~600 chunks)
    assert widget.answer.startswith("word word")


def test_stop_mid_stream_keeps_partial() -> None:
    pause = threading.Event()
    engine = ScriptedEngine(
        "glm4v_moe",
        ["Partial answer that would go on and on."],
        chunk_size=8,
        pause=pause,
        pause_after=1,
    )
    widget = ChatWidget(engine)
    assert widget.send("Tell me a long story")
    assert widget.busy
    widget.stop()
    pause.set()
    assert widget.wait(120)
    turn = widget.history[-1]
    assert turn.status == "cancelled"
    assert turn.raw == "Partial "
    assert widget.answer == "Partial"
    assert "Partial" in widget.output
    assert "stopped" in widget.output
    # The conversation goes on after a stop.
    engine.enqueue("Fine.")
    assert widget.send("Shorter, please")
    assert widget.wait(120)
    assert widget.answer == "Fine."
    assert len(widget.history) == 2


def test_bad_upload_names_file_and_keeps_history(tmp_path: Path) -> None:
    engine = ScriptedEngine("glm4v", ["<think>a</think><answer>First.</answer>"])
    widget = ChatWidget(engine)
    assert widget.send("Hi")
    assert widget.wait(120)
    bad = tmp_path / "broken.pdf"
    bad.write_bytes(b"%PDF-1.7\nthis is not really a pdf")
    assert widget.send("Read this", files=[bad]) is False
    assert "broken.pdf" in widget.error
    assert "broken.pdf" in widget.output  # the message is shown in the widget too
    assert len(widget.history) == 1
    assert widget.history[0].raw.endswith("First.</answer>")
    engine.enqueue("<think>b</think><answer>Second works.</answer>")
    assert widget.send("Never mind")
    assert widget.wait(120)
    assert widget.error == ""
    assert widget.answer == "Second works."
    assert len(widget.history) == 2


def test_upload_control_writes_private_copy_under_extension(files) -> None:
    engine = ScriptedEngine("glm4v", [GLM41_REPLY])
    widget = ChatWidget(engine)
    data = files.photo.read_bytes()
    widget.upload.value = (
        {
            "name": "../../my photo.PNG",
            "type": "image/png",
            "size": len(data),
            "content": memoryview(data),
            "last_modified": NOW,
        },
    )
    widget.text.value = "Where is the red ball?"
    assert widget.send_from_ui()
    assert widget.wait(120)
    part = widget.history[0].parts[0]
    assert part.source == "../../my photo.PNG"  # the user's name is only shown
    stored = list(Path(widget._tmp).iterdir())
    assert [p.name for p in stored] == ["upload-1.png"]
    assert widget.text.value == ""
    assert widget.upload.value == ()
    widget.close()
    assert not Path(widget._tmp).exists()


def test_bad_upload_from_control_names_original_file() -> None:
    widget = ChatWidget(ScriptedEngine("glm4v"))
    widget.upload.value = (
        {
            "name": "holiday.jpg",
            "type": "image/jpeg",
            "size": 5,
            "content": memoryview(b"nope!"),
            "last_modified": NOW,
        },
    )
    widget.text.value = "What is this?"
    assert widget.send_from_ui() is False
    assert "holiday.jpg" in widget.error
    # The text stays for another try; the refused file is cleared so it is not sent again.
    assert widget.history == []
    assert widget.text.value == "What is this?"
    assert widget.upload.value == ()
    widget.text.value = "What is this, then?"
    assert widget.send_from_ui()
    assert widget.wait(120)
    assert len(widget.history) == 1


def test_thinking_control_matches_family() -> None:
    w41 = ChatWidget(ScriptedEngine("glm4v"))
    assert w41.thinking_mode == "budget"
    assert not hasattr(w41, "thinking")
    assert w41.current_sampling().thinking_budget is None
    w41.thinking_limit.value = True
    assert w41.thinking_budget.disabled is False
    w41.thinking_budget.value = 256
    assert w41.current_sampling().thinking_budget == 256

    engine45 = ScriptedEngine("glm4v_moe", ["<think></think>Quick."])
    w45 = ChatWidget(engine45)
    assert w45.thinking_mode == "toggle"
    assert not hasattr(w45, "thinking_budget")
    assert w45.temperature.value == pytest.approx(0.3)  # GLM-4.5V's family defaults
    w45.thinking.value = False
    w45.top_k.value = 5
    assert w45.send("hi")
    assert w45.wait(120)
    sent = engine45.requests[-1].sampling
    assert sent.thinking is False
    assert sent.top_k == 5


def test_widget_on_tiny_model_real_path(tiny45) -> None:
    widget = ChatWidget(LocalEngine(tiny45))
    widget.max_new_tokens.value = 12
    assert widget.send("Describe it")
    assert widget.wait(120)
    assert widget.error == ""
    turn = widget.history[-1]
    assert turn.status == "done"
    assert turn.stats.generated_tokens >= 1
    assert "generated" in widget.output  # the stats line


def test_reply_html_has_sandboxed_preview() -> None:
    reply = Reply.from_raw(HTML_REPLY)
    assert reply.html is not None
    assert "<h1>Acme</h1>" in reply.html
    page = reply._repr_html_()
    assert page is not None
    assert '<iframe sandbox="allow-scripts"' in page
    assert "allow-same-origin" not in page
    # The page itself is only inside srcdoc (escaped), never live in the notebook.
    assert "<script>document.title" not in page
    assert "```html" in reply._repr_markdown_()


def test_reply_draws_boxes_on_referred_image(files) -> None:
    from PIL import Image

    photo = Image.open(files.photo).convert("RGB")
    blank = Image.new("RGB", (200, 100), "white")
    x1, y1, x2, y2 = PHOTO_OBJECTS["blue box"]
    raw = (
        f"<think>t</think><answer>In image 2 the blue box is "
        f"<|begin_of_box|>[{x1},{y1},{x2},{y2}]<|end_of_box|></answer>"
    )
    reply = Reply.from_raw(raw, images=[blank, photo])
    assert reply.image_index == 1
    drawn = reply.annotated_image()
    assert drawn.size == photo.size
    left = round(x1 * photo.width / 1000)
    mid_y = round((y1 + y2) / 2 * photo.height / 1000)
    assert drawn.getpixel((left, mid_y)) != photo.getpixel((left, mid_y))  # the outline
    html = reply._repr_html_()
    assert html is not None
    assert "data:image/png;base64," in html
    assert "image 2 of 2" in html
    assert '<mark class="glmv-box">' in html
    assert '"boxes"' in reply.boxes_json()
    assert f'"x1": {x1}' in reply.boxes_json()


def test_reply_escapes_model_markup_and_draws_actions(files) -> None:
    from PIL import Image

    shot = Image.open(files.screenshot).convert("RGB")
    raw = "<think>t</think><answer><img src=x onerror=alert(1)> left_click(start_box='[500,640]')"
    reply = Reply.from_raw(raw, images=[shot])
    html = reply.to_html()
    assert "<img src=x" not in html
    assert "&lt;img src=x" in html
    assert [a.name for a in reply.actions] == ["left_click"]
    assert reply.annotated_image() is not None
    assert "left_click" in html


def test_show_reply_and_ask_return_replies(files) -> None:
    engine = ScriptedEngine("glm4v", [GLM41_REPLY, GLM41_REPLY])
    session = Session(engine)
    update = drain(session.submit("Where?", session.attach([files.photo])))
    shown = show_reply(update)  # outside a kernel display() prints; it must not fail
    assert isinstance(shown, Reply)
    assert len(shown.boxes) == 1
    assert len(shown.images) == 1
    reply = ask(session, "Again?", max_new_tokens=500)
    assert reply.boxes
    assert len(session.turns) == 2
    assert engine.requests[-1].sampling.max_new_tokens == 500
    assert reply.images
    assert reply.annotated_image() is not None


def test_open_app_hands_over_engine(tiny41, monkeypatch: pytest.MonkeyPatch) -> None:
    seen: dict[str, Any] = {}

    class _App:
        def launch(self, **kwargs: object) -> None:
            seen["launch"] = kwargs

    def create_app(config: object, engine: object = None) -> _App:
        seen["config"], seen["engine"] = config, engine
        return _App()

    stub = types.SimpleNamespace(create_app=create_app)
    # Both places an import can find the module: sys.modules and the package attribute (set
    # once any earlier test imported the real app).
    monkeypatch.setitem(sys.modules, "glmv_ui.ui", stub)
    monkeypatch.setattr(glmv_ui, "ui", stub, raising=False)
    engine = LocalEngine(tiny41)
    open_app(engine, quiet=True)
    assert seen["engine"] is engine
    assert seen["config"].model == "tiny-glm41v"
    assert seen["config"].load == tiny41.options
    assert seen["launch"] == {"quiet": True, "inline": True, "prevent_thread_lock": True}


@pytest.mark.slow  # starts the Gradio app
def test_open_app_shares_loaded_model(tiny41) -> None:
    from glmv_ui.models import default_cache, load_model

    before = default_cache().loaded()
    widget = ChatWidget(LocalEngine(tiny41))
    app = open_app(widget, server_name="127.0.0.1", quiet=True)
    try:
        assert default_cache().loaded() == before  # nothing new loaded
        served = app.glmv_model.engine
        assert served.loaded.model is tiny41.model is load_model("tiny-glm41v").model
        assert app.glmv_model.state == "ready"
    finally:
        app.close()


@pytest.mark.slow  # needs torch or transformers
def test_load_shows_text_progress_outside_a_kernel(capsys: pytest.CaptureFixture[str]) -> None:
    from glmv_ui.config import LoadOptions
    from glmv_ui.models import ModelCache

    cache = ModelCache()
    loaded = load("tiny-glm41v", cache=cache)
    out = capsys.readouterr().out
    assert "100%" in out
    assert "tiny-glm41v ready (glm4v" in out
    assert load("tiny-glm41v", cache=cache, progress=False) is loaded  # cached, not reloaded
    quantized = load(
        "tiny-glm41v", options=LoadOptions(quantization="4bit"), cache=cache, progress=False
    )
    assert quantized.options.quantization == "4bit"  # options are not overridden by default
