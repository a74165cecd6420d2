"""Build the engine an :class:`~glmv_ui.config.AppConfig` asks for."""

from __future__ import annotations

from typing import Any

from ..config import AppConfig
from ..errors import ConfigError
from .base import Engine

__all__ = ["create_engine"]


def create_engine(config: AppConfig, *, progress: Any = None, cache: Any = None) -> Engine:
    """``local`` loads (or reuses) the model through the shared cache; ``remote`` talks to an
    OpenAI-compatible server; ``scripted`` replays canned replies."""
    if config.engine == "local":
        from ..models import load_model
        from .local import LocalEngine

        return LocalEngine(load_model(config.model, config.load, cache=cache, progress=progress))
    if config.engine == "remote":
        from . import remote

        return remote.RemoteEngine.from_config(config)
    if config.engine == "scripted":
        from ..models import FAMILIES
        from .scripted import ScriptedEngine

        family = config.model if config.model in FAMILIES else "glm4v"
        return ScriptedEngine(family=family, delay_s=0.02)
    raise ConfigError(f"unknown engine {config.engine!r}; expected local, remote or scripted")
