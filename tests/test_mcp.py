"""MCP clients (the real ``mcp`` package) against the launched app: the tools made for them, files
by URL, and two clients that never see each other's conversation."""

from __future__ import annotations

import base64
import contextlib
import io
import json
from typing import Any

import pytest

from glmv_ui.config import AppConfig
from glmv_ui.engines.scripted import ScriptedEngine
from glmv_ui.messages import TextPart, UserMessage, media_of
from tests.conftest import run_async

pytestmark = pytest.mark.slow


def _png_data_url(color: str) -> str:
    from PIL import Image

    buf = io.BytesIO()
    Image.new("RGB", (96, 64), color).save(buf, format="PNG")
    return "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode()


async def _session(stack: contextlib.AsyncExitStack, url: str) -> Any:
    from mcp import ClientSession
    from mcp.client.streamable_http import streamable_http_client

    read, write, _ = await stack.enter_async_context(streamable_http_client(url))
    session = await stack.enter_async_context(ClientSession(read, write))
    await session.initialize()
    return session


def _result(call: Any) -> dict[str, Any]:
    assert not call.isError, call.content
    return json.loads(call.content[0].text)


def _user_texts(request: Any) -> list[str]:
    return [
        p.text
        for m in request.messages
        if isinstance(m, UserMessage)
        for p in m.content
        if isinstance(p, TextPart)
    ]


def test_two_mcp_clients_each_have_their_own_conversation(launch_app: Any) -> None:
    engine = ScriptedEngine("glm4v", chunk_size=16)
    engine.enqueue(
        *(
            f"<think>t</think><answer>answer {i} "
            "<|begin_of_box|>[10,20,300,400]<|end_of_box|></answer>"
            for i in range(4)
        )
    )
    demo = launch_app(AppConfig(model="glm4v", engine="scripted", mcp_server=True), engine)
    url = demo.local_url.rstrip("/") + "/gradio_api/mcp/"

    async def scenario() -> None:
        async with contextlib.AsyncExitStack() as stack:
            a, b = await _session(stack, url), await _session(stack, url)
            tools = {t.name for t in (await a.list_tools()).tools}
            assert {"ask", "model_info"} <= tools
            assert not tools & {"chat", "clear", "export", "undo", "stop", "regenerate"}
            info = json.loads((await a.call_tool("model_info", {})).content[0].text)
            assert info["family"].startswith("GLM-4.1V")
            assert info["state"] == "ready"

            first = _result(
                await a.call_tool(
                    "ask", {"text": "alpha: what colour is it?", "files": [_png_data_url("red")]}
                )
            )
            assert first["answer"].startswith("answer 0")
            assert first["boxes"]
            assert next(media_of(engine.requests[-1].messages)).size == (96, 64)
            other = _result(await b.call_tool("ask", {"text": "beta: hello"}))
            assert other["conversation"] != first["conversation"]
            assert _user_texts(engine.requests[-1]) == ["beta: hello"]

            _result(
                await a.call_tool(
                    "ask", {"text": "alpha again", "conversation": first["conversation"]}
                )
            )
            assert _user_texts(engine.requests[-1]) == ["alpha: what colour is it?", "alpha again"]
            _result(
                await b.call_tool(
                    "ask", {"text": "beta again", "conversation": other["conversation"]}
                )
            )
            assert _user_texts(engine.requests[-1]) == ["beta: hello", "beta again"]

            guessed = await b.call_tool("ask", {"text": "x", "conversation": "not-an-id"})
            assert guessed.isError
            assert "unknown or expired" in guessed.content[0].text
            page = await b.call_tool("clear", {})
            assert page.isError

    run_async(scenario())


def test_files_by_url_follow_the_upload_rules_and_stay_off_private_addresses(
    launch_app: Any,
) -> None:
    from gradio_client import Client

    demo = launch_app(AppConfig(model="glm4v", engine="scripted"), ScriptedEngine("glm4v"))
    client = Client(demo.local_url, verbose=False)
    with pytest.raises(Exception, match="private network"):
        client.predict("hi", [demo.local_url + "gradio_api/info"], api_name="/ask")
    with pytest.raises(Exception, match="not an http"):
        client.predict("hi", ["file:///etc/passwd"], api_name="/ask")
    broken = "data:application/pdf;base64," + base64.b64encode(b"%PDF-1.4 broken").decode()
    with pytest.raises(Exception, match=r"attachment-1\.pdf"):
        client.predict("hi", [broken], api_name="/ask")
    result = json.loads(client.predict("hi", [_png_data_url("blue")], api_name="/ask"))
    assert result["answer"] == "Scripted answer."
    assert result["conversation"]
