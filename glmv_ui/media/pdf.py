"""PDF files -> one RGB :class:`MediaPart` per page used, rendered at a token-budgeted resolution.

Pages are rendered one at a time, only those used, each directly at the size its token budget
gives it (there is no minimum dpi: a 14400 pt page is drawn at the same ~1500 tokens as an A4
one), and each pixmap is dropped as soon as it is a PIL image, so a long document costs the memory
of the pages sent and no more. Before anything is rendered, the pages' visual tokens are worked
out from their sizes and checked against the room left in the context, and every embedded font
program is measured by inflating it in bounded chunks (nothing kept) and refused above
:data:`MAX_FONT_BYTES`. The renderer's cache is emptied after each document. Rendering applies
the page's /Rotate (pages come out upright) and always targets RGB (CMYK and gray pages
included).

Damaged files: when the PDF library reports it had to repair a file, the pages it recovered are
used with a note; when nothing can be recovered the file is refused.
"""

from __future__ import annotations

import base64
import binascii
import math
import os
import re
import zlib
from typing import Any, Literal

from ..config import MediaLimits
from ..errors import MediaBudgetError, MediaError, PasswordRequiredError, UnsupportedMediaError
from ..reasons import Reason, reason
from .budget import DEFAULT_LIMITS, TOKEN_PIXELS, image_tokens, over_budget
from .parts import MediaPart, span

__all__ = ["MAX_DPI", "MAX_FONT_BYTES", "MIN_DPI", "page_zoom", "render_pdf"]

# Below this text stops being legible. Not a floor: the token budget decides (see page_zoom), and
# an A4 or letter page at the default 1500 tokens comes out at about 110 dpi.
MIN_DPI = 50
# The largest embedded font program accepted, unpacked; real fonts (CJK included) stay under 30 MB.
MAX_FONT_BYTES = 64 * 2**20
MAX_DPI = 200  # above this a normal page only wastes tokens
MIN_SIDE_PX = 224  # tiny pages (4 pt pages from image-to-PDF tools) may pass MAX_DPI to reach it


def page_zoom(width_pt: float, height_pt: float, tokens: int) -> float:
    """Zoom (1.0 = 72 dpi) giving a page about ``tokens`` visual tokens, at most ``MAX_DPI``.

    The token budget always wins over ``MIN_DPI``: a page so large that the budget gives it
    under 50 dpi is drawn at the budget's size, never at a fixed dpi that would make it 10000 px
    a side."""
    area = max(width_pt * height_pt, 1e-6)
    zoom = math.sqrt(tokens * TOKEN_PIXELS / area)
    high = MAX_DPI / 72
    if min(width_pt, height_pt) * high < MIN_SIDE_PX:
        # A page under ~1.1 in: let it reach a usable size, still within the token budget.
        high = max(high, min(zoom, MIN_SIDE_PX / max(min(width_pt, height_pt), 1e-6)))
    return min(zoom, high)


def choose_range(
    name: str,
    total: int,
    page_range: tuple[int, int] | None,
    cap: int,
    unit: Literal["page", "slide"],
) -> tuple[int, int, list[Reason]]:
    """The 1-based pages (or slides) to use and the notes saying so: the user's range, checked,
    then cut to ``cap`` with an explicit "N-M of T used" note, never silently."""
    first, last = 1, total
    if page_range is not None:
        first, last = int(page_range[0]), int(page_range[1])
        if first < 1 or last < first or first > total:
            raise MediaError(
                name,
                reason(
                    "slides.range" if unit == "slide" else "pdf.range",
                    first=first,
                    last=last,
                    total=total,
                ),
            )
        last = min(last, total)
    if cap < 1:
        raise MediaError(name, reason("slides.no_room" if unit == "slide" else "pdf.no_room"))
    notes: list[Reason] = []
    if last - first + 1 > cap:
        last = first + cap - 1
        used = span(unit, first, last, total)
        if unit == "slide":
            notes.append(reason("note.slides_capped", range=used))
        else:
            notes.append(reason("note.pages_capped", range=used))
    elif (first, last) != (1, total):
        notes.append(reason("note.used", range=span(unit, first, last, total)))
    return first, last, notes


