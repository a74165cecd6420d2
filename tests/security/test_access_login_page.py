"""The login page's own form (a multipart body) logs in, and its wrong passwords are throttled
like any other login's."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from glmv_ui.config import AppConfig
from glmv_ui.engines.scripted import ScriptedEngine

pytestmark = [pytest.mark.browser, pytest.mark.slow]


def test_the_login_page_logs_in_and_its_failures_count(launch_app: Any, chromium: Any) -> None:
    from playwright.sync_api import expect

    demo = launch_app(
        AppConfig(model="glm4v", engine="scripted", auth="ann:pw-ann"), ScriptedEngine("glm4v")
    )
    page = chromium.new_page()
    seen: list[str] = []
    page.on(
        "request",
        lambda r: (
            seen.append(r.headers.get("content-type", "")) if r.url.endswith("/login") else None
        ),
    )
    try:
        page.goto(demo.local_url)
        fields = page.locator("input")
        fields.nth(0).fill("ann")
        fields.nth(1).fill("wrong")
        page.get_by_role("button", name="Login").click()
        expect(page.get_by_text("Incorrect Credentials")).to_be_visible()
        assert seen, seen
        assert seen[0].startswith("multipart/form-data"), seen
        with httpx.Client(timeout=30) as client:  # four more from here: the limit is reached
            for i in range(4):
                assert (
                    client.post(
                        demo.local_url + "login",
                        files={"username": (None, "ann"), "password": (None, f"no{i}")},
                    ).status_code
                    == 400
                )
            assert (
                client.post(
                    demo.local_url + "login",
                    files={"username": (None, "ann"), "password": (None, "no")},
                ).status_code
                == 400
            )
            late = client.post(
                demo.local_url + "login", data={"username": "ann", "password": "pw-ann"}
            )
            assert late.status_code == 429
    finally:
        page.close()
    fresh = launch_app(
        AppConfig(model="glm4v", engine="scripted", auth="ann:pw-ann"), ScriptedEngine("glm4v")
    )
    page = chromium.new_page()
    try:
        page.goto(fresh.local_url)
        fields = page.locator("input")
        fields.nth(0).fill("ann")
        fields.nth(1).fill("pw-ann")
        page.get_by_role("button", name="Login").click()
        expect(page.locator("#glmv-chat")).to_be_visible()
    finally:
        page.close()
