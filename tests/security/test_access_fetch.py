"""Files by URL, through the launched app: only globally routable addresses, failing closed; the
count checked before any fetch; one deadline for all downloads, outside the model's slot; the
request body capped before it is read; data: URLs judged by their encoded length."""

from __future__ import annotations

import base64
import threading
import time
from typing import Any

import httpx
import pytest

from glmv_ui.config import AppConfig
from glmv_ui.engines.scripted import ScriptedEngine
from tests.security.loopback import Listener, dripping_file, listening

pytestmark = pytest.mark.slow


def _client(demo: Any) -> Any:
    from gradio_client import Client

    return Client(demo.local_url, verbose=False)


def _refusal(client: Any, files: list[str], text: str = "hi") -> str:
    with pytest.raises(Exception) as caught:  # noqa: PT011 - the client raises a plain Exception
        client.predict(text, files, api_name="/ask")
    return str(caught.value)


def test_no_url_reaches_this_machine_or_a_non_public_network(launch_app: Any) -> None:
    engine = ScriptedEngine("glm4v")
    demo = launch_app(AppConfig(model="glm4v", engine="scripted"), engine)
    client = _client(demo)
    with listening() as probe:
        port = probe.port
        for url in (
            f"http://127.0.0.1:{port}/a.png",
            f"http://localhost:{port}/a.png",
            f"http://[::ffff:127.0.0.1]:{port}/a.png",
            f"http://[::1]:{port}/a.png",
            f"http://0.0.0.0:{port}/a.png",
            f"http://2130706433:{port}/a.png",
            "http://100.100.100.200/latest/meta-data",
            "http://100.64.0.1/a.png",
            "http://169.254.169.254/latest/meta-data",
            "http://[2002:7f00:1::]/a.png",
            "http://[64:ff9b::7f00:1]/a.png",
            "http://10.0.0.1/a.png",
            "http://[fd00::1]/a.png",
        ):
            message = _refusal(client, [url])
            assert "private network" in message, (url, message)
        # A name that does not resolve is refused (fail closed), not handed to a proxy.
        message = _refusal(client, ["http://no-such-host.invalid/a.png"])
        assert "could not be found" in message
        assert probe.requests == []
        assert not probe.connected.is_set()
    assert engine.requests == []


def test_the_url_count_is_checked_before_anything_is_fetched(launch_app: Any) -> None:
    engine = ScriptedEngine("glm4v")
    demo = launch_app(AppConfig(model="glm4v", engine="scripted", fetch_private=True), engine)
    with listening() as probe:
        message = _refusal(_client(demo), [f"{probe.url}/{i}.png" for i in range(60)])
        assert "60 files" in message
        assert "at most 16" in message
        assert not probe.connected.is_set()


def test_a_dripping_server_meets_the_deadline_and_never_holds_the_model(launch_app: Any) -> None:
    engine = ScriptedEngine("glm4v")
    config = AppConfig(model="glm4v", engine="scripted", fetch_private=True, fetch_deadline_s=4.0)
    demo = launch_app(config, engine)
    drip = Listener(reply=dripping_file(), drip_s=0.5)
    with listening(drip):
        outcome: dict[str, Any] = {}

        def slow() -> None:
            start = time.perf_counter()
            outcome["message"] = _refusal(_client(demo), [f"{drip.url}/slow.png"])
            outcome["seconds"] = time.perf_counter() - start

        thread = threading.Thread(target=slow)
        thread.start()
        assert drip.connected.wait(30)
        # Meanwhile another user is answered: the download does not hold the model's slot.
        other = _client(demo).predict("another user", api_name="/ask")
        assert "Scripted answer" in other
        assert not drip.closed.is_set(), "the drip ended before the other user was answered"
        thread.join(60)
    assert "within the 4 s" in outcome["message"], outcome
    assert outcome["seconds"] < 4.0 + 10.0 + 5.0  # the deadline, one read's timeout, slack


def test_bodies_over_the_cap_are_refused_before_they_are_read(launch_app: Any) -> None:
    engine = ScriptedEngine("glm4v")
    demo = launch_app(
        AppConfig(
            model="glm4v",
            engine="scripted",
            max_file_size_mb=1,
            media=AppConfig().media.__class__(max_upload_mb=1),
        ),
        engine,
    )
    from glmv_ui.ui import body_limit

    cap = body_limit(AppConfig(max_file_size_mb=1))
    with httpx.Client(timeout=60) as raw:
        big = raw.post(
            demo.local_url + "gradio_api/call/ask",
            content=b"{" + b" " * (cap + 1) + b"}",
            headers={"content-type": "application/json"},
        )
        assert big.status_code == 413
        assert "larger than this server accepts" in big.text

        def chunks() -> Any:  # no Content-Length: counted as it arrives
            for _ in range(cap // 65536 + 8):
                yield b" " * 65536

        chunked = raw.post(
            demo.local_url + "gradio_api/call/ask",
            content=chunks(),
            headers={"content-type": "application/json"},
        )
        assert chunked.status_code == 413
        assert "larger than this server" in chunked.text
    # Under the body cap but over the upload limit once decoded: judged by its encoded length.
    payload = base64.b64encode(b"\0" * (2**20 + 4096)).decode()
    message = _refusal(_client(demo), [f"data:image/png;base64,{payload}"])
    assert "1 MB" in message, message[:300]
    assert engine.requests == []
