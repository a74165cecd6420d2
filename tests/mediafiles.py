"""Small media files generated on the fly for the media tests (images, PDFs, decks, videos)."""

from __future__ import annotations

import io
from fractions import Fraction
from pathlib import Path

from PIL import Image

CORPUS = Path(__file__).resolve().parents[1] / ".." / "shared" / "corpus"


def gradient(size: tuple[int, int] = (64, 48)) -> Image.Image:
    """An RGB picture with distinct corners (so flips and rotations show)."""
    w, h = size
    img = Image.new("RGB", size)
    img.putdata([(x * 255 // max(w - 1, 1), y * 255 // max(h - 1, 1), 128)
                 for y in range(h) for x in range(w)])
    return img


def image_file(tmp: Path, name: str, mode: str = "RGB", size: tuple[int, int] = (64, 48),
               fmt: str | None = None, **save: object) -> Path:
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


def exif_rotated_jpeg(tmp: Path, name: str = "rotated.jpg") -> Path:
    """A 64x48 landscape JPEG whose EXIF orientation 6 says 'show rotated 90° clockwise'."""
    exif = Image.Exif()
    exif[0x0112] = 6
    path = tmp / name
    gradient((64, 48)).save(path, "JPEG", exif=exif.tobytes())
    return path


def pdf_file(tmp: Path, name: str = "doc.pdf", pages: int = 3, rotate: dict[int, int] | None = None,
             password: str | None = None) -> Path:
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
        doc.save(path, encryption=pymupdf.PDF_ENCRYPT_AES_256, user_pw=password,
                 owner_pw=password + "-owner")
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


def video_file(tmp: Path, name: str = "clip.mp4", codec: str = "libx264", frames: int = 10,
               rate: int = 10, size: tuple[int, int] = (96, 64),
               pts: list[int] | None = None, time_base: Fraction | None = None) -> Path:
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
