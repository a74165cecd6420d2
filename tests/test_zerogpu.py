"""ZeroGPU: what crosses into ``spaces``' GPU worker is plain data, and Stop reaches the worker.

The slow test runs the app on the real ``spaces`` ZeroGPU code path (its torch emulation, the
forked and reused worker, the pickling queues) against a scheduler stand-in on loopback; only
the three device functions that need a GPU are replaced (tests/zerogpu_cpu.py).
"""

from __future__ import annotations

import multiprocessing
import pickle
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from glmv_ui.config import AppConfig, Sampling
from glmv_ui.conversation import Turn
from glmv_ui.engines.base import Chunk, GenerationRequest, Stats
from glmv_ui.engines.local import LocalEngine
from glmv_ui.engines.scripted import ScriptedEngine
from glmv_ui.engines.zerogpu import (
    MAX_SECONDS,
    GpuJob,
    StopFlag,
    WorkerFailure,
    ZeroGpuEngine,
    gpu_duration,
    zerogpu_engine,
)
from glmv_ui.errors import GenerationError, MediaBudgetError
from glmv_ui.media.parts import MediaPart
from glmv_ui.messages import media_of
from glmv_ui.prompt import build_messages
from glmv_ui.session import Session
from tests.app_drive import exported_turns, reply_then_stop, start_group, wait_for_model
from tests.helpers import red_image
from tests.serve_helpers import ROOT, free_port
from tests.zerogpu_standin import SchedulerStandIn


def _image_request(max_new_tokens: int = 4096) -> GenerationRequest:
    part = MediaPart(kind="image", source="red.png", image=red_image())
    messages = build_messages([Turn(text="What colour is this?", parts=[part])], "glm4v")
    return GenerationRequest(messages=messages, sampling=Sampling(max_new_tokens=max_new_tokens))


def test_a_request_with_an_image_and_its_chunks_pickle(tmp_path: Path) -> None:
    with pytest.raises(TypeError, match="pickle"):
        pickle.dumps(threading.Event())  # what used to cross, and why it failed
    job = GpuJob(_image_request(), StopFlag(str(tmp_path / "stop")))
    back = pickle.loads(pickle.dumps(job))
    image = next(media_of(back.request.messages)).image
    assert image.tobytes() == red_image().tobytes()
    assert image.size == (120, 90)
    assert back.request.sampling == job.request.sampling
    assert back.stop == job.stop
    chunk = Chunk("<think>", Stats(prompt_tokens=12, finish_reason="cancelled"), done=True)
    assert pickle.loads(pickle.dumps(chunk)) == chunk
    failure = WorkerFailure("MediaBudgetError", "images and a video cannot be sent")
    assert pickle.loads(pickle.dumps(failure)) == failure


def test_a_refusal_from_the_worker_keeps_its_wording_for_the_page() -> None:
    from glmv_ui.errors import MediaBudgetError
    from glmv_ui.reasons import reason
    from glmv_ui.ui.reasons_zh import reason_text

    refused = MediaBudgetError("clip.mp4", reason("video.unreadable"))
    failure = WorkerFailure(
        type(refused).__name__, str(refused), refused.wording, str(refused.subject)
    )
    again = pickle.loads(pickle.dumps(failure)).error()
    assert str(again) == str(refused)
    assert reason_text(again, "zh") == reason_text(refused, "zh") != str(refused)


def _wait_for_flag(flag: StopFlag, ready: Any, seen: Any) -> None:
    ready.put("ready")
    for _ in range(50_000_000):  # bounded: the parent sets the flag right after "ready"
        if flag.is_set():
            seen.put("seen")
            return
    seen.put("never")


