"""The model behind the app: loaded in the background once, with progress, result or error.

The page is served at once; handlers ask the :class:`ModelManager` for the engine and get a clear
message while it loads or after it failed.
"""

from __future__ import annotations

import gc
import sys
import threading
import time
from collections.abc import Callable

from ..config import AppConfig
from ..engines.base import Engine
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

__all__ = ["ModelManager", "guess_family", "release_engine"]


def guess_family(config: AppConfig) -> str:
    """The family before the model is loaded (for the settings shown at first): from the
    checkpoint's config.json when it is on disk (a folder or the hub cache), else from the
    registry; the name is only the last resort, and the settings follow the loaded model."""
    from ..models import FAMILIES, KNOWN_MODELS, family_of, read_config
    from ..tiny import TINY_MODELS

    if config.model in TINY_MODELS:
        return TINY_MODELS[config.model]
    if config.model in FAMILIES:
        return config.model
    try:
        on_disk = read_config(config.model)
        if on_disk is not None:
            return family_of(on_disk)
    except (GlmvError, OSError, ValueError):
        pass
    if config.model in KNOWN_MODELS:
        return KNOWN_MODELS[config.model].family
    return "glm4v_moe" if "4.5v" in config.model.lower() else "glm4v"


class ModelManager:
    """Loads the engine in the background; reports progress, the result or the error. The
    operator may switch to another model (:meth:`switch`): the old one is released first, so
    its memory is back before the new one loads."""

    def __init__(self, config: AppConfig, engine: Engine | None = None) -> None:
        self.config = config
        self._lock = threading.Lock()
        self._ready = threading.Event()
        self._engine: Engine | None = zerogpu_engine(engine) if engine is not None else None
        self.state = "ready" if engine is not None else "idle"
        self.family = engine.family if engine is not None else guess_family(config)
        self.guessed_family = self.family  # what the settings were first drawn for
        self.name = engine.name if engine is not None else config.model
        self.guessed_name = self.name  # the model the settings were first drawn for
        self.percent = 0.0
        self.message = ""
        self.error: GlmvError | None = None
        self.load_seconds = 0.0
        self.memory_md = ""
        self.generation = 0  # one more at each switch: sessions see that the model changed
        self._on_release: list[Callable[[], None]] = []
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
        """Release the current model and load the one ``config`` names, in the background."""
        with self._lock:
            if self.state == "loading":
                raise ConversationError("a model is loading; wait until it is ready")
            self.state = "loading"
            self.generation += 1
            self.config = config
            self.name = config.model if config.engine != "remote" else \
                (config.remote_model or config.remote_url or "")
            self.error, self.percent, self.message = None, 0.0, ""
            self.memory_md, self.load_seconds = "", 0.0
            self._ready.clear()
            old, self._engine = self._engine, None
        for callback in self._on_release:
            callback()
        release_engine(old)
        threading.Thread(target=self._load, name="glmv-model-load", daemon=True).start()

    def wait(self, timeout: float | None = None) -> bool:
        """Block until loading ended (ready or failed); True when an engine is ready."""
        self._ready.wait(timeout)
        return self.state == "ready"

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
            self.load_seconds = time.perf_counter() - start
            self.state = "ready"
        except GlmvError as exc:
            self.error, self.state = exc, "error"
        except Exception as exc:  # noqa: BLE001 - any failure must reach the page, not the log
            self.error = ModelLoadError(f"{type(exc).__name__}: {exc}")
            self.state = "error"
        finally:
            self._ready.set()
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
        from ..models import FAMILIES

        family = FAMILIES[self.family].label if self.family in FAMILIES else self.family
        if self.state == "ready":
            if self.config.engine == "remote":
                return t(lang, "ready_remote", model=self.name, family=family,
                         url=self.config.remote_url or "")
            if self.config.engine == "scripted" or self.config.engine != "local" or \
                    self.load_seconds == 0.0:
                return t(lang, "ready_scripted", model=self.name, family=family)
            quant = self.config.load.quantization or t(lang, "no_quant")
            return t(lang, "ready", model=self.name, family=family, quant=quant,
                     seconds=self.load_seconds)
        if self.state == "error":
            return (t(lang, "load_error", model=self.config.model, error=self.error) + "\n\n"
                    + t(lang, "remedy", remedy=self.remedy(lang)))
        if self.state == "loading":
            return t(lang, "loading", model=self.config.model, percent=round(self.percent * 100),
                     message=self.message)
        return t(lang, "loading_idle", model=self.config.model)

    def details(self, lang: str) -> str:
        """The model panel's details: the memory estimate and what the engine keeps."""
        pieces = []
        if self.memory_md:
            pieces.append(f"**{t(lang, 'memory')}**\n\n{self.memory_md}")
        stats = getattr(self._engine, "cache_stats", None) if self._engine is not None else None
        if stats is not None:
            pieces.append(f"**{t(lang, 'prompt_cache')}**: {stats().summary()}")
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
    inner = getattr(engine, "inner", engine)  # the ZeroGPU wrapper
    loaded = getattr(inner, "loaded", None)
    if loaded is not None:
        from ..models import default_cache

        default_cache().evict(loaded)
    del engine, inner, loaded
    gc.collect()
    torch = sys.modules.get("torch")  # only a loaded local model has brought torch in
    if torch is not None and torch.cuda.is_available():
        torch.cuda.empty_cache()
