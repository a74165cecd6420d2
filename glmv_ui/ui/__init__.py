"""The Gradio app: :func:`create_app` builds it, :func:`launch_options` says how to serve it.

Importing this package imports nothing heavy; gradio is imported when the app is built. The model
loads in a background thread, so the page is served at once and shows the load's progress.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ..config import AppConfig
from ..engines.base import Engine

__all__ = ["body_limit", "create_app", "launch_options", "page_queue_size"]

CSS_PATH = Path(__file__).with_name("assets.css")


def create_app(
    config: AppConfig | None = None, engine: Engine | None = None, *, preload: bool = True
) -> Any:
    """Build the ``gr.Blocks`` app for ``config``.

    ``engine`` (e.g. a ScriptedEngine) replaces the one the config would build. With ``preload``
    the model starts loading in the background now; otherwise on the first page view.
    The returned Blocks carries ``glmv_model`` (the :class:`~glmv_ui.ui.model.ModelManager`) and
    ``glmv_sessions`` (the per-session registry) and ``glmv_api`` (the API handlers and their
    fair gate) for tests and embedding.
    """
    try:  # on ZeroGPU, spaces must be imported before torch touches CUDA
        import spaces  # noqa: F401
    except ImportError:
        pass
    import gradio as gr

    from ..config import default_sampling
    from ..examples import gallery
    from .api import ApiHandlers
    from .chat import ChatHandlers
    from .fair import LoginReplies
    from .layout import render
    from .model import ModelManager
    from .panel import PanelHandlers
    from .state import SessionRegistry
    from .wiring import wire

    config = config or AppConfig()
    manager = ModelManager(config, engine)
    registry = SessionRegistry(lang=config.language)
    manager.on_release(registry.release_all)
    lang = config.language
    # Uploads in Gradio's cache older than an hour are deleted every ten minutes.
    with gr.Blocks(
        title="GLM-V Workbench", fill_width=True, analytics_enabled=False, delete_cache=(600, 3600)
    ) as demo:
        ui = render(
            config,
            manager.caps,
            default_sampling(manager.caps, manager.name),
            gallery(lang),
            lang,
        )
        replies = LoginReplies()  # one reply per login, page and API together
        chat = ChatHandlers(config, manager, registry, ui, replies)
        api = ApiHandlers(config, manager, replies=replies)
        manager.on_release(api.store.release_all)
        wire(demo, ui, chat, PanelHandlers(config, manager, registry, ui, chat), registry, api)
    # Bounded, so that a flood of sessions is refused at once rather than kept waiting.
    demo.queue(
        default_concurrency_limit=max(1, config.concurrency), max_size=page_queue_size(config)
    )
    demo.glmv_model = manager
    demo.glmv_sessions = registry
    demo.glmv_api = api
    demo.glmv_chat = chat
    registry.start_reaper()
    if preload:
        manager.start()
    return demo


def launch_options(config: AppConfig) -> dict[str, Any]:
    """Keyword arguments for ``Blocks.launch`` from the config (theme and CSS included).

    Host and port are passed only when the config sets them: otherwise Gradio reads its own
    ``GRADIO_SERVER_NAME`` / ``GRADIO_SERVER_PORT``, which Docker images and other hosts set.
    """
    import gradio as gr

    from .access import access_middleware
    from .state import media_root
    from .web import middleware

    config.check_access()

    where: dict[str, Any] = {}
    if config.host is not None:
        where["server_name"] = config.host
    if config.port is not None:
        where["server_port"] = config.port
    logins = config.auth_pairs()
    if logins:
        where["auth"] = logins
    return {
        **where,
        "share": config.share,
        "mcp_server": config.mcp_server,
        "max_file_size": f"{config.max_file_size_mb}mb",
        "theme": gr.themes.Soft(primary_hue="indigo", secondary_hue="slate"),
        "css": CSS_PATH.read_text(encoding="utf-8"),
        # Served only to the browser each file was shown to (glmv_ui/ui/web.py), under the CSP.
        "allowed_paths": [str(media_root())],
        # Callers get the text of our own refusals (gr.Error); any other failure is logged,
        # and callers see only that it failed (library text may name server paths).
        "show_error": False,
        # One list, built here: every middleware of the app is added to it. The login comes
        # first (outermost), then the security headers and the per-browser file guard.
        "app_kwargs": {
            "middleware": [
                access_middleware(logins, body_limit(config)),
                *middleware(),
            ]
        },
    }


def page_queue_size(config: AppConfig) -> int:
    """How many of the page's events may wait in Gradio's queue for a worker at once: a few
    per slot and waiting request (a page load sends several events together)."""
    return 16 + 4 * (max(1, config.concurrency) + config.queue_size)


def body_limit(config: AppConfig) -> int:
    """The largest request body: the largest upload, or a ``data:`` URL of that size (base64
    is 4/3 of it), and 1 MB for the rest of the request."""
    return config.max_file_size_mb * 2**20 * 4 // 3 + 2**20
