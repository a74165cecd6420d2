"""glmv_ui: a workbench for the GLM-V vision-language models (GLM-4.1V, 4.5V, 4.6V, 5.3-Flash).

The small public API shared by the Gradio app, the notebooks, the command line and the tests.
Importing it loads nothing heavy: torch, transformers and gradio are imported when first used.
"""

from __future__ import annotations

from typing import Any

from .config import AppConfig, LoadOptions, MediaLimits, Sampling, default_sampling
from .conversation import Conversation, Turn
from .engines.base import Chunk, Engine, GenerationRequest, Stats
from .errors import GlmvError
from .media.options import MediaOptions
from .media.parts import MediaPart
from .models import (
    KNOWN_MODELS,
    LoadedModel,
    MemoryEstimate,
    ModelCache,
    default_cache,
    estimate_memory,
    load_model,
)
from .prompt import build_messages
from .reply import Reply, ReplyStream, build_reply
from .session import ReplyUpdate, Session
from .stream import Event, ReplyParser, parse_raw
from .tiny import TINY_MODELS, ensure_tiny_checkpoint

__all__ = [
    "KNOWN_MODELS",
    "TINY_MODELS",
    "AppConfig",
    "ChatWidget",
    "Chunk",
    "Conversation",
    "Engine",
    "Event",
    "GenerationRequest",
    "GlmvError",
    "LoadOptions",
    "LoadedModel",
    "LocalEngine",
    "MediaLimits",
    "MediaOptions",
    "MediaPart",
    "MemoryEstimate",
    "ModelCache",
    "Reply",
    "ReplyParser",
    "ReplyStream",
    "ReplyUpdate",
    "Sampling",
    "ScriptedEngine",
    "Session",
    "Stats",
    "Turn",
    "ask",
    "build_messages",
    "build_reply",
    "create_app",
    "create_engine",
    "default_cache",
    "default_sampling",
    "ensure_tiny_checkpoint",
    "estimate_memory",
    "ingest",
    "load_model",
    "parse_raw",
    "show_reply",
]

_LAZY = {
    "LocalEngine": ("glmv_ui.engines.local", "LocalEngine"),
    "ScriptedEngine": ("glmv_ui.engines.scripted", "ScriptedEngine"),
    "create_engine": ("glmv_ui.engines.factory", "create_engine"),
    "create_app": ("glmv_ui.ui", "create_app"),
    "ingest": ("glmv_ui.media.ingest", "ingest"),
    "ChatWidget": ("glmv_ui.notebook", "ChatWidget"),
    "ask": ("glmv_ui.notebook", "ask"),
    "show_reply": ("glmv_ui.notebook", "show_reply"),
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        import importlib

        module, attr = _LAZY[name]
        return getattr(importlib.import_module(module), attr)
    raise AttributeError(f"module 'glmv_ui' has no attribute {name!r}")
