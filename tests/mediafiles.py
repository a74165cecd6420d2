"""Small media files generated on the fly for the media tests (images, PDFs, decks, videos)."""

from __future__ import annotations

import io
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

from PIL import Image, ImageDraw

CORPUS = Path(__file__).resolve().parents[1] / ".." / "shared" / "corpus"


def gradient(size: tuple[int, int] = (64, 48)) -> Image.Image:
    """An RGB picture with distinct corners (so flips and rotations show)."""
    w, h = size
    img = Image.new("RGB", size)
    img.putdata(
        [
            (x * 255 // max(w - 1, 1), y * 255 // max(h - 1, 1), 128)
            for y in range(h)
            for x in range(w)
        ]
    )
    return img


def image_file(
    tmp: Path,
    name: str,
    mode: str = "RGB",
    size: tuple[int, int] = (64, 48),
    fmt: str | None = None,
    **save: object,
) -> Path:
    """Write ``gradient`` converted to ``mode`` as ``name`` (format from the extension)."""
    base = gradient(size)
    if mode == "I;16":
        img = Image.new("I;16", size)
        img.putdata([v * 257 for v in base.convert("L").tobytes()])
    elif mode == "I":
        img = base.convert("L").convert("I")
        img = img.point(lambda v: v * 16)  # 12-bit data
    elif mode == "RGBA":
        img = base.convert("RGBA")
        img.putalpha(0)  # fully transparent: must come out white
    elif mode == "P":
        img = base.convert("P", palette=Image.Palette.ADAPTIVE, colors=16)
        save.setdefault("transparency", img.getpixel((0, 0)))
    else:
        img = base.convert(mode)
    path = tmp / name
    img.save(path, fmt, **save)  # type: ignore[arg-type]
    return path


def shapes_image(tmp: Path, name: str = "shapes.png") -> Path:
    """A red square left and a blue disc right on a pale background (640x480), whose boxes on
    the 0-1000 grid are about [80,120,420,560] and [560,300,900,800]."""
    img = Image.new("RGB", (640, 480), "#f8fafc")
    d = ImageDraw.Draw(img)
    d.rectangle((51, 58, 269, 269), fill="#dc2626")
    d.ellipse((358, 144, 576, 384), fill="#2563eb")
    path = tmp / name
    img.save(path)
    return path


def exif_rotated_jpeg(tmp: Path, name: str = "rotated.jpg") -> Path:
    """A 64x48 landscape JPEG whose EXIF orientation 6 says 'show rotated 90° clockwise'."""
    exif = Image.Exif()
    exif[0x0112] = 6
    path = tmp / name
    gradient((64, 48)).save(path, "JPEG", exif=exif.tobytes())
    return path


def pdf_file(
    tmp: Path,
    name: str = "doc.pdf",
    pages: int = 3,
    rotate: dict[int, int] | None = None,
    password: str | None = None,
) -> Path:
    """A PDF with ``pages`` A4 pages, each with its number as text near the top-left."""
    import pymupdf

    doc = pymupdf.open()
    for n in range(1, pages + 1):
        page = doc.new_page(width=595, height=842)
        page.insert_text((72, 100), f"Page {n}", fontsize=48)
        if rotate and n in rotate:
            page.set_rotation(rotate[n])
    path = tmp / name
    if password:
        doc.save(
            path,
            encryption=pymupdf.PDF_ENCRYPT_AES_256,  # type: ignore[attr-defined]
            user_pw=password,
            owner_pw=password + "-owner",
        )
    else:
        doc.save(path)
    doc.close()
    return path


def pptx_file(tmp: Path, name: str = "deck.pptx", slides: int = 2) -> Path:
    """A deck with a title, a text box, a picture and speaker notes on each slide."""
    from pptx import Presentation
    from pptx.util import Inches

    deck = Presentation()
    buf = io.BytesIO()
    gradient((120, 90)).save(buf, "PNG")
    for n in range(1, slides + 1):
        slide = deck.slides.add_slide(deck.slide_layouts[5])
        slide.shapes.title.text = f"Slide {n}"
        box = slide.shapes.add_textbox(Inches(1), Inches(2), Inches(4), Inches(1))
        box.text_frame.text = f"Body of slide {n}"
        buf.seek(0)
        slide.shapes.add_picture(buf, Inches(5), Inches(3), width=Inches(3))
        slide.notes_slide.notes_text_frame.text = f"Notes {n}"
    path = tmp / name
    deck.save(path)
    return path


def video_file(
    tmp: Path,
    name: str = "clip.mp4",
    codec: str = "libx264",
    frames: int = 10,
    rate: int = 10,
    size: tuple[int, int] = (96, 64),
    pts: list[int] | None = None,
    time_base: Fraction | None = None,
) -> Path:
    """A video of ``frames`` frames whose brightness encodes the frame index.

    ``pts`` (in ``time_base`` units) writes custom presentation times, e.g. for a VFR file.
    """
    import av

    path = tmp / name
    with av.open(str(path), mode="w") as out:
        stream = out.add_stream(codec, rate=rate)
        stream.width, stream.height = size
        stream.pix_fmt = "yuv420p"
        if time_base is not None:
            stream.codec_context.time_base = time_base
            stream.time_base = time_base
        for i in range(frames):
            level = 20 + (200 * i) // max(frames - 1, 1)
            frame = av.VideoFrame.from_image(Image.new("RGB", size, (level, level, level)))
            if pts is not None:
                frame.pts = pts[i]
                frame.time_base = time_base
            for packet in stream.encode(frame):
                out.mux(packet)
        for packet in stream.encode():
            out.mux(packet)
    return path


def has_encoder(codec: str) -> bool:
    import av

    try:
        av.codec.Codec(codec, "w")
    except Exception:  # noqa: BLE001 - any failure means "not available here"
        return False
    return True


BOMB_PART = "ppt/slides/slide1.xml"


def pptx_bomb(tmp: Path, name: str = "bomb.pptx", padding: int = 1500 * 2**20) -> Path:
    """A valid one-slide deck whose slide XML holds ``padding`` spaces inside an XML comment
    (1.5 GB of them pack into about 1.5 MB; building it takes a few seconds)."""
    import zipfile

    base = pptx_file(tmp, f"base-{name}", slides=1)
    path = tmp / name
    block = b" " * 2**20
    with (
        zipfile.ZipFile(base) as src,
        zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as out,
    ):
        for info in src.infolist():
            data = src.read(info)
            if info.filename != BOMB_PART:
                out.writestr(info, data)
                continue
            declaration, end, rest = data.partition(b"?>")
            with out.open(BOMB_PART, "w") as fh:
                fh.write(declaration + end + b"<!--")
                for _ in range(padding // len(block)):
                    fh.write(block)
                fh.write(b" " * (padding % len(block)) + b"-->" + rest)
    base.unlink()
    return path


def lying_copy(bomb: Path, dest: Path, stated: int) -> Path:
    """A copy of ``bomb`` whose directories give ``stated`` bytes for the slide part, with the
    CRC of its first ``stated`` bytes: a reader that trusts them sees a sound, small part."""
    import struct
    import zipfile
    import zlib

    with zipfile.ZipFile(bomb) as package, package.open(BOMB_PART) as fh:
        local = package.getinfo(BOMB_PART).header_offset
        patch = struct.pack("<I", zlib.crc32(fh.read(stated))), struct.pack("<I", stated)
    raw = bytearray(bomb.read_bytes())
    raw[local + 14 : local + 18], raw[local + 22 : local + 26] = patch
    central = raw.rfind(b"PK\x01\x02")
    while raw[central + 46 : central + 46 + len(BOMB_PART)] != BOMB_PART.encode():
        central = raw.rfind(b"PK\x01\x02", 0, central)
    raw[central + 16 : central + 20], raw[central + 24 : central + 28] = patch
    dest.write_bytes(bytes(raw))
    return dest


@dataclass(frozen=True)
class Measured:
    """What a call did in a fresh interpreter: the error it raised and its memory high-water."""

    error_type: str  # "" when the call returned
    error: str
    rss_growth_mb: float  # peak RSS after the call minus peak RSS before it
    children_rss_mb: float  # largest peak RSS of any child process (LibreOffice, ...)
    result: object = None  # the JSON value the call left in ``result``, if any


def measure(call: str, prelude: str = "") -> Measured:
    """Run the statement ``call`` in a new Python process after ``prelude`` (imports or a warm-up
    on a small file, so that loading libraries does not count) and report its peak-RSS growth.
    A fresh process keeps what earlier tests allocated from hiding the call's own peak."""
    import json
    import os
    import subprocess
    import sys
    import textwrap

    script = textwrap.dedent("""
        import json, resource
        {prelude}
        before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        kind = message = ""
        result = None
        try:
            {call}
        except Exception as exc:
            kind, message = type(exc).__name__, str(exc)
        after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        children = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
        print(json.dumps([kind, message, (after - before) / 1024, children / 1024, result]))
    """).format(prelude=prelude, call=call)
    root = Path(__file__).resolve().parents[1]
    env = {**os.environ, "PYTHONPATH": str(root)}
    done = subprocess.run(
        [sys.executable, "-c", script],
        capture_output=True,
        text=True,
        env=env,
        cwd=root,
        timeout=600,
        check=True,
    )
    kind, message, growth, children, result = json.loads(done.stdout.strip().splitlines()[-1])
    return Measured(kind, message, growth, children, result)
