"""The page as a user lives it, in Chromium: refusals beside the input with the history in view,
an encrypted PDF opened with its password, what a long PDF gives before sending, repeated video
sends with no false warning. Each state is saved as a screenshot in tests/artifacts/."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest

from glmv_ui.config import AppConfig
from glmv_ui.engines.scripted import ScriptedEngine
from glmv_ui.messages import media_of
from tests.mediafiles import shapes_image

pytestmark = [pytest.mark.browser, pytest.mark.slow]

ROOT = Path(__file__).resolve().parent.parent
ARTIFACTS = ROOT / "tests" / "artifacts"
GOOD = (
    "<think>Two shapes on a light background.</think><answer>A **red square** on the "
    "left and a blue disc on the right.</answer>"
)


def _open(chromium: Any, demo: Any, width: int = 1400, height: int = 1000) -> Any:
    from playwright.sync_api import expect

    page = chromium.new_page(viewport={"width": width, "height": height})
    page.set_default_timeout(30_000)
    page.goto(demo.local_url)
    expect(page.locator("#glmv-model-status")).to_contain_text("scripted")
    return page


def _send(page: Any, text: str, files: Sequence[Path] = ()) -> None:
    if files:
        page.locator("#glmv-input input[type=file]").set_input_files([str(f) for f in files])
    page.locator("#glmv-input textarea").fill(text)
    page.locator("#glmv-input textarea").press("Enter")


def _shot(page: Any, name: str) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"page_{name}.png"))


def test_a_refusal_keeps_the_conversation_in_view(
    tmp_path: Path, launch_app: Any, chromium: Any
) -> None:
    from playwright.sync_api import expect

    engine = ScriptedEngine("glm4v", [GOOD], chunk_size=8)
    demo = launch_app(AppConfig(model="glm4v", engine="scripted"), engine)
    page = _open(chromium, demo)
    chat = page.locator("#glmv-chat")
    _send(page, "What is in the picture?", [shapes_image(tmp_path)])
    expect(chat).to_contain_text("blue disc on the right")

    bad = tmp_path / "broken-scan.pdf"
    bad.write_bytes(b"%PDF-1.4\nthis is not really a pdf")
    page.locator("#glmv-input input[type=file]").set_input_files([str(bad)])
    notice = page.locator("#glmv-notice")
    expect(notice).to_contain_text("broken-scan.pdf")
    _shot(page, "refused")
    # Said once, beside the input; no toast, no error over the chat, nothing left attached.
    assert notice.inner_text().count("broken-scan.pdf") == 1
    expect(page.locator(".toast-body")).to_have_count(0)
    expect(chat.locator(".error")).to_have_count(0)
    expect(chat).to_contain_text("What is in the picture?")
    expect(chat).to_contain_text("blue disc on the right")
    expect(page.locator("#glmv-input .thumbnail-item")).to_have_count(0)
    # Typing a question afterwards raises nothing new, and the next send works.
    page.locator("#glmv-input textarea").fill("And the colours?")
    expect(page.locator(".toast-body")).to_have_count(0)
    page.locator("#glmv-input textarea").press("Enter")
    expect(chat).to_contain_text("Scripted answer.")
    expect(notice).to_be_hidden()
    assert len(engine.requests) == 2


def test_an_encrypted_pdf_opens_with_its_password(
    corpus: Path, launch_app: Any, chromium: Any
) -> None:
    from playwright.sync_api import expect

    engine = ScriptedEngine(
        "glm4v",
        ["<think>Reading the page.</think><answer>The page is a short letter.</answer>"],
        chunk_size=8,
    )
    demo = launch_app(AppConfig(model="glm4v", engine="scripted"), engine)
    page = _open(chromium, demo)
    pdf = corpus / "pdf" / "encrypted-libreoffice-writer-password.pdf"
    page.locator("#glmv-input input[type=file]").set_input_files([str(pdf)])
    expect(page.locator("#glmv-attach-info")).to_contain_text("encrypted")
    password = page.locator("#glmv-password input")
    expect(password).to_be_visible()
    _shot(page, "password")
    password.fill("openpassword")
    password.press("Enter")
    expect(page.locator("#glmv-attach-info")).to_contain_text("page 1 of 1")
    _send(page, "What does the page say?")
    expect(page.locator("#glmv-chat")).to_contain_text("short letter")
    parts = list(media_of(engine.requests[-1].messages))
    assert [p.page for p in parts] == [1]
    assert parts[0].source == pdf.name


def test_a_long_pdf_says_which_pages_before_sending(
    corpus: Path, launch_app: Any, chromium: Any
) -> None:
    from playwright.sync_api import expect

    demo = launch_app(AppConfig(model="glm4v", engine="scripted"), ScriptedEngine("glm4v"))
    page = _open(chromium, demo)
    page.locator("#glmv-input input[type=file]").set_input_files(
        [str(corpus / "pdf" / "GeoTopo-komprimiert-117pages.pdf")]
    )
    info = page.locator("#glmv-attach-info")
    expect(info).to_contain_text("pages 1–16 of 117")
    expect(info).to_contain_text("not all 117 pages are used")
    expect(info).to_contain_text("This message")
    expect(info).to_contain_text("Conversation")
    _shot(page, "long_pdf")


def test_repeated_video_sends_raise_no_false_warning(launch_app: Any, chromium: Any) -> None:
    from playwright.sync_api import expect

    from glmv_ui.examples import example_file

    engine = ScriptedEngine("glm4v", chunk_size=16)
    demo = launch_app(AppConfig(model="glm4v", engine="scripted"), engine)
    page = _open(chromium, demo)
    chat = page.locator("#glmv-chat")
    video = example_file("video")
    for round_ in range(20):
        page.locator("#glmv-clear").click()
        expect(chat.locator(".message")).to_have_count(0)
        _send(page, f"What happens? ({round_})", [video])
        expect(chat).to_contain_text("Scripted answer.")
        expect(page.locator("#glmv-notice")).to_be_hidden()
        expect(page.locator(".toast-body")).to_have_count(0)
    assert len(engine.requests) == 20
    _shot(page, "video")


@pytest.mark.parametrize(
    ("width", "height", "name"), [(1400, 1000, "desktop"), (390, 844, "phone")]
)
def test_the_conversation_is_the_largest_thing_on_the_page(
    width: int, height: int, name: str, tmp_path: Path, launch_app: Any, chromium: Any
) -> None:
    from playwright.sync_api import expect

    demo = launch_app(
        AppConfig(model="glm4v", engine="scripted"), ScriptedEngine("glm4v", [GOOD], chunk_size=8)
    )
    page = _open(chromium, demo, width, height)
    _send(page, "What is in the picture?", [shapes_image(tmp_path)])
    expect(page.locator("#glmv-chat")).to_contain_text("blue disc")
    areas = page.evaluate("""() => {
        const area = (sel) => { const r = document.querySelector(sel).getBoundingClientRect();
                                return r.width * r.height; };
        return {chat: area('#glmv-chat'), examples: area('#glmv-examples'),
                side: area('#glmv-side'), input: area('#glmv-input')};
    }""")
    assert areas["chat"] > areas["examples"]
    assert areas["chat"] > areas["input"]
    if name == "desktop":
        assert areas["chat"] > areas["side"]
    page.screenshot(path=str(ARTIFACTS / f"page_layout_{name}.png"), full_page=name == "phone")
