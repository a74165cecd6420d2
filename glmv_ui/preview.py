"""Show an HTML answer as a live page, sandboxed so that the page cannot reach the app around it.

:func:`preview_iframe` returns an ``<iframe srcdoc=…>`` whose ``sandbox`` grants only
``allow-scripts``. Without ``allow-same-origin`` the page runs in an opaque origin: its scripts run,
but they cannot read the parent document, its cookies or its storage, and without
``allow-top-navigation`` / ``allow-popups`` / ``allow-forms`` / ``allow-modals`` it cannot move the
app's tab, open windows, submit forms or block the page with dialogs.

A Content-Security-Policy ``<meta>`` is put at the top of the page itself (:data:`CSP`): inline
``<style>``, ``style=""`` and inline ``<script>`` work, as do ``data:`` images and fonts; every
network fetch is refused (external scripts and stylesheets, CDN frameworks such as Tailwind's,
web fonts, ``https:`` images, ``fetch``/XHR, nested frames). The typical web-page replication
answer (one file with inline CSS and JS) renders as written; pages that lean on a CDN lose those
styles or scripts, and remote images (placeholder services, stock photos) show as broken images
with their ``alt`` text. That trade is deliberate: a model's page must not call out to hosts the
user did not choose, nor leak that the preview was opened.

Standard library only; nothing happens at import time.
"""

from __future__ import annotations

import html as _html
import re

__all__ = ["CSP", "SANDBOX", "download_filename", "preview_document", "preview_iframe"]

SANDBOX = "allow-scripts"
CSP = (
    "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; "
    "img-src data:; font-src data:; base-uri 'none'; form-action 'none'"
)

_HEAD = re.compile(r"<head\b[^>]*>", re.I)
_HTML = re.compile(r"<html\b[^>]*>", re.I)
_DOCTYPE = re.compile(r"\s*<!doctype[^>]*>", re.I)
_TITLE = re.compile(r"<title\b[^>]*>(.*?)</title\s*>", re.I | re.S)
_UNSAFE = re.compile(r"[^\w.-]+")


def _with_csp(page: str) -> str:
    """The page with the CSP meta placed before anything it has to govern."""
    meta = f'<meta http-equiv="Content-Security-Policy" content="{CSP}">'
    for pattern in (_HEAD, _HTML, _DOCTYPE):
        m = pattern.search(page) if pattern is not _DOCTYPE else pattern.match(page)
        if m is not None:
            return page[: m.end()] + meta + page[m.end() :]
    return meta + page


def preview_iframe(html: str, *, height: int = 480, title: str = "HTML preview") -> str:
    """An ``<iframe>`` that shows ``html`` with scripts on, in an opaque origin, offline."""
    if height < 1:
        raise ValueError(f"height must be a positive number of pixels, got {height}")
    srcdoc = _html.escape(_with_csp(html), quote=True)
    return (
        f'<iframe sandbox="{SANDBOX}" referrerpolicy="no-referrer" '
        f'title="{_html.escape(title, quote=True)}" '
        f'style="width:100%;height:{int(height)}px;border:1px solid #d0d7de;border-radius:6px;'
        f'background:#fff" srcdoc="{srcdoc}"></iframe>'
    )


def preview_document(html: str, *, title: str = "HTML preview") -> str:
    """A standalone page that embeds the sandboxed preview (for download, notebooks, tests)."""
    heading = _html.escape(title, quote=False)
    return (
        "<!DOCTYPE html>\n<html>\n<head>\n<meta charset=\"utf-8\">\n"
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
