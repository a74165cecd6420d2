"""Jupyter helpers for GLM-V: the same loader, session and renderers as the app.

    from glmv_ui.notebook import load, ask, ChatWidget, show_reply, open_app, sample_files

* :func:`load` — load a model (4-bit too) with a progress bar; cached, so never twice.
* :func:`ask` — one question, streamed into the cell (coalesced redraws), returns a :class:`Reply`.
* :class:`ChatWidget` — an ipywidgets chat with uploads, thinking and sampling controls, Stop.
* :func:`show_reply` / :class:`Reply` — the answer as Markdown, boxes drawn on the image it
  refers to, HTML pages previewed in a sandboxed iframe, GUI actions drawn, a stats line.
* :func:`open_app` — the Gradio app inline, on the model this kernel already holds.
* :func:`sample_files` — small example files drawn locally (no downloads).
* :func:`run_batch` — one prompt over many files, a progress bar, a table; resumable, exported
  as JSON Lines and CSV with a run record.
* :func:`compare` — the same inputs under several settings or models, with an agreement column.
* :func:`what_was_sent` — the templated prompt, image sizes after resizing, video frames and times.
* :func:`score_boxes` — IoU of predicted boxes against ground truth, found and missed.

Only this module and :mod:`glmv_ui.nb` import ipywidgets and IPython.
"""

from __future__ import annotations

from .nb.batch import BatchResult, BatchRun, RunRecord, read_results, run_batch
from .nb.compare import Comparison, compare
from .nb.helpers import as_session, ask, engine_of, load, open_app
from .nb.metrics import GroundingScore, iou, score_boxes
from .nb.render import Reply, markdown_to_html, show_reply
from .nb.samples import PHOTO_OBJECTS, SCREENSHOT_TARGETS, SampleFiles, sample_files
from .nb.sent import SentView, what_was_sent
from .nb.widget import ChatWidget

__all__ = [
    "PHOTO_OBJECTS",
    "SCREENSHOT_TARGETS",
    "BatchResult",
    "BatchRun",
    "ChatWidget",
    "Comparison",
    "GroundingScore",
    "Reply",
    "RunRecord",
    "SampleFiles",
    "SentView",
    "as_session",
    "ask",
    "compare",
    "engine_of",
    "iou",
    "load",
    "markdown_to_html",
    "open_app",
    "read_results",
    "run_batch",
    "sample_files",
    "score_boxes",
    "show_reply",
    "what_was_sent",
]
