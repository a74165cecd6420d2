"""The model behind the app: loaded in the background once, with progress, result or error.

The page is served at once; handlers ask the :class:`ModelManager` for the engine and get a clear
message while it loads or after it failed.
"""

from __future__ import annotations

import gc
import logging
import os
import sys
import threading
import time
from collections.abc import Callable

from ..caps import Capabilities
from ..config import AppConfig
from ..engines.base import CachingEngine, Engine, HoldsModel, unwrapped
from ..engines.zerogpu import zerogpu_engine
from ..errors import (
    ConversationError,
    GlmvError,
    InsufficientMemoryError,
    MissingDependencyError,
    ModelLoadError,
    WeightsUnavailableError,
)
from .i18n import t

__all__ = ["ModelManager", "guess_caps", "guess_family", "release_engine"]

_log = logging.getLogger(__name__)


def _shown(model: str) -> str:
    """A model as shown to every user: a folder by its name only, not its server path."""
    return os.path.basename(model.rstrip("/")) if os.sep in model else model


def _brief(exc: BaseException) -> str:
    """What a failure was, for the page: our own errors' text, else only the kind of failure
    (library text may name server paths; the log keeps the detail)."""
    if isinstance(exc, GlmvError):
        return str(exc)
    return f"{type(exc).__name__} (the server log has the details)"


def guess_caps(config: AppConfig) -> Capabilities:
    """What the model can do before it is loaded (for the settings shown at first): read from
    the checkpoint (config and template) when it is on disk, else from the table of known
    checkpoints, else GLM-4.1V's family defaults. The settings follow the loaded model."""
    from ..caps import for_family, from_checkpoint, from_folder
    from ..models import FAMILIES, KNOWN_MODELS, read_config, resolve_model

    if config.model in FAMILIES:  # the scripted engine is named by a model type
        return for_family(config.model)
    try:
        found = from_folder(resolve_model(config.model))
        if found is not None:
            return found
        on_disk = read_config(config.model)
        if on_disk is not None:
            known = KNOWN_MODELS.get(config.model)
            return known.caps if known else from_checkpoint(on_disk, None)
    except (GlmvError, OSError, ValueError):
        pass
    if config.model in KNOWN_MODELS:
        return KNOWN_MODELS[config.model].caps
    return for_family("glm4v")


def guess_family(config: AppConfig) -> str:
    """The model type :func:`guess_caps` settles on."""
    return guess_caps(config).family


