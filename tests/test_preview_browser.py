"""The sealed HTML preview in real headless Chromium: the page's scripts run, and nothing leaves.

* A parent page served over http on 127.0.0.1 sets a cookie and a localStorage item and embeds
  ``preview_iframe(page)``; the page's script tries to read them and to move the top window.
* Every page of :data:`tests.preview_attacks.ATTACKS` is shown sealed while a loopback listener
  records every TCP connection and UDP datagram: it must receive nothing. The same page opened
  unprotected must reach the listener, which shows that each attack is real and that the listener
  hears it. After the page has loaded and its attempts have settled, the parent page sends a
  request and a STUN packet to a second listener and the test waits for both: anything the page
  started earlier has had its chance to arrive by then.
* Chromium warms up a connection to the target of any navigation a frame starts, before CSP
  refuses it (its "Preload pages" setting, which a page cannot change). The zero-connection tests
  run with that setting off; one more test runs with the default setting and checks that such a
  warm-up never carries a request.
"""

from __future__ import annotations

import html
import http.server
import json
import re
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import BrowserContext, Page, Playwright, expect

from glmv_ui.preview import (
    CSP,
    GUARD,
    download_filename,
    preview_document,
    preview_iframe,
)
from tests.conftest import CHROMIUM, CHROMIUM_ARGS
from tests.preview_attacks import ATTACKS, ATTACKS_BY_NAME, Attack, Hit, Listener

pytestmark = pytest.mark.browser

