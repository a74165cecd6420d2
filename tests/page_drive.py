"""Shared steps of the page journeys (tests/test_page_*.py): open the page on an app, send a
message, save a screenshot to tests/artifacts/."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
ARTIFACTS = ROOT / "tests" / "artifacts"


def open_page(
    chromium: Any,
    demo: Any,
    width: int = 1400,
    height: int = 1000,
    ready: str = "scripted",
    login: tuple[str, str] | None = None,
) -> Any:
    """A page on ``demo`` once its model is ready; ``login`` (user, password) logs in first."""
    from playwright.sync_api import expect

    page = chromium.new_page(viewport={"width": width, "height": height})
    page.set_default_timeout(30_000)
    if login is not None:  # the page keeps the session cookie the login sets
        answer = page.request.post(
            demo.local_url.rstrip("/") + "/login", form={"username": login[0], "password": login[1]}
        )
        assert answer.ok, answer.status
    page.goto(demo.local_url)
    expect(page.locator("#glmv-model-status")).to_contain_text(ready)
    return page


def send(page: Any, text: str, files: Sequence[Path] = ()) -> None:
    if files:
        page.locator("#glmv-input input[type=file]").set_input_files([str(f) for f in files])
    page.locator("#glmv-input textarea").fill(text)
    page.locator("#glmv-input textarea").press("Enter")


def shot(page: Any, name: str, full_page: bool = False) -> Path:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / f"page_{name}.png"
    page.screenshot(path=str(path), full_page=full_page)
    return path
