"""The sandboxed HTML preview in real headless Chromium: the page's scripts run, and nothing else.

A parent page served over http on 127.0.0.1 sets a cookie and a localStorage item and embeds
``preview_iframe(page)``; the page's script tries to read them, to read the parent's title and to
navigate the top window, and writes what happened into its own DOM.
"""

from __future__ import annotations

import http.server
import json
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import sync_playwright

from glmv_ui.preview import (
    CSP,
    download_filename,
    preview_document,
    preview_iframe,
)

pytestmark = pytest.mark.browser

ARTIFACTS = Path(__file__).resolve().parent / "artifacts"
CHROMIUM = "/usr/bin/chromium"
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
SECRET_COOKIE = "cookie-secret-4711"
SECRET_STORAGE = "storage-secret-0815"
PARENT_TITLE = "parent-title-secret"

ATTACK_PAGE = """<!DOCTYPE html>
<html>
<head><title>Probe page</title>
<style>body { font-family: sans-serif; background: #eef6ff } #out { font-size: 12px }</style>
</head>
<body>
<h1 id="status">scripts did not run</h1>
<pre id="out"></pre>
<script>
const results = {};
function attempt(name, fn) {
  try { results[name] = {ok: true, value: String(fn())}; }
  catch (e) { results[name] = {ok: false, error: e.name}; }
}
attempt("parent_title", () => parent.document.title);
attempt("parent_cookie", () => parent.document.cookie);
attempt("own_cookie", () => document.cookie);
attempt("local_storage", () => localStorage.getItem("secret"));
attempt("parent_local_storage", () => parent.localStorage.getItem("secret"));
attempt("top_navigation", () => { top.location = "about:blank#pwned"; return "assigned"; });
document.getElementById("status").textContent = "scripts ran in the sandbox";
document.getElementById("out").textContent = JSON.stringify(results, null, 1);
document.body.dataset.done = "1";
</script>
</body>
</html>
"""


def _parent_page(frame: str) -> str:
    return f"""<!DOCTYPE html>
<html><head><meta charset="utf-8"><title>{PARENT_TITLE}</title></head>
<body>
<script>
document.cookie = "secret={SECRET_COOKIE}; path=/";
localStorage.setItem("secret", "{SECRET_STORAGE}");
</script>
<p>Parent page</p>
{frame}
</body></html>"""


@pytest.fixture()
def served_parent() -> Iterator[str]:
    body = _parent_page(preview_iframe(ATTACK_PAGE, height=300)).encode("utf-8")

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(200)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/"
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


def test_sandboxed_preview_runs_scripts_but_cannot_reach_the_parent(served_parent: str) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        try:
            page = browser.new_page(viewport={"width": 900, "height": 480})
            page.goto(served_parent)
            page.wait_for_function(
                "document.cookie.includes('secret=') && localStorage.getItem('secret') !== null"
            )
            page.wait_for_selector("iframe")
            page.wait_for_function("() => window.frames.length === 1")
            frame = next(f for f in page.frames if f is not page.main_frame)
            frame.wait_for_selector("body[data-done='1']")

            # the page's own script ran and changed its own DOM
            assert frame.inner_text("#status") == "scripts ran in the sandbox"
            results = json.loads(frame.inner_text("#out"))

            # every attempt on the parent failed, and what it saw is not a secret
            for name in ("parent_title", "parent_cookie", "parent_local_storage"):
                assert results[name]["ok"] is False, (name, results[name])
                assert results[name]["error"] == "SecurityError"
            # the opaque origin has no cookie jar or storage of its own either
            assert results["own_cookie"]["ok"] is False
            assert results["local_storage"]["ok"] is False
            blob = json.dumps(results)
            for secret in (SECRET_COOKIE, SECRET_STORAGE, PARENT_TITLE):
                assert secret not in blob
            # top navigation is refused: it threw, and the parent stayed where it was
            assert results["top_navigation"] == {"ok": False, "error": "SecurityError"}
            assert page.url == served_parent
            assert "pwned" not in page.url
            assert page.title() == PARENT_TITLE
            assert page.evaluate("localStorage.getItem('secret')") == SECRET_STORAGE

            # the iframe carries exactly the sandbox and policy we promise
            attrs = page.eval_on_selector(
                "iframe",
                "f => [f.getAttribute('sandbox'), f.getAttribute('referrerpolicy')]",
            )
            assert attrs == ["allow-scripts", "no-referrer"]
            assert frame.evaluate(
                "document.querySelector('meta[http-equiv=\"Content-Security-Policy\"]')"
                ".getAttribute('content')"
            ) == CSP

            page.screenshot(path=str(ARTIFACTS / "preview.png"))
        finally:
            browser.close()
    assert (ARTIFACTS / "preview.png").stat().st_size > 1000


def test_csp_blocks_network_but_inline_css_and_data_images_work(tmp_path: Path) -> None:
    pixel = (
        "data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR4"
        "2mP8z8DwHwAFBQIAX8jx0gAAAABJRU5ErkJggg=="
    )
    page_html = f"""<!DOCTYPE html><html><head>
<style>#box {{ color: rgb(255, 0, 0) }}</style>
<link rel="stylesheet" href="http://127.0.0.1:9/blocked.css">
</head><body><p id="box">red</p>
<img id="ok" src="{pixel}"><img id="remote" src="http://127.0.0.1:9/x.png">
<script>
let fetchResult = "pending";
fetch("http://127.0.0.1:9/").then(() => fetchResult = "fetched",
                                   e => fetchResult = "blocked:" + e.name)
  .finally(() => document.body.dataset.fetch = fetchResult);
</script></body></html>"""
    doc = tmp_path / "preview.html"
    doc.write_text(preview_document(page_html, title="CSP check"), encoding="utf-8")
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        try:
            page = browser.new_page()
            page.goto(doc.as_uri())
            page.wait_for_function("() => window.frames.length === 1")
            frame = next(f for f in page.frames if f is not page.main_frame)
            frame.wait_for_selector("body[data-fetch]")
            assert frame.get_attribute("body", "data-fetch").startswith("blocked:")
            color = frame.evaluate("getComputedStyle(document.getElementById('box')).color")
            assert color == "rgb(255, 0, 0)"
            frame.wait_for_function("document.getElementById('ok').complete")
            assert frame.evaluate("document.getElementById('ok').naturalWidth") == 1
            assert frame.evaluate("document.getElementById('remote').naturalWidth") == 0
        finally:
            browser.close()


def test_download_filename_and_escaping() -> None:
    assert download_filename("<title>My Shop: Home / Sale!</title>") == "My-Shop-Home-Sale.html"
    assert download_filename("<html><body>no title</body></html>") == "page.html"
    assert download_filename("<title>../../etc/passwd</title>") == "etc-passwd.html"
    assert download_filename("<title>  </title>") == "page.html"
    frame = preview_iframe('<p title="x">"quoted" & <b>bold</b></p>', title='a"b')
    assert 'srcdoc="' in frame and "&quot;quoted&quot; &amp; &lt;b&gt;" in frame
    assert 'title="a&quot;b"' in frame
    assert "allow-same-origin" not in frame and "allow-top-navigation" not in frame
    assert "allow-popups" not in frame and "allow-forms" not in frame
    with pytest.raises(ValueError):
        preview_iframe("<p>x</p>", height=0)
