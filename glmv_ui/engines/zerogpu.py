"""Generation on Hugging Face ZeroGPU: the local engine's stream runs in ``spaces``' GPU worker.

``spaces.GPU`` forks a worker process once and reuses it while it is idle; each call's arguments
and every value the generator yields cross to and from it through pickling multiprocessing queues
(``spaces/zero/wrappers.py``). So only plain data crosses here:

- in: a :class:`GpuJob`, i.e. the :class:`GenerationRequest` (messages with PIL images, a frozen
  ``Sampling``) and a :class:`StopFlag`;
- out: :class:`Chunk` records, or one :class:`WorkerFailure` that the caller raises again.

Stop crosses as a file. The flag names a file in a folder private to the engine; a watcher in the
calling process creates it when the caller's ``threading.Event`` is set, and the worker's cancel
check (once per decoding step) looks for it. A path means the same thing in a worker forked at
any time and reused for any number of requests, needs nothing shared at fork time, and costs one
``stat`` per token (bench/RESULTS.md). ``spaces``' own stop event only fires when the caller
closes the generator, which a Stop button does not do.

The model must sit on ``cuda`` before the worker forks: ZeroGPU moves the tensors registered
under its CUDA emulation to the real GPU when the worker starts. The emulation is thread-local,
and the app loads the model in a background thread where it is not active (accelerate then finds
no GPU and leaves the model on the CPU), so :func:`zerogpu_engine` moves the model to ``cuda``
in a thread that enters the emulation first.

Must not: import ``spaces`` or torch at import time, wrap an engine that needs no GPU (remote,
scripted: they would spend the visitor's GPU quota on network waits), or pass anything that holds
a lock (``threading.Event``, an engine, a model) into the worker.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import threading
import uuid
import weakref
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..errors import GenerationError, GlmvError, MediaBudgetError
from ..messages import media_of
from ..reasons import Reason
from .base import Chunk, Engine, GenerationRequest

__all__ = [
    "MAX_SECONDS",
    "MIN_SECONDS",
    "GpuJob",
    "StopFlag",
    "WorkerFailure",
    "ZeroGpuEngine",
    "gpu_duration",
    "on_zerogpu",
    "zerogpu_engine",
]

MIN_SECONDS = 30
# Longer requests are refused to visitors whose daily quota is smaller (2 minutes signed out,
# 5 minutes with a free account: https://huggingface.co/docs/hub/spaces-zerogpu#usage-tiers).
MAX_SECONDS = 300
# Rough planning figures for a 9B model on one ZeroGPU slice: decode speed and vision encoding.
TOKENS_PER_SECOND = 25.0
VISUAL_TOKENS_PER_SECOND = 4000.0
# How often the watcher checks whether its request has ended; setting the cancel event wakes it
# at once, so this adds nothing to Stop's latency.
WATCH_INTERVAL_S = 0.05


@dataclass(frozen=True)
class StopFlag:
    """A cancel signal that survives pickling: set when the file at ``path`` exists."""

    path: str

    def is_set(self) -> bool:
        return os.path.exists(self.path)

    def set(self) -> None:
        Path(self.path).touch()

    def discard(self) -> None:
        Path(self.path).unlink(missing_ok=True)


@dataclass(frozen=True)
class GpuJob:
    """Everything one request sends to the GPU worker."""

    request: GenerationRequest
    stop: StopFlag


@dataclass(frozen=True)
class WorkerFailure:
    """An error in the worker, as plain data (exceptions with their own ``__init__`` do not
    survive pickling, and ``spaces`` would replace the message with the class name)."""

    kind: str
    message: str
    # The refusal's template and values (plain data), so the page can say it in the user's
    # language; None for faults that have none.
    wording: Reason | None = None
    subject: str = ""

    def error(self) -> GlmvError:
        if self.kind == "MediaBudgetError":
            return MediaBudgetError(self.subject, self.wording or self.message)
        return GenerationError(self.wording or self.message)


class _FlagEvent(threading.Event):
    """The worker-side cancel event the engine polls: set locally, or through the flag file."""

    def __init__(self, flag: StopFlag) -> None:
        super().__init__()
        self.flag = flag

    def is_set(self) -> bool:
        return super().is_set() or self.flag.is_set()


def _visual_tokens(request: GenerationRequest) -> int:
    from ..media.budget import part_tokens

    return sum(part_tokens(media) for media in media_of(request.messages))


def gpu_duration(request: GenerationRequest) -> int:
    """Seconds of GPU to ask for: decoding ``max_new_tokens`` plus encoding the media."""
    seconds = 10 + request.sampling.max_new_tokens / TOKENS_PER_SECOND
    seconds += _visual_tokens(request) / VISUAL_TOKENS_PER_SECOND
    return int(min(MAX_SECONDS, max(MIN_SECONDS, seconds)))


def _job_duration(job: GpuJob) -> int:
    return gpu_duration(job.request)


def _worker_stream(engine: Engine, job: GpuJob) -> Iterator[Chunk | WorkerFailure]:
    """Runs in the GPU worker: the engine's chunks, or the failure as data."""
    try:
        yield from engine.stream(job.request, _FlagEvent(job.stop))
    except Exception as exc:  # noqa: BLE001 - crosses back as data and is raised there
        if isinstance(exc, GlmvError):
            yield WorkerFailure(type(exc).__name__, str(exc), exc.wording, str(exc.subject))
        else:
            yield WorkerFailure(type(exc).__name__, f"{type(exc).__name__}: {exc}")


