"""Small files made to hurt, built on the fly, and a peak-memory probe in a fresh interpreter.

Each maker writes one file of a hostile class from the table of issue 20; ``probe`` runs a
statement in a new Python process (warmed up on a small file of the same kind, so library start-up
does not count) and reports the growth of its peak resident set, the largest child's peak (for
LibreOffice), and how much of the growth is still held after the result is dropped.
"""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
import textwrap
import threading
import zipfile
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from PIL import Image

ROOT = Path(__file__).resolve().parents[2]
# A colour no test picture or template uses: if it shows in a rendered slide, a link was followed.
LINKED = (231, 17, 203)


@dataclass(frozen=True)
class Probe:
    error_type: str
    error: str
    peak_mb: float  # peak RSS growth over the warmed-up interpreter
    children_mb: float  # largest peak RSS of a child process
    kept_mb: float  # current RSS growth after the result is dropped
    result: Any = None


def probe(call: str, prelude: str = "", pythonpath: str | None = None) -> Probe:
    """Run ``call`` (which may set ``result``) after ``prelude`` in a fresh interpreter;
    ``pythonpath`` runs another copy of the package (the benchmark's before/after)."""
    # The peak is VmHWM, reset after the prelude (clear_refs 5): ru_maxrss would also count the
    # parent's resident set at the time of the fork, which a big parent makes meaningless.
    script = textwrap.dedent("""
        import gc, json, resource
        def status(key):
            with open("/proc/self/status") as fh:
                line = next(x for x in fh if x.startswith(key + ":"))
            return int(line.split()[1]) / 1024
        {prelude}
        gc.collect()
        idle = status("VmRSS")
        with open("/proc/self/clear_refs", "w") as fh:
            fh.write("5")
        kind = message = ""
        result = None
        try:
            {call}
        except Exception as exc:
            kind, message = type(exc).__name__, str(exc)
        peak = status("VmHWM")
        children = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
        for name in ("parts", "att", "outcomes"):
            globals().pop(name, None)
        gc.collect()
        print(json.dumps([kind, message, peak - idle, children, status("VmRSS") - idle,
                          result]))
    """).format(prelude=prelude, call=call)
    env = {**os.environ, "PYTHONPATH": pythonpath or str(ROOT)}
    done = subprocess.run(
        [sys.executable, "-c", script],
        capture_output=True,
        text=True,
        env=env,
        cwd=pythonpath or ROOT,
        timeout=900,
        check=True,
    )
    kind, message, peak, children, kept, result = json.loads(done.stdout.strip().splitlines()[-1])
    return Probe(kind, message, peak, children, kept, result)


def ingest_probe(path: Path, warm: Path, pythonpath: str | None = None) -> Probe:
    return probe(
        f"parts = ingest([{str(path)!r}]); result = [[p.kind, p.size, len(p.frames)] "
        "for p in parts]",
        f"from glmv_ui.media import ingest; ingest([{str(warm)!r}])",
        pythonpath,
    )


# --- images -----------------------------------------------------------------------------------


def rgba_png(tmp: Path, side: int = 7999) -> Path:
    path = tmp / f"rgba-{side}.png"
    Image.new("RGBA", (side, side), (40, 120, 200, 128)).save(path, optimize=False)
    return path


def gray16_png(tmp: Path, side: int = 7999) -> Path:
    path = tmp / f"gray16-{side}.png"
    Image.new("I;16", (side, side), 30000).save(path)
    return path


# --- PDFs -------------------------------------------------------------------------------------


def huge_pages_pdf(tmp: Path, pages: int, side_pt: float = 14400) -> Path:
    """``pages`` pages of 14400x14400 pt (200 in a side), each with a filled square and text."""
    import pymupdf

    doc = pymupdf.open()
    for n in range(pages):
        page = doc.new_page(width=side_pt, height=side_pt)
        page.draw_rect(pymupdf.Rect(0, 0, side_pt / 2, side_pt / 2), fill=(0.9, 0.2, 0.2))
        page.insert_text((side_pt / 10, side_pt / 10 + 600), f"Page {n + 1}", fontsize=600)
    path = tmp / f"huge-{pages}-pages.pdf"
    doc.save(path, deflate=True)
    doc.close()
    return path


