"""Backends behind one seam: local (transformers), remote (OpenAI-compatible), scripted (tests)."""

from .base import Chunk, Engine, GenerationRequest, Stats

__all__ = ["Chunk", "Engine", "GenerationRequest", "Stats"]
