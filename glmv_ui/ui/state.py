"""Server-side state of the app: the model being loaded, and one ChatState per browser session.

The model loads in a background thread so the page is served at once; handlers ask the
:class:`ModelManager` for the engine and get a clear message while it loads or after it failed.
Each browser session (``request.session_hash``) owns a :class:`ChatState` with its own
:class:`~glmv_ui.session.Session`, so Stop in one tab never touches another.
"""

from __future__ import annotations

import shutil
import tempfile
import threading
import time
import uuid
from pathlib import Path
from typing import Any

from ..config import AppConfig
from ..engines.base import Engine
from ..errors import (
    GlmvError,
    InsufficientMemoryError,
    MissingDependencyError,
    ModelLoadError,
    WeightsUnavailableError,
)
from ..media.parts import MediaPart
from ..prompt import Turn
from ..session import Session
from ..stream import parse_raw
from .gpu import gpu_engine
from .i18n import t
from .views import (
    TurnExtras,
    answer_markdown,
    group_caption,
    group_parts,
    legend_markdown,
    stats_html,
    strip_image,
    turn_messages,
)

__all__ = ["ChatState", "ModelManager", "SessionRegistry", "guess_family", "media_root"]


def media_root() -> Path:
    """Where rendered thumbnails and drawn boxes go: the temp dir, which Gradio may serve."""
    return Path(tempfile.gettempdir()) / "glmv_ui" / "sessions"


def guess_family(config: AppConfig) -> str:
    """The family before the model is loaded (for the settings shown at first): from the
    checkpoint's config.json when it is on disk (a folder or the hub cache), else from the
    registry; the name is only the last resort, and the settings follow the loaded model."""
    from ..errors import GlmvError
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
    """Loads the engine in the background once; reports progress, the result or the error."""

    def __init__(self, config: AppConfig, engine: Engine | None = None) -> None:
        self.config = config
        self._lock = threading.Lock()
        self._ready = threading.Event()
        self._engine: Engine | None = gpu_engine(engine) if engine is not None else None
        self.state = "ready" if engine is not None else "idle"
        self.family = engine.family if engine is not None else guess_family(config)
        self.guessed_family = self.family  # what the settings were first drawn for
        self.name = engine.name if engine is not None else config.model
        self.percent = 0.0
        self.message = ""
        self.error: GlmvError | None = None
        self.load_seconds = 0.0
        self.memory_md = ""
        if engine is not None:
            self._ready.set()

    def start(self) -> None:
        with self._lock:
            if self.state != "idle":
                return
            self.state = "loading"
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
        try:
            engine = create_engine(self.config, progress=self._progress)
            self._engine = gpu_engine(engine)
            self.family, self.name = engine.family, getattr(engine, "name", self.config.model)
            self.load_seconds = time.perf_counter() - start
            self.state = "ready"
        except GlmvError as exc:
            self.error, self.state = exc, "error"
        except Exception as exc:  # noqa: BLE001 - any failure must reach the page, not the log
            self.error = ModelLoadError(f"{type(exc).__name__}: {exc}")
            self.state = "error"
        finally:
            self._ready.set()
        if self.state == "ready" and self.config.engine == "local":
            try:
                from ..models import estimate_memory

                self.memory_md = estimate_memory(self.config.model).markdown()
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
        if not self.memory_md:
            return ""
        return f"**{t(lang, 'memory')}**\n\n{self.memory_md}"

    def require(self, lang: str) -> Engine:
        """The engine, or a GlmvError saying why there is none yet."""
        if self.state == "ready" and self._engine is not None:
            return self._engine
        if self.state == "error":
            raise ModelLoadError(t(lang, "not_loaded", error=self.error))
        status = f"{round(self.percent * 100)}%" if self.state == "loading" else self.state
        raise ModelLoadError(t(lang, "still_loading", status=status))


