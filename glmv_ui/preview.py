"""Show an HTML answer as a live page that cannot reach the app around it nor the network.

:func:`preview_iframe` returns two nested frames, and the seal does not depend on what the page
says:

* The outer ``<iframe sandbox="allow-scripts" srcdoc=…>`` holds a small document that is entirely
  ours. Its first element is the Content-Security-Policy ``<meta>`` (:data:`CSP`): inline
  ``<script>``, ``<style>`` and ``style=""`` run, ``data:`` images, fonts and media (and ``blob:``
  images and media) load, and every network fetch is refused (scripts, stylesheets,
  ``@import``, fonts, images, media, ``fetch``/XHR/WebSocket/EventSource/``sendBeacon``, workers,
  ``<object>``/``<embed>``, nested frames, ``<base>``, form targets). It also turns DNS
  prefetching off and enforces Trusted Types.
* The model's page is the ``srcdoc`` of a second sandboxed frame inside it. A ``srcdoc`` document
  inherits the policy of the document that embeds it, so no comment, attribute or script in the
  page can come before the policy, and a navigation of that frame (``<meta http-equiv=refresh>``,
  ``location = …``, a clicked link) is checked against the outer document's ``frame-src 'none'``
  and refused: the frame shows the browser's error page, never a network URL.
* Both frames run in opaque origins (no ``allow-same-origin``): the page's scripts cannot read the
  app, its cookies or storage, and without ``allow-top-navigation``, ``allow-popups``,
  ``allow-forms`` or ``allow-modals`` they cannot move the app's tab, open windows, submit forms or
  block the page with dialogs.
* WebRTC does not go through fetch, so CSP does not govern it. A script of ours runs first in the
  page and deletes ``RTCPeerConnection`` (and its ``webkit`` alias). Frames the page creates
  inherit the sandbox and so get a new opaque origin of their own: the page's scripts cannot reach
  into them, and an ``about:blank`` frame never runs script. The one way to put script into a
  child frame would be ``srcdoc``; the page text cannot carry a ``srcdoc`` attribute (every
  ``srcdoc`` in it is rewritten to ``src-doc`` before it is shown) and Trusted Types make every
  script path that builds HTML or sets ``srcdoc`` pass through our policy, which refuses
  ``srcdoc``. ``XSLTProcessor`` (which builds elements outside Trusted Types) is removed too.

What is not covered (say so to users who need it):

* Chromium opens a TCP connection (for ``https:`` also a TLS hello, which names the host) to the
  target of any navigation a frame *starts*, before CSP refuses it: its "Preload pages" warm-up.
  No HTTP request is sent, but a page can name a host through it (and through that host's DNS
  lookup). A page cannot switch this off; the browser's "Preload pages" setting can (the
  preference ``net.network_prediction_options``; the tests run Chromium with it off).
* The child-frame measures rest on Trusted Types, checked in Chromium. In a browser without
  them a script can still give a child frame a ``srcdoc`` or ``javascript:`` document of its
  own, with a WebRTC of its own.
* A srcdoc page has no address of its own, so a link to ``#section`` is a navigation too: it is
  refused like any other and the frame shows the error page instead of scrolling.

The typical web-page replication answer (one file with inline CSS and JS) renders as written;
pages that lean on a CDN lose those styles or scripts, and remote images show as broken images
with their ``alt`` text. A page's own use of ``srcdoc`` stops working, the word "srcdoc" in its
text reads "src-doc", and a ``document.write`` piece that ends in the start of that word ("s",
"src", ...) gets an empty comment after it (invisible, except inside ``<textarea>`` or
``<title>``). That trade is deliberate.

Standard library only; nothing happens at import time.
"""

from __future__ import annotations

import html as _html
import re

__all__ = ["CSP", "GUARD", "SANDBOX", "download_filename", "preview_document", "preview_iframe"]