class _Watch:
    """Sets ``flag`` once ``cancel`` is set, until closed."""

    def __init__(self, cancel: threading.Event, flag: StopFlag) -> None:
        self._closed = threading.Event()
        self._thread = threading.Thread(
            target=self._run, args=(cancel, flag), daemon=True, name="glmv-zerogpu-stop"
        )
        self._thread.start()

    def _run(self, cancel: threading.Event, flag: StopFlag) -> None:
        while not self._closed.is_set():
            if cancel.wait(WATCH_INTERVAL_S):
                flag.set()
                return

    def close(self) -> None:
        self._closed.set()
        self._thread.join()


class ZeroGpuEngine:
    """An engine whose ``stream`` runs under ``spaces.GPU`` in ZeroGPU's worker process.

    It is :class:`~.base.Wrapping` and nothing more: the wrapped engine's prompt caches live in
    the worker's copy of it, so this process can neither count nor drop them, and its model is
    reached through ``inner`` (to show what a request becomes, or to give the model back).
    """

    def __init__(self, engine: Engine, spaces: Any, size: str | None = None) -> None:
        self.inner = engine
        self.name = engine.name
        self.family = engine.family
        self.caps = engine.caps
        self._stops = Path(tempfile.mkdtemp(prefix="glmv-stop-"))
        weakref.finalize(self, shutil.rmtree, str(self._stops), True)

        # A closure, not a method: the worker inherits the engine through fork, so only the job
        # is pickled.
        def run_on_gpu(job: GpuJob) -> Iterator[Chunk | WorkerFailure]:
            yield from _worker_stream(engine, job)

        self._run = spaces.GPU(duration=_job_duration, size=size)(run_on_gpu)

    def stream(
        self, request: GenerationRequest, cancel: threading.Event | None = None
    ) -> Iterator[Chunk]:
        flag = StopFlag(str(self._stops / uuid.uuid4().hex))
        watch = _Watch(cancel, flag) if cancel is not None else None
        chunks = self._run(GpuJob(request, flag))
        try:
            for item in chunks:
                if isinstance(item, WorkerFailure):
                    raise item.error()
                yield item
        except GeneratorExit:
            flag.set()  # the consumer went away: end the generation in the worker too
            raise
        finally:
            if watch is not None:
                watch.close()
            chunks.close()
            flag.discard()


def on_zerogpu() -> bool:
    """True on a ZeroGPU Space (``spaces`` installed and its ZeroGPU mode on)."""
    try:
        from spaces.config import Config
    except ImportError:
        return False
    return bool(Config.zero_gpu)


def _place_on_emulated_gpu(engine: Engine) -> None:
    """Move a CPU-resident, unquantized local model to ZeroGPU's emulated ``cuda`` device."""
    from .local import LocalEngine

    if not isinstance(engine, LocalEngine):
        return
    loaded = engine.loaded
    if loaded.options.quantization is not None or loaded.model.device.type != "cpu":
        return
    errors: list[BaseException] = []

    def place() -> None:
        from spaces.zero import torch as zero_torch

        try:
            zero_torch.enter_mode()  # thread-local: this short-lived thread only
            loaded.model.to("cuda")
        except BaseException as exc:  # noqa: BLE001 - re-raised in the calling thread
            errors.append(exc)

    thread = threading.Thread(target=place, name="glmv-zerogpu-place")
    thread.start()
    thread.join()
    if errors:
        raise GenerationError(f"could not place the model on ZeroGPU: {errors[0]}") from errors[0]


def zerogpu_engine(engine: Engine, *, size: str | None = None) -> Engine:
    """``engine`` set up for ZeroGPU when this is a ZeroGPU Space and the engine runs a model
    here; otherwise ``engine`` itself. ``size`` is ``"large"`` (the default) or ``"xlarge"``."""
    from .local import LocalEngine

    if isinstance(engine, ZeroGpuEngine) or not isinstance(engine, LocalEngine):
        return engine
    if not on_zerogpu():
        return engine
    import spaces

    if size is None:
        from ..config import env_zerogpu_size

        size = env_zerogpu_size()
    _place_on_emulated_gpu(engine)
    return ZeroGpuEngine(engine, spaces, size)
