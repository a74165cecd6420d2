"""One-call notebook helpers: load a model with a progress bar, ask a question, open the app.

Each works on whatever the notebook already holds (a model id, a loaded model, an engine, a
session or a chat widget) and reuses the process-wide model cache, so nothing is loaded twice.
Streaming output in a cell is coalesced: the display is redrawn at most every ``interval_s``.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from ..config import AppConfig, LoadOptions, Sampling
from ..engines.base import Engine
from ..errors import ConfigError, GlmvError
from ..media.options import MediaOptions
from ..models import LoadedModel, load_model
from ..reply import Reply
from ..session import Session
from ..throttle import Throttle
from .render import reply_html

__all__ = ["LiveHTML", "as_session", "ask", "engine_of", "in_notebook", "load", "open_app"]

SAMPLING_FIELDS = frozenset(Sampling.__dataclass_fields__)
MEDIA_OPTIONS = MediaOptions.names()


def in_notebook() -> bool:
    """True inside a Jupyter kernel (where rich display and widgets reach a front end)."""
    try:
        from IPython import get_ipython
    except ImportError:
        return False
    shell = get_ipython()
    return shell is not None and hasattr(shell, "kernel")


def engine_of(target: Any) -> Engine:
    """The engine behind a model id, LoadedModel, Engine, Session or ChatWidget."""
    if isinstance(target, str):
        target = load_model(target)
    if isinstance(target, LoadedModel):
        from ..engines.local import LocalEngine

        return LocalEngine(target)
    session = getattr(target, "session", None)
    if isinstance(session, Session):
        return session.engine
    if isinstance(target, Session):
        return target.engine
    if isinstance(target, Engine):
        return target
    raise ConfigError(
        f"expected a model id, a loaded model, an engine or a session, got {type(target).__name__}"
    )


def as_session(target: Any, **session_options: Any) -> Session:
    """``target`` itself if it is a Session (its history is kept), else a new Session on it."""
    if isinstance(target, Session):
        return target
    session = getattr(target, "session", None)
    if isinstance(session, Session):
        return session
    return Session(engine_of(target), **session_options)


def split_options(options: dict[str, Any]) -> tuple[dict[str, Any], MediaOptions]:
    """Keyword arguments -> (Sampling fields, media options); anything else is an error."""
    unknown = set(options) - SAMPLING_FIELDS - MEDIA_OPTIONS
    if unknown:
        raise ConfigError(
            f"unknown option(s) {', '.join(sorted(unknown))}; sampling takes "
            f"{', '.join(sorted(SAMPLING_FIELDS))} and media takes "
            f"{', '.join(sorted(MEDIA_OPTIONS))}"
        )
    sampling = {k: v for k, v in options.items() if k in SAMPLING_FIELDS}
    media = MediaOptions.from_keywords({k: v for k, v in options.items() if k in MEDIA_OPTIONS})
    return sampling, media


class LiveHTML:
    """A cell display redrawn in place, at most once per throttle interval (plus a last draw)."""

    def __init__(
        self, interval_s: float = 0.1, *, clock: Callable[[], float] = time.monotonic
    ) -> None:
        from IPython.display import HTML, display

        self._html: Callable[[str], Any] = HTML
        self._handle: Any = display(HTML(""), display_id=True)
        self.throttle = Throttle(interval_s, clock=clock)

    @property
    def draws(self) -> int:
        return self.throttle.frames

    def due(self) -> bool:
        return self.throttle.due()

    def draw(self, html: str) -> None:
        self.throttle.mark()
        self._handle.update(self._html(html))


def ask(
    target: Any,
    text: str,
    files: Sequence[str] = (),
    *,
    show: bool = True,
    interval_s: float = 0.1,
    **options: Any,
) -> Reply:
    """Ask one question and return the :class:`~glmv_ui.reply.Reply`; the answer streams into
    the cell.

    ``target`` is a model id, LoadedModel, Engine, Session or ChatWidget; pass a Session to keep
    a multi-turn conversation. ``options`` are Sampling fields (``temperature``, ``thinking``,
    ``thinking_budget``, ``max_new_tokens``…) and media options (``page_range``,
    ``video_fps``, ``video_max_frames``, ``video_range``, ``password``). Assign the result
    (``reply = ask(...)``) so that the reply is shown once.
    """
    session = as_session(target)
    sampling_changes, media = split_options(options)
    sampling = session.sampling.replace(**sampling_changes) if sampling_changes else None
    parts = session.attach(list(files), media) if files else []
    live = LiveHTML(interval_s) if show and in_notebook() else None
    updates = session.submit(text, parts, sampling=sampling)
    last = None
    try:
        for last in updates:
            if live is not None and not last.done and live.due():
                live.draw(reply_html(last.reply(), live=True))
    finally:
        close = getattr(updates, "close", None)
        if close is not None:
            close()  # a KeyboardInterrupt in the cell ends generation, not just the loop
    if last is None:
        raise GlmvError("the engine produced no reply")
    reply = session.reply(last.index)
    if live is not None:
        live.draw(reply_html(reply))
    return reply


class _Progress:
    """FloatProgress + label in a kernel with widgets; a text bar on stdout otherwise."""

    def __init__(self, title: str) -> None:
        self.title = title
        self._bar: Any = None
        self._label: Any = None
        if in_notebook():
            try:
                import ipywidgets as widgets
                from IPython.display import display
            except ImportError:
                pass
            else:
                self._bar = widgets.FloatProgress(
                    value=0.0, min=0.0, max=1.0, description="Loading", bar_style="info"
                )
                self._label = widgets.Label(value=title)
                display(widgets.HBox([self._bar, self._label]))

    def __call__(self, fraction: float, message: str) -> None:
        fraction = min(max(fraction, 0.0), 1.0)
        if self._bar is not None:
            self._bar.value = fraction
            self._label.value = message
        else:
            filled = int(fraction * 20)
            sys.stdout.write(f"\r[{'#' * filled}{'.' * (20 - filled)}] {fraction:4.0%} {message}")
            sys.stdout.flush()

    def close(self, message: str, ok: bool = True) -> None:
        if self._bar is not None:
            self._bar.value = 1.0 if ok else self._bar.value
            self._bar.bar_style = "success" if ok else "danger"
            self._label.value = message
        else:
            sys.stdout.write(f"\r{message}\n")
            sys.stdout.flush()


@contextmanager
def _one_bar() -> Iterator[None]:
    """While a model loads here, transformers' own bars (per shard, per weight) stay off: the
    load shows one bar, ours, or none with ``progress=False``."""
    from transformers.utils import logging as hf_logging

    was_on = hf_logging.is_progress_bar_enabled()
    hf_logging.disable_progress_bar()
    try:
        yield
    finally:
        if was_on:
            hf_logging.enable_progress_bar()


def load(
    model_id: str,
    quantization: str | None = None,
    *,
    progress: bool = True,
    options: LoadOptions | None = None,
    **overrides: Any,
) -> LoadedModel:
    """Load a model (or take it from the shared cache) with a progress bar in the cell.

    ``quantization`` is None, ``"4bit"`` or ``"8bit"``; ``overrides`` are other LoadOptions
    fields (``dtype``, ``device_map``, ``attn_implementation``).
    """
    if quantization is not None or options is None:
        overrides["quantization"] = quantization  # else keep what ``options`` says
    bar = _Progress(f"Loading {model_id}") if progress else None
    try:
        with _one_bar():
            loaded = load_model(model_id, options, progress=bar, **overrides)
    except GlmvError as exc:
        if bar is not None:
            bar.close(str(exc), ok=False)
        raise
    if bar is not None:
        how = loaded.options.quantization or loaded.options.dtype
        bar.close(
            f"{loaded.model_id} ready ({loaded.family}, {how}, "
            f"loaded in {loaded.load_seconds:.1f} s)"
        )
    return loaded


def open_app(target: Any, *, config: AppConfig | None = None, **launch_kwargs: Any) -> Any:
    """Open the Gradio app inline on the model this kernel already holds; returns the Blocks.

    The app gets the same engine object, so the model is not loaded a second time.
    ``launch_kwargs`` go to ``Blocks.launch`` (``inline=True`` and ``prevent_thread_lock=True``
    unless given). Close it with ``app.close()``.
    """
    engine = engine_of(target)
    loaded = getattr(engine, "loaded", None)
    if config is None:
        config = AppConfig(
            model=engine.name,
            load=loaded.options if isinstance(loaded, LoadedModel) else LoadOptions(),
        )
    try:
        from .. import ui
    except ModuleNotFoundError as exc:
        if exc.name != "glmv_ui.ui":
            raise
        raise GlmvError("the Gradio app (glmv_ui.ui) is not part of this installation") from exc
    app = ui.create_app(config, engine=engine)
    # The app's own look (theme, CSS, upload limit); the port is left free so a second app or
    # a server already on 7860 does not collide.
    options = getattr(ui, "launch_options", None)
    defaults = {k: v for k, v in (options(config) if options else {}).items() if k != "server_port"}
    app.launch(**{**defaults, "inline": True, "prevent_thread_lock": True, **launch_kwargs})
    return app
