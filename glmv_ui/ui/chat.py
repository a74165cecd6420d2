"""The conversation's handlers: send, stream, stop, regenerate, edit, undo, clear, attach preview.

Each handler reads its browser session's :class:`~glmv_ui.ui.state.ChatState`, turns
:class:`~glmv_ui.errors.GlmvError` into ``gr.Error`` with the core's message, and returns
``{component: value}`` for the components it changes. Replies stream at a bounded rate: the
session's iterator runs in a worker thread, and the page is redrawn from a
:class:`~glmv_ui.reply.Reply` snapshot when the :class:`~glmv_ui.throttle.Throttle` says a frame
is due (or the stream goes quiet with something not yet shown), never per token. Boxes, drawing
and the HTML preview come from the finished Reply, once.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable, Iterator
from typing import Any

import gradio as gr

from ..config import AppConfig
from ..errors import ConversationError, GlmvError
from ..media.parts import MediaPart
from ..session import ReplyUpdate, Session
from ..throttle import Throttle
from .i18n import t
from .layout import Ui
from .model import ModelManager
from .settings import Settings
from .state import ChatState, SessionRegistry
from .strips import join_strips
from .views import turn_messages

__all__ = ["FRAME_SECONDS", "ChatHandlers", "message_files"]

FRAME_SECONDS = 0.06  # at most ~16 screen updates a second, whatever the token rate
Outputs = dict[Any, Any]


def message_files(message: Any) -> list[str]:
    """The file paths of a MultimodalTextbox value (``{"text", "files"}``)."""
    if not isinstance(message, dict):
        return []
    out = []
    for f in message.get("files") or []:
        path = f.get("path") if isinstance(f, dict) else getattr(f, "path", f)
        if path:
            out.append(str(path))
    return out


def message_text(message: Any) -> str:
    if isinstance(message, dict):
        return str(message.get("text") or "")
    return str(message or "")


class ChatHandlers:
    """The conversation's event handlers; one instance per app, state per browser session."""

    def __init__(self, config: AppConfig, manager: ModelManager, registry: SessionRegistry,
                 ui: Ui) -> None:
        self.config = config
        self.manager = manager
        self.registry = registry
        self.ui = ui

    # -- helpers -----------------------------------------------------------------------------

    def _ready(self, cs: ChatState, settings: Settings) -> Session:
        engine = self.manager.require(cs.lang)
        session = cs.ensure_session(engine, self.config)
        session.system_prompt = settings.system_prompt
        return session

    def ingest(self, cs: ChatState, paths: list[str], settings: Settings) -> list[MediaPart]:
        """Uploads -> parts, one file at a time so a refusal names its file. Cached per key."""
        from ..media import ingest

        if not paths:
            return []
        choice = settings.media(self.config.media)
        existing = cs.session.parts if cs.session is not None else []
        key = (tuple(paths), choice, len(existing))
        if key in cs.pending:
            return cs.pending[key]
        parts: list[MediaPart] = []
        for path in paths:
            parts += ingest([path], choice.limits, existing=[*existing, *parts],
                            **choice.options())
        cs.pending = {key: parts}
        return parts

    def html_outputs(self, cs: ChatState) -> Outputs:
        """The HTML panel for the last reply: shown with its preview when it holds a page."""
        from ..preview import download_filename, preview_iframe

        ui = self.ui
        reply = cs.reply(len(cs.turns) - 1) if cs.turns else None
        html = reply.html if reply is not None else None
        if not html:
            return {ui.html_group: gr.Group(visible=False), ui.html_preview: "",
                    ui.html_source: gr.Code(value="", visible=False),
                    ui.download_html: gr.DownloadButton(value=None)}
        cs.dir.mkdir(parents=True, exist_ok=True)
        path = cs.dir / download_filename(html)
        path.write_text(html, encoding="utf-8")
        return {ui.html_group: gr.Group(visible=True),
                ui.html_preview: gr.HTML(value=preview_iframe(html, height=520), visible=True),
                ui.html_source: gr.Code(value=html, visible=False),
                ui.download_html: gr.DownloadButton(value=str(path))}

    # -- generation --------------------------------------------------------------------------

    def stream(self, cs: ChatState, make: Callable[[], Iterator[ReplyUpdate]],
               index: int) -> Iterator[Outputs]:
        """Drive one reply: throttled frames while it streams, the finished view at the end."""
        ui = self.ui
        try:
            updates = make()
        except GlmvError as exc:
            raise gr.Error(str(exc)) from None
        turn = cs.turns[index]
        prefix = cs.messages(upto=index)
        strips = cs.strips(turn.parts)
        inbox: queue.SimpleQueue[tuple[str, Any]] = queue.SimpleQueue()
        latest: list[ReplyUpdate] = []

        def pump() -> None:
            try:
                for item in updates:
                    latest[:] = [item]
                    inbox.put(("update", None))
                inbox.put(("end", None))
            except BaseException as exc:  # noqa: BLE001 - handed to the page below
                inbox.put(("error", exc))

        threading.Thread(target=pump, name="glmv-reply", daemon=True).start()
        throttle = Throttle(FRAME_SECONDS)
        dirty, kind = False, ""
        failure: BaseException | None = None
        try:
            while True:
                try:
                    kind, item = inbox.get(timeout=throttle.remaining() if dirty else None)
                except queue.Empty:
                    kind = "quiet"
                if kind == "update":
                    dirty = True
                    if not throttle.due():
                        continue
                elif kind != "quiet":
                    failure = item if kind == "error" else None
                    break
                if not latest:
                    continue
                frame: Outputs = {ui.chatbot: prefix + turn_messages(
                    turn.text, strips, latest[0].reply(), lang=cs.lang)}
                if throttle.frames == 0:
                    frame[ui.chat_input] = gr.MultimodalTextbox(value=None, interactive=False)
                    frame[ui.attach_group] = gr.Group(visible=False)
                yield frame
                dirty = False
                throttle.mark()
        finally:
            if kind not in ("end", "error") and cs.session is not None:
                cs.session.stop()  # the page went away mid-reply: end generation too
        yield {ui.chatbot: cs.messages(), ui.chat_input: gr.MultimodalTextbox(interactive=True),
               ui.attach_group: gr.Group(visible=False), **self.html_outputs(cs)}
        if failure is not None:
            message = str(failure) if isinstance(failure, GlmvError) else \
                f"generation failed: {failure}"
            raise gr.Error(message)

    def chat(self, request: Any, message: Any, settings: Settings) -> Iterator[Outputs]:
        """Send a message (text and files) and stream the reply."""
        cs = self.registry.get(request)
        text = message_text(message)
        try:
            session = self._ready(cs, settings)
            parts = self.ingest(cs, message_files(message), settings)
            sampling = settings.sampling(session.engine.family)
            if session.busy:
                raise ConversationError(t(cs.lang, "busy"))
            if not text.strip() and not parts:
                raise ConversationError("type a message or attach a file first")
        except GlmvError as exc:
            raise gr.Error(str(exc)) from None
        index = len(session.turns)
        yield from self.stream(cs, lambda: session.submit(text, parts, sampling=sampling),
                               index)

    def regenerate(self, request: Any, settings: Settings) -> Iterator[Outputs]:
        """Answer the last message again."""
        cs = self.registry.get(request)
        try:
            session = self._ready(cs, settings)
            if not session.turns:
                raise ConversationError("nothing to regenerate yet")
            sampling = settings.sampling(session.engine.family)
        except GlmvError as exc:
            raise gr.Error(str(exc)) from None
        yield from self.stream(cs, lambda: session.regenerate(sampling=sampling),
                               len(session.turns) - 1)

    def edit(self, request: Any, index: int, text: str,
             settings: Settings) -> Iterator[Outputs]:
        """Replace the text of turn ``index`` (0-based), drop later turns, answer again."""
        cs = self.registry.get(request)
        try:
            session = self._ready(cs, settings)
            if not 0 <= index < len(session.turns):
                raise ConversationError(f"there is no message {index + 1} to edit")
            sampling = settings.sampling(session.engine.family)
        except GlmvError as exc:
            raise gr.Error(str(exc)) from None
        yield from self.stream(cs, lambda: session.edit(index, text or "", sampling=sampling),
                               index)

    def edit_event(self, request: Any, data: Any, settings: Settings) -> Iterator[Outputs]:
        """The Chatbot's own edit event: map the message index to its turn."""
        cs = self.registry.get(request)
        position = data.index[0] if isinstance(data.index, tuple | list) else data.index
        turn = cs.edit_map.get(int(position))
        value = data.value
        if isinstance(value, list):
            value = " ".join(v.get("text", "") if isinstance(v, dict) else str(v) for v in value)
        elif isinstance(value, dict):
            value = value.get("text", "")
        if turn is None:
            gr.Warning(t(cs.lang, "edit_media"))
            yield {self.ui.chatbot: cs.messages()}
            return
        yield from self.edit(request, turn, str(value), settings)

    def stop(self, request: Any) -> None:
        """End the reply being generated in this browser session only."""
        cs = self.registry.get(request)
        if cs.session is not None:
            cs.session.stop()

    def undo(self, request: Any) -> Outputs:
        """Remove the last turn; its text goes back into the input box."""
        cs = self.registry.get(request)
        turn = cs.session.undo() if cs.session is not None else None
        out: Outputs = {self.ui.chatbot: cs.messages(), **self.html_outputs(cs)}
        if turn is not None:
            out[self.ui.chat_input] = {"text": turn.text, "files": []}
        return out

    def clear(self, request: Any) -> Outputs:
        cs = self.registry.get(request)
        if cs.session is not None:
            cs.session.clear()
        cs.pending.clear()
        return {self.ui.chatbot: [], self.ui.chat_input: {"text": "", "files": []},
                self.ui.attach_group: gr.Group(visible=False), **self.html_outputs(cs)}

    def preview(self, request: Any, message: Any, settings: Settings) -> Outputs:
        """Thumbnails and the visual-token estimate of the files attached, before sending."""
        from ..media import check_budget

        ui = self.ui
        cs = self.registry.get(request)
        paths = message_files(message)
        if not paths:
            return {ui.attach_group: gr.Group(visible=False)}
        existing = cs.session.parts if cs.session is not None else []
        try:
            parts = self.ingest(cs, paths, settings)
        except GlmvError as exc:
            gr.Warning(str(exc))
            return {ui.attach_group: gr.Group(visible=True), ui.attach_gallery: None,
                    ui.attach_info: f"**{t(cs.lang, 'refused', error=exc)}**"}
        strips = cs.strips(parts)
        composite = cs.save_image(join_strips([s for s, _ in strips]), "attached")
        report = check_budget(parts, settings.media(self.config.media).limits, existing)
        info = t(cs.lang, "estimate", count=len(paths), tokens=report.visual_tokens,
                 budget=report.budget)
        info += "".join(f"\n- {caption.splitlines()[0]}" for _, caption in strips)
        return {ui.attach_group: gr.Group(visible=True), ui.attach_gallery: composite,
                ui.attach_info: info}