def font_bomb_pdf(tmp: Path, unpacked_mb: int = 800) -> Path:
    """One page of text in an embedded font whose font program unpacks to ``unpacked_mb`` MB
    (a real TrueType font followed by zeros; deflated to under 1 MB)."""
    import pymupdf

    font = next(
        p
        for p in (
            "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf",
            "/usr/share/fonts/truetype/liberation/LiberationSans-Regular.ttf",
        )
        if os.path.exists(p)
    )
    doc = pymupdf.open()
    page = doc.new_page()
    page.insert_font(fontname="F0", fontfile=font)
    page.insert_text((72, 100), "Hello", fontname="F0", fontsize=24)
    doc.save(tmp / "font-base.pdf")
    doc.close()
    doc = pymupdf.open(tmp / "font-base.pdf")
    program = next(
        int(v.split()[0])
        for x in range(1, doc.xref_length())
        for k, v in [doc.xref_get_key(x, "FontFile2")]
        if k == "xref"
    )
    real = doc.xref_stream(program)
    packer = zlib.compressobj(9)
    chunks = [packer.compress(real)]
    block = bytes(2**20)
    chunks += [packer.compress(block) for _ in range(unpacked_mb)]
    chunks.append(packer.flush())
    doc.update_stream(program, b"".join(chunks), compress=False)
    doc.xref_set_key(program, "Filter", "/FlateDecode")
    doc.xref_set_key(program, "Length1", str(len(real) + unpacked_mb * 2**20))
    path = tmp / f"font-{unpacked_mb}mb.pdf"
    doc.save(path)
    doc.close()
    return path


# --- video ------------------------------------------------------------------------------------

_BIG_VIDEO = """
import av, sys
with av.open(sys.argv[1], "w") as out:
    s = out.add_stream("libx264", rate=10, options={"preset": "ultrafast",
                       "tune": "zerolatency", "threads": "1", "rc-lookahead": "0"})
    s.width = s.height = int(sys.argv[2]); s.pix_fmt = "yuv420p"
    f = av.VideoFrame(s.width, s.height, "yuv420p")
    for p in f.planes:
        p.update(bytes([128]) * p.buffer_size)
    for i in range(int(sys.argv[3])):
        f.pts = i
        for pk in s.encode(f):
            out.mux(pk)
    for pk in s.encode():
        out.mux(pk)
"""


def huge_h264(tmp: Path, side: int = 16000, frames: int = 2) -> Path:
    """An H.264 MP4 of ``frames`` grey frames of ``side`` x ``side`` (encoded in a child
    process: the encoder itself needs about 2.6 GB)."""
    path = tmp / f"h264-{side}.mp4"
    subprocess.run(
        [sys.executable, "-c", _BIG_VIDEO, str(path), str(side), str(frames)],
        check=True,
        timeout=300,
    )
    return path


# --- decks with links -------------------------------------------------------------------------


def linked_png(tmp: Path, name: str = "linked.png") -> Path:
    path = tmp / name
    Image.new("RGB", (200, 200), LINKED).save(path)
    return path


def linked_pptx(tmp: Path, name: str, target: str, *, embed: bool = False) -> Path:
    """A one-slide deck whose big picture is linked (``r:link``, ``TargetMode="External"``) to
    ``target``; ``embed=True`` embeds the linked colour instead (the control)."""
    from pptx import Presentation
    from pptx.opc.constants import RELATIONSHIP_TYPE as RT
    from pptx.oxml.ns import qn
    from pptx.util import Inches

    deck = Presentation()
    slide = deck.slides.add_slide(deck.slide_layouts[6])
    buf = io.BytesIO()
    Image.new("RGB", (200, 200), LINKED if embed else (250, 250, 250)).save(buf, "PNG")
    buf.seek(0)
    pic = slide.shapes.add_picture(buf, Inches(1), Inches(1), width=Inches(8))
    if not embed:
        rid = slide.part.relate_to(target, RT.IMAGE, is_external=True)
        blip = pic._element.find(".//" + qn("a:blip"))
        del blip.attrib[qn("r:embed")]
        blip.set(qn("r:link"), rid)
    path = tmp / name
    deck.save(path)
    return path


