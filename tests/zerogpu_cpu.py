"""Run ``app.py`` on the real ``spaces`` ZeroGPU code path on a machine without a GPU.

``python tests/zerogpu_cpu.py APP.py [ARGS...]`` runs ``APP.py`` (the project's or a Space
folder's) with ``ARGS``. Set ``SPACES_ZERO_GPU=true`` and ``SPACES_ZERO_DEVICE_API_URL`` (a
scheduler stand-in, see ``tests/zerogpu_standin.py``) before starting it.

Everything of ``spaces`` runs as on a Space (its torch CUDA emulation in the app process, the
schedule / allow / release calls, the worker forked once and reused, the pickling queues, its
stop event) except the three functions that need a real device, replaced here with their CPU
equivalents: ``init`` (select the GPU), ``pack`` (offload emulated tensors to disk at launch)
and ``move`` (copy them to the GPU when a worker starts). The CPU ``move`` binds each emulated
``cuda`` tensor to the CPU tensor it stands for, which is what the real one does with a GPU copy,
and appends ``pid tensors`` to the file named by ``ZEROGPU_CPU_REPORT`` so a test can see that
the model was on the emulated GPU when the worker started.
"""

from __future__ import annotations

import os
import runpy
import sys
from pathlib import Path
from typing import Any

import spaces  # noqa: F401 - first, as on a Space: it patches torch before anything uses it
from spaces.zero import torch as zero_torch
from spaces.zero.torch import patching


def _init(nvidia_uuid: str) -> None:
    pass  # no device to select


def _pack() -> int:
    return 0  # the emulated tensors stay in memory, where the CPU move finds them


def _move(callback: Any = None) -> None:
    bound = 0
    for fake, original in patching.cuda_aliases.items():
        if original is not None:
            fake.data = original.detach()
            bound += 1
    report = os.environ.get("ZEROGPU_CPU_REPORT")
    if report:
        with open(report, "a", encoding="utf-8") as f:
            f.write(f"{os.getpid()} {bound}\n")


zero_torch.init = _init
zero_torch.pack = _pack
zero_torch.move = _move

if __name__ == "__main__":
    app = Path(sys.argv[1]).resolve()
    sys.argv = [str(app), *sys.argv[2:]]
    sys.path.insert(0, str(app.parent))
    runpy.run_path(str(app), run_name="__main__")
