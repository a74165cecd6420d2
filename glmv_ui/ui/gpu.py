"""The app's hook for ZeroGPU: :func:`gpu_engine` is what the model manager wraps engines with.

The work lives in :mod:`glmv_ui.engines.zerogpu`; this module keeps the names the UI imports.
"""

from __future__ import annotations

from ..engines.zerogpu import MAX_SECONDS, MIN_SECONDS, ZeroGpuEngine, gpu_duration
from ..engines.zerogpu import zerogpu_engine as gpu_engine

GpuEngine = ZeroGpuEngine

__all__ = ["MAX_SECONDS", "MIN_SECONDS", "GpuEngine", "gpu_duration", "gpu_engine"]
