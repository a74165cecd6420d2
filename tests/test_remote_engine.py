"""The remote engine against a real OpenAI-compatible server (``transformers serve`` on a tiny
checkpoint) and, for answers that server never gives (split reasoning, malformed chunks, error
bodies, a stalled stream, the corners of SSE framing), a small scripted SSE server on loopback."""

from __future__ import annotations

import io
import json
import threading
import traceback
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, ClassVar

import pytest

from glmv_ui.config import AppConfig, Sampling
from glmv_ui.engines.base import Chunk, GenerationRequest
from glmv_ui.engines.remote import RemoteEngine, encode_mp4, guess_family
from glmv_ui.errors import ConfigError, EngineConnectionError, GenerationError
from glmv_ui.media.parts import MediaPart
from glmv_ui.messages import user_message
from glmv_ui.stream import parse_raw
from tests.serve_helpers import ServerProcess, free_port, start_transformers_serve

SECRET = "sk-test-0123456789-very-secret"


# -- fixtures ---------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def checkpoint() -> Path:
    from glmv_ui.tiny import ensure_tiny_checkpoint

    return ensure_tiny_checkpoint("tiny-glm41v")


@pytest.fixture(scope="module")
def server(checkpoint: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    srv = start_transformers_serve(checkpoint, tmp_path_factory.mktemp("serve") / "serve.log")
    yield srv
    srv.stop()


def _engine(server: ServerProcess, **kw: Any) -> RemoteEngine:
    kw.setdefault("family", "glm4v_moe")
    return RemoteEngine(server.url, model=server.model, **kw)


def _image(w: int = 112, h: int = 112, color: tuple[int, int, int] = (200, 30, 30)) -> MediaPart:
    from PIL import Image

    return MediaPart(kind="image", source="red.png", image=Image.new("RGB", (w, h), color))


def _video(n: int = 4) -> MediaPart:
    from PIL import Image

    frames = tuple(Image.new("RGB", (112, 84), (i * 50, 80, 160)) for i in range(n))
    return MediaPart(
        kind="video",
        source="clip.mp4",
        frames=frames,
        timestamps=tuple(i * 0.5 for i in range(n)),
        fps=2.0,
        duration=n * 0.5,
    )


def _request(
    text: str = "Describe.", parts: tuple[MediaPart, ...] = (), **sampling: Any
) -> GenerationRequest:
    return GenerationRequest(
        [user_message(text, parts)], Sampling(**{"max_new_tokens": 8, **sampling})
    )


# -- against transformers serve (slow: the server takes 10-20 s to start) ---------------------


@pytest.mark.slow
def test_streams_text_with_stats_from_a_real_server(server: ServerProcess) -> None:
    engine = _engine(server)
    chunks = list(engine.stream(_request(max_new_tokens=12, seed=3)))
    assert chunks[-1].done
    assert not any(c.done for c in chunks[:-1])
    text = "".join(c.text for c in chunks)
    assert text.strip()
    final = chunks[-1].stats
    assert final.finish_reason == "length"
    assert final.generated_tokens == 12  # usage.completion_tokens from the server
    assert final.prompt_tokens > 0
    assert final.time_to_first_token_s is not None
    assert final.tokens_per_s
    # transformers serve refuses top_k / repetition_penalty: dropped once, then remembered.
    assert {"top_k", "repetition_penalty"} <= engine._rejected
    assert "top_k" not in engine.build_body(_request())


@pytest.mark.slow
def test_model_name_is_discovered_when_not_given(server: ServerProcess) -> None:
    engine = RemoteEngine(server.base_url)  # no /v1, no model
    assert engine.endpoint == server.url + "/chat/completions"
    chunks = list(engine.stream(_request(max_new_tokens=3)))
    assert engine.model == server.model
    assert engine.name == server.model
    assert chunks[-1].stats.generated_tokens == 3


@pytest.mark.slow
def test_image_reaches_the_model(server: ServerProcess) -> None:
    engine = _engine(server)
    plain = list(engine.stream(_request(max_new_tokens=2)))[-1].stats
    small = list(engine.stream(_request(parts=(_image(112, 112),), max_new_tokens=2)))[-1].stats
    large = list(engine.stream(_request(parts=(_image(224, 224),), max_new_tokens=2)))[-1].stats
    # The server's processor turned each data URL into visual tokens, more for the larger image.
    assert plain.prompt_tokens < small.prompt_tokens < large.prompt_tokens


@pytest.mark.slow
def test_video_frames_are_sent_as_timestamped_images(server: ServerProcess) -> None:
    engine = _engine(server)
    body = engine.build_body(_request(parts=(_video(4),)))
    content = body["messages"][0]["content"]
    urls = [p["image_url"]["url"] for p in content if p["type"] == "image_url"]
    assert len(urls) == 4
    assert all(u.startswith("data:image/jpeg;base64,") for u in urls)
    labels = [p["text"] for p in content if p["type"] == "text"]
    assert labels[:2] == ["clip.mp4 at 0.0 s:", "clip.mp4 at 0.5 s:"]
    final = list(engine.stream(_request(parts=(_video(4),), max_new_tokens=2)))[-1].stats
    assert final.finish_reason == "length"
    assert final.prompt_tokens > 20


@pytest.mark.slow
def test_stop_closes_the_stream_and_the_server_aborts(server: ServerProcess) -> None:
    engine = _engine(server)
    cancel = threading.Event()
    chunks: list[Chunk] = []
    for chunk in engine.stream(_request(max_new_tokens=8000), cancel):
        chunks.append(chunk)
        if len(chunks) == 3:
            cancel.set()
    assert chunks[-1].done
    assert chunks[-1].stats.finish_reason == "cancelled"
    assert len(chunks) == 4  # cancel is honoured at the very next chunk
    # transformers serve runs one generate at a time, so the next reply could not start before
    # the abandoned 8000 tokens (16 s or more here) unless the disconnect aborted them.
    after = list(engine.stream(_request(max_new_tokens=5)))
    assert after[-1].stats.finish_reason == "length"
    assert after[-1].stats.generated_tokens == 5
    assert after[-1].stats.elapsed_s < 5.0


@pytest.mark.slow
def test_closing_the_generator_closes_the_response(server: ServerProcess) -> None:
    engine = _engine(server)
    gen = engine.stream(_request(max_new_tokens=4000))
    next(gen)
    gen.close()  # type: ignore[attr-defined]  # the consumer went away (a closed browser tab)
    assert list(engine.stream(_request(max_new_tokens=2)))[-1].stats.generated_tokens == 2


@pytest.mark.slow
def test_session_runs_on_the_remote_engine(server: ServerProcess) -> None:
    from glmv_ui.session import Session

    session = Session(_engine(server), sampling=Sampling(max_new_tokens=6))
    updates = list(session.submit("Hello", [_image()]))
    assert updates[-1].done
    assert session.turns[-1].status == "done"
    assert updates[-1].stats.generated_tokens == 6


@pytest.mark.slow
def test_factory_builds_the_remote_engine(server: ServerProcess) -> None:
    from glmv_ui.engines.factory import create_engine

    engine = create_engine(
        AppConfig(engine="remote", remote_url=server.url, remote_model=server.model)
    )
    assert isinstance(engine, RemoteEngine)
    assert engine.model == server.model


@pytest.mark.slow
def test_server_error_is_reported_with_its_message(
    server: ServerProcess, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GLMV_API_KEY", SECRET)
    engine = RemoteEngine(server.url, model="no/such-model")
    with pytest.raises(EngineConnectionError) as info:
        list(engine.stream(_request()))
    message = str(info.value)
    assert "HTTP 400" in message
    assert "no/such-model" in message
    assert server.url in message
    _assert_secret_absent(info.value, engine)


@pytest.mark.slow
def test_server_killed_mid_stream_gives_a_clear_error(checkpoint: Path, tmp_path: Path) -> None:
    srv = start_transformers_serve(checkpoint, tmp_path / "serve.log")
    try:
        engine = _engine(srv, read_timeout_s=30.0)
        received = 0
        with pytest.raises(EngineConnectionError) as info:  # noqa: PT012 - fails mid-stream
            for _chunk in engine.stream(_request(max_new_tokens=4000)):
                received += 1
                if received == 2:
                    srv.process.kill()
                    srv.process.wait(timeout=15)
        assert received >= 2
        assert srv.url in str(info.value)
    finally:
        srv.stop()


def test_nothing_listening_is_a_connection_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MY_KEY", SECRET)
    port = free_port()
    engine = RemoteEngine(
        f"http://127.0.0.1:{port}/v1", model="m", api_key_env="MY_KEY", connect_timeout_s=2.0
    )
    with pytest.raises(EngineConnectionError) as info:
        list(engine.stream(_request()))
    assert f"127.0.0.1:{port}" in str(info.value)
    assert "cannot connect" in str(info.value)
    _assert_secret_absent(info.value, engine)


def _assert_secret_absent(exc: BaseException, engine: RemoteEngine) -> None:
    shown = [
        str(exc),
        repr(exc),
        repr(engine),
        str(vars(engine)),
        json.dumps(engine.build_body(_request()), default=str),
        "".join(traceback.format_exception(type(exc), exc, exc.__traceback__)),
    ]
    for text in shown:
        assert SECRET not in text
    assert "(set)" in repr(engine)


# -- against a scripted SSE server ------------------------------------------------------------


class _Scripted(BaseHTTPRequestHandler):
    """Answers by the requested model name: each scenario is a status, headers and body parts."""

    scenarios: ClassVar[dict[str, Any]] = {}
    bodies: ClassVar[list[dict[str, Any]]] = []
    release = threading.Event()

    def log_message(self, *args: Any) -> None:  # keep test output quiet
        pass

    def do_POST(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        body["_auth"] = self.headers.get("Authorization", "")
        self.bodies.append(body)
        status, ctype, parts = self.scenarios[body["model"]]
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Connection", "close")
        self.end_headers()
        for part in parts:
            if part is None:  # stall until the test ends
                self.release.wait(30)
                return
            self.wfile.write(part.encode())
            self.wfile.flush()


def _sse(*payloads: Any) -> list[str]:
    return [f"data: {p if isinstance(p, str) else json.dumps(p)}\n\n" for p in payloads]


def _delta(**delta: Any) -> dict[str, Any]:
    return {"choices": [{"index": 0, "delta": delta}]}


def _finish(reason: str = "stop", **usage: int) -> dict[str, Any]:
    out: dict[str, Any] = {"choices": [{"index": 0, "delta": {}, "finish_reason": reason}]}
    if usage:
        out["usage"] = usage
    return out


SSE = "text/event-stream"
LS = "line\u2028para\u2029next\x85line"  # separators that str.splitlines() breaks on


@pytest.fixture(scope="module")
def scripted() -> Iterator[str]:
    _Scripted.scenarios = {
        "split": (
            200,
            SSE,
            _sse(
                _delta(role="assistant"),
                _delta(reasoning_content="Look"),
                _delta(reasoning_content="ing."),
                _delta(content="A "),
                _delta(content="cat."),
                _finish("stop"),
                {"choices": [], "usage": {"prompt_tokens": 42, "completion_tokens": 7}},
                "[DONE]",
            ),
        ),
        "reasoning-field": (
            200,
            SSE,
            _sse(_delta(reasoning="Hmm"), _delta(content="Yes"), _finish("stop")),
        ),
        "only-reasoning": (200, SSE, _sse(_delta(reasoning_content="cut off"), _finish("length"))),
        "inline": (
            200,
            SSE,
            _sse(_delta(content="<think>x</think>"), _delta(content="y"), "[DONE]"),
        ),
        "malformed": (200, SSE, _sse(_delta(content="ok"), "{not json")),
        "error-chunk": (200, SSE, _sse(_delta(content="ok"), {"error": "CUDA out of memory"})),
        "bad-delta": (200, SSE, _sse({"choices": [{"delta": "not an object"}]})),
        "early-close": (200, SSE, _sse(_delta(content="par"), _delta(content="tial"))),
        "http500": (
            500,
            "application/json",
            [json.dumps({"error": {"message": "engine overloaded " + "x" * 2000}})],
        ),
        "unauthorized": (
            401,
            "application/json",
            [json.dumps({"error": {"message": f"invalid key {SECRET}"}})],
        ),
        "plain-json": (
            200,
            "application/json",
            [
                json.dumps(
                    {
                        "choices": [
                            {
                                "message": {"content": "whole", "reasoning_content": "r"},
                                "finish_reason": "stop",
                            }
                        ],
                        "usage": {"prompt_tokens": 5, "completion_tokens": 2},
                    }
                )
            ],
        ),
        "stall": (200, SSE, [*_sse(_delta(content="a")), None]),
        # Framing that SSE allows and some servers or proxies use.
        "crlf": (
            200,
            SSE,
            [
                f"data: {json.dumps(_delta(content='a'))}\r\n\r\n",
                f"data:{json.dumps(_delta(content='b'))}\r\rdata: [DONE]\r\n\r\n",
            ],
        ),
        "keep-alive": (
            200,
            SSE,
            [
                ": ping\n\n",
                *_sse(_delta(content="a")),
                ": ping\n\n",
                "id: 7\nretry: 1000\n\n",
                "event: message\n",
                *_sse(_delta(content="b")),
                "data:\n\n",
                "data: [DONE]\n\n",
            ],
        ),
        "multi-line-data": (
            200,
            SSE,
            [
                'data: {"choices": [{"delta":\n',
                'data: {"content": "a\\nb"}}]}\n\n',
                "data: [DONE]\n\n",
            ],
        ),
        # These are legal unescaped in JSON (servers that keep non-ASCII text raw send them so);
        # SSE breaks lines only on CR and LF.
        "line-separator": (
            200,
            SSE,
            [f"data: {json.dumps(_delta(content=LS), ensure_ascii=False)}\n\n", "data: [DONE]\n\n"],
        ),
        "unterminated-done": (
            200,
            SSE,
            [*_sse(_delta(content="a"), _finish("stop")), "data: [DONE]\n"],
        ),
        "unterminated-finish": (
            200,
            SSE,
            [*_sse(_delta(content="a")), f"data: {json.dumps(_finish('stop'))}\n"],
        ),
        "mislabelled": (
            200,
            "text/plain; charset=utf-8",
            _sse(_delta(content="a"), _finish("stop")),
        ),
    }
    _Scripted.release.clear()
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _Scripted)
    httpd.daemon_threads = True
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}/v1"
    _Scripted.release.set()
    httpd.shutdown()
    httpd.server_close()


def _run(url: str, model: str, **kw: Any) -> tuple[str, list[Chunk]]:
    chunks = list(RemoteEngine(url, model=model, family="glm4v_moe", **kw).stream(_request()))
    return "".join(c.text for c in chunks), chunks


def test_split_reasoning_is_folded_into_think_tags(scripted: str) -> None:
    raw, chunks = _run(scripted, "split")
    assert raw == "<think>Looking.</think>A cat."
    parsed = parse_raw(raw)
    assert parsed.thinking == "Looking."
    assert parsed.answer == "A cat."
    final = chunks[-1].stats
    assert (final.prompt_tokens, final.generated_tokens, final.finish_reason) == (42, 7, "stop")


def test_reasoning_field_and_unclosed_reasoning(scripted: str) -> None:
    assert _run(scripted, "reasoning-field")[0] == "<think>Hmm</think>Yes"
    raw, chunks = _run(scripted, "only-reasoning")
    assert raw == "<think>cut off</think>"
    assert chunks[-1].stats.finish_reason == "length"


def test_think_tags_in_content_pass_through(scripted: str) -> None:
    raw, chunks = _run(scripted, "inline")
    assert raw == "<think>x</think>y"
    assert chunks[-1].stats.finish_reason == "stop"


def test_non_streaming_json_reply_is_accepted(scripted: str) -> None:
    raw, chunks = _run(scripted, "plain-json")
    assert raw == "<think>r</think>whole"
    assert chunks[-1].stats.prompt_tokens == 5


@pytest.mark.parametrize(
    ("model", "needle"),
    [
        ("malformed", "malformed chunk: {not json"),
        ("error-chunk", "CUDA out of memory"),
        ("bad-delta", 'malformed chunk: {"choices": [{"delta": "not an object"}]}'),
    ],
)
def test_bad_chunks_become_generation_errors(scripted: str, model: str, needle: str) -> None:
    with pytest.raises(GenerationError) as info:
        _run(scripted, model)
    assert needle in str(info.value)
    assert scripted in str(info.value)


def test_stream_ending_without_finish_is_an_error(scripted: str) -> None:
    with pytest.raises(EngineConnectionError, match="closed the stream before the reply"):
        _run(scripted, "early-close")


@pytest.mark.parametrize(
    ("model", "expected"),
    [
        ("crlf", "ab"),  # CRLF and lone CR line ends; "data:" without its space
        ("keep-alive", "ab"),  # comments, an id/retry-only event, an event name, an empty data
        ("multi-line-data", "a\nb"),  # one event's data lines are joined with a newline
        ("line-separator", LS),
        ("mislabelled", "a"),  # an event stream sent as text/plain is still read as one
    ],
)
def test_sse_framing(scripted: str, model: str, expected: str) -> None:
    raw, chunks = _run(scripted, model)
    assert raw == expected
    assert chunks[-1].stats.finish_reason == "stop"


def test_an_event_without_its_blank_line_at_the_end_is_dropped(scripted: str) -> None:
    # SSE discards an event the stream ends in the middle of. A lost [DONE] after the finish
    # chunk does no harm; a lost finish chunk means the reply may be cut off, and says so.
    raw, chunks = _run(scripted, "unterminated-done")
    assert raw == "a"
    assert chunks[-1].stats.finish_reason == "stop"
    with pytest.raises(EngineConnectionError, match="closed the stream before the reply"):
        _run(scripted, "unterminated-finish")


def test_events_split_across_every_read() -> None:
    import httpx

    # A loopback server cannot make the client's reads split where a test wants, so the
    # engine's transport hands over the stream one byte per read: every split point is hit,
    # inside "data:", between CR and LF, inside JSON and inside a multi-byte character.
    body = "".join(
        [
            ": ping\r\n\r\n",
            *_sse(_delta(reasoning_content="猫 é")),
            f"data: {json.dumps(_delta(content='ok ✓'), ensure_ascii=False)}\r\n\r\n",
            *_sse(_finish("length", prompt_tokens=3, completion_tokens=2)),
        ]
    ).encode()
    seen: list[bytes] = []

    def answer(request: httpx.Request) -> httpx.Response:
        seen.append(request.content)
        return httpx.Response(
            200, headers={"Content-Type": SSE}, content=(body[i : i + 1] for i in range(len(body)))
        )

    engine = RemoteEngine(
        "http://h/v1", model="m", family="glm4v_moe", transport=httpx.MockTransport(answer)
    )
    chunks = list(engine.stream(_request()))
    assert "".join(c.text for c in chunks) == "<think>猫 é</think>ok ✓"
    assert chunks[-1].stats.finish_reason == "length"
    assert chunks[-1].stats.generated_tokens == 2
    assert json.loads(seen[0])["model"] == "m"


def test_http_error_body_is_trimmed(scripted: str) -> None:
    with pytest.raises(EngineConnectionError) as info:
        _run(scripted, "http500")
    message = str(info.value)
    assert "HTTP 500: engine overloaded" in message
    assert len(message) < 700


def test_api_key_is_sent_but_never_shown(scripted: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GLMV_API_KEY", SECRET)
    engine = RemoteEngine(scripted, model="unauthorized")
    with pytest.raises(EngineConnectionError) as info:
        list(engine.stream(_request()))
    assert _Scripted.bodies[-1]["_auth"] == f"Bearer {SECRET}"
    assert "HTTP 401" in str(info.value)
    assert "invalid key ***" in str(info.value)
    _assert_secret_absent(info.value, engine)


@pytest.mark.slow  # waits out a real read timeout
def test_read_timeout_is_reported(scripted: str) -> None:
    with pytest.raises(EngineConnectionError, match="timed out"):
        _run(scripted, "stall", read_timeout_s=0.5)


# -- request bodies ---------------------------------------------------------------------------


def test_thinking_switch_per_server_style() -> None:
    req = _request(thinking=False, seed=7, top_p=1e-5)
    body = RemoteEngine("http://h/v1", model="glm-4.5v").build_body(req)
    assert body["chat_template_kwargs"] == {"enable_thinking": False}
    assert body["seed"] == 7
    assert body["top_k"] == 2
    assert body["repetition_penalty"] == 1.1
    assert body["stream_options"] == {"include_usage": True}
    vendor = RemoteEngine("https://api.z.ai/api/paas/v4", model="glm-4.5v", thinking_style="vendor")
    assert vendor.endpoint == "https://api.z.ai/api/paas/v4/chat/completions"
    vbody = vendor.build_body(req)
    assert vbody["thinking"] == {"type": "disabled"}
    assert vbody["top_p"] == 0.01
    assert not {"chat_template_kwargs", "stream_options", "seed", "top_k"} & set(vbody)
    # GLM-4.1V always thinks: no switch is sent (the served name is not parsed: the family says).
    dense_engine = RemoteEngine("http://h/v1", model="glm-4.1v-9b-thinking", family="glm4v")
    dense = dense_engine.build_body(req)
    assert dense["messages"]
    assert "chat_template_kwargs" not in dense
    none = RemoteEngine("http://h/v1", model="glm-4.5v", thinking_style="none").build_body(req)
    assert "chat_template_kwargs" not in none
    assert "thinking" not in none


def test_images_are_sent_at_their_current_size() -> None:
    import base64

    from PIL import Image

    body = RemoteEngine("http://h/v1", model="m").build_body(_request(parts=(_image(300, 200),)))
    url = body["messages"][0]["content"][0]["image_url"]["url"]
    assert url.startswith("data:image/png;base64,")
    image = Image.open(io.BytesIO(base64.b64decode(url.split(",", 1)[1])))
    assert image.size == (300, 200)


def test_video_mode_sends_an_mp4_of_the_frames() -> None:
    import av

    engine = RemoteEngine("http://h/v1", model="m", video_mode="video")
    part = _video(6)
    body = engine.build_body(_request(parts=(part,)))
    item = body["messages"][0]["content"][0]
    assert item["type"] == "video_url"
    assert item["video_url"]["url"].startswith("data:video/mp4;base64,")
    with av.open(io.BytesIO(encode_mp4(part))) as container:
        stream = container.streams.video[0]
        frames = list(container.decode(stream))
        assert len(frames) == 6
        assert (frames[0].width, frames[0].height) == (112, 84)
        assert abs(float(frames[-1].time) - 2.5) < 0.01  # sampled at 2 fps


def test_family_guess_urls_and_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    assert guess_family("zai-org/GLM-4.5V-FP8") == "glm4v_moe"
    assert guess_family("glm-4.5v") == "glm4v_moe"
    assert guess_family("zai-org/GLM-4.1V-9B-Thinking") == "glm4v"
    assert guess_family(None) == "glm4v_moe"
    # Only known ids and the family setting count: a name that merely looks like 4.1V does not.
    assert guess_family("my-glm-4.1v-server") == "glm4v_moe"
    flash = RemoteEngine("http://h", model="zai-org/GLM-4.6V-Flash")
    assert (flash.family, flash.caps.thinking) == ("glm4v", "switch")
    effort = RemoteEngine("http://h", model="m", family="glm5_next")
    body = effort.build_body(
        GenerationRequest(
            messages=[user_message("hi")],
            sampling=Sampling(thinking=False),
        )
    )
    assert body["chat_template_kwargs"] == {"reasoning_effort": "none"}
    assert RemoteEngine("http://h:8000/", model="m").endpoint == "http://h:8000/v1/chat/completions"
    assert RemoteEngine("http://h/v1/chat/completions").endpoint == "http://h/v1/chat/completions"
    assert RemoteEngine("http://h", model="glm-4.5v", family="glm4v").family == "glm4v"
    shown = repr(RemoteEngine("http://user:pw@h:1/v1?key=abc", model="m"))
    assert "pw" not in shown
    assert "abc" not in shown
    with pytest.raises(ConfigError):
        RemoteEngine("localhost:8000")
    with pytest.raises(ConfigError):
        RemoteEngine("http://h", family="glm5")
    for var in (
        "GLMV_REMOTE_URL",
        "GLMV_REMOTE_MODEL",
        "GLMV_REMOTE_THINKING",
        "GLMV_REMOTE_FAMILY",
        "GLMV_REMOTE_VIDEO",
    ):
        monkeypatch.delenv(var, raising=False)
    with pytest.raises(ConfigError, match="URL"):
        RemoteEngine.from_config(AppConfig(engine="remote"))
    # The GLMV_REMOTE_* variables reach the engine through the app's settings.
    monkeypatch.setenv("GLMV_REMOTE_URL", "http://h:9/v1")
    monkeypatch.setenv("GLMV_REMOTE_MODEL", "glm-4.5v")
    monkeypatch.setenv("GLMV_REMOTE_THINKING", "vendor")
    from_app = RemoteEngine.from_config(AppConfig.from_env())
    assert (from_app.endpoint, from_app.model, from_app.thinking_style) == (
        "http://h:9/v1/chat/completions",
        "glm-4.5v",
        "vendor",
    )
    pinned = RemoteEngine.from_config(
        AppConfig(engine="remote", remote_url="http://x/v1", remote_model="other")
    )
    assert (pinned.endpoint, pinned.model) == ("http://x/v1/chat/completions", "other")
    engine = RemoteEngine.from_env(
        {
            "GLMV_REMOTE_URL": "http://h:9/v1",
            "GLMV_REMOTE_MODEL": "glm-4.5v",
            "GLMV_REMOTE_THINKING": "vendor",
            "GLMV_API_KEY_ENV": "ZAI_KEY",
        }
    )
    assert (engine.model, engine.thinking_style, engine.api_key_env) == (
        "glm-4.5v",
        "vendor",
        "ZAI_KEY",
    )
    with pytest.raises(ConfigError, match="GLMV_REMOTE_URL"):
        RemoteEngine.from_env({})


@pytest.mark.slow
def test_terminal_chat_on_the_remote_engine(server: ServerProcess) -> None:
    from glmv_ui.cli import main

    out = io.StringIO()
    code = main(
        [
            "chat",
            "--engine",
            "remote",
            "--url",
            server.url,
            "--remote-model",
            server.model,
            "--prompt",
            "Hello",
            "--max-new-tokens",
            "5",
            "--color",
            "never",
        ],
        out=out,
        inp=io.StringIO(),
    )
    assert code == 0, out.getvalue()
    assert f"Connecting to {server.url}" in out.getvalue()
    assert "5 generated" in out.getvalue()


@pytest.mark.slow  # imports in a fresh interpreter
def test_importing_the_engine_and_the_assembler_is_light() -> None:
    import subprocess
    import sys

    code = (
        "import sys, glmv_ui.engines.remote, glmv_ui.space\n"
        "heavy = [m for m in ('torch', 'transformers', 'gradio', 'httpx', 'av', 'PIL') "
        "if m in sys.modules]\n"
        "print(','.join(heavy))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    )
    assert out.stdout.strip() == ""