ARTIFACTS = Path(__file__).resolve().parent / "artifacts"
SECRET_COOKIE = "cookie-secret-4711"
SECRET_STORAGE = "storage-secret-0815"
PARENT_TITLE = "parent-title-secret"
INSERT = "markup => { document.getElementById('host').innerHTML = markup; }"
BARRIER = """async ({tcp, udp}) => {
  await fetch(`http://127.0.0.1:${tcp}/barrier`, {mode: 'no-cors'}).catch(() => {});
  const pc = new RTCPeerConnection({iceServers: [{urls: `stun:127.0.0.1:${udp}`}]});
  pc.createDataChannel('barrier');
  await pc.setLocalDescription(await pc.createOffer());
  window.barrierConnection = pc;
}"""

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
attempt("top_title", () => top.document.title);
attempt("top_cookie", () => top.document.cookie);
attempt("own_cookie", () => document.cookie);
attempt("local_storage", () => localStorage.getItem("secret"));
attempt("top_local_storage", () => top.localStorage.getItem("secret"));
attempt("top_navigation", () => { top.location = "about:blank#pwned"; return "assigned"; });
attempt("parent_navigation", () => { parent.location = "about:blank#pwned"; return "assigned"; });
document.getElementById("status").textContent = "scripts ran in the sandbox";
document.getElementById("out").textContent = JSON.stringify(results, null, 1);
document.body.dataset.done = "1";
</script>
</body>
</html>
"""


class App:
    """An http server on 127.0.0.1: ``/`` is a parent page with an empty ``#host``; other paths
    serve what :attr:`pages` holds."""

    def __init__(self) -> None:
        self.pages: dict[str, str] = {
            "/": (
                "<!DOCTYPE html><html><head><meta charset='utf-8'><title>app</title></head>"
                "<body><div id='host'></div></body></html>"
            )
        }
        pages = self.pages

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                body = pages.get(self.path, "").encode("utf-8")
                self.send_response(200 if self.path in pages else 404)
                self.send_header("Content-Type", "text/html; charset=utf-8")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: object) -> None:
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join()


@pytest.fixture(scope="module")
def app() -> Iterator[App]:
    server = App()
    try:
        yield server
    finally:
        server.close()


def _context(pw: Playwright, folder: Path, *, preload: bool) -> BrowserContext:
    """A Chromium profile; ``preload=False`` is the user setting "Preload pages: off"."""
    if not preload:
        (folder / "Default").mkdir(parents=True)
        (folder / "Default" / "Preferences").write_text(
            json.dumps({"net": {"network_prediction_options": 2}}), encoding="utf-8"
        )
    return pw.chromium.launch_persistent_context(
        str(folder), executable_path=CHROMIUM, args=CHROMIUM_ARGS
    )


@pytest.fixture(scope="module")
def profiles(
    playwright: Playwright, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[dict[str, BrowserContext]]:
    contexts = {
        name: _context(playwright, tmp_path_factory.mktemp(name), preload=name != "quiet")
        for name in ("quiet", "default")
    }
    try:
        yield contexts
    finally:
        for context in contexts.values():
            context.close()


@pytest.fixture(scope="module")
def quiet(profiles: dict[str, BrowserContext]) -> BrowserContext:
    """Chromium with "Preload pages" off."""
    return profiles["quiet"]


@pytest.fixture(scope="module")
def default(profiles: dict[str, BrowserContext]) -> BrowserContext:
    """Chromium as installed."""
    return profiles["default"]


def _show_sealed(page: Page, attack: Attack, listener: Listener) -> None:
    """Put the sealed preview of ``attack`` in the parent page and wait until it has settled."""
    markup = preview_iframe(attack.render(listener.tcp_port, listener.udp_port), height=200)
    if attack.navigates:
        # Sealed, the refused navigation commits the browser's error page in the page's frame;
        # a broken seal would show the listener's address there instead.
        with page.expect_event(
            "framenavigated",
            predicate=lambda f: (
                f is not page.main_frame and f.url not in ("", "about:blank", "about:srcdoc")
            ),
        ):
            page.evaluate(INSERT, markup)
    else:
        page.evaluate(INSERT, markup)
        inner = page.frame_locator("iframe").frame_locator("iframe")
        expect(inner.locator("html[data-done='1']")).to_be_attached()


def _barrier(page: Page) -> None:
    """A request and a STUN packet from the parent page, waited for at their own listener."""
    barrier = Listener()
    try:
        page.evaluate(BARRIER, {"tcp": barrier.tcp_port, "udp": barrier.udp_port})

        def arrived(hits: list[Hit]) -> bool:
            return any(h.kind == "tcp" and b"/barrier" in h.data for h in hits) and any(
                h.kind == "udp" for h in hits
            )

        assert barrier.wait(arrived, timeout=120), "the barrier never reached its listener"
    finally:
        barrier.close()


def _sealed_run(context: BrowserContext, app: App, attack: Attack) -> list[tuple[str, bytes]]:
    """What reached the listener while the sealed page ran; no frame may end on the network."""
    listener = Listener()
    page = context.new_page()
    try:
        page.goto(app.url)
        _show_sealed(page, attack, listener)
        _barrier(page)
        on_network = [
            f.url
            for f in page.frames
            if f is not page.main_frame and f.url.startswith(("http:", "https:", "ws:"))
        ]
        assert on_network == []
        return listener.snapshot()
    finally:
        page.close()
        listener.close()


@pytest.mark.slow
@pytest.mark.parametrize("attack", ATTACKS, ids=lambda a: a.name)
def test_sealed_preview_sends_nothing(attack: Attack, quiet: BrowserContext, app: App) -> None:
    assert _sealed_run(quiet, app, attack) == []


@pytest.mark.slow
@pytest.mark.parametrize("attack", [a for a in ATTACKS if a.reaches], ids=lambda a: a.name)
def test_unsealed_the_same_page_reaches_the_listener(
    attack: Attack, default: BrowserContext, app: App
) -> None:
    listener = Listener()
    path = f"/control/{attack.name}"
    app.pages[path] = attack.render(listener.tcp_port, listener.udp_port)
    page = default.new_page()
    try:
        page.goto(app.url.rstrip("/") + path, wait_until="commit")

        def heard(hits: list[Hit]) -> bool:
            return any(h.kind == attack.reaches and h.data for h in hits)

        assert listener.wait(heard, timeout=120), listener.snapshot()
    finally:
        page.close()
        listener.close()


NAVIGATIONS = [a for a in ATTACKS if a.navigates] + [ATTACKS_BY_NAME["iframe_src"]]


@pytest.mark.slow
@pytest.mark.parametrize("attack", NAVIGATIONS, ids=lambda a: a.name)
def test_with_preload_on_a_navigation_warm_up_carries_no_request(
    attack: Attack, default: BrowserContext, app: App
) -> None:
    # At most a bare connection (Chromium's warm-up, see the module doc), never a byte.
    hits = _sealed_run(default, app, attack)
    assert all(kind == "tcp" and data == b"" for kind, data in hits), hits


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


@pytest.mark.slow
def test_sandboxed_preview_runs_scripts_but_cannot_reach_the_parent(
    quiet: BrowserContext, app: App
) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    app.pages["/parent"] = _parent_page(preview_iframe(ATTACK_PAGE, height=300))
    served = app.url + "parent"
    page = quiet.new_page()
    try:
        page.set_viewport_size({"width": 900, "height": 480})
        page.goto(served)
        page.wait_for_function(
            "document.cookie.includes('secret=') && localStorage.getItem('secret') !== null"
        )
        inner = page.frame_locator("iframe").frame_locator("iframe")
        expect(inner.locator("body[data-done='1']")).to_be_attached()

        # the page's own script ran and changed its own DOM
        expect(inner.locator("#status")).to_have_text("scripts ran in the sandbox")
        results = json.loads(inner.locator("#out").inner_text())

        # every attempt on the frames around it failed, and what it saw is not a secret
        for name in ("parent_title", "top_title", "top_cookie", "top_local_storage"):
            assert results[name] == {"ok": False, "error": "SecurityError"}, name
        # the opaque origin has no cookie jar or storage of its own either
        assert results["own_cookie"]["ok"] is False
        assert results["local_storage"]["ok"] is False
        blob = json.dumps(results)
        for secret in (SECRET_COOKIE, SECRET_STORAGE, PARENT_TITLE):
            assert secret not in blob
        # navigating the frames around it is refused, and the parent stayed where it was
        assert results["top_navigation"] == {"ok": False, "error": "SecurityError"}
        assert results["parent_navigation"] == {"ok": False, "error": "SecurityError"}
        assert page.url == served
        assert page.title() == PARENT_TITLE
        assert page.evaluate("localStorage.getItem('secret')") == SECRET_STORAGE

        # both frames carry exactly the sandbox we promise; the policy is the first thing in
        # the document around the page, and the page's document has none of its own text
        attrs = page.eval_on_selector(
            "iframe", "f => [f.getAttribute('sandbox'), f.getAttribute('referrerpolicy')]"
        )
        assert attrs == ["allow-scripts", "no-referrer"]
        outer = page.frame_locator("iframe")
        expect(outer.locator("iframe")).to_have_attribute("sandbox", "allow-scripts")
        first = outer.locator("head > :first-child")
        expect(first).to_have_attribute("http-equiv", "Content-Security-Policy")
        expect(first).to_have_attribute("content", CSP)
        expect(inner.locator("meta[http-equiv='Content-Security-Policy']")).to_have_count(0)

        page.locator("iframe").screenshot(path=str(ARTIFACTS / "preview.png"))
    finally:
        page.close()
    assert (ARTIFACTS / "preview.png").stat().st_size > 1000


@pytest.mark.slow
def test_inline_css_scripts_and_data_images_work_offline(
    quiet: BrowserContext, tmp_path: Path
) -> None:
    pixel = (
        "data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR4"
        "2mP8z8DwHwAFBQIAX8jx0gAAAABJRU5ErkJggg=="
    )
    page_html = f"""<!DOCTYPE html><html><head>
