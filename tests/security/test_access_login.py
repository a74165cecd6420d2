"""One login for every route: the page, the API, the file route and the MCP mount; MCP clients
log in with a header and can then use every tool; wrong passwords are throttled."""

from __future__ import annotations

import base64
import contextlib
import json
from typing import Any

import httpx
import pytest

from glmv_ui.config import AppConfig
from glmv_ui.engines.scripted import ScriptedEngine
from tests.conftest import run_async

pytestmark = pytest.mark.slow

LOGINS = "alice:wonderland-7,op:s3cret-op"


def _basic(user: str, password: str) -> dict[str, str]:
    token = base64.b64encode(f"{user}:{password}".encode()).decode()
    return {"Authorization": f"Basic {token}"}


@pytest.fixture
def guarded(launch_app: Any) -> tuple[Any, ScriptedEngine]:
    engine = ScriptedEngine("glm4v", chunk_size=16)
    demo = launch_app(
        AppConfig(model="glm4v", engine="scripted", mcp_server=True, auth=LOGINS), engine
    )
    return demo, engine


def test_mcp_mount_and_file_route_need_a_login(guarded: Any) -> None:
    demo, _ = guarded
    base = demo.local_url.rstrip("/")
    paths = [
        "/gradio_api/mcp/schema",
        "/gradio_api/mcp/sse",
        "/gradio_api/mcp/",
        "/gradio_api/mcp/http/",
        "/mcp/",
        "/gradio_api/file=/etc/passwd",
        "/gradio_api/info",
        "/config",
        "/gradio_api/upload",
    ]
    with httpx.Client(timeout=30) as client:
        for path in paths:
            response = client.get(base + path, headers={"Accept": "text/event-stream"})
            assert response.status_code in (401, 403, 405), (path, response.status_code)
            assert "load_model" not in response.text, path
        listing = client.get(
            base + "/gradio_api/mcp/schema", headers=_basic("alice", "wonderland-7")
        )
        assert listing.status_code == 200
        assert "ask" in listing.text
        wrong = client.get(base + "/gradio_api/mcp/schema", headers=_basic("alice", "nope"))
        assert wrong.status_code == 401


async def _tools(url: str, headers: dict[str, str] | None) -> tuple[set[str], dict[str, Any]]:
    from mcp import ClientSession
    from mcp.client.streamable_http import streamable_http_client
    from mcp.shared._httpx_utils import create_mcp_http_client

    async with contextlib.AsyncExitStack() as stack:
        client = await stack.enter_async_context(create_mcp_http_client(headers=headers))
        read, write, _ = await stack.enter_async_context(
            streamable_http_client(url, http_client=client)
        )
        session = await stack.enter_async_context(ClientSession(read, write))
        await session.initialize()
        tools = {t.name for t in (await session.list_tools()).tools}
        call = await session.call_tool("ask", {"text": "hello there"})
        assert not call.isError, call.content
        info = await session.call_tool("model_info", {})
        assert not info.isError, info.content
        return tools, json.loads(call.content[0].text)


def test_an_mcp_client_with_a_login_uses_every_tool(guarded: Any) -> None:
    demo, engine = guarded
    engine.enqueue("<answer>hi from the model</answer>")
    url = demo.local_url.rstrip("/") + "/gradio_api/mcp/"
    tools, answer = run_async(_tools(url, _basic("alice", "wonderland-7")))
    assert {"ask", "model_info"} <= tools
    assert "load_model" not in tools
    assert answer["answer"].startswith("hi from the model")


def test_an_mcp_client_without_a_login_is_refused(guarded: Any) -> None:
    demo, engine = guarded
    url = demo.local_url.rstrip("/") + "/gradio_api/mcp/"
    with pytest.raises(BaseException) as caught:  # noqa: PT011 - an ExceptionGroup from the task group
        run_async(_tools(url, None))
    assert "401" in repr(caught.value) or "Unauthorized" in repr(caught.value), caught.value
    assert engine.requests == []