def render_pdf(
    path: str | os.PathLike[str],
    name: str,
    limits: MediaLimits = DEFAULT_LIMITS,
    *,
    password: str | None = None,
    page_range: tuple[int, int] | None = None,
    max_pages: int | None = None,
    numbering: Literal["page", "slide"] = "page",
    token_used: int | None = None,
) -> list[MediaPart]:
    """Render the used pages of a PDF. ``page_range`` is 1-based inclusive.

    ``max_pages`` caps the pages used (default ``limits.max_pdf_pages``); the cap is reported in
    a note on the first part, never applied silently. ``numbering="slide"`` fills
    ``MediaPart.slide`` instead of ``page`` (for decks converted to PDF). ``token_used`` are the
    visual tokens already in the conversation: pages that would not fit beside them are refused
    before any is rendered.
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
        try:
            return _render_doc(
                doc, name, limits, page_range, max_pages, numbering, pymupdf, token_used
            )
        finally:
            pymupdf.TOOLS.store_shrink(100)  # hand the renderer's cache back


def _unlock(doc: Any, name: str, password: str | None) -> None:
    if not doc.needs_pass:
        return
    if password is None or password == "":
        raise PasswordRequiredError(name, reason("pdf.password"))
    if not doc.authenticate(password):
        raise PasswordRequiredError(name, reason("pdf.wrong_password"))


def _render_doc(
    doc: Any,
    name: str,
    limits: MediaLimits,
    page_range: tuple[int, int] | None,
    max_pages: int | None,
    numbering: str,
    pymupdf: Any,
    token_used: int | None,
) -> list[MediaPart]:
    from PIL import Image

    unit: Literal["page", "slide"] = "slide" if numbering == "slide" else "page"
    total = doc.page_count
    if total == 0:
        raise MediaError(name, reason("pdf.damaged" if doc.is_repaired else "pdf.no_pages"))
    cap = limits.max_pdf_pages if max_pages is None else max_pages
    first, last, notes = choose_range(name, total, page_range, cap, unit)
    if doc.is_repaired:
        notes.insert(0, reason("note.repaired"))
    zooms = _plan(doc, name, first, last, limits, unit, token_used)
    _check_fonts(doc, name)
    _check_patterns(doc, name, first, last)
    parts: list[MediaPart] = []
    for number in range(first, last + 1):
        try:
            page = doc.load_page(number - 1)
        except Exception as exc:  # the renderer's own error types vary by version
            raise MediaError(
                name,
                reason(
                    "slides.slide_damaged" if unit == "slide" else "pdf.page_damaged", number=number
                ),
            ) from exc
        _check_images(doc, page, name, number, unit)
        try:
            zoom = zooms[number - first]
            pix = page.get_pixmap(
                matrix=pymupdf.Matrix(zoom, zoom), colorspace=pymupdf.csRGB, alpha=False
            )
            image = Image.frombuffer(
                "RGB", (pix.width, pix.height), pix.samples_mv, "raw", "RGB", pix.stride, 1
            ).copy()
            del pix, page  # keep only the PIL image: one pixmap alive at a time
        except Exception as exc:  # the renderer's own error types vary by version
            raise MediaError(
                name,
                reason(
                    "slides.slide_damaged" if unit == "slide" else "pdf.page_damaged", number=number
                ),
            ) from exc
        slide, page_no = (number, None) if numbering == "slide" else (None, number)
        parts.append(
            MediaPart(
                kind="image",
                source=name,
                image=image,
                page_count=total,
                notes=tuple(notes) if not parts else (),
                meta={"dpi": round(zoom * 72)},
                slide=slide,
                page=page_no,
            )
        )
    return parts


# The most tiles a tiling pattern may have over a page: MuPDF draws each one (about 35 ns a tile
# here), so a 0.01 pt step over a letter page (4.8 billion tiles) took 95 s; 2^22 tiles (a step of
# about 0.34 pt on a letter page) take about 0.15 s.
MAX_PATTERN_TILES = 2**22
_NUMBER = r"[-+]?(?:\d+\.?\d*|\.\d+)"


def _pdf_numbers(text: str) -> list[float]:
    """The numbers of a PDF array as written in the file (PDF number syntax: ``.5``, ``+1``)."""
    return [float(v) for v in re.findall(_NUMBER, text)]


def _check_patterns(doc: Any, name: str, first: int, last: int) -> None:
    """Refuse a tiling pattern whose cell, in page space (its XStep x YStep through its
    /Matrix), is so small that filling the largest used page would draw more than
    :data:`MAX_PATTERN_TILES` tiles. Read from the objects before anything is rendered."""
    area = max(
        (
            doc.load_page(n - 1).rect.width * doc.load_page(n - 1).rect.height
            for n in range(first, last + 1)
        ),
        default=0.0,
    )
    for xref in range(1, doc.xref_length()):
        try:
            if doc.xref_get_key(xref, "PatternType") != ("int", "1"):
                continue
            steps = [doc.xref_get_key(xref, key) for key in ("XStep", "YStep")]
            matrix = doc.xref_get_key(xref, "Matrix")
        except Exception:  # noqa: BLE001 - a broken object: the renderer decides about it
            continue
        try:
            xstep, ystep = (abs(float(value)) for _kind, value in steps)
        except ValueError:
            continue
        a, b, c, d = (
            (_pdf_numbers(matrix[1]) + [0.0] * 6)[:4]
            if matrix[0] == "array"
            else (1.0, 0.0, 0.0, 1.0)
        )
        cell = xstep * ystep * abs(a * d - b * c)
        tiles = area / cell if cell > 0 else math.inf
        if tiles > MAX_PATTERN_TILES:
            raise MediaBudgetError(
                name,
                reason(
                    "pdf.pattern",
                    xref=xref,
                    cell=math.sqrt(cell),
                    tiles=min(tiles, 1e18),
                    limit=MAX_PATTERN_TILES,
                ),
            )


def _components(doc: Any, xref: int, colourspace: str) -> int:
    """Colour components of an image, from its colour space (4 when it cannot be told)."""
    known = {
        "DeviceGray": 1,
        "CalGray": 1,
        "Indexed": 1,
        "Separation": 1,
        "DeviceRGB": 3,
        "CalRGB": 3,
        "Lab": 3,
        "DeviceCMYK": 4,
    }
    if colourspace in known:
        return known[colourspace]
    try:
        kind, value = doc.xref_get_key(xref, "ColorSpace")
        if kind == "xref":
            value = doc.xref_object(int(value.split()[0]), compressed=True)
        icc = re.search(r"/ICCBased\s*(\d+)\s+0\s+R", value)
        if icc:
            count = doc.xref_get_key(int(icc.group(1)), "N")
            if count[0] == "int" and 1 <= int(count[1]) <= 4:
                return int(count[1])
        for space, n in known.items():
            if value.strip("[] ").startswith("/" + space):
                return n
    except Exception:  # noqa: BLE001
        pass
    return 4


def _jpx_size(data: bytes) -> tuple[int, int, int] | None:
    """Width, height and components from a JPEG 2000 codestream's SIZ marker."""
    at = data.find(b"\xff\x4f\xff\x51", 0, 1 << 16)
    if at < 0 or len(data) < at + 42:
        return None
    siz = data[at + 6 :]
    xsiz, ysiz, xo, yo = (int.from_bytes(siz[i : i + 4], "big") for i in (2, 6, 10, 14))
    return max(0, xsiz - xo), max(0, ysiz - yo), int.from_bytes(siz[34:36], "big")


