"""Small example files, drawn locally, so every notebook runs offline (no downloads).

:func:`sample_files` writes a photo-like scene, a web-page screenshot, a 3-page PDF, a 3-slide
deck and a 4-second video into a folder. The positions of the drawn objects are known
(:data:`PHOTO_OBJECTS`, :data:`SCREENSHOT_TARGETS`, on GLM-V's 0-1000 grid), so examples can
check where a box lands. Pillow, pymupdf, python-pptx and PyAV are imported when a file is made.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

__all__ = ["PHOTO_OBJECTS", "SCREENSHOT_TARGETS", "SampleFiles", "sample_files"]

PHOTO_SIZE = (640, 480)
# Objects in photo.png as [x1, y1, x2, y2] on the 0-1000 grid of its width and height.
PHOTO_OBJECTS: dict[str, tuple[int, int, int, int]] = {
    "red ball": (125, 521, 281, 729),
    "blue box": (547, 438, 781, 750),
    "sun": (812, 62, 938, 229),
}
SCREENSHOT_SIZE = (800, 600)
# Elements in screenshot.png as [x1, y1, x2, y2] on the 0-1000 grid.
SCREENSHOT_TARGETS: dict[str, tuple[int, int, int, int]] = {
    "email field": (300, 333, 700, 400),
    "password field": (300, 467, 700, 533),
    "sign in button": (300, 600, 700, 683),
}
PDF_PAGES = (
    ("Quarterly report", "Revenue grew 12% to 4.2 million.\nCosts were flat at 3.1 million."),
    ("Regional results", "North: 1.9 million\nSouth: 1.3 million\nWest: 1.0 million"),
    ("Outlook", "We expect 15% growth next quarter.\nHiring: 8 engineers."),
)
SLIDES = (
    ("Project Lumen", ["A lamp that follows the sun", "Team of four"]),
    ("Timeline", ["Prototype in March", "Field test in June", "Launch in October"]),
    ("Budget", ["Parts: 40%", "Salaries: 50%", "Marketing: 10%"]),
)
VIDEO_SECONDS, VIDEO_FPS, VIDEO_SIZE = 4, 8, (320, 240)


@dataclass(frozen=True)
class SampleFiles:
    photo: Path
    screenshot: Path
    pdf: Path
    pptx: Path
    video: Path


def _grid_to_px(box: tuple[int, int, int, int], size: tuple[int, int]) -> tuple[int, ...]:
    w, h = size
    x1, y1, x2, y2 = box
    return (round(x1 * w / 1000), round(y1 * h / 1000), round(x2 * w / 1000), round(y2 * h / 1000))


def _photo(path: Path) -> None:
    from PIL import Image, ImageDraw

    img = Image.new("RGB", PHOTO_SIZE, "#9fd3f5")
    draw = ImageDraw.Draw(img)
    draw.rectangle((0, 300, PHOTO_SIZE[0], PHOTO_SIZE[1]), fill="#7bbf6a")  # grass
    draw.ellipse(_grid_to_px(PHOTO_OBJECTS["red ball"], PHOTO_SIZE), fill="#d62828")
    draw.rectangle(
        _grid_to_px(PHOTO_OBJECTS["blue box"], PHOTO_SIZE),
        fill="#1d4e89",
        outline="#0b2545",
        width=4,
    )
    draw.ellipse(_grid_to_px(PHOTO_OBJECTS["sun"], PHOTO_SIZE), fill="#ffd60a")
    img.save(path)


def _screenshot(path: Path) -> None:
    from PIL import Image, ImageDraw

    img = Image.new("RGB", SCREENSHOT_SIZE, "#ffffff")
    draw = ImageDraw.Draw(img)
    draw.rectangle((0, 0, SCREENSHOT_SIZE[0], 70), fill="#24292f")
    draw.text((24, 24), "Acme Shop", fill="white", font_size=24)
    draw.text((300, 130), "Sign in to your account", fill="#24292f", font_size=26)
    for key, label in (("email field", "Email"), ("password field", "Password")):
        x1, y1, x2, y2 = _grid_to_px(SCREENSHOT_TARGETS[key], SCREENSHOT_SIZE)
        draw.text((x1, y1 - 24), label, fill="#57606a", font_size=18)
        draw.rectangle((x1, y1, x2, y2), outline="#8c959f", width=2)
    x1, y1, x2, y2 = _grid_to_px(SCREENSHOT_TARGETS["sign in button"], SCREENSHOT_SIZE)
    draw.rectangle((x1, y1, x2, y2), fill="#2da44e")
    draw.text(((x1 + x2) // 2 - 34, (y1 + y2) // 2 - 12), "Sign in", fill="white", font_size=22)
    img.save(path)


def _pdf(path: Path) -> None:
    import pymupdf

    doc = pymupdf.open()
    for number, (title, body) in enumerate(PDF_PAGES, start=1):
        page = doc.new_page(width=595, height=842)  # A4 in points
        page.insert_text((72, 100), title, fontsize=28)
        page.insert_text((72, 160), body, fontsize=16, lineheight=1.6)
        page.insert_text((500, 800), f"page {number}", fontsize=10)
    doc.save(os.fspath(path))
    doc.close()


def _pptx(path: Path) -> None:
    from pptx import Presentation

    deck = Presentation()
    layout = deck.slide_layouts[1]  # title and content
    for title, bullets in SLIDES:
        slide = deck.slides.add_slide(layout)
        slide.shapes.title.text = title
        body = slide.placeholders[1].text_frame
        body.text = bullets[0]
        for line in bullets[1:]:
            body.add_paragraph().text = line
    deck.save(os.fspath(path))


def _video(path: Path) -> None:
    import av
    from PIL import Image, ImageDraw

    width, height = VIDEO_SIZE
    with av.open(os.fspath(path), mode="w") as container:
        stream: Any = container.add_stream("mpeg4", rate=VIDEO_FPS)
        stream.width, stream.height, stream.pix_fmt = width, height, "yuv420p"
        for i in range(VIDEO_SECONDS * VIDEO_FPS):
            t = i / VIDEO_FPS
            img = Image.new("RGB", VIDEO_SIZE, "#1b263b" if t < 2 else "#e0e1dd")
            draw = ImageDraw.Draw(img)
            x = round(20 + (width - 80) * t / VIDEO_SECONDS)  # a square moving right
            draw.rectangle((x, 90, x + 60, 150), fill="#e63946")
            draw.text((10, 10), f"t = {t:.1f} s", fill="#ffb703", font_size=18)
            for packet in stream.encode(av.VideoFrame.from_image(img)):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)


def sample_files(folder: str | os.PathLike[str]) -> SampleFiles:
    """Write the example files into ``folder`` (created if needed; existing files are reused)."""
    out = Path(folder)
    out.mkdir(parents=True, exist_ok=True)
    files = SampleFiles(
        photo=out / "photo.png",
        screenshot=out / "screenshot.png",
        pdf=out / "report.pdf",
        pptx=out / "deck.pptx",
        video=out / "clip.mp4",
    )
    makers = (
        (files.photo, _photo),
        (files.screenshot, _screenshot),
        (files.pdf, _pdf),
        (files.pptx, _pptx),
        (files.video, _video),
    )
    for path, make in makers:
        if not path.is_file():
            make(path)
    return files
