"""Jupyter helpers for GLM-V: the same loader, session and renderers as the app.

    from glmv_ui.notebook import load, ask, ChatWidget, show_reply, open_app, sample_files

* :func:`load` — load a model (4-bit too) with a progress bar; cached, so never twice.
* :func:`ask` — one question, streamed into the cell (coalesced redraws), returns a :class:`Reply`.
* :class:`ChatWidget` — an ipywidgets chat with uploads, thinking and sampling controls, Stop.
* :func:`show_reply` / :class:`Reply` — the answer as Markdown, boxes drawn on the image it
  refers to, HTML pages previewed in a sandboxed iframe, GUI actions drawn, a stats line.
* :func:`open_app` — the Gradio app inline, on the model this kernel already holds.
* :func:`sample_files` — small example files drawn locally (no downloads).

Only this module and :mod:`glmv_ui.nb` import ipywidgets and IPython.
"""

from __future__ import annotations

from .nb.helpers import as_session, ask, engine_of, load, open_app
from .nb.render import Reply, markdown_to_html, show_reply
from .nb.samples import PHOTO_OBJECTS, SCREENSHOT_TARGETS, SampleFiles, sample_files
from .nb.widget import ChatWidget

__all__ = [
    "PHOTO_OBJECTS",
    "SCREENSHOT_TARGETS",
    "ChatWidget",
    "Reply",
    "SampleFiles",
    "as_session",
    "ask",
    "engine_of",
    "load",
    "markdown_to_html",
    "open_app",
    "sample_files",
    "show_reply",
]
