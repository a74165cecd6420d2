"""The login throttle judges the user name Gradio checks, whatever the form's encoding: a
multipart form counts like an urlencoded one, a form with two user names or passwords is
refused, and a changing X-Forwarded-For does not make a fresh record for the same user."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from glmv_ui.config import AppConfig
from glmv_ui.engines.scripted import ScriptedEngine

pytestmark = pytest.mark.slow

LOGINS = "alice:wonderland-7,op:s3cret-op"


@pytest.fixture
def base(launch_app: Any) -> str:
    demo = launch_app(
        AppConfig(model="glm4v", engine="scripted", auth=LOGINS), ScriptedEngine("glm4v")
    )
    return str(demo.local_url.rstrip("/"))


def _multipart(user: str, password: str) -> dict[str, Any]:
    # What the login page's own form sends (a FormData body).
    return {"files": {"username": (None, user), "password": (None, password)}}


def test_a_multipart_login_is_throttled_like_an_urlencoded_one(base: str) -> None:
    with httpx.Client(timeout=30) as client:
        ok = client.post(base + "/login", **_multipart("op", "s3cret-op"))
        assert ok.status_code == 200  # the page's own encoding logs in
        codes = [
            client.post(
                base + "/login",
                headers={"x-forwarded-for": f"10.9.0.{i}"},
                **_multipart("alice", f"guess{i}"),
            ).status_code
            for i in range(12)
        ]
        assert codes[:5] == [400] * 5, codes
        assert set(codes[6:]) == {429}, codes
        # The per-user record holds whatever address each try claims, and either encoding.
        for i, send in enumerate(
            [
                _multipart("alice", "wonderland-7"),
                {"data": {"username": "alice", "password": "wonderland-7"}},
            ]
        ):
            right = client.post(base + "/login", headers={"x-forwarded-for": f"10.8.0.{i}"}, **send)
            assert right.status_code == 429, right.text


@pytest.mark.parametrize(
    "body",
    [
        "username=decoy&username=alice&password=x",
        "username=alice&password=x&password=y",
    ],
)
def test_a_login_form_with_two_names_or_passwords_is_refused(base: str, body: str) -> None:
    with httpx.Client(timeout=30) as client:
        for _ in range(8):  # refused every time, and never counted against alice
            response = client.post(
                base + "/login",
                content=body,
                headers={"content-type": "application/x-www-form-urlencoded"},
            )
            assert response.status_code == 400
            assert response.json()["detail"] == (
                "the login form must carry one user name and one password"
            )
        twice = client.post(
            base + "/login",
            files=[
                ("username", (None, "decoy")),
                ("username", (None, "alice")),
                ("password", (None, "x")),
            ],
        )
        assert twice.status_code == 400
        assert "one user name" in twice.text
        ok = client.post(base + "/login", data={"username": "alice", "password": "wonderland-7"})
        assert ok.status_code == 200


def test_an_unreadable_login_form_is_refused(base: str) -> None:
    with httpx.Client(timeout=30) as client:
        broken = client.post(
            base + "/login",
            content=b"--x\r\nnot a part",
            headers={"content-type": "multipart/form-data; boundary=x"},
        )
        assert broken.status_code == 400
        assert broken.json()["detail"] == "the login form could not be read"
        a_file = client.post(
            base + "/login",
            files={"username": ("name.txt", b"alice", "text/plain"), "password": (None, "x")},
        )
        assert a_file.status_code == 400
        assert a_file.json()["detail"] == "the login form could not be read"


MONITORING = [
    "/monitoring",
    "/monitoring/",
    "/monitoring/summary",
    "/monitoring/somekey",
    "/gradio_api/monitoring",
    "/gradio_api/monitoring/summary",
    "//monitoring",
    "/Monitoring",
    "/monitoring%2Fsummary",
]


def test_monitoring_answers_nobody(launch_app: Any) -> None:
    demo = launch_app(
        AppConfig(model="glm4v", engine="scripted", auth=LOGINS), ScriptedEngine("glm4v")
    )
    base = demo.local_url.rstrip("/")
    open_demo = launch_app(AppConfig(model="glm4v", engine="scripted"), ScriptedEngine("glm4v"))
    with httpx.Client(timeout=30) as client:
        assert (
            client.post(
                base + "/login", data={"username": "op", "password": "s3cret-op"}
            ).status_code
            == 200
        )
        assert client.get(base + "/config").status_code == 200  # logged in
        for url in [base, open_demo.local_url.rstrip("/")]:
            for path in MONITORING:
                response = client.get(url + path)
                assert response.status_code == 404, (url, path, response.status_code)
                assert "monitoring" not in response.text.lower()
