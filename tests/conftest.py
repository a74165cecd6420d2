"""Shared fixtures: tiny checkpoints (built once per run), loaded models, the corpus folder."""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
CORPUS = ROOT.parent / "shared" / "corpus"

# Tiny checkpoints are cached inside the checkout (ignored by git) unless the caller chose a place.
os.environ.setdefault("GLMV_CACHE", str(ROOT / ".cache" / "glmv"))
os.environ.setdefault("HF_HUB_OFFLINE", "1")
# Hypothesis keeps what it learns about the code under test beside the checkpoints, not in the
# working tree.
os.environ.setdefault("HYPOTHESIS_STORAGE_DIRECTORY", str(ROOT / ".cache" / "hypothesis"))
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
# The tiny models gain nothing from intra-op threads, and a spinning OpenMP team fights the
# browser, LibreOffice and server processes the tests start on a small machine.
os.environ.setdefault("OMP_NUM_THREADS", "1")

# jsonschema (under nbformat and Gradio) registers an IRI format checker when rfc3987_syntax is
# importable, and that package compiles its grammar at import: 1.5 s of every run, for a format
# no schema used here has. Marking it absent makes jsonschema skip that one checker.
sys.modules.setdefault("rfc3987_syntax", None)  # type: ignore[arg-type]


# Tiers: `pytest -m "not slow"` is the quick loop, kept under 20 s on a 2-core machine. A test is
# slow when it is marked so (it loads a checkpoint or otherwise needs torch or transformers,
# starts a subprocess, imports Gradio, waits out a real timeout or takes more than a few tenths of
# a second), or when it uses a loaded model, starts an app server or a browser, or needs
# LibreOffice. Test modules import torch, transformers, nbformat and Gradio inside the tests that
# use them, so collecting stays cheap.
_SLOW_FIXTURES = frozenset(
    {
        "launch_app",
        "scripted_app",
        "chromium",
        # loaded checkpoints, here and in the test modules that load their own
        "tiny41",
        "tiny45",
        "tiny_any",
        "tiny_new",
        "quant45",
        "pair45",
        "unseen",
    }
)
# What the quick tier never imports: a quick test that does fails, naming itself.
_MODEL_STACK = ("torch", "transformers")
_QUICK_RUN = pytest.StashKey[bool]()


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        uses = set(getattr(item, "fixturenames", ()))
        if (
            uses & _SLOW_FIXTURES
            or item.get_closest_marker("browser")
            or item.get_closest_marker("office")
        ):
            item.add_marker(pytest.mark.slow)


def pytest_collection_finish(session: pytest.Session) -> None:
    quick = not any(item.get_closest_marker("slow") for item in session.items)
    session.config.stash[_QUICK_RUN] = quick
    loaded = [name for name in _MODEL_STACK if name in sys.modules]
    if quick and loaded:
        raise pytest.UsageError(
            f"collecting the quick tier imported {', '.join(loaded)}: "
            "import it inside the tests that need it"
        )


@pytest.fixture(autouse=True)
def _quick_tests_need_no_model_stack(request: pytest.FixtureRequest) -> Iterator[None]:
    before = {name for name in _MODEL_STACK if name in sys.modules}
    yield
    if not request.config.stash.get(_QUICK_RUN, False):
        return
    loaded = [name for name in _MODEL_STACK if name in sys.modules and name not in before]
    if loaded:
        pytest.fail(f"this quick test imported {', '.join(loaded)}: mark it slow", pytrace=False)


@pytest.fixture(scope="session")
def corpus() -> Path:
    from tests.helpers import require_corpus

    return require_corpus()


@pytest.fixture(scope="session")
def tiny41():
    from glmv_ui.models import load_model

    return load_model("tiny-glm41v")


@pytest.fixture(scope="session")
def tiny45():
    from glmv_ui.models import load_model

    return load_model("tiny-glm45v")


@pytest.fixture(params=["tiny-glm41v", "tiny-glm45v"], scope="session")
def tiny_any(request):
    from glmv_ui.models import load_model

    return load_model(request.param)


# -- launched apps and a browser, shared by the app, preview and hosting tests -----------------

CHROMIUM = "/usr/bin/chromium"
# Chromium's own background connections are refused on a closed network, many at a time.
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


@pytest.fixture
def launch_app():
    """Start the app in-process on a free loopback port: ``launch_app(config, engine=None,
    **create_app_kwargs)``; every app started is closed after the test."""
    from glmv_ui.ui import create_app, launch_options
    from tests.serve_helpers import free_port

    started = []

    def start(config, engine=None, **kwargs):
        demo = create_app(config, engine=engine, **kwargs)
        options = launch_options(config)
        options.update(server_port=free_port(), prevent_thread_lock=True, quiet=True)
        demo.launch(**options)
        started.append(demo)
        return demo

    yield start
    for demo in started:
        demo.close()


@pytest.fixture
def scripted_app(launch_app):
    """The app on a scripted GLM-4.1V engine (concurrency 2): ``(demo, engine)``."""
    from glmv_ui.config import AppConfig
    from glmv_ui.engines.scripted import ScriptedEngine

    engine = ScriptedEngine("glm4v", chunk_size=4)
    demo = launch_app(AppConfig(model="glm4v", engine="scripted", concurrency=2), engine)
    return demo, engine


@pytest.fixture(scope="session")
def playwright():
    """One Playwright driver for the whole run: its sync API keeps an event loop running in this
    thread, so a second one (or asyncio.run) cannot start beside it."""
    from playwright.sync_api import expect, sync_playwright

    # A 2-core CI machine loading a model while Chromium renders can take far longer than
    # Playwright's 5 s default for assertions: each waits for its condition, with a ceiling that
    # only catches hangs; a condition that never holds still fails.
    expect.set_options(timeout=120_000)
    with sync_playwright() as p:
        yield p


@pytest.fixture(scope="session")
def chromium(playwright):
    """One headless Chromium for the session (Debian's, driven by Playwright)."""
    browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
    yield browser
    browser.close()


def run_async(coroutine):
    """Run ``coroutine`` to the end in a thread of its own, away from Playwright's loop."""
    import asyncio
    import threading

    outcome = {}

    def target():
        try:
            outcome["value"] = asyncio.run(coroutine)
        except BaseException as exc:  # noqa: BLE001 - re-raised in the test's thread
            outcome["error"] = exc

    thread = threading.Thread(target=target, name="test-asyncio")
    thread.start()
    thread.join()
    if "error" in outcome:
        raise outcome["error"]
    return outcome.get("value")
