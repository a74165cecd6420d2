"""The page in real headless Chromium, one journey per test: uploads, thinking and boxes; the HTML
preview; Stop; the Chinese interface; a video."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from glmv_ui.config import AppConfig
from glmv_ui.engines.scripted import ScriptedEngine

pytestmark = [pytest.mark.browser, pytest.mark.slow]

ROOT = Path(__file__).resolve().parent.parent
ARTIFACTS = ROOT / "tests" / "artifacts"
BOX_REPLY = (
    "<think>The photo shows a red square on the left and a blue disc on the right; the "
    "question asks where they are, so I give their boxes.</think><answer>The **red square** is "
    "at <|begin_of_box|>[80,120,420,560]<|end_of_box|> and the blue disc at "
    "<|begin_of_box|>[560,300,900,800]<|end_of_box|>.\n\nArea of a disc: $A = \\pi r^2$."
    "</answer>"
)
HTML_REPLY = (
    "<think>A simple landing page.</think><answer>Here is the page:\n"
    "<!DOCTYPE html>\n<html>\n<head><title>Brightlane</title>\n"
    "<style>body{font-family:sans-serif;margin:0}h1{color:#4f46e5}</style></head>\n"
    '<body>\n<h1 id="hero">Ship better software</h1>\n<p>Plan, build, track.</p>\n'
    "</body>\n</html>\nOpen it in a browser.</answer>"
)
LONG_REPLY = (
    "<think>Counting.</think><answer>" + " ".join(f"word{i}" for i in range(300)) + "</answer>"
)
VIDEO_REPLY = (
    "<think>The ball moves right and turns blue at 2 s.</think><answer>A red ball "
    "moves to the right and turns blue at 0:02.</answer>"
)


class _Engine(ScriptedEngine):
    """Keeps each request's cancel event, so the test can wait until Stop reached the server."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.cancels: list[threading.Event] = []

    def stream(self, request: Any, cancel: threading.Event | None = None) -> Any:
        cancel = cancel or threading.Event()
        self.cancels.append(cancel)
        return super().stream(request, cancel)


def _media(tmp: Path) -> tuple[Path, Path, Path]:
    import pymupdf

    from glmv_ui.examples import example_file
    from tests.mediafiles import shapes_image

    image = shapes_image(tmp)
    doc = pymupdf.open()
    page = doc.new_page(width=400, height=300)
    page.insert_text((40, 80), "Quarterly figures: revenue 64.5", fontsize=14)
    pdf = tmp / "figures.pdf"
    doc.save(pdf)
    doc.close()
    return image, pdf, example_file("video")


def _has_colour(png: bytes, rgb: tuple[int, int, int], tol: int = 30) -> int:
    import io

    from PIL import Image

    pixels: Any = Image.open(io.BytesIO(png)).convert("RGB").get_flattened_data()
    return sum(1 for p in pixels if all(abs(a - b) <= tol for a, b in zip(p, rgb, strict=True)))


def _check_shot(png: bytes) -> None:
    import io

    from PIL import Image

    img = Image.open(io.BytesIO(png)).convert("L")
    assert img.width >= 800
    assert img.height >= 400
    extrema: Any = img.getextrema()  # (low, high) for a one-band picture
    lo, hi = extrema
    assert hi - lo > 100, "screenshot is blank"


@contextmanager
def _page(launch_app: Any, chromium: Any, engine: ScriptedEngine) -> Iterator[Any]:
    """A page of a fresh app on ``engine``, in a browser context of its own."""
    from playwright.sync_api import expect

    demo = launch_app(AppConfig(model="glm4v", engine="scripted"), engine)
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    with chromium.new_context(viewport={"width": 1440, "height": 1000}) as context:
        page = context.new_page()
        page.set_default_timeout(60_000)
        page.goto(demo.local_url)
        expect(page.locator("#glmv-model-status")).to_contain_text("scripted")
        yield page


def _send(page: Any, text: str) -> None:
    page.locator("#glmv-input textarea").fill(text)
    page.locator("#glmv-input textarea").press("Enter")


