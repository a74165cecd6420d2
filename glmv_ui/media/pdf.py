"""PDF files -> one RGB :class:`MediaPart` per page used, rendered at a token-budgeted resolution.

Pages are rendered one at a time, only those used, each pixmap dropped as soon as it is a PIL
image, so a long document costs the memory of the pages sent and no more. Rendering applies the
page's /Rotate (pages come out upright) and always targets RGB (CMYK and gray pages included).

Damaged files: when the PDF library reports it had to repair a file, the pages it recovered are
used with a note; when nothing can be recovered the file is refused.
"""

from __future__ import annotations

import math
import os
from typing import Any, Literal

from ..config import MediaLimits
from ..errors import MediaError, PasswordRequiredError, UnsupportedMediaError
from ..reasons import reason
from .budget import DEFAULT_LIMITS, TOKEN_PIXELS
from .parts import MediaPart

__all__ = ["MAX_DPI", "MIN_DPI", "page_zoom", "render_pdf"]

MIN_DPI = 50  # below this text stops being legible
MAX_DPI = 200  # above this a normal page only wastes tokens
MIN_SIDE_PX = 224  # tiny pages (4 pt pages from image-to-PDF tools) may pass MAX_DPI to reach it


def page_zoom(width_pt: float, height_pt: float, tokens: int) -> float:
    """Zoom (1.0 = 72 dpi) giving a page about ``tokens`` visual tokens, within the dpi range."""
    area = max(width_pt * height_pt, 1e-6)
    zoom = math.sqrt(tokens * TOKEN_PIXELS / area)
    low, high = MIN_DPI / 72, MAX_DPI / 72
    if min(width_pt, height_pt) * high < MIN_SIDE_PX:
        # A page under ~1.1 in: let it reach a usable size, still within the token budget.
        high = max(high, min(zoom, MIN_SIDE_PX / max(min(width_pt, height_pt), 1e-6)))
    return min(max(zoom, low), high)


def choose_range(name: str, total: int, page_range: tuple[int, int] | None, cap: int,
                 unit: str) -> tuple[int, int, list[str]]:
    """The 1-based pages (or slides) to use and the notes saying so: the user's range, checked,
    then cut to ``cap`` with an explicit "N-M of T used" note, never silently."""
    first, last = 1, total
    if page_range is not None:
        first, last = int(page_range[0]), int(page_range[1])
        if first < 1 or last < first or first > total:
            raise MediaError(name, reason("slides.range" if unit == "slide" else "pdf.range",
                                          first=first, last=last, total=total))
        last = min(last, total)
    if cap < 1:
        raise MediaError(name, reason("slides.no_room" if unit == "slide" else "pdf.no_room"))
    notes: list[str] = []
    if last - first + 1 > cap:
        last = first + cap - 1
        notes.append(f"{unit}s {first}\u2013{last} of {total} used; "
                     f"choose a {unit} range to see others")
    elif (first, last) != (1, total):
        notes.append(f"{unit}s {first}\u2013{last} of {total} used")
    return first, last, notes


def render_pdf(path: str | os.PathLike[str], name: str, limits: MediaLimits = DEFAULT_LIMITS, *,
               password: str | None = None, page_range: tuple[int, int] | None = None,
               max_pages: int | None = None,
               numbering: Literal["page", "slide"] = "page") -> list[MediaPart]:
    """Render the used pages of a PDF. ``page_range`` is 1-based inclusive.

    ``max_pages`` caps the pages used (default ``limits.max_pdf_pages``); the cap is reported in
    a note on the first part, never applied silently. ``numbering="slide"`` fills
    ``MediaPart.slide`` instead of ``page`` (for decks converted to PDF).
    """
    import pymupdf

    # MuPDF prints recoverable problems (odd ICC profiles, repaired xrefs) to stderr; they are
    # not the user's concern, and damage that matters is reported through MediaError.
    pymupdf.TOOLS.mupdf_display_errors(False)
    with open(path, "rb") as fh:
        head = fh.read(1024)
    if not head:
        raise MediaError(name, reason("file.empty"))
    if b"%PDF-" not in head:
        # The renderer would happily open HTML or text as a document; a PDF must say it is one.
        raise UnsupportedMediaError(name, reason("file.mismatch", format="PDF"))
    try:
        doc = pymupdf.open(os.fspath(path), filetype="pdf")
    except pymupdf.EmptyFileError as exc:
        raise MediaError(name, reason("file.empty")) from exc
    except Exception as exc:  # FileDataError and the renderer's other parse errors
        raise UnsupportedMediaError(name, reason("pdf.unreadable")) from exc
    with doc:
        _unlock(doc, name, password)
        return _render_doc(doc, name, limits, page_range, max_pages, numbering, pymupdf)


def _unlock(doc: Any, name: str, password: str | None) -> None:
    if not doc.needs_pass:
        return
    if password is None or password == "":
        raise PasswordRequiredError(name, reason("pdf.password"))
    if not doc.authenticate(password):
        raise PasswordRequiredError(name, reason("pdf.wrong_password"))


def _render_doc(doc: Any, name: str, limits: MediaLimits,
                page_range: tuple[int, int] | None, max_pages: int | None,
                numbering: str, pymupdf: Any) -> list[MediaPart]:
    from PIL import Image

    unit = "slide" if numbering == "slide" else "page"
    total = doc.page_count
    if total == 0:
        raise MediaError(name, reason("pdf.damaged" if doc.is_repaired else "pdf.no_pages"))
    cap = limits.max_pdf_pages if max_pages is None else max_pages
    first, last, notes = choose_range(name, total, page_range, cap, unit)
    if doc.is_repaired:
        notes.insert(0, "the file was damaged and has been repaired; some content may be "
                        "missing")
    parts: list[MediaPart] = []
    for number in range(first, last + 1):
        try:
            page = doc.load_page(number - 1)
            rect = page.rect
            zoom = page_zoom(rect.width, rect.height, limits.pdf_tokens_per_page)
            pix = page.get_pixmap(matrix=pymupdf.Matrix(zoom, zoom),
                                  colorspace=pymupdf.csRGB, alpha=False)
            image = Image.frombytes("RGB", (pix.width, pix.height), pix.samples)
            del pix, page  # keep only the PIL image: one pixmap alive at a time
        except Exception as exc:  # the renderer's own error types vary by version
            raise MediaError(name, reason(
                "slides.slide_damaged" if unit == "slide" else "pdf.page_damaged",
                number=number)) from exc
        where = {"slide": number} if numbering == "slide" else {"page": number}
        parts.append(MediaPart(kind="image", source=name, image=image, page_count=total,
                               notes=tuple(notes) if not parts else (),
                               meta={"dpi": round(zoom * 72)}, **where))  # type: ignore[arg-type]
    return parts