def test_the_stop_flag_reaches_a_forked_process(tmp_path: Path) -> None:
    ctx = multiprocessing.get_context("fork")  # how spaces starts its worker
    flag = StopFlag(str(tmp_path / "stop"))
    ready, seen = ctx.SimpleQueue(), ctx.SimpleQueue()
    child = ctx.Process(target=_wait_for_flag, args=(flag, ready, seen))
    child.start()
    assert ready.get() == "ready"
    flag.set()
    assert seen.get() == "seen"
    child.join(120)
    flag.discard()
    assert not flag.is_set()


class _PicklingSpaces:
    """``spaces.GPU`` as it behaves at the boundary: arguments and yields go through pickle,
    the task runs in another thread, and closing the caller's generator does not stop it."""

    def __init__(self) -> None:
        self.durations: list[int] = []

    def GPU(self, duration: Any = None, size: Any = None) -> Any:
        def wrap(task: Any) -> Any:
            def call(*args: Any) -> Iterator[Any]:
                self.durations.append(duration(*args))
                args = pickle.loads(pickle.dumps(args))
                for item in task(*args):
                    yield pickle.loads(pickle.dumps(item))

            return call

        return wrap


def test_stop_ends_generation_behind_a_pickling_boundary(tiny41: Any) -> None:
    spaces = _PicklingSpaces()
    engine = ZeroGpuEngine(LocalEngine(tiny41), spaces)
    session = Session(engine)
    part = MediaPart(kind="image", source="red.png", image=red_image())
    updates = []
    for update in session.submit("Describe.", [part], sampling=Sampling(max_new_tokens=4000)):
        updates.append(update)
        if len(updates) == 2:
            session.stop()
    update = updates[-1]
    assert update.turn.status == "cancelled"
    assert update.stats.finish_reason == "cancelled"
    assert update.stats.visual_tokens > 0
    assert update.stats.generated_tokens < 4000
    assert len(spaces.durations) == 1
    assert 10 + 4000 / 25 <= spaces.durations[0] <= MAX_SECONDS
    assert not list(engine._stops.iterdir())  # each request's flag file is removed


def test_a_failure_in_the_worker_arrives_with_its_message(tiny45: Any) -> None:
    engine = ZeroGpuEngine(LocalEngine(tiny45), _PicklingSpaces())
    video = MediaPart(
        kind="video",
        source="clip.mp4",
        frames=(red_image(), red_image()),
        timestamps=(0.0, 0.5),
        duration=1.0,
        fps=2.0,
    )
    image = MediaPart(kind="image", source="red.png", image=red_image())
    messages = build_messages([Turn(text="Compare.", parts=[image, video])], "glm4v_moe")
    with pytest.raises(MediaBudgetError, match="images and a video"):
        list(engine.stream(GenerationRequest(messages=messages)))
    assert isinstance(WorkerFailure("RuntimeError", "boom").error(), GenerationError)


def test_engines_are_left_alone_off_zerogpu_and_when_they_need_no_gpu(tiny41: Any) -> None:
    local = LocalEngine(tiny41)
    assert zerogpu_engine(local) is local  # spaces is installed, but this is no ZeroGPU Space
    scripted = ScriptedEngine()
    assert zerogpu_engine(scripted) is scripted


def test_duration_grows_with_tokens_within_limits() -> None:
    short = gpu_duration(GenerationRequest(messages=[], sampling=Sampling(max_new_tokens=100)))
    longer = gpu_duration(_image_request(max_new_tokens=2000))
    assert short == 30
    assert short < longer <= MAX_SECONDS


def test_the_zerogpu_size_comes_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    from glmv_ui.config import env_zerogpu_size
    from glmv_ui.errors import ConfigError

    monkeypatch.delenv("GLMV_ZEROGPU_SIZE", raising=False)
    assert env_zerogpu_size() is None
    monkeypatch.setenv("GLMV_ZEROGPU_SIZE", "xlarge")
    assert env_zerogpu_size() == "xlarge"
    assert AppConfig.from_env().zerogpu_size == "xlarge"
    monkeypatch.setenv("GLMV_ZEROGPU_SIZE", "huge")
    with pytest.raises(ConfigError, match="large or xlarge"):
        env_zerogpu_size()