def _image_cost(doc: Any, info: tuple[Any, ...]) -> tuple[int, int, int]:
    """An image XObject's width, height and the bytes the renderer holds to decode it: pixels x
    components x bytes per sample; a progressive or multi-scan JPEG's whole coefficient buffer;
    JPEG 2000 samples as 32-bit integers (OpenJPEG's). Sizes come from the stream's own header
    where it has one, since that is what the decoder allocates."""
    import io

    from .images import jpeg_frame

    xref, _smask, width, height, bpc, colourspace = info[:6]
    try:
        kind, value = doc.xref_get_key(xref, "Filter")
    except Exception:  # noqa: BLE001
        kind, value = "null", ""
    filters = value.strip("[]").split() if kind in ("name", "array") else []
    last = filters[-1] if filters else ""
    comps = _components(doc, xref, str(colourspace))
    size = int(width) * int(height) * comps * max(8, int(bpc or 8)) // 8
    if last in ("/DCTDecode", "/DCT") and len(filters) == 1:
        frame = jpeg_frame(io.BytesIO(doc.xref_stream_raw(xref) or b""))
        if frame is not None:
            width, height = max(width, frame.width), max(height, frame.height)
            size = max(size, frame.width * frame.height * len(frame.sampling))
            if frame.whole_image:
                size = max(size, frame.coefficient_bytes())
    elif last == "/JPXDecode":
        jpx = _jpx_size(doc.xref_stream_raw(xref) or b"") if len(filters) == 1 else None
        if jpx is not None:
            width, height, comps = max(width, jpx[0]), max(height, jpx[1]), max(1, jpx[2])
        size = int(width) * int(height) * comps * 4
    return int(width), int(height), size


