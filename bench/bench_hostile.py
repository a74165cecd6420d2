"""Hostile files (issue 20): peak memory of ``glmv_ui.media.ingest`` on small files made to hurt.

Run: ``python bench/bench_hostile.py [--old DIR] [--skip-heavy]``. Each file is built in a temp
folder by ``tests/security/hostile.py`` and read in a fresh interpreter warmed up on a small file
of its kind; the figure is the growth of the peak resident set (children's peak for decks).
``--old DIR`` also runs a copy of the package from before (``git archive <commit> glmv_ui | tar
-x -C DIR``); ``--skip-heavy`` leaves out, for the old copy, the files that cost it gigabytes.
Prints a Markdown table.
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.mediafiles import image_file, pdf_file, video_file  # noqa: E402
from tests.security.hostile import (  # noqa: E402
    Probe,
    font_bomb_pdf,
    gray16_png,
    huge_h264,
    huge_pages_pdf,
    ingest_probe,
    probe,
    rgba_png,
)


def outcome(result: Probe) -> str:
    if result.error_type:
        return "refused: " + result.error.split(": ", 1)[-1][:70]
    return f"accepted: {len(result.result or [])} part(s)"  # type: ignore[arg-type]


def four_previews(png: Path, tmp: Path, pythonpath: str | None) -> Probe:
    paths = [str(png)] + [str(shutil.copy(png, tmp / f"copy{i}.png")) for i in range(3)]
    warm = image_file(tmp, "warm-p.png", "RGBA", size=(640, 480))
    return probe(
        "threads = [threading.Thread(target=lambda p=p: outcomes.append(read_attachments("
        "[p], [], choice))) for p in paths]\n"
        "    for t in threads: t.start()\n"
        "    for t in threads: t.join()\n"
        "    result = [1 for o in outcomes]",
        "import threading\nfrom glmv_ui.config import MediaLimits\n"
        "from glmv_ui.ui.attach import read_attachments\n"
        "from glmv_ui.ui.settings import MediaChoice\n"
        f"paths = {paths!r}\nchoice = MediaChoice(MediaLimits())\noutcomes = []\n"
        f"read_attachments([{str(warm)!r}], [], choice)",
        pythonpath,
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--old", help="a copy of the package from before, to compare")
    parser.add_argument("--skip-heavy", action="store_true")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-hostile-") as name:
        tmp = Path(name)
        png_warm = image_file(tmp, "warm.png", "RGBA", size=(640, 480))
        pdf_warm = pdf_file(tmp, "warm.pdf", pages=1)
        mp4_warm = video_file(tmp, "warm.mp4")
        rgba = rgba_png(tmp)
        cases: list[tuple[str, Path, Callable[[str | None], Probe], bool]] = [
            ("7999x7999 RGBA PNG", rgba, lambda pp: ingest_probe(rgba, png_warm, pp), False),
        ]
        gray = gray16_png(tmp)
        cases.append(
            ("7999x7999 16-bit gray PNG", gray, lambda pp: ingest_probe(gray, png_warm, pp), False)
        )
        seven = huge_pages_pdf(tmp, 7)
        cases.append(
            (
                "PDF, 7 pages of 14400x14400 pt",
                seven,
                lambda pp: ingest_probe(seven, pdf_warm, pp),
                True,
            )
        )
        thirty = huge_pages_pdf(tmp, 30)
        cases.append(
            ("PDF, 30 such pages", thirty, lambda pp: ingest_probe(thirty, pdf_warm, pp), True)
        )
        video = huge_h264(tmp)
        cases.append(
            (
                "H.264 video 16000x16000, 2 frames",
                video,
                lambda pp: ingest_probe(video, mp4_warm, pp),
                True,
            )
        )
        font = font_bomb_pdf(tmp, 800)
        cases.append(
            (
                "PDF with an 800 MB font stream",
                font,
                lambda pp: ingest_probe(font, pdf_warm, pp),
                False,
            )
        )
        cases.append(
            (
                "four previews of the RGBA PNG at once",
                rgba,
                lambda pp: four_previews(rgba, tmp, pp),
                True,
            )
        )
        print("| file | size | old peak | old outcome | new peak | kept after | new outcome |")
        print("|---|---|---|---|---|---|---|")
        for label, path, run, heavy in cases:
            new = run(None)
            old_peak = old_outcome = "-"
            if args.old and not (heavy and args.skip_heavy):
                old = run(args.old)
                old_peak, old_outcome = f"{old.peak_mb:,.0f} MB", outcome(old)
            print(
                f"| {label} | {path.stat().st_size / 1024:,.1f} KB | {old_peak} | "
                f"{old_outcome} | {new.peak_mb:,.0f} MB | {new.kept_mb:,.0f} MB | "
                f"{outcome(new)} |",
                flush=True,
            )


if __name__ == "__main__":
    main()
