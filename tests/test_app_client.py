"""The app launched in-process and driven through gradio_client, as an API user would."""

from __future__ import annotations

import itertools
import threading
from typing import Any

import pytest
from gradio_client import Client, handle_file

from glmv_ui.config import AppConfig, Sampling
from glmv_ui.engines.scripted import ScriptedEngine
from glmv_ui.messages import SystemMessage, TextPart, UserMessage

REPLY = (
    "<think>Checking the picture.</think><answer>A {word} answer, long enough to stream.</answer>"
)


def _client(demo: Any) -> Client:
    return Client(demo.local_url, verbose=False)


def _texts(message: dict[str, Any]) -> str:
    content = message["content"]
    parts = content if isinstance(content, list) else [content]
    return "".join(p.get("text", "") for p in parts if isinstance(p, dict))


def _notice(outputs: tuple[Any, ...]) -> str:
    """The message beside the input: the last output of every generating endpoint."""
    update = outputs[-1]
    return str(update.get("value") or "") if update.get("visible") else ""


def _answers(chat: list[dict[str, Any]]) -> list[str]:
    return [_texts(m) for m in chat if m["role"] == "assistant" and not m.get("metadata")]


@pytest.mark.slow
def test_streaming_is_cumulative_on_the_tiny_model(launch_app: Any) -> None:
    demo = launch_app(AppConfig(model="tiny-glm41v"))
    assert demo.glmv_model.wait(120), demo.glmv_model.error
    client = _client(demo)
    assert "tiny-glm41v" in client.predict(api_name="/model_status")
    job = client.submit(
        {"text": "Describe the picture.", "files": []},
        temperature=1.0,
        top_p=1.0,
        top_k=50,
        max_new_tokens=400,
        seed=7,
        api_name="/chat",
    )
    outputs = [out[0] for out in job]
    assert len(outputs) >= 2
    for before, after in itertools.pairwise(outputs):
        assert len(after) >= len(before)
        # each streamed message keeps what it showed and may only grow (the last step adds
        # the stats line; boxes and HTML are post-processed only at the end)
        for a, b in zip(before[: len(before)], after, strict=False):
            assert _texts(b).startswith(_texts(a).rstrip()) or a["role"] == "user"
    final = outputs[-1]
    assert final[0]["role"] == "user"
    assert "prompt tokens" in "".join(_answers(final))


def test_stop_ends_only_its_own_session(scripted_app: tuple[Any, ScriptedEngine]) -> None:
    demo, engine = scripted_app
    pause = threading.Event()
    engine.pause, engine.pause_after = pause, 2
    engine.enqueue(REPLY.format(word="first"), REPLY.format(word="second"))
    a, b = _client(demo), _client(demo)
    job_a = a.submit({"text": "one", "files": []}, api_name="/chat")
    next(iter(job_a))  # A is streaming and now held by the pause
    job_b = b.submit({"text": "two", "files": []}, api_name="/chat")
    a.predict(api_name="/stop")
    pause.set()
    chat_a = job_a.result()[0]
    chat_b = job_b.result()[0]
    assert "Stopped" in _answers(chat_a)[-1]
    assert "first answer" not in _answers(chat_a)[-1]
    assert _answers(chat_b)[0].startswith("A second answer, long enough to stream.")
    assert demo.glmv_sessions is not None
    assert len(demo.glmv_sessions) == 2


def test_regenerate_edit_undo(scripted_app: tuple[Any, ScriptedEngine]) -> None:
    demo, engine = scripted_app
    engine.enqueue(*(REPLY.format(word=w) for w in ("first", "second", "third")))
    client = _client(demo)
    chat = client.predict({"text": "question one", "files": []}, api_name="/chat")[0]
    assert "first answer" in _answers(chat)[0]
    chat = client.predict(api_name="/regenerate")[0]
    assert len(_answers(chat)) == 1
    assert "second answer" in _answers(chat)[0]
    chat = client.predict(0, "question edited", api_name="/edit")[0]
    assert [_texts(m) for m in chat if m["role"] == "user"] == ["question edited"]
    assert "third answer" in _answers(chat)[0]
    last_prompt = engine.requests[-1].messages[-1]
    assert isinstance(last_prompt, UserMessage)
    assert TextPart("question edited") in last_prompt.content
    chat, restored, *_ = client.predict(api_name="/undo")
    assert chat == []
    assert restored["text"] == "question edited"