# -- the real spaces package on its ZeroGPU path ----------------------------------------------


def zerogpu_env(standin: SchedulerStandIn, tmp_path: Path) -> dict[str, str]:
    """Environment for an app process on spaces' ZeroGPU path, private to this test."""
    home = tmp_path / "home"  # spaces keeps its worker clean-ups under ~/.zerogpu
    home.mkdir(exist_ok=True)
    # TMPDIR too: a process stopped with SIGTERM leaves its stop-flag folder behind.
    return {
        "SPACES_ZERO_GPU": "true",
        "SPACES_ZERO_DEVICE_API_URL": standin.url,
        "HOME": str(home),
        "TMPDIR": str(home),
        "ZEROGPU_CPU_REPORT": str(tmp_path / "workers.txt"),
        "GLMV_MODEL": "tiny-glm41v",
        "HF_HUB_OFFLINE": "1",
        "GRADIO_ANALYTICS_ENABLED": "False",
        "TOKENIZERS_PARALLELISM": "false",
    }


def drive_zerogpu_app(app_py: Path, python: str, tmp_path: Path, *, pythonpath: str = "") -> None:
    """Start ``app_py`` on spaces' ZeroGPU path, send a reply with an image and stop it, then
    a second one; check that Stop ended the generation in the worker and that the same worker
    served the next request."""
    from gradio_client import handle_file

    standin = SchedulerStandIn()
    port = free_port()
    picture = tmp_path / "red.png"
    red_image().save(picture)
    env = {**zerogpu_env(standin, tmp_path), "PYTHONPATH": pythonpath}
    app = start_group(
        [
            python,
            str(ROOT / "tests" / "zerogpu_cpu.py"),
            str(app_py),
            "--port",
            str(port),
            "--host",
            "127.0.0.1",
        ],
        tmp_path / "app.log",
        env=env,
        cwd=app_py.parent,
        port=port,
    )
    try:
        client = wait_for_model(app)
        reply_then_stop(
            client, {"text": "Describe the picture.", "files": [handle_file(str(picture))]}
        )
        first = standin.of("/release")
        assert len(first) == 1, standin.calls
        assert first[0].params["fail"] == "false", standin.calls
        reply_then_stop(client, {"text": "And now?", "files": []})
        turns = exported_turns(client)
        log = app.output()
    finally:
        app.stop()
        standin.close()
    assert [t["status"] for t in turns] == ["cancelled", "cancelled"], log[-3000:]
    stats = turns[0]["stats"]
    assert stats["visual_tokens"] > 0
    assert stats["finish_reason"] == "cancelled"
    # Thousands of tokens were asked for; Stop ended the worker's generate after a few.
    assert stats["generated_tokens"] < Sampling().max_new_tokens // 10
    schedules, allows = standin.of("/schedule"), standin.of("/allow")
    assert [s.idle for s in schedules] == [False, True]
    assert len(allows) == 1  # one worker process, forked once, served both requests
    assert all(r.params["fail"] == "false" for r in standin.of("/release"))
    workers = (tmp_path / "workers.txt").read_text().split()
    assert len(workers) == 2
    assert int(workers[1]) > 0
    assert "Traceback" not in log, log[-3000:]


@pytest.mark.slow
def test_the_app_on_the_zerogpu_path_streams_an_image_reply_and_stops(tmp_path: Path) -> None:
    import sys

    drive_zerogpu_app(ROOT / "app.py", sys.executable, tmp_path, pythonpath=str(ROOT))


@pytest.mark.slow  # imports in a fresh interpreter
def test_the_module_imports_nothing_heavy() -> None:
    import subprocess
    import sys

    code = (
        "import sys, glmv_ui.engines.zerogpu\n"
        "print(','.join(m for m in ('spaces', 'torch', 'gradio', 'PIL') if m in sys.modules))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT
    )
    assert out.stdout.strip() == ""
