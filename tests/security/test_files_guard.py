"""The file guard decides on the path Gradio's file route would serve: a browser's upload is
served to that browser at its plain URL, and every other spelling of it (a scheme inside the
path, ``..``, encodings applied twice, backslashes, NUL, a relative path) is 404 for everyone;
another browser and a request without the cookie get 404 for every spelling. Raw requests, so
no client tidies the path first."""

from __future__ import annotations

import socket
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest

from glmv_ui.ui.web import COOKIE

pytestmark = pytest.mark.slow

SECRET = b"TOP SECRET OF A\n"


def _raw(base: str, target: str, cookie: str = "") -> tuple[int, bytes]:
    where = urlsplit(base)
    host, port = where.hostname or "127.0.0.1", where.port or 80
    request = f"GET {target} HTTP/1.1\r\nHost: {host}:{port}\r\nConnection: close\r\n"
    if cookie:
        request += f"Cookie: {COOKIE}={cookie}\r\n"
    with socket.create_connection((host, port), timeout=30) as conn:
        conn.sendall((request + "\r\n").encode())
        data = b""
        while chunk := conn.recv(65536):
            data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    return int(head.split(b" ")[1]), body


def _spellings(path: str) -> dict[str, str]:
    folder, name = path.rsplit("/", 1)
    parent, last = folder.rsplit("/", 1)
    return {
        "scheme in the path": f"{folder}/x://../{name}",
        "scheme, encoded": f"{folder}/x%3A%2F%2F/../{name}",
        "scheme, encoded twice": f"{folder}/x%253A%252F%252F/../{name}",
        "dot-dot": f"{folder}/../{last}/{name}",
        "dot-dot, encoded": f"{folder}/%2e%2e/{last}/{name}",
        "dot-dot, encoded twice": f"{folder}/%252e%252e/{last}/{name}",
        "dot": f"{folder}/./{name}",
        "double slash": f"{parent}//{last}/{name}",
        "backslash": f"{folder}%5C{name}",
        "slash encoded twice": f"{folder}%252F{name}",
        "NUL": f"{path}%00.png",
        "relative": path.lstrip("/"),
    }


def test_a_file_is_served_only_to_its_browser_at_its_plain_url(scripted_app: Any) -> None:
    demo, _ = scripted_app
    base = demo.local_url.rstrip("/")
    with httpx.Client(base_url=base, timeout=30) as a, httpx.Client(base_url=base, timeout=30) as b:
        a.get("/")
        b.get("/")
        owner, other = a.cookies[COOKIE], b.cookies[COOKIE]
        assert owner != other
        path = a.post(
            "/gradio_api/upload", files={"files": ("secret-of-A.txt", SECRET, "text/plain")}
        ).json()[0]
    status, body = _raw(base, f"/gradio_api/file={path}", owner)
    assert (status, body) == (200, SECRET)
    assert _raw(base, f"/gradio_api/file={path}", other)[0] == 404
    assert _raw(base, f"/gradio_api/file={path}")[0] == 404
    for route in ("/gradio_api/file=", "/gradio_api/file/"):
        for kind, spelling in _spellings(path).items():
            for who, cookie in (("owner", owner), ("other browser", other), ("bare", "")):
                status, body = _raw(base, route + spelling, cookie)
                assert status == 404, (route, kind, who, status)
                assert SECRET not in body