_ODP_CONTENT = """<?xml version="1.0" encoding="UTF-8"?>
<office:document-content xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0"
 xmlns:draw="urn:oasis:names:tc:opendocument:xmlns:drawing:1.0"
 xmlns:svg="urn:oasis:names:tc:opendocument:xmlns:svg-compatible:1.0"
 xmlns:presentation="urn:oasis:names:tc:opendocument:xmlns:presentation:1.0"
 xmlns:xl="http://www.w3.org/1999/xlink" office:version="1.3">
<office:body><office:presentation>
<draw:page draw:name="page1">
<draw:frame svg:x="1cm" svg:y="1cm" svg:width="20cm" svg:height="15cm">
<draw:image xl:href="{href}" xl:type="simple" xl:show="embed" xl:actuate="onLoad"/>
</draw:frame>
</draw:page>
</office:presentation></office:body></office:document-content>
"""
_ODP_MANIFEST = """<?xml version="1.0" encoding="UTF-8"?>
<manifest:manifest xmlns:manifest="urn:oasis:names:tc:opendocument:xmlns:manifest:1.0"
 manifest:version="1.3">
<manifest:file-entry manifest:full-path="/"
 manifest:media-type="application/vnd.oasis.opendocument.presentation"/>
<manifest:file-entry manifest:full-path="content.xml" manifest:media-type="text/xml"/>
{extra}</manifest:manifest>
"""


def linked_odp(tmp: Path, name: str, href: str, *, embed: bool = False) -> Path:
    """A one-page ODP whose picture is ``xlink:href`` (under another prefix, ``xl:``) to
    ``href``; ``embed=True`` puts the linked colour in the package instead (the control)."""
    path = tmp / name
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as out:
        out.writestr(zipfile.ZipInfo("mimetype"), "application/vnd.oasis.opendocument.presentation")
        extra = ""
        if embed:
            buf = io.BytesIO()
            Image.new("RGB", (200, 200), LINKED).save(buf, "PNG")
            out.writestr("Pictures/linked.png", buf.getvalue())
            href = "Pictures/linked.png"
            extra = (
                '<manifest:file-entry manifest:full-path="Pictures/linked.png" '
                'manifest:media-type="image/png"/>\n'
            )
        out.writestr("content.xml", _ODP_CONTENT.format(href=href))
        out.writestr("META-INF/manifest.xml", _ODP_MANIFEST.format(extra=extra))
    return path


def to_ppt(deck: Path, tmp: Path) -> Path:
    """The binary .ppt LibreOffice saves from ``deck``, converted without network and before the
    linked files exist, so the links stay links."""
    out = tmp / "ppt-out"
    out.mkdir(exist_ok=True)
    subprocess.run(
        [
            "unshare",
            "-rn",
            "soffice",
            "--headless",
            "--norestore",
            f"-env:UserInstallation={(tmp / 'ppt-profile').as_uri()}",
            "--convert-to",
            "ppt",
            "--outdir",
            str(out),
            str(deck),
        ],
        check=True,
        capture_output=True,
        timeout=120,
    )
    return out / f"{deck.stem}.ppt"


def colour_share(
    image: Image.Image, colour: tuple[int, int, int] = LINKED, tolerance: int = 40
) -> float:
    """Share of the pixels within ``tolerance`` of ``colour``."""
    pixels: list[Any] = list(image.convert("RGB").get_flattened_data())
    near = sum(
        1 for p in pixels if all(abs(a - b) <= tolerance for a, b in zip(p, colour, strict=True))
    )
    return near / max(len(pixels), 1)