SANDBOX = "allow-scripts"
CSP = (
    "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; "
    "img-src data: blob:; font-src data:; media-src data: blob:; frame-src 'none'; "
    "child-src 'none'; worker-src 'none'; base-uri 'none'; form-action 'none'; "
    "require-trusted-types-for 'script'; trusted-types default"
)
# Runs first in the page. Trusted Types hand every string that becomes HTML (innerHTML,
# document.write, DOMParser, srcdoc, ...) to the "default" policy below; a value that could make an
# attribute named srcdoc is refused. document.write is the one sink whose pieces the tokenizer
# joins, so a piece that ends in the start of "srcdoc" gets an empty comment after it, and the
# wrapper passes every write through the policy as a string (a TrustedHTML made by the policy for
# another sink would otherwise skip it). The policy object itself is hidden from the page.
GUARD = """(() => {
  "use strict";
  for (const name of ["RTCPeerConnection", "webkitRTCPeerConnection", "XSLTProcessor"]) {
    delete window[name];
  }
  const tt = window.trustedTypes;
  if (!tt) return;
  for (const type of [window.TrustedHTML, window.TrustedScript, window.TrustedScriptURL]) {
    if (type) delete type.fromLiteral;
  }
  const whole = /srcdoc/i;
  const start = /(?:s|sr|src|srcd|srcdo)$/i;
  const html = (value, _type, sink) => {
    const text = String(value);
    if (sink === "HTMLIFrameElement srcdoc" || whole.test(text)) return null;
    return start.test(text) ? text + "<!---->" : text;
  };
  tt.createPolicy("default", {createHTML: html, createScript: (s) => s,
                              createScriptURL: (s) => s});
  const factory = Object.getPrototypeOf(tt);
  Object.defineProperty(factory, "defaultPolicy", {get: () => null, configurable: false});
  for (const name of ["write", "writeln"]) {
    const original = Document.prototype[name];
    Object.defineProperty(Document.prototype, name, {
      value: function (...parts) { return original.call(this, parts.map(String).join("")); },
      configurable: false, writable: false,
    });
  }
})();"""

_SRCDOC = re.compile("srcdoc", re.IGNORECASE)
# Only whitespace and a doctype may come before our script: anything else (a comment included,
# whose end the tokenizer may see earlier than a regex) could hold markup that runs first.
_LEADING_DOCTYPE = re.compile(r"[\t\n\f\r ]*<!doctype[^>]*>", re.IGNORECASE)
_PREFIX = f'<meta http-equiv="x-dns-prefetch-control" content="off"><script>{GUARD}</script>'
_OUTER_STYLE = (
    "html,body{margin:0;height:100%;overflow:hidden;background:#fff}"
    "iframe{display:block;border:0;width:100%;height:100%}"
)
_TITLE = re.compile(r"<title\b[^>]*>(.*?)</title\s*>", re.I | re.S)
_UNSAFE = re.compile(r"[^\w.-]+")


def _attr(text: str) -> str:
    return _html.escape(text, quote=True)


def _page_document(page: str) -> str:
    """The model's page with our guard first (after its doctype, which keeps its render mode)."""
    page = _SRCDOC.sub("src-doc", page)
    m = _LEADING_DOCTYPE.match(page)
    cut = m.end() if m is not None else 0
    return page[:cut] + _PREFIX + page[cut:]


def _seal_document(page: str, title: str) -> str:
    """Our document: the policy first, then the page in its own sandboxed frame."""
    return (
        "<!DOCTYPE html><html><head>"
        f'<meta http-equiv="Content-Security-Policy" content="{_attr(CSP)}">'
        '<meta http-equiv="x-dns-prefetch-control" content="off">'
        '<meta name="referrer" content="no-referrer">'
        f"<style>{_OUTER_STYLE}</style></head><body>"
        f'<iframe sandbox="{SANDBOX}" referrerpolicy="no-referrer" title="{_attr(title)}" '
        f'srcdoc="{_attr(_page_document(page))}"></iframe>'
        "</body></html>"
    )


def preview_iframe(html: str, *, height: int = 480, title: str = "HTML preview") -> str:
    """An ``<iframe>`` that shows ``html`` with scripts on, in an opaque origin, offline."""
    if height < 1:
        raise ValueError(f"height must be a positive number of pixels, got {height}")
    return (
        f'<iframe sandbox="{SANDBOX}" referrerpolicy="no-referrer" title="{_attr(title)}" '
        f'style="width:100%;height:{int(height)}px;border:1px solid #d0d7de;border-radius:6px;'
        f'background:#fff" srcdoc="{_attr(_seal_document(html, title))}"></iframe>'
    )


def preview_document(html: str, *, title: str = "HTML preview") -> str:
    """A standalone page that embeds the sandboxed preview (for download, notebooks, tests)."""
    heading = _html.escape(title, quote=False)
    return (
        '<!DOCTYPE html>\n<html>\n<head>\n<meta charset="utf-8">\n'
        f"<title>{heading}</title>\n"
        "<style>body{margin:0;padding:12px;font-family:sans-serif}</style>\n"
        "</head>\n<body>\n"
        f"{preview_iframe(html, height=720, title=title)}\n"
        "</body>\n</html>\n"
    )


def download_filename(html: str) -> str:
    """A safe file name for the page, from its ``<title>`` when it has one; ends in ``.html``."""
    m = _TITLE.search(html)
    stem = ""
    if m is not None:
        text = _html.unescape(re.sub(r"<[^>]*>", "", m.group(1)))
        stem = _UNSAFE.sub("-", text).strip("-._")[:60].strip("-._")
    return f"{stem or 'page'}.html"
