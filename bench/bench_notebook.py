"""Notebook display benchmark: what one redraw costs, and how many redraws a long reply gets.

Run: ``python bench/bench_notebook.py``. Prints the cost of rendering a streaming reply (the
live view the widget and ``ask`` redraw) at several answer lengths, the final rendering with an
image and boxes, and the redraws the chat widget made for a reply streamed in small chunks,
against the chunks a per-token display would have drawn.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

from timing import best_of

ROOT = Path(__file__).resolve().parents[1]


def bench_render() -> None:
    from glmv_ui.notebook import Reply

    paragraph = (
        "The chart shows **revenue** by region; north leads with 1.9 million, "
        "see <|begin_of_box|>[120,80,560,300]<|end_of_box|>.\n\n"
    )
    for words in (200, 2000, 8000):
        raw = "<think>" + "step " * 200 + "</think><answer>" + paragraph * (words // 20)
        reply = Reply.from_raw(raw)
        t = best_of(lambda reply=reply: reply.to_html(live=True), 5)
        print(f"live redraw, ~{words:>5} answer words: {t * 1000:7.2f} ms")


def bench_final() -> None:
    from PIL import Image

    from glmv_ui.notebook import Reply

    image = Image.new("RGB", (1920, 1080), "#9fd3f5")
    raw = (
        "<think>t</think><answer>"
        + " ".join(
            f"object {i} <|begin_of_box|>[{10 + i * 40},{100},{40 + i * 40},{400}]<|end_of_box|>"
            for i in range(20)
        )
        + "</answer>"
    )
    t = best_of(lambda: Reply.from_raw(raw, images=[image]).to_html(), repeat=3)
    print(f"final rendering, 1920x1080 image, 20 boxes: {t * 1000:7.1f} ms")


def bench_coalescing() -> None:
    from glmv_ui.engines.scripted import ScriptedEngine
    from glmv_ui.notebook import ChatWidget

    reply = "<think>" + "step " * 400 + "</think><answer>" + "word " * 1600 + "</answer>"
    engine = ScriptedEngine("glm4v", [reply], chunk_size=5, delay_s=0.001)  # ~token pace
    widget = ChatWidget(engine)
    start = time.perf_counter()
    widget.send("go")
    widget.wait()
    elapsed = time.perf_counter() - start
    chunks = len(reply) // 5
    print(
        f"widget, {chunks} chunks over {elapsed:.1f} s: {widget.draws} redraws "
        f"(at most one per {widget.interval_s * 1000:.0f} ms)"
    )


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT))
    bench_render()
    bench_final()
    bench_coalescing()
