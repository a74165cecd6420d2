"""Media benchmark: our PDF rendering and video sampling against the plain library calls.

Run: ``python bench/bench_media.py`` (uses ../shared/corpus). Prints times and ratios.
"""

from __future__ import annotations

import sys
from pathlib import Path

from timing import best_of

ROOT = Path(__file__).resolve().parents[1]
CORPUS = ROOT.parent / "shared" / "corpus"


def bench_pdf() -> None:
    import pymupdf

    from glmv_ui.media.pdf import page_zoom, render_pdf

    path = CORPUS / "pdf" / "GeoTopo-komprimiert-117pages.pdf"

    def ours() -> None:
        render_pdf(path, path.name)

    def plain() -> None:
        with pymupdf.open(path) as doc:
            for page in list(doc)[:30]:
                zoom = page_zoom(page.rect.width, page.rect.height, 1500)
                page.get_pixmap(matrix=pymupdf.Matrix(zoom, zoom))

    a, b = best_of(ours), best_of(plain)
    print(
        f"PDF 30 pages of 117: ours {a * 1000:.0f} ms, plain get_pixmap {b * 1000:.0f} ms, "
        f"ratio {a / b:.2f}"
    )


def bench_video() -> None:
    import av

    from glmv_ui.media.video import sample_video

    for name in ("long-15min-96x64-2fps.mp4", "h264-aac-6s-640x360.mp4"):
        path = CORPUS / "video" / name

        def decode_all(path: Path = path) -> None:
            with av.open(str(path)) as c:
                for frame in c.decode(c.streams.video[0]):
                    frame.to_image()

        times = {
            m: best_of(lambda m=m, path=path: sample_video(path, path.name, method=m), 2)
            for m in ("auto", "sequential", "seek")
        }
        full = best_of(decode_all, 2)
        print(
            f"video {name}: auto {times['auto']:.2f} s, sequential {times['sequential']:.2f} s,"
            f" seek {times['seek']:.2f} s; decode every frame {full:.2f} s; "
            f"ratio auto/all {times['auto'] / full:.2f}"
        )


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT))
    bench_pdf()
    bench_video()
