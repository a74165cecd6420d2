"""Every way a reply can end is said in words on the page: an empty answer, an answer cut off at
the token limit, a failure; in Chinese too (the notices and the stats line); an imported
conversation's finished turns read "Thought", not "Thinking"; a wrong PDF password says so."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from glmv_ui.config import AppConfig
from glmv_ui.engines.scripted import ScriptedEngine
from tests.page_drive import open_page, send, shot

pytestmark = [pytest.mark.browser, pytest.mark.slow]


def _app(launch_app: Any, *replies: Any) -> Any:
    return launch_app(
        AppConfig(model="glm4v", engine="scripted"),
        ScriptedEngine("glm4v", list(replies), chunk_size=8),
    )


def test_an_empty_answer_is_explained(launch_app: Any, chromium: Any) -> None:
    from playwright.sync_api import expect

    page = open_page(chromium, _app(launch_app, "<think>Hmm.</think><answer></answer>"))
    send(page, "Say nothing.")
    chat = page.locator("#glmv-chat")
    expect(chat).to_contain_text("The model gave an empty answer")
    expect(chat).to_contain_text("generated")
    shot(page, "reply_empty")


def test_a_cut_off_answer_and_a_failure_are_explained(launch_app: Any, chromium: Any) -> None:
    from playwright.sync_api import expect

    long = "<think>Short.</think><answer>" + "word " * 400 + "</answer>"
    page = open_page(chromium, _app(launch_app, long, RuntimeError("out of memory")))
    tokens = page.locator("#glmv-max-new-tokens input[type=number]")
    tokens.fill("64")
    tokens.press("Enter")
    send(page, "Talk a lot.")
    chat = page.locator("#glmv-chat")
    expect(chat).to_contain_text("The answer reached the token limit")
    send(page, "Again.")
    expect(chat).to_contain_text("The reply failed")
    expect(chat).to_contain_text("out of memory")
    expect(page.locator("#glmv-regenerate")).to_be_enabled()
    shot(page, "reply_cut_and_failed")


def test_in_chinese_the_notices_and_the_stats_line_are_chinese(
    launch_app: Any, chromium: Any
) -> None:
    from playwright.sync_api import expect

    page = open_page(chromium, _app(launch_app, "<think>嗯。</think><answer></answer>"))
    page.locator("#glmv-lang").get_by_text("中文").click()
    expect(page.locator("#glmv-stop")).to_have_text("停止")
    send(page, "什么都别说。")
    chat = page.locator("#glmv-chat")
    expect(chat).to_contain_text("模型给出了空回答")
    expect(chat.locator(".glmv-stats")).to_contain_text("生成")
    assert "generated" not in chat.locator(".glmv-stats").inner_text()
    expect(page.locator("#glmv-sampling-note")).to_contain_text("默认近似贪心解码")
    expect(page.locator("#glmv-stop")).to_have_class(re.compile("glmv-idle"))
    shot(page, "reply_chinese")


def test_an_imported_conversation_reads_as_finished(
    tmp_path: Path, launch_app: Any, chromium: Any
) -> None:
    from playwright.sync_api import expect

    from glmv_ui.conversation import Conversation, Turn
    from glmv_ui.export import write_export

    turn = Turn(
        text="What is two plus two?",
        raw="<think>Adding two and two.</think><answer>Four.</answer>",
        status="done",
    )
    path = write_export(Conversation([turn]), "json", tmp_path)
    page = open_page(chromium, _app(launch_app))
    page.locator("#glmv-side").get_by_text("Export / import").click()
    with page.expect_file_chooser() as chooser:
        page.get_by_role("button", name="Import conversation (.json)").click()
    chooser.value.set_files(str(path))
    chat = page.locator("#glmv-chat")
    expect(chat).to_contain_text("Four.")
    expect(chat).to_contain_text("Thought")
    assert "Thinking" not in chat.inner_text()
    shot(page, "reply_imported")


def test_a_wrong_pdf_password_says_so(corpus: Path, launch_app: Any, chromium: Any) -> None:
    from playwright.sync_api import expect

    page = open_page(chromium, _app(launch_app))
    pdf = corpus / "pdf" / "encrypted-libreoffice-writer-password.pdf"
    page.locator("#glmv-input input[type=file]").set_input_files([str(pdf)])
    info = page.locator("#glmv-attach-info")
    expect(info).to_contain_text("is encrypted: enter its password below")
    password = page.locator("#glmv-password input")
    password.fill("not-the-password")
    password.press("Enter")
    expect(info).to_contain_text("the password is wrong")
    shot(page, "password_wrong")
    password.fill("openpassword")
    password.press("Enter")
    expect(info).to_contain_text("page 1 of 1")