<style>#box {{ color: rgb(255, 0, 0) }}</style>
<link rel="stylesheet" href="http://127.0.0.1:9/blocked.css">
</head><body><p id="box">red</p>
<img id="ok" src="{pixel}"><img id="remote" src="http://127.0.0.1:9/x.png">
<div id="built"></div>
<script>
document.getElementById("built").innerHTML = "<b>built by script</b>";
let fetchResult = "pending";
fetch("http://127.0.0.1:9/").then(() => fetchResult = "fetched",
                                   e => fetchResult = "blocked:" + e.name)
  .finally(() => document.body.dataset.fetch = fetchResult);
</script></body></html>"""
    doc = tmp_path / "preview.html"
    doc.write_text(preview_document(page_html, title="CSP check"), encoding="utf-8")
    page = quiet.new_page()
    try:
        page.goto(doc.as_uri())
        inner = page.frame_locator("iframe").frame_locator("iframe")
        expect(inner.locator("body[data-fetch]")).to_have_attribute(
            "data-fetch", re.compile("^blocked:")
        )
        expect(inner.locator("#box")).to_have_css("color", "rgb(255, 0, 0)")
        expect(inner.locator("#built b")).to_have_text("built by script")
        expect(inner.locator("#ok")).to_have_js_property("complete", True)
        expect(inner.locator("#ok")).to_have_js_property("naturalWidth", 1)
        expect(inner.locator("#remote")).to_have_js_property("naturalWidth", 0)
    finally:
        page.close()


# Every way a script could give a child frame a document of its own choosing. Child frames get
# a new opaque origin from the sandbox, so only srcdoc (or a URL, which CSP refuses) could; the
# page builds the attribute name at run time because its text cannot hold it.
ROUTES = """
const S = "src" + "doc", CHILD = "<script>parent.postMessage('child ran', '*')<\\/script>";
const frame = () => document.createElement("iframe");
const tries = {
  property: () => { const f = frame(); f[S] = CHILD; return f; },
  set_attribute: () => { const f = frame(); f.setAttribute(S.toUpperCase(), CHILD); return f; },
  set_attribute_ns: () => { const f = frame(); f.setAttributeNS(null, S, CHILD); return f; },
  attr_node: () => { const f = frame(); const a = document.createAttribute(S); a.value = CHILD;
                     f.setAttributeNode(a); return f; },
  attr_value_after: () => { const f = frame(); f.toggleAttribute(S);
                            f.getAttributeNode(S).value = CHILD; return f; },
  named_item: () => { const f = frame(); const a = document.createAttribute(S); a.value = CHILD;
                      f.attributes.setNamedItem(a); return f; },
  inner_html: () => { const d = document.createElement("div");
                      d.innerHTML = `<iframe ${S}="${CHILD}"></iframe>`; return d; },
  insert_adjacent: () => { const d = document.createElement("div");
                           d.insertAdjacentHTML("beforeend", `<iframe ${S}="x"></iframe>`);
                           return d; },
  dom_parser: () => new DOMParser().parseFromString(`<iframe ${S}="x">`, "text/html")
                      .body.firstChild,
  fragment: () => document.createRange().createContextualFragment(`<iframe ${S}="x">`),
  set_html_unsafe: () => { const d = document.createElement("div");
                           d.setHTMLUnsafe(`<iframe ${S}="x">`); return d; },
  exec_command: () => { const d = document.createElement("div"); d.contentEditable = "true";
                        document.body.append(d); d.focus();
                        document.execCommand("insertHTML", false, `<iframe ${S}="x">`);
                        return d; },
  default_policy: () => { const f = frame();
                          f[S] = trustedTypes.defaultPolicy.createHTML(CHILD); return f; },
  from_literal: () => { const f = frame(); f[S] = TrustedHTML.fromLiteral`<p>x</p>`;
                        return f; },
  new_policy: () => { const f = frame(); f[S] = trustedTypes.createPolicy("mine",
                        {createHTML: (s) => s}).createHTML(CHILD); return f; },
  xslt: () => new XSLTProcessor(),
  blank_child_window: () => { const f = frame(); document.body.append(f);
                              return f.contentWindow.RTCPeerConnection; },
  own_rtc: () => new RTCPeerConnection(),
};
const outcome = {};
for (const [name, make] of Object.entries(tries)) {
  try {
    const made = make();
    const node = made instanceof Element && made.matches("iframe") ? made
      : made instanceof Node ? made.querySelector("iframe") : made;
    const value = node && node.getAttribute ? node.getAttribute(S) : node;
    outcome[name] = value ? "made: " + String(value).slice(0, 40) : "nothing";
  } catch (e) { outcome[name] = "refused: " + e.name; }
}
document.getElementById("out").textContent = JSON.stringify(outcome);
"""


@pytest.mark.slow
def test_scripts_cannot_give_a_child_frame_a_script(quiet: BrowserContext, app: App) -> None:
    page = quiet.new_page()
    try:
        page.goto(app.url)
        page.evaluate(
            INSERT, preview_iframe(f"<!DOCTYPE html><pre id=out></pre><script>{ROUTES}</script>")
        )
        out = page.frame_locator("iframe").frame_locator("iframe").locator("#out")
        expect(out).not_to_be_empty()
        outcome: dict[str, Any] = json.loads(out.inner_text())
        made = {
            name: value
            for name, value in outcome.items()
            if not value.startswith("refused") and value != "nothing"
        }
        assert made == {}, outcome
        assert len(outcome) == 18
    finally:
        page.close()


def test_the_guard_comes_first_and_the_page_text_keeps_no_srcdoc() -> None:
    def inner_text(markup: str) -> str:
        outer = html.unescape(re.search(r'srcdoc="([^"]*)"', markup).group(1))  # type: ignore[union-attr]
        return html.unescape(re.search(r'srcdoc="([^"]*)"', outer).group(1))  # type: ignore[union-attr]

    page = inner_text(
        preview_iframe(
            "  <!doctype html><html><head><title>t</title></head>"
            "<body><iframe SrcDoc='<b>x</b>'></iframe></body></html>"
        )
    )
    assert page.startswith('  <!doctype html><meta http-equiv="x-dns-prefetch-control"')
    assert page.index(GUARD) < page.index("<html>")
    assert re.search("srcdoc", page.replace(GUARD, ""), re.I) is None
    assert "<iframe src-doc='<b>x</b>'>" in page
    # Anything before the doctype but whitespace: the guard goes first (quirks mode, by design).
    commented = inner_text(preview_iframe("<!-- --!><script>x()</script> --><!DOCTYPE html>"))
    assert commented.startswith('<meta http-equiv="x-dns-prefetch-control"')


def test_download_filename_and_escaping() -> None:
    assert download_filename("<title>My Shop: Home / Sale!</title>") == "My-Shop-Home-Sale.html"
    assert download_filename("<html><body>no title</body></html>") == "page.html"
    assert download_filename("<title>../../etc/passwd</title>") == "etc-passwd.html"
    assert download_filename("<title>  </title>") == "page.html"
    frame = preview_iframe('<p title="x">"quoted" & <b>bold</b></p>', title='a"b')
    assert frame.startswith('<iframe sandbox="allow-scripts" referrerpolicy="no-referrer"')
    assert 'title="a&quot;b"' in frame
    # Escaped once for the outer frame's attribute and once more for the inner one.
    assert "&amp;quot;quoted&amp;quot; &amp;amp; &amp;lt;b&amp;gt;" in frame
    assert "<b>" not in frame
    assert "<p " not in frame
    assert "allow-same-origin" not in frame
    assert "allow-top-navigation" not in frame
    assert "allow-popups" not in frame
    assert "allow-forms" not in frame
    with pytest.raises(ValueError, match="height"):
        preview_iframe("<p>x</p>", height=0)