def test_image_and_pdf_think_then_draw_boxes(
    tmp_path: Path, launch_app: Any, chromium: Any
) -> None:
    from playwright.sync_api import expect

    image, pdf, _ = _media(tmp_path)
    hold = threading.Event()
    engine = _Engine("glm4v", [BOX_REPLY], chunk_size=6, pause=hold, pause_after=4)
    with _page(launch_app, chromium, engine) as page:
        # Thumbnails and the estimate before sending; thinking pending, then done.
        page.locator("#glmv-input input[type=file]").set_input_files([str(pdf), str(image)])
        expect(page.locator("#glmv-attach-info")).to_contain_text("visual tokens")
        expect(page.locator("#glmv-attach-preview img")).to_have_count(1)
        expect(page.locator("#glmv-attach-info")).to_contain_text("figures.pdf")
        _send(page, "Where are the shapes?")
        chat = page.locator("#glmv-chat")
        expect(chat.locator(".loading-spinner")).to_have_count(1)  # thinking in progress
        expect(chat).to_contain_text("Thinking")
        page.screenshot(path=str(ARTIFACTS / "app_thinking.png"))
        hold.set()
        expect(chat).to_contain_text("Thought")
        expect(chat.locator(".loading-spinner")).to_have_count(0)
        expect(chat).to_contain_text("Boxes drawn on shapes.png")
        expect(chat.locator("mark.glmv-box").first).to_be_visible()
        expect(chat).to_contain_text("generated")  # the stats line
        expect(chat.locator(".glmv-swatch")).to_have_count(2)
        drawn = chat.locator("img").nth(2)  # two upload strips, then the drawn boxes
        drawn.scroll_into_view_if_needed()
        expect(drawn).to_have_js_property("complete", True)
        shot = drawn.screenshot(path=str(ARTIFACTS / "app_boxes.png"))
        assert _has_colour(shot, (0xE6, 0x19, 0x4B)) > 100  # box 1 outline colour
        assert _has_colour(shot, (0x3C, 0xB4, 0x4B)) > 100  # box 2 outline colour
        page.evaluate("window.scrollTo(0, 0)")
        # The README's picture is copied from this one by `make screenshot`, never by a test.
        full = page.screenshot(path=str(ARTIFACTS / "app_full.png"))
        _check_shot(full)


def test_an_html_answer_previews_in_a_sandbox_with_its_source(
    launch_app: Any, chromium: Any
) -> None:
    from playwright.sync_api import expect

    with _page(launch_app, chromium, _Engine("glm4v", [HTML_REPLY], chunk_size=6)) as page:
        _send(page, "Make this a web page")
        frame = page.locator("#glmv-html-preview iframe")
        expect(frame).to_have_attribute("sandbox", "allow-scripts")
        # The page sits in a frame of its own inside the sealed preview frame.
        hero = (
            page.frame_locator("#glmv-html-preview iframe").frame_locator("iframe").locator("#hero")
        )
        expect(hero).to_have_text("Ship better software")
        page.locator("#glmv-show-source").click()
        expect(page.locator("#glmv-html-source")).to_contain_text("<!DOCTYPE html>")
        page.locator("#glmv-show-preview").click()
        expect(frame).to_be_visible()
        # Back on the preview, the page inside the sandbox renders again.
        expect(hero).to_have_text("Ship better software")
        # A full-page capture leaves the sandboxed (cross-origin) frame blank: shoot the
        # panel itself, in view.
        shot = page.locator("#glmv-html").first.screenshot(path=str(ARTIFACTS / "app_html.png"))
        _check_shot(shot)
        assert _has_colour(shot, (0x4F, 0x46, 0xE5)) > 200  # the page's own h1 colour


def test_stop_mid_answer_keeps_the_partial_answer(launch_app: Any, chromium: Any) -> None:
    from playwright.sync_api import expect

    hold = threading.Event()
    engine = _Engine("glm4v", [LONG_REPLY], chunk_size=6, pause=hold, pause_after=12)
    with _page(launch_app, chromium, engine) as page:
        _send(page, "Count to three hundred")
        chat = page.locator("#glmv-chat")
        expect(chat).to_contain_text("word1")
        page.locator("#glmv-stop").click()
        assert engine.cancels[-1].wait(120), "Stop never reached the server"
        hold.set()
        expect(chat).to_contain_text("Stopped")
        assert "word299" not in chat.inner_text()


def test_the_chinese_interface_relabels_the_page(launch_app: Any, chromium: Any) -> None:
    from playwright.sync_api import expect

    with _page(launch_app, chromium, _Engine("glm4v")) as page:
        page.locator("#glmv-lang label").nth(1).click()
        expect(page.locator("#glmv-title")).to_contain_text("工作台")
        expect(page.locator("#glmv-stop")).to_have_text("停止")
        page.locator("#glmv-lang label").nth(0).click()
        expect(page.locator("#glmv-stop")).to_have_text("Stop")


def test_a_video_in_a_new_conversation(tmp_path: Path, launch_app: Any, chromium: Any) -> None:
    from playwright.sync_api import expect

    image, _, video = _media(tmp_path)
    engine = _Engine("glm4v", [BOX_REPLY, VIDEO_REPLY], chunk_size=6)
    with _page(launch_app, chromium, engine) as page:
        chat = page.locator("#glmv-chat")
        # An image first: images and a video never share a prompt, so the video starts anew.
        page.locator("#glmv-input input[type=file]").set_input_files([str(image)])
        _send(page, "Where are the shapes?")
        expect(chat).to_contain_text("Boxes drawn on shapes.png")
        page.locator("#glmv-clear").click()
        expect(chat.locator("img")).to_have_count(0)
        page.locator("#glmv-input input[type=file]").set_input_files([str(video)])
        expect(page.locator("#glmv-attach-info")).to_contain_text("visual tokens")
        _send(page, "What happens?")
        expect(chat).to_contain_text("turns blue")
        expect(chat).to_contain_text("frames")
        page.evaluate("window.scrollTo(0, 0)")
        _check_shot(page.screenshot(path=str(ARTIFACTS / "app_video.png")))