def test_bad_upload_names_the_file_and_the_session_goes_on(
    scripted_app: tuple[Any, ScriptedEngine], tmp_path: Any
) -> None:
    demo, engine = scripted_app
    engine.enqueue(REPLY.format(word="good"), REPLY.format(word="later"))
    bad = tmp_path / "broken-scan.pdf"
    bad.write_bytes(b"%PDF-1.4\nthis is not really a pdf")
    client = _client(demo)
    client.predict({"text": "hello", "files": []}, api_name="/chat")
    refused = client.predict(
        {"text": "read this", "files": [handle_file(str(bad))]}, api_name="/chat"
    )
    assert "broken-scan.pdf" in _notice(refused)
    assert "not a readable PDF" in _notice(refused)
    assert refused[1] == {"text": "read this", "files": []}  # the file is taken off
    assert len(engine.requests) == 1  # nothing was sent
    chat = client.predict({"text": "and now?", "files": []}, api_name="/chat")[0]
    answers = _answers(chat)
    assert len(answers) == 2
    assert "later answer" in answers[1]


def test_sending_before_the_model_is_ready_says_so(launch_app: Any) -> None:
    demo = launch_app(AppConfig(model="tiny-glm41v"), preload=False)
    client = _client(demo)
    assert "still loading" in _notice(client.predict({"text": "hi", "files": []}, api_name="/chat"))


def test_a_model_that_cannot_load_leaves_the_app_serving(launch_app: Any, tmp_path: Any) -> None:
    demo = launch_app(AppConfig(model=str(tmp_path / "no-such-model")))
    assert not demo.glmv_model.wait(60)
    client = _client(demo)
    status = client.predict(api_name="/model_status")
    assert "Could not load" in status
    assert "What to do" in status
    assert "could not be loaded" in _notice(
        client.predict({"text": "hi", "files": []}, api_name="/chat")
    )


def test_settings_reach_the_engine(scripted_app: tuple[Any, ScriptedEngine]) -> None:
    demo, engine = scripted_app
    client = _client(demo)
    client.predict(
        {"text": "hi", "files": []},
        thinking=True,
        thinking_budget=512,
        temperature=0.2,
        top_p=0.5,
        top_k=3,
        repetition_penalty=1.05,
        max_new_tokens=64,
        seed=11,
        system_prompt="Be brief.",
        api_name="/chat",
    )
    request = engine.requests[-1]
    assert request.sampling == Sampling(
        temperature=0.2,
        top_p=0.5,
        top_k=3,
        repetition_penalty=1.05,
        max_new_tokens=64,
        seed=11,
        thinking=True,
        thinking_budget=512,
    )
    assert request.messages[0] == SystemMessage("Be brief.")


def test_gui_agent_action_is_drawn_on_the_screenshot(
    scripted_app: tuple[Any, ScriptedEngine], tmp_path: Any
) -> None:
    from PIL import Image

    demo, engine = scripted_app
    engine.enqueue(
        "<think>The Wi-Fi switch is on the right.</think><answer>"
        "Action: left_click(start_box='[800,250]')</answer>"
    )
    shot = tmp_path / "phone.png"
    Image.new("RGB", (360, 640), "white").save(shot)
    chat = _client(demo).predict(
        {"text": "Turn on Wi-Fi.", "files": [handle_file(str(shot))]}, api_name="/chat"
    )[0]
    drawn = [
        p
        for m in chat
        for p in (m["content"] if isinstance(m["content"], list) else [])
        if isinstance(p, dict) and p.get("type") == "file"
    ]
    assert drawn, chat
    assert drawn[-1]["alt_text"] == "Actions drawn on phone.png", chat
    path = drawn[-1]["file"]
    image = Image.open(path if isinstance(path, str) else path["path"]).convert("RGB")
    assert image.size == (360, 640)
    # The click lands at 80% of the width and 25% of the height: marked there, not elsewhere.
    x, y = round(0.8 * 360), round(0.25 * 640)
    around = [image.getpixel((x + dx, y + dy)) for dx in range(-12, 13) for dy in range(-12, 13)]
    assert any(px != (255, 255, 255) for px in around)
    assert image.getpixel((20, 600)) == (255, 255, 255)


def test_api_callers_see_named_parameters(scripted_app: tuple[Any, ScriptedEngine]) -> None:
    demo, _ = scripted_app
    api = _client(demo).view_api(return_format="dict", print_info=False)["named_endpoints"]
    names = [p["parameter_name"] for p in api["/chat"]["parameters"]]
    assert names[:4] == ["message", "thinking", "thinking_budget", "temperature"]
    assert "max_new_tokens" in names
    assert "system_prompt" in names
    assert not any(
        n.startswith("param_")
        for e in api.values()
        for n in (p["parameter_name"] for p in e["parameters"])
    )


def test_mcp_server_lists_the_tools_made_for_it(launch_app: Any) -> None:
    import httpx

    demo = launch_app(
        AppConfig(model="glm4v", engine="scripted", mcp_server=True), ScriptedEngine("glm4v")
    )
    schema = httpx.get(demo.local_url.rstrip("/") + "/gradio_api/mcp/schema", timeout=30).json()
    tools = {tool["name"] for tool in schema if tool["meta"]["mcp_type"] == "tool"}
    assert {"ask", "model_info"} <= tools
    assert "chat" not in tools  # the page's endpoints keep per-tab state: not MCP tools
