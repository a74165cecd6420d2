"""Uploads -> model-ready :class:`MediaPart` objects.

Importing this package imports nothing heavy; Pillow, pymupdf, PyAV and python-pptx load inside
the readers that need them.
"""

from .budget import BudgetReport, check_budget, estimate_visual_tokens
from .ingest import ingest, sniff
from .options import MediaOptions
from .parts import MediaPart

__all__ = [
    "BudgetReport",
    "MediaOptions",
    "MediaPart",
    "check_budget",
    "estimate_visual_tokens",
    "ingest",
    "sniff",
]