def test_wrong_passwords_are_throttled_then_even_the_right_one_waits(guarded: Any) -> None:
    demo, _ = guarded
    base = demo.local_url.rstrip("/")
    with httpx.Client(timeout=30) as client:
        codes = [
            client.post(
                base + "/login", data={"username": "alice", "password": f"guess{i}"}
            ).status_code
            for i in range(30)
        ]
        assert codes[:5] == [400] * 5, codes
        assert set(codes[6:]) == {429}, codes
        right = client.post(base + "/login", data={"username": "alice", "password": "wonderland-7"})
        assert right.status_code == 429
        assert int(right.headers["retry-after"]) >= 1
        assert "too many failed logins" in right.json()["detail"]
        # The header login of programs counts against the same record.
        header = client.get(
            base + "/gradio_api/mcp/schema", headers=_basic("alice", "wonderland-7")
        )
        assert header.status_code == 429
        # Another user from another address is not locked out by alice's record... but from
        # this address the address record applies too.
        other = client.post(base + "/login", data={"username": "op", "password": "s3cret-op"})
        assert other.status_code == 429


def test_the_right_password_logs_in_before_the_limit(guarded: Any) -> None:
    demo, _ = guarded
    base = demo.local_url.rstrip("/")
    with httpx.Client(timeout=30) as client:
        for i in range(3):
            assert (
                client.post(
                    base + "/login", data={"username": "alice", "password": f"x{i}"}
                ).status_code
                == 400
            )
        ok = client.post(base + "/login", data={"username": "alice", "password": "wonderland-7"})
        assert ok.status_code == 200
        assert client.get(base + "/config").status_code == 200


# What the login page itself needs before anyone has logged in.
LOGIN_PAGE = {
    "/",
    "/favicon.ico",
    "/manifest.json",
    "/robots.txt",
    "/theme.css",
    "/gradio_api/theme.css",
    "/logout",
    "/gradio_api/token",
    "/gradio_api/token/",
    "/gradio_api/user",
    "/gradio_api/user/",
}


def test_every_route_but_the_login_page_needs_a_login(guarded: Any) -> None:
    import re

    demo, engine = guarded
    base = demo.local_url.rstrip("/")
    paths: set[str] = set()

    def walk(routes: Any, prefix: str = "") -> None:
        for route in routes:
            path = getattr(route, "path", None) or ""
            inner = getattr(route, "routes", None)
            included = getattr(route, "original_router", None)  # FastAPI's include_router
            if included is not None:
                path = getattr(route.include_context, "prefix", "") or ""
                inner = included.routes
            if inner and not hasattr(route, "endpoint"):
                walk(inner, prefix + path)
            if path:
                paths.add(prefix + path)

    walk(demo.server_app.routes)
    assert len(paths) > 40, sorted(paths)
    assert any("mcp" in p for p in paths), sorted(paths)
    open_routes = []
    with httpx.Client(timeout=10) as client:
        for path in sorted(paths):
            url = base + re.sub(r"\{[^}]+\}", "x", path)
            for method in ("GET", "POST"):
                response = client.request(method, url, headers={"Accept": "text/event-stream"})
                if response.status_code < 300 and path not in LOGIN_PAGE:
                    open_routes.append((method, path, response.status_code))
                if path in ("/gradio_api/user", "/gradio_api/token"):  # open, and tell nothing
                    assert "alice" not in response.text
                    assert '"op"' not in response.text
    assert open_routes == []
    assert engine.requests == []
    # Gradio's startup call, made by the launch itself, is behind the login once made.
    with httpx.Client(timeout=10) as client:
        assert client.get(base + "/gradio_api/startup-events").status_code == 401
        logged_in = client.get(
            base + "/gradio_api/startup-events", headers=_basic("alice", "wonderland-7")
        )
        assert logged_in.status_code == 200
        assert logged_in.json() is False
