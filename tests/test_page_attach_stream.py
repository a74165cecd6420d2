"""Reading a large attachment while a reply streams does not disturb the stream: the gaps
between the reply's screen updates are measured in the browser (MutationObserver) before and
while a 117-page PDF is read, and written to tests/artifacts/page_attach_stream.json."""

from __future__ import annotations

import json
from itertools import pairwise
from pathlib import Path
from typing import Any

import pytest

from glmv_ui.config import AppConfig
from glmv_ui.engines.scripted import ScriptedEngine
from tests.page_drive import ARTIFACTS, open_page, send

pytestmark = [pytest.mark.browser, pytest.mark.slow]

WATCH = """() => { window.__frames = []; const chat = document.querySelector('#glmv-chat');
    new MutationObserver(() => window.__frames.push(performance.now()))
    .observe(chat, {childList: true, subtree: true, characterData: true}); }"""


def _gaps(times: list[float]) -> list[float]:
    return [b - a for a, b in pairwise(times)]


def test_reading_a_large_pdf_does_not_disturb_the_stream(
    corpus: Path, launch_app: Any, chromium: Any
) -> None:
    from playwright.sync_api import expect

    answer = (
        "<think>Counting.</think><answer>" + " ".join(f"w{i}" for i in range(3000)) + "</answer>"
    )
    engine = ScriptedEngine("glm4v", [answer], chunk_size=8, delay_s=0.004)  # paced like a model
    demo = launch_app(AppConfig(model="glm4v", engine="scripted"), engine)
    page = open_page(chromium, demo)
    chat = page.locator("#glmv-chat")
    page.evaluate(WATCH)
    send(page, "Count.")
    expect(chat).to_contain_text("w300")
    mark = page.evaluate("performance.now()")
    page.locator("#glmv-input input[type=file]").set_input_files(
        [str(corpus / "pdf" / "GeoTopo-komprimiert-117pages.pdf")]
    )
    expect(page.locator("#glmv-attach-info")).to_contain_text("pages 1–16 of 117")
    read = page.evaluate("performance.now()")
    assert page.locator("#glmv-stop").is_enabled(), "the reply ended before the PDF was read"
    expect(chat).to_contain_text("w2999", timeout=120_000)
    frames: list[float] = page.evaluate("window.__frames")
    before = [t for t in frames if t < mark]
    during = [t for t in frames if mark <= t <= read]
    report = {
        "pdf_read_ms": round(read - mark),
        "updates_before": len(before),
        "updates_while_reading": len(during),
        "max_gap_ms_before": round(max(_gaps(before), default=0)),
        "max_gap_ms_while_reading": round(max(_gaps(during), default=0)),
    }
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    (ARTIFACTS / "page_attach_stream.json").write_text(json.dumps(report, indent=1))
    print(report)
    assert len(during) >= 2, report  # the reply kept arriving while the PDF was read
    assert report["max_gap_ms_while_reading"] < 1000, report
