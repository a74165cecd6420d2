"""The example gallery: what GLM-V is good at, with example files drawn on demand.

Every file is generated here (PIL, pymupdf, PyAV) into a cache folder the first time it is asked
for; nothing is downloaded. Heavy libraries are imported inside the functions that draw.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .config import HostSettings

__all__ = ["EXAMPLES", "Example", "example_dir", "example_file", "gallery"]

VERSION = 1


@dataclass(frozen=True)
class Example:
    key: str
    filename: str
    prompt_en: str
    prompt_zh: str


EXAMPLES: tuple[Example, ...] = (
    Example(
        "grounding",
        "street.png",
        "Find the red car, the bus and the traffic light. Give each one's bounding box.",
        "找出红色汽车、公交车和红绿灯，并给出各自的边界框。",
    ),
    Example(
        "chart",
        "revenue_chart.png",
        "Which quarter had the highest revenue, and how much did it grow from Q1?",
        "哪个季度收入最高？与第一季度相比增长了多少？",
    ),
    Example(
        "document",
        "report.pdf",
        "Summarise this two-page report and list its key figures.",
        "总结这份两页的报告，并列出其中的关键数字。",
    ),
    Example(
        "webpage",
        "landing_page.png",
        "Replicate this web page as one HTML file with inline CSS.",
        "用一个内联 CSS 的 HTML 文件复刻这个网页。",
    ),
    Example(
        "gui_agent",
        "phone_settings.png",
        "Task: turn on Wi-Fi. What is the next action? Give the action and where to tap.",
        "任务：打开 Wi-Fi。下一步操作是什么？给出操作和点击位置。",
    ),
    Example(
        "video",
        "moving_ball.mp4",
        "What happens in this video? Give the time of each change.",
        "视频里发生了什么？给出每个变化的时间。",
    ),
)


def example_dir() -> Path:
    """The cache folder for example files (inside the temp dir, which the app may serve)."""
    root = HostSettings.from_env().examples_dir or str(
        Path(tempfile.gettempdir()) / "glmv_ui" / "examples"
    )
    return Path(root) / f"v{VERSION}"


def _font(size: int) -> Any:
    from PIL import ImageFont

    try:
        return ImageFont.load_default(size=size)
    except (TypeError, OSError, ImportError):
        return ImageFont.load_default()


def _street(path: Path) -> None:
    from PIL import Image, ImageDraw

    img = Image.new("RGB", (960, 640), "#9fd3f5")
    d = ImageDraw.Draw(img)
    d.rectangle((0, 380, 960, 640), fill="#6b7280")  # road
    d.rectangle((0, 360, 960, 384), fill="#d1d5db")  # pavement
    for x in range(20, 960, 120):
        d.rectangle((x, 505, x + 60, 515), fill="#f9fafb")
    for x, h, c in (
        (40, 230, "#c7b8a1"),
        (230, 300, "#a3b1c6"),
        (520, 260, "#d6b4a0"),
        (760, 320, "#b9c4a7"),
    ):
        d.rectangle((x, 360 - h, x + 170, 360), fill=c)
        for wy in range(380 - h, 340, 40):
            for wx in range(x + 15, x + 160, 40):
                d.rectangle((wx, wy, wx + 20, wy + 22), fill="#eef6ff")
    d.rectangle((860, 170, 872, 380), fill="#374151")  # traffic light pole
    d.rectangle((845, 110, 887, 200), fill="#111827")
    for i, c in enumerate(("#ef4444", "#6b7280", "#6b7280")):
        d.ellipse((855, 116 + i * 28, 877, 138 + i * 28), fill=c)
    d.rounded_rectangle((110, 430, 330, 520), 18, fill="#dc2626")  # red car
    d.rectangle((150, 400, 290, 440), fill="#fca5a5")
    for cx in (150, 290):
        d.ellipse((cx - 24, 500, cx + 24, 548), fill="#111827")
    d.rounded_rectangle((450, 330, 780, 500), 14, fill="#f59e0b")  # bus
    for wx in range(470, 760, 55):
        d.rectangle((wx, 350, wx + 40, 400), fill="#e0f2fe")
    for cx in (510, 720):
        d.ellipse((cx - 28, 478, cx + 28, 534), fill="#111827")
    d.ellipse((60, 40, 150, 130), fill="#fde047")
    img.save(path)


def _chart(path: Path) -> None:
    from PIL import Image, ImageDraw

    img = Image.new("RGB", (800, 520), "white")
    d = ImageDraw.Draw(img)
    d.text((40, 20), "Revenue by quarter (million USD)", fill="#111827", font=_font(24))
    values = (("Q1", 12.4), ("Q2", 15.1), ("Q3", 19.8), ("Q4", 17.2))
    base, left, scale = 460, 90, 18
    d.line((left, 80, left, base), fill="#374151", width=2)
    d.line((left, base, 760, base), fill="#374151", width=2)
    for v in range(0, 25, 5):
        y = base - v * scale
        d.line((left - 6, y, 760, y), fill="#e5e7eb")
        d.text((40, y - 8), str(v), fill="#374151", font=_font(16))
    for i, (label, amount) in enumerate(values):
        x = left + 40 + i * 165
        d.rectangle((x, base - amount * scale, x + 100, base), fill="#4f46e5")
        d.text((x + 30, base - amount * scale - 26), f"{amount}", fill="#111827", font=_font(18))
        d.text((x + 35, base + 10), label, fill="#111827", font=_font(18))
    img.save(path)


def _report(path: Path) -> None:
    import pymupdf as fitz

    doc = fitz.open()
    pages = (
        (
            "Quarterly Report - Northwind Ltd.",
            "Revenue grew 38% year over year to 64.5 million USD.\n"
            "Operating margin rose from 11.2% to 14.8%.\n"
            "Headcount: 412 employees in 6 offices.\n\n"
            "Highlights\n- Two new product lines launched in Q3.\n"
            "- Customer retention reached 93%.\n- Cash reserves: 21.3 million USD.",
        ),
        (
            "Outlook",
            "Next year the company expects revenue of 75-80 million USD.\n"
            "Planned investment: 6 million USD in research.\n"
            "Risks: currency swings and supplier delays.\n\n"
            "Table 1. Revenue by region (million USD)\n"
            "Europe 28.1   Americas 22.7   Asia 13.7",
        ),
    )
    for title, body in pages:
        page = doc.new_page(width=595, height=842)
        page.insert_text((56, 90), title, fontsize=22)
        page.insert_textbox(fitz.Rect(56, 120, 540, 780), body, fontsize=13)
    doc.save(path)
    doc.close()


def _landing(path: Path) -> None:
    from PIL import Image, ImageDraw

    img = Image.new("RGB", (1024, 720), "#ffffff")
    d = ImageDraw.Draw(img)
    d.rectangle((0, 0, 1024, 64), fill="#1e1b4b")
    d.text((32, 20), "Brightlane", fill="white", font=_font(24))
    for i, item in enumerate(("Product", "Pricing", "Docs", "Contact")):
        d.text((560 + i * 110, 24), item, fill="#c7d2fe", font=_font(18))
    d.rectangle((0, 64, 1024, 360), fill="#eef2ff")
    d.text((80, 130), "Ship better software, faster", fill="#1e1b4b", font=_font(38))
    d.text(
        (80, 190),
        "Plan, build and track your projects in one calm place.",
        fill="#4b5563",
        font=_font(20),
    )
    d.rounded_rectangle((80, 250, 260, 300), 10, fill="#4f46e5")
    d.text((112, 264), "Start free", fill="white", font=_font(20))
    for i, (head, text) in enumerate(
        (
            ("Plan", "Roadmaps in minutes"),
            ("Build", "Boards that stay tidy"),
            ("Track", "Reports that explain"),
        )
    ):
        x = 80 + i * 300
        d.rounded_rectangle((x, 410, x + 260, 600), 12, outline="#c7d2fe", width=2)
        d.text((x + 24, 440), head, fill="#1e1b4b", font=_font(26))
        d.text((x + 24, 490), text, fill="#4b5563", font=_font(18))
    d.text((80, 660), "© 2025 Brightlane", fill="#9ca3af", font=_font(16))
    img.save(path)


def _phone(path: Path) -> None:
    from PIL import Image, ImageDraw

    img = Image.new("RGB", (540, 1080), "#f3f4f6")
    d = ImageDraw.Draw(img)
    d.rectangle((0, 0, 540, 48), fill="#111827")
    d.text((24, 14), "9:41", fill="white", font=_font(20))
    d.text((24, 80), "Settings", fill="#111827", font=_font(40))
    rows = ("Wi-Fi", "Bluetooth", "Mobile data", "Notifications", "Display", "Battery")
    for i, label in enumerate(rows):
        y = 170 + i * 100
        d.rectangle((0, y, 540, y + 90), fill="white")
        d.text((40, y + 30), label, fill="#111827", font=_font(26))
        on = label == "Bluetooth"
        d.rounded_rectangle((430, y + 27, 500, y + 63), 18, fill="#22c55e" if on else "#d1d5db")
        knob = 466 if on else 432
        d.ellipse((knob, y + 29, knob + 32, y + 61), fill="white")
    img.save(path)


def _video(path: Path) -> None:
    import av
    import numpy as np

    fps, seconds, w, h = 8, 4, 320, 240
    with av.open(str(path), "w") as container:
        stream = container.add_stream(
            "libx264" if "libx264" in av.codecs_available else "mpeg4", rate=fps
        )
        stream.width, stream.height, stream.pix_fmt = w, h, "yuv420p"
        for i in range(fps * seconds):
            frame = np.full((h, w, 3), (230, 240, 255), dtype=np.uint8)
            x = int(20 + (w - 80) * i / (fps * seconds - 1))
            color = (220, 38, 38) if i < fps * 2 else (37, 99, 235)  # turns blue at 2 s
            frame[100:140, x : x + 40] = color
            for packet in stream.encode(av.VideoFrame.from_ndarray(frame, format="rgb24")):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)


_MAKERS: dict[str, Callable[[Path], None]] = {
    "grounding": _street,
    "chart": _chart,
    "document": _report,
    "webpage": _landing,
    "gui_agent": _phone,
    "video": _video,
}


def example_file(key: str) -> Path:
    """The file of example ``key``, drawn into the cache folder if it is not there yet."""
    example = next((e for e in EXAMPLES if e.key == key), None)
    if example is None:
        raise KeyError(f"no example {key!r}; known: {', '.join(e.key for e in EXAMPLES)}")
    path = example_dir() / example.filename
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{os.getpid()}-{path.name}")
        _MAKERS[key](tmp)
        os.replace(tmp, path)  # atomic: a half-written file is never served
    return path


def gallery(lang: str = "en") -> list[dict[str, Any]]:
    """MultimodalTextbox example values: a prompt and its file, for every example."""
    return [
        {"text": e.prompt_zh if lang == "zh" else e.prompt_en, "files": [str(example_file(e.key))]}
        for e in EXAMPLES
    ]