def _check_images(doc: Any, page: Any, name: str, number: int, unit: str) -> None:
    """Refuse a page using an image (or soft mask) that would decode to more than the image
    limit, or images that together would, before the page is rendered."""
    from .images import MAX_DECODE_BYTES

    try:
        images = page.get_images(full=True)
    except Exception:  # noqa: BLE001 - the renderer decides about a broken page
        return
    seen: dict[int, int] = {}
    for info in images:
        entries = [info]
        if info[1]:
            try:
                w, h = (doc.xref_get_key(info[1], k)[1] for k in ("Width", "Height"))
                entries.append((info[1], 0, int(w), int(h), 8, "DeviceGray"))
            except Exception:  # noqa: BLE001 - no usable size: the renderer decides
                pass
        for entry in entries:
            if entry[0] in seen:
                continue
            width, height, size = _image_cost(doc, entry)
            seen[entry[0]] = size
            if size > MAX_DECODE_BYTES:
                raise MediaBudgetError(
                    name,
                    reason(
                        "slides.image" if unit == "slide" else "pdf.image",
                        number=number,
                        xref=entry[0],
                        width=width,
                        height=height,
                        decoded_mb=size / 2**20,
                        limit_mb=MAX_DECODE_BYTES // 2**20,
                    ),
                )
    total = sum(seen.values())
    if total > MAX_DECODE_BYTES:
        raise MediaBudgetError(
            name,
            reason(
                "slides.images" if unit == "slide" else "pdf.images",
                number=number,
                count=len(seen),
                decoded_mb=total / 2**20,
                limit_mb=MAX_DECODE_BYTES // 2**20,
            ),
        )


def _plan(
    doc: Any,
    name: str,
    first: int,
    last: int,
    limits: MediaLimits,
    unit: str,
    token_used: int | None,
) -> list[float]:
    """Each used page's zoom, from its size alone; refuses pages that cannot fit the context."""
    zooms, tokens = [], 0
    for number in range(first, last + 1):
        try:
            rect = doc.load_page(number - 1).rect
        except Exception as exc:  # the renderer's own error types vary by version
            raise MediaError(
                name,
                reason(
                    "slides.slide_damaged" if unit == "slide" else "pdf.page_damaged", number=number
                ),
            ) from exc
        zoom = page_zoom(rect.width, rect.height, limits.pdf_tokens_per_page)
        zooms.append(zoom)
        tokens += image_tokens(max(1, round(rect.width * zoom)), max(1, round(rect.height * zoom)))
    refusal = (
        None
        if token_used is None
        else over_budget(tokens, token_used, limits, pages=True, images=True, video=False)
    )
    if refusal is not None:
        raise MediaBudgetError(name, refusal)
    return zooms


def _check_fonts(doc: Any, name: str) -> None:
    """Refuse an embedded font program that unpacks to more than :data:`MAX_FONT_BYTES`."""
    for xref in range(1, doc.xref_length()):
        try:
            if doc.xref_get_key(xref, "Type") != ("name", "/FontDescriptor"):
                continue
            streams = [
                doc.xref_get_key(xref, key) for key in ("FontFile", "FontFile2", "FontFile3")
            ]
        except Exception:  # noqa: BLE001 - a broken object: the renderer decides about it
            continue
        for kind, value in streams:
            if kind != "xref":
                continue
            font = int(value.split()[0])
            if _unpacked_size(doc, font, MAX_FONT_BYTES) > MAX_FONT_BYTES:
                raise MediaBudgetError(
                    name, reason("pdf.font", xref=font, limit_mb=MAX_FONT_BYTES // 2**20)
                )


def _unpacked_size(doc: Any, xref: int, limit: int) -> int:
    """The stream's decoded length, counted up to ``limit + 1``, never holding more than that.

    Flate, ASCIIHex and ASCII85 chains are decoded step by step with each output capped; other
    filters are left to the renderer (a known limit)."""
    try:
        data = doc.xref_stream_raw(xref) or b""
        kind, value = doc.xref_get_key(xref, "Filter")
    except Exception:  # noqa: BLE001
        return 0
    filters = value.strip("[]").split() if kind in ("name", "array") else []
    for name in filters:
        if name in ("/FlateDecode", "/Fl"):
            data = _inflate(data, limit + 1)
        elif name in ("/ASCIIHexDecode", "/AHx"):
            digits = bytes(c for c in data.split(b">")[0] if c not in b" \t\r\n\f\x00")
            try:
                data = binascii.unhexlify(digits + b"0" * (len(digits) % 2))
            except binascii.Error:
                return 0
        elif name in ("/ASCII85Decode", "/A85"):
            try:
                data = base64.a85decode(data.strip().removeprefix(b"<~").split(b"~>")[0])
            except ValueError:
                return 0
        else:
            return len(data)
        if len(data) > limit:
            return len(data)
    return len(data)


def _inflate(data: bytes, cap: int) -> bytes:
    """Inflate ``data``, stopping once ``cap`` bytes have come out."""
    inflater = zlib.decompressobj()
    out = bytearray()
    pending = data
    try:
        while pending and len(out) < cap:
            out += inflater.decompress(pending, min(cap - len(out), 1 << 20))
            pending = inflater.unconsumed_tail
    except zlib.error:
        pass  # a damaged stream: what came out is what counts
    return bytes(out)