class ModelManager:
    """Loads the engine in the background; reports progress, the result or the error. The
    operator may switch to another model (:meth:`switch`): the old one serves until the new
    one has loaded."""

    def __init__(self, config: AppConfig, engine: Engine | None = None) -> None:
        self.config = config
        self._lock = threading.Lock()
        self._ready = threading.Event()
        self._engine: Engine | None = zerogpu_engine(engine) if engine is not None else None
        self.state = "ready" if engine is not None else "idle"
        self.caps = engine.caps if engine is not None else guess_caps(config)
        self.family = self.caps.family
        self.guessed_family = self.family  # what the settings were first drawn for
        self.guessed_caps = self.caps
        self.name = engine.name if engine is not None else config.model
        self.guessed_name = self.name  # the model the settings were first drawn for
        self.percent = 0.0
        self.message = ""
        self.error: GlmvError | None = None
        self.load_seconds = 0.0
        self.memory_md = ""
        self.generation = 0  # one more at each switch: sessions see that the model changed
        self._on_release: list[Callable[[], None]] = []
        self.switching = False  # a switch is loading while the current model serves
        self.switch_note = ""  # what the last switch did
        self.pending = ""  # the model a switch is loading
        self._idle = threading.Event()
        self._idle.set()
        if engine is not None:
            self._ready.set()

    def start(self) -> None:
        with self._lock:
            if self.state != "idle":
                return
            self.state = "loading"
        threading.Thread(target=self._load, name="glmv-model-load", daemon=True).start()

    def on_release(self, callback: Callable[[], None]) -> None:
        """Call ``callback`` when the engine is released (sessions drop their references)."""
        self._on_release.append(callback)

    def switch(self, config: AppConfig) -> None:
        """Load the model ``config`` names in the background while the current one keeps
        serving; it replaces the current one once it has loaded. When the new one does not
        fit beside the old one, the old one is released first and loaded again should the new
        one fail. :attr:`switch_note` says what happened."""
        with self._lock:
            if self.state == "loading" or self.switching:
                raise ConversationError("a model is loading; wait until it is ready")
            if self.state == "error" or self._engine is None:
                # Nothing serves: load the new one as at start.
                self.state = "loading"
                self.generation += 1
                self._adopt(config)
                self._ready.clear()
                threading.Thread(target=self._load, name="glmv-model-load", daemon=True).start()
                return
            self.switching, self.switch_note, self.pending = True, "", config.model
            self.percent = 0.0
            self._idle.clear()
        threading.Thread(
            target=self._switch, args=(config,), name="glmv-model-switch", daemon=True
        ).start()

    def _adopt(self, config: AppConfig) -> None:
        self.config = config
        from ..engines.remote import _display_url

        self.name = (
            config.model
            if config.engine != "remote"
            else (config.remote_model or _display_url(config.remote_url or ""))
        )
        self.error, self.percent, self.message = None, 0.0, ""
        self.memory_md, self.load_seconds = "", 0.0

    def _switch(self, config: AppConfig) -> None:
        from ..engines.factory import create_engine

        old, old_config = self._engine, self.config
        start = time.perf_counter()
        try:
            try:
                engine = create_engine(config, progress=self._progress)
            except InsufficientMemoryError:
                # Both do not fit: let go of the old one, try again, restore it on failure.
                self._release_current()
                old = None
                try:
                    engine = create_engine(config, progress=self._progress)
                except Exception as exc:  # noqa: BLE001 - reported on the page, detail logged
                    self._restore(old_config, exc)
                    return
        except Exception:  # noqa: BLE001 - reported on the page; the old model serves
            _log.warning("model switch to %s failed", config.model, exc_info=True)
            self.switch_note = (
                f"could not load {_shown(config.model)} (the server log has "
                f"the details); {_shown(self.name)} is still serving"
            )
            self.switching = False
            self._idle.set()
            return
        with self._lock:
            if old is not None:
                for callback in self._on_release:
                    callback()
            self._adopt(config)
            self._engine = zerogpu_engine(engine, size=config.zerogpu_size)
            self.family, self.name = engine.family, getattr(engine, "name", config.model)
            self.caps = engine.caps
            self.load_seconds = time.perf_counter() - start
            self.generation += 1
            self.switch_note = f"now serving {_shown(self.name)}"
            self.switching = False
        release_engine(old)
        del old
        self._estimate(config)
        self._idle.set()

    def _release_current(self) -> None:
        with self._lock:
            old, self._engine = self._engine, None
            self.state = "loading"
            self._ready.clear()
            for callback in self._on_release:
                callback()
        release_engine(old)
        del old

    def _restore(self, old_config: AppConfig, exc: Exception) -> None:
        _log.warning(
            "model switch to %s failed after releasing %s; restoring it",
            self.config.model,
            old_config.model,
            exc_info=exc,
        )
        note = (
            f"could not load the new model (the server log has the details); "
            f"{_shown(old_config.model)} was released to make room and has been loaded again"
        )
        self.generation += 1
        self._adopt(old_config)
        self.switching = False
        self._load()
        self.switch_note = (
            note
            if self.state == "ready"
            else f"could not load the new model, nor {_shown(old_config.model)} again (the server "
            "log has the details)"
        )
        self._idle.set()

    def wait(self, timeout: float | None = None) -> bool:
        """Block until loading or a switch ended (ready or failed); True when an engine is
        ready."""
        deadline = None if timeout is None else time.monotonic() + timeout
        self._idle.wait(timeout)
        self._ready.wait(None if deadline is None else max(0.0, deadline - time.monotonic()))
        return self.state == "ready" and not self.switching

    @property
    def engine(self) -> Engine | None:
        return self._engine

    def _progress(self, fraction: float, message: str) -> None:
        self.percent, self.message = max(0.0, min(1.0, fraction)), message

    def _load(self) -> None:
        from ..engines.factory import create_engine

        start = time.perf_counter()
        config = self.config
        try:
            engine = create_engine(config, progress=self._progress)
            self._engine = zerogpu_engine(engine, size=config.zerogpu_size)
            self.family, self.name = engine.family, getattr(engine, "name", config.model)
            self.caps = engine.caps
            self.load_seconds = time.perf_counter() - start
            self.state = "ready"
        except GlmvError as exc:
            self.error, self.state = exc, "error"
        except Exception as exc:  # noqa: BLE001 - any failure must reach the page, not the log
            _log.warning("loading %s failed", config.model, exc_info=True)
            self.error = ModelLoadError(_brief(exc))
            self.state = "error"
        finally:
            self._ready.set()
        self._estimate(config)

    def _estimate(self, config: AppConfig) -> None:
        if self.state == "ready" and config.engine == "local":
            try:
                from ..models import estimate_memory

                self.memory_md = estimate_memory(config.model).markdown()
            except Exception:  # noqa: BLE001 - the estimate is a nicety; the model works without
                self.memory_md = ""

    def remedy(self, lang: str) -> str:
        err = self.error
        if isinstance(err, WeightsUnavailableError):
            return t(lang, "remedy_weights")
        if isinstance(err, InsufficientMemoryError):
            return t(lang, "remedy_memory")
        if isinstance(err, MissingDependencyError):
            return t(lang, "remedy_dependency")
        return t(lang, "remedy_other")

    def status_line(self, lang: str) -> str:
        line = self._status_line(lang)
        if self.switching:
            line += "\n\n" + t(
                lang, "switching", model=self.pending, percent=round(self.percent * 100)
            )
        elif self.switch_note:
            line += "\n\n" + t(lang, "switch_note", note=self.switch_note)
        return line

    def _status_line(self, lang: str) -> str:
        family = self.caps.label
        if self.state == "ready":
            if self.config.engine == "remote":
                from ..engines.remote import _display_url  # no user info, query or fragment

                return t(
                    lang,
                    "ready_remote",
                    model=self.name,
                    family=family,
                    url=_display_url(self.config.remote_url or ""),
                )
            if (
                self.config.engine == "scripted"
                or self.config.engine != "local"
                or self.load_seconds == 0.0
            ):
                return t(lang, "ready_scripted", model=self.name, family=family)
            quant = self.config.load.quantization or t(lang, "no_quant")
            return t(
                lang,
                "ready",
                model=self.name,
                family=family,
                quant=quant,
                seconds=self.load_seconds,
            )
        if self.state == "error":
            return (
                t(lang, "load_error", model=self.config.model, error=self.error)
                + "\n\n"
                + t(lang, "remedy", remedy=self.remedy(lang))
            )
        if self.state == "loading":
            return t(
                lang,
                "loading",
                model=self.config.model,
                percent=round(self.percent * 100),
                message=self.message,
            )
        return t(lang, "loading_idle", model=self.config.model)

    def details(self, lang: str) -> str:
        """The model panel's details: the memory estimate and what the engine keeps."""
        pieces = []
        if self.memory_md:
            pieces.append(f"**{t(lang, 'memory')}**\n\n{self.memory_md}")
        if isinstance(self._engine, CachingEngine):
            pieces.append(f"**{t(lang, 'prompt_cache')}**: {self._engine.cache_stats().summary()}")
        return "\n\n".join(pieces)

    def require(self, lang: str) -> Engine:
        """The engine, or a GlmvError saying why there is none yet."""
        if self.state == "ready" and self._engine is not None:
            return self._engine
        if self.state == "error":
            raise ModelLoadError(t(lang, "not_loaded", error=self.error))
        status = f"{round(self.percent * 100)}%" if self.state == "loading" else self.state
        raise ModelLoadError(t(lang, "still_loading", status=status))


def release_engine(engine: Engine | None) -> None:
    """Let go of a loaded model: out of the shared cache, collected, GPU memory returned."""
    if engine is None:
        return
    inner = unwrapped(engine)  # the ZeroGPU wrapper's engine
    loaded = inner.loaded if isinstance(inner, HoldsModel) else None
    if loaded is not None:
        from ..models import default_cache

        default_cache().evict(loaded)
    del engine, inner, loaded
    gc.collect()
    torch = sys.modules.get("torch")  # only a loaded local model has brought torch in
    if torch is not None and torch.cuda.is_available():
        torch.cuda.empty_cache()