class ChatState:
    """One browser session: its Session, rendered thumbnails and finished-reply extras."""

    def __init__(self, root: Path, lang: str = "en") -> None:
        self.lang = lang
        self.dir = root / uuid.uuid4().hex
        self.session: Session | None = None
        self._strips: dict[MediaPart, tuple[str, str]] = {}
        self._extras: dict[int, TurnExtras] = {}
        self.pending: dict[tuple[Any, ...], list[MediaPart]] = {}
        self.edit_map: dict[int, int] = {}  # Chatbot message index -> turn index (user text)

    def ensure_session(self, engine: Engine, config: AppConfig) -> Session:
        if self.session is None or self.session.engine is not engine:
            turns = self.session.turns if self.session is not None else []
            self.session = Session(engine, limits=config.media)
            self.session.turns = turns
        return self.session

    @property
    def turns(self) -> list[Turn]:
        return self.session.turns if self.session is not None else []

    def save_image(self, image: Any, stem: str) -> str:
        self.dir.mkdir(parents=True, exist_ok=True)
        path = self.dir / f"{stem}-{uuid.uuid4().hex[:8]}.png"
        image.save(path, format="PNG")
        return str(path)

    def strips(self, parts: list[MediaPart]) -> list[tuple[str, str]]:
        """(path, caption) of one thumbnail strip per upload; drawn once per upload."""
        out = []
        for group in group_parts(parts):
            key = group[0]
            if key not in self._strips:
                path = self.save_image(strip_image(group), "upload")
                self._strips[key] = (path, group_caption(group, self.lang))
            out.append(self._strips[key])
        return out

    def forget(self, turns: list[Turn] | None = None) -> None:
        """Drop cached extras (all, or for the given turns), e.g. after a turn is re-answered."""
        if turns is None:
            self._extras.clear()
        else:
            for turn in turns:
                self._extras.pop(id(turn), None)

    def extras(self, index: int, fenced: str | None = None, html: str | None = None,
               found_html: bool = False, thinking_seconds: float | None = None) -> TurnExtras:
        """The finished reply's extras: computed once (boxes drawn, HTML found), then cached."""
        turn = self.turns[index]
        cached = self._extras.get(id(turn))
        if cached is not None:
            return cached
        extras = finish_reply(self, index, fenced=fenced, html=html, found_html=found_html)
        extras.thinking_seconds = thinking_seconds
        self._extras[id(turn)] = extras
        return extras

    def messages(self, upto: int | None = None) -> list[dict[str, Any]]:
        """Chatbot messages of the finished turns before ``upto`` (all when None)."""
        turns = self.turns if upto is None else self.turns[:upto]
        self.edit_map = {}
        messages: list[dict[str, Any]] = []
        for i, turn in enumerate(turns):
            strips = self.strips(turn.parts)
            parsed = parse_raw(turn.raw) if turn.raw else None
            extras = self.extras(i) if turn.status in ("done", "cancelled") else None
            if turn.text:
                self.edit_map[len(messages) + 2 * len(strips)] = i
            messages += turn_messages(
                turn.text, strips,
                thinking=parsed.thinking if parsed else "",
                thinking_done=True,
                thinking_seconds=extras.thinking_seconds if extras else None,
                truncated=bool(parsed and parsed.truncated),
                answer_md=extras.answer_md if extras else (
                    answer_markdown(parsed.answer, parsed.boxed_spans) if parsed else ""),
                extras=extras, status=turn.status, error=turn.error, lang=self.lang)
        return messages

    def close(self) -> None:
        if self.session is not None:
            self.session.stop()
        shutil.rmtree(self.dir, ignore_errors=True)


def finish_reply(state: ChatState, index: int, *, fenced: str | None = None,
                 html: str | None = None, found_html: bool = False) -> TurnExtras:
    """Post-process a finished reply once: fence HTML, find and draw boxes and GUI actions."""
    from ..grounding import boxes_table, choose_image_index, draw_boxes, find_actions, find_boxes
    from ..htmlfix import HtmlFencer

    turn = state.turns[index]
    parsed = parse_raw(turn.raw)
    if fenced is None:
        fencer = HtmlFencer()
        fencer.feed(parsed.answer)
        fencer.finish()
        html, found_html = fencer.html, fencer.html is not None
        fenced = fencer.text
    extras = TurnExtras(stats=stats_html(turn.stats), html=html if found_html else None)
    extras.answer_md = fenced if found_html else answer_markdown(parsed.answer,
                                                                 parsed.boxed_spans)
    boxes = find_boxes(parsed.answer, parsed.boxed_spans)
    actions = find_actions(parsed.answer)
    if not boxes and not any(a.box is not None or a.point is not None for a in actions):
        return extras
    images: list[MediaPart] = []
    for earlier in reversed(state.turns[:index + 1]):
        images = [p for p in earlier.parts if p.kind == "image"]
        if images:
            break
    if not images:
        return extras
    part = images[choose_image_index(boxes, len(images))]
    drawn = draw_boxes(part.image, boxes, actions)
    extras.image_path = state.save_image(drawn, "boxes")
    key = "boxes_on" if boxes else "actions_on"
    extras.image_caption = t(state.lang, key, label=part.label)
    extras.legend_md = legend_markdown(boxes_table(boxes, *part.image.size), state.lang)
    return extras


class SessionRegistry:
    """ChatState per ``request.session_hash``; dropped when the tab goes away."""

    def __init__(self, root: Path | None = None, lang: str = "en") -> None:
        self.root = root or media_root()
        self.lang = lang
        self._lock = threading.Lock()
        self._states: dict[str, ChatState] = {}

    def get(self, request: Any) -> ChatState:
        key = getattr(request, "session_hash", None) or "default"
        with self._lock:
            state = self._states.get(key)
            if state is None:
                state = self._states[key] = ChatState(self.root, self.lang)
            return state

    def drop(self, request: Any) -> None:
        key = getattr(request, "session_hash", None) or "default"
        with self._lock:
            state = self._states.pop(key, None)
        if state is not None:
            state.close()

    def __len__(self) -> int:
        return len(self._states)