class Listener:
    """A loopback HTTP server that serves the linked picture and counts every request."""

    def __init__(self, picture: Path) -> None:
        self.requests: list[str] = []
        body = picture.read_bytes()
        seen = self.requests

        class Handler(BaseHTTPRequestHandler):
            def _answer(self) -> None:
                seen.append(f"{self.command} {self.path}")
                self.send_response(200)
                self.send_header("Content-Type", "image/png")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                if self.command != "HEAD":
                    self.wfile.write(body)

            do_GET = do_HEAD = do_OPTIONS = do_PROPFIND = _answer

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/linked.png"

    @contextmanager
    def running(self) -> Iterator[Listener]:
        thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        thread.start()
        try:
            yield self
        finally:
            self.server.shutdown()
            self.server.server_close()
            thread.join()


# --- whole-image JPEGs and what PDFs embed ----------------------------------------------------


def progressive_jpeg(tmp: Path, side: int = 7999, mode: str = "CMYK") -> Path:
    """A flat ``side`` x ``side`` progressive JPEG (1 MB for 7999 CMYK): the decoder holds all
    its coefficients (4 x 2 bytes a pixel for CMYK) whatever the scale it decodes at."""
    path = tmp / f"progressive-{mode.lower()}-{side}.jpg"
    colour = (10, 200, 30, 0) if mode == "CMYK" else (30, 140, 200)
    Image.new(mode, (side, side), colour[: len(mode)]).save(path, progressive=True, quality=80)
    return path


def jpeg_in_pdf(tmp: Path, picture: Path) -> Path:
    """One page showing ``picture`` (a JPEG) as a DCTDecode image, small on the page."""
    import pymupdf

    doc = pymupdf.open()
    page = doc.new_page()
    page.insert_image(pymupdf.Rect(72, 72, 372, 372), stream=picture.read_bytes())
    path = tmp / f"{picture.stem}.pdf"
    doc.save(path)
    doc.close()
    return path


def raw_pdf(objects: list[bytes]) -> bytes:
    """A PDF made of ``objects`` (1 0 obj ...), with a correct cross-reference table."""
    out = io.BytesIO()
    out.write(b"%PDF-1.7\n")
    offsets = []
    for number, body in enumerate(objects, 1):
        offsets.append(out.tell())
        out.write(b"%d 0 obj\n" % number + body + b"\nendobj\n")
    start = out.tell()
    out.write(b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1))
    for offset in offsets:
        out.write(b"%010d 00000 n \n" % offset)
    out.write(
        b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, start)
    )
    return out.getvalue()


def pattern_pdf(tmp: Path, step: str = "0.01", matrix: str = "") -> Path:
    """A letter page filled with a tiling pattern whose cell is ``step`` pt a side (through the
    pattern ``matrix`` when given): at 0.01 pt, 4.8 billion tiles."""
    cell = step.encode()
    extra = f" /Matrix [{matrix}]".encode() if matrix else b""
    pattern = (
        b"<< /Type /Pattern /PatternType 1 /PaintType 1 /TilingType 1 /BBox [0 0 %s %s] "
        b"/XStep %s /YStep %s%s /Resources << >> /Length 20 >>\nstream\n"
        b"0 0 %s %s re f \nendstream" % (cell, cell, cell, cell, extra, cell, cell)
    )
    content = b"/Pattern cs /P0 scn 0 0 612 792 re f"
    data = raw_pdf(
        [
            b"<< /Type /Catalog /Pages 2 0 R >>",
            b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
            b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Resources << /Pattern "
            b"<< /P0 4 0 R >> >> /Contents 5 0 R >>",
            pattern,
            b"<< /Length %d >>\nstream\n" % len(content) + content + b"\nendstream",
        ]
    )
    path = tmp / f"pattern-{step}{'-m' if matrix else ''}.pdf"
    path.write_bytes(data)
    return path
