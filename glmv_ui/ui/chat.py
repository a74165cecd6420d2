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

import contextlib
import hashlib
import logging
import queue
import threading
from collections.abc import Callable, Iterator
from typing import Any

import gradio as gr

from ..config import AppConfig
from ..errors import ConversationError, GlmvError
from ..media.inflight import waiting_for_decoding
from ..reasons import reason
from ..sanitize import chat_markdown
from ..session import ReplyUpdate, Session
from ..throttle import Throttle
from .attach import Attachments, attachment_report, read_attachments, refusal_text
from .fair import BusyError, LoginReplies
from .i18n import t
from .layout import Ui
from .model import ModelManager
from .reasons_zh import reason_line, reason_text
from .settings import Settings
from .state import ChatState, SessionRegistry
from .updates import Updates
from .views import text_part, turn_messages

__all__ = ["FRAME_SECONDS", "ChatHandlers", "frame_interval", "message_files"]

log = logging.getLogger("glmv_ui")

FRAME_SECONDS = 0.06  # at most ~16 screen updates a second, whatever the token rate
# The page redraws the whole streaming message at each frame (Markdown, maths, code), so a
# longer reply is redrawn less often: the browser's work per second stays about the same
# however long the answer grows, instead of growing with it (see tests/test_page_long.py).
FRAME_CHARS_PER_SECOND = 100_000


def frame_interval(chars: int) -> float:
    """Seconds between redraws of a streaming reply of ``chars`` characters."""
    return max(FRAME_SECONDS, chars / FRAME_CHARS_PER_SECOND)


def message_files(message: Any) -> list[str]:
    """The file paths of a MultimodalTextbox value (``{"text", "files"}``)."""
    if not isinstance(message, dict):
        return []
    return [path for path in map(_path, message.get("files") or []) if path]


def waiting_message(lang: str) -> dict[str, Any]:
    """The answer's place while the model reads the question: a pending block that says so."""
    return {
        "role": "assistant",
        "content": text_part(""),
        "metadata": {"title": t(lang, "waiting_first_token"), "status": "pending"},
    }


def message_text(message: Any) -> str:
    if isinstance(message, dict):
        return str(message.get("text") or "")
    return str(message or "")


class ChatHandlers:
    """The conversation's event handlers; one instance per app, state per browser session."""

    def __init__(
        self,
        config: AppConfig,
        manager: ModelManager,
        registry: SessionRegistry,
        ui: Ui,
        replies: LoginReplies | None = None,
    ) -> None:
        self.config = config
        self.manager = manager
        self.registry = registry
        self.ui = ui
        # With logins, one reply per login: its tabs and its ``ask`` calls together.
        self.replies = replies or LoginReplies()

    # -- helpers -----------------------------------------------------------------------------

    def _ready(self, cs: ChatState, settings: Settings) -> Session:
        engine = self.manager.require(cs.lang)
        session = cs.ensure_session(engine, self.config)
        session.conversation.system_prompt = settings.system_prompt
        return session

    def attachments(
        self, cs: ChatState, paths: list[str], settings: Settings, password: str = ""
    ) -> Attachments:
        """The attached files read against this conversation; cached until anything that
        changes the result changes (the files, the media settings, the conversation's media,
        the password)."""
        choice = settings.media(self.config.media)
        existing = cs.session.parts if cs.session is not None else []
        key = (
            tuple(paths),
            choice,
            tuple(id(p) for p in existing),
            hashlib.sha256(password.encode()).hexdigest(),
        )
        if cs.attached is None or cs.attached[0] != key:
            cs.attached = (
                key,
                read_attachments(paths, existing, choice, password, check=caller_check(cs)),
            )
        return cs.attached[1]

    def notice(self, text: str) -> Updates:
        """A message beside the input (a refusal, a reason nothing was sent); '' hides it."""
        # Reasons may quote file names or error text: nothing in them may render live.
        return Updates({self.ui.notice: gr.Markdown(value=chat_markdown(text), visible=bool(text))})

    def attach_outputs(
        self, cs: ChatState, message: Any, att: Attachments, settings: Settings
    ) -> Updates:
        """The attachment panel, the notice for refused files, and the input without them."""
        ui = self.ui
        existing = cs.session.parts if cs.session is not None else []
        composite = cs.attached_picture(att.parts)
        shown = bool(composite or att.waiting)
        out = Updates(
            {
                ui.attach_group: gr.Group(visible=shown),
                ui.attach_gallery: gr.Image(value=composite, visible=composite is not None),
                ui.attach_info: chat_markdown(
                    attachment_report(att, existing, settings.media(self.config.media), cs.lang)
                ),
                ui.pdf_password: gr.Textbox(visible=bool(att.waiting)),
            }
        )
        refused = att.refused
        text = ""
        if refused:
            text = "\n\n".join(f"⚠ {refusal_text(f, cs.lang)}" for f in refused)
            text += "\n\n" + t(
                cs.lang, "refused_detached" if len(refused) == 1 else "refused_detached_many"
            )
            gone = {f.path for f in refused}
            kept = [f for f in (message.get("files") or []) if _path(f) not in gone]
            out.set(ui.chat_input, {"text": message_text(message), "files": kept})
        return out.update(self.notice(text))

    def controls(self, cs: ChatState, busy: bool) -> Updates:
        """The page's controls for a reply streaming (``busy``) or not: while it streams, Stop
        is the one active control that ends it, the input says a reply is being written, and
        everything that would change the conversation waits."""
        ui = self.ui
        key = "placeholder_busy" if busy else "placeholder"
        out = Updates(
            {
                ui.stop: gr.Button(
                    interactive=busy,
                    variant="stop" if busy else "secondary",
                    elem_classes=["glmv-busy" if busy else "glmv-idle"],
                ),
                # The input stays open while a reply streams: the next message can be written and
                # its files attached (and previewed) meanwhile; sending it waits for this reply.
                ui.chat_input: gr.MultimodalTextbox(interactive=True, placeholder=t(cs.lang, key)),
                ui.status: gr.Markdown(
                    value=t(cs.lang, "generating") if busy else "", visible=busy
                ),
            }
        )
        for button in (ui.regenerate, ui.undo, ui.clear):
            out.set(button, gr.Button(interactive=not busy))
        return out

    def html_outputs(self, cs: ChatState) -> Updates:
        """The HTML panel for the last reply: shown with its preview when it holds a page."""
        from ..preview import download_filename, preview_iframe

        ui = self.ui
        reply = cs.reply(len(cs.turns) - 1) if cs.turns else None
        html = reply.html if reply is not None else None
        if not html:
            return Updates(
                {
                    ui.html_group: gr.Group(visible=False),
                    ui.html_preview: "",
                    ui.html_source: gr.Code(value="", visible=False),
                    ui.download_html: gr.DownloadButton(value=None),
                }
            )
        cs.dir.mkdir(parents=True, exist_ok=True)
        path = cs.dir / download_filename(html)
        path.write_text(html, encoding="utf-8")
        return Updates(
            {
                ui.html_group: gr.Group(visible=True),
                ui.html_preview: gr.HTML(value=preview_iframe(html, height=520), visible=True),
                ui.html_source: gr.Code(value=html, visible=False),
                ui.download_html: gr.DownloadButton(value=str(path)),
            }
        )

    # -- generation --------------------------------------------------------------------------

    def stream(
        self,
        cs: ChatState,
        make: Callable[[], Iterator[ReplyUpdate]],
        index: int,
        request: gr.Request | None = None,
    ) -> Iterator[Updates]:
        """Drive the reply (:meth:`_stream`) in one of the page's queue slots; with logins, a
        login with a reply running elsewhere (another tab, session or ``ask``) is refused at
        once."""
        user = str(getattr(request, "username", None) or "")
        with contextlib.ExitStack() as held:
            try:
                held.enter_context(self.replies.hold(user))
            except BusyError as exc:
                log.info("not sent: %s", exc)
                yield self.notice(f"⚠ {t(cs.lang, 'not_sent', reason=t(cs.lang, 'busy_login'))}")
                return
            yield from self._stream(cs, make, index)

    def _stream(
        self, cs: ChatState, make: Callable[[], Iterator[ReplyUpdate]], index: int
    ) -> Iterator[Updates]:
        """Drive one reply: throttled frames while it streams, the finished view at the end."""
        ui = self.ui
        try:
            updates = make()
        except GlmvError as exc:
            log.info("not sent: %s", exc)
            yield self.notice(f"⚠ {t(cs.lang, 'not_sent', reason=reason_text(exc, cs.lang))}")
            return
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

        cs.draft = None
        threading.Thread(target=pump, name="glmv-reply", daemon=True).start()
        # At once, before the first token: the page shows that a reply is being written (the
        # question, a waiting answer, Stop lit), whatever the model's time to first token.
        first = [
            *prefix,
            *turn_messages(turn.text, strips, None, lang=cs.lang),
            waiting_message(cs.lang),
        ]
        # (The Chatbot disables its own edit buttons while it is an event's streaming output.)
        yield Updates({ui.chatbot: first, ui.attach_group: gr.Group(visible=False)}).update(
            self.notice(""),
            self.controls(cs, busy=True),
            Updates().set(
                ui.chat_input,
                gr.MultimodalTextbox(
                    value=None, interactive=True, placeholder=t(cs.lang, "placeholder_busy")
                ),
            ),
        )
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
                reply = latest[0].reply()
                yield Updates().set(
                    ui.chatbot, prefix + turn_messages(turn.text, strips, reply, lang=cs.lang)
                )
                dirty = False
                throttle.mark()
                throttle.interval_s = frame_interval(len(reply.text) + len(reply.thinking))
        finally:
            if kind not in ("end", "error") and cs.session is not None:
                cs.session.stop()  # the page went away mid-reply: end generation too
        if failure is not None and not isinstance(failure, GlmvError):
            log.error("generation failed", exc_info=failure)  # a real fault: its traceback
        elif failure is not None:
            log.info("generation failed: %s", failure)
        # The failure, if any, is the turn's own notice in the conversation.
        # The input is cleared again with the last frame: with a fast reply the first frame's
        # clearing was sometimes lost in the page (seen in Chromium, about 1 send in 7), and the
        # sent text and files came back into the input.
        last = Updates().set(ui.chatbot, cs.messages())
        last.update(self.html_outputs(cs), self.controls(cs, busy=False))
        if cs.draft is None:
            last.set(ui.attach_group, gr.Group(visible=False)).update(self.notice(""))
            last.set(
                ui.chat_input,
                gr.MultimodalTextbox(
                    value=None, interactive=True, placeholder=t(cs.lang, "placeholder")
                ),
            )
        # else: a message written while this reply streamed stays, with its preview.
        cs.draft = None
        yield last

    def chat(
        self, request: Any, message: Any, settings: Settings, password: str = ""
    ) -> Iterator[Updates]:
        """Send a message (text and files) and stream the reply; anything that keeps it from
        being sent is said beside the input, and the conversation stays as it was."""
        cs = self.registry.get(request)
        text = message_text(message)
        paths = message_files(message)
        try:
            session = self._ready(cs, settings)
            if session.busy:
                raise ConversationError(t(cs.lang, "busy"))
        except GlmvError as exc:
            yield self.notice(f"⚠ {t(cs.lang, 'not_sent', reason=reason_text(exc, cs.lang))}")
            return
        att = self.attachments(cs, paths, settings, password)
        if not att.ready:
            yield self.attach_outputs(cs, message, att, settings)
            return
        if not text.strip() and not att.parts:
            yield self.notice(f"⚠ {t(cs.lang, 'not_sent', reason=t(cs.lang, 'empty'))}")
            return
        sampling = settings.sampling(session.engine.family, session.engine.name)
        parts = att.parts
        cs.sent = tuple(paths)
        yield from self.stream(
            cs, lambda: session.submit(text, parts, sampling=sampling), len(session.turns), request
        )

    def regenerate(self, request: Any, settings: Settings) -> Iterator[Updates]:
        """Answer the last message again."""
        cs = self.registry.get(request)
        try:
            session = self._ready(cs, settings)
            if not session.turns:
                raise ConversationError(t(cs.lang, "nothing_to_regenerate"))
            sampling = settings.sampling(session.engine.family, session.engine.name)
        except GlmvError as exc:
            yield self.notice(f"⚠ {reason_text(exc, cs.lang)}")
            return
        yield from self.stream(
            cs, lambda: session.regenerate(sampling=sampling), len(session.turns) - 1, request
        )

    def edit(self, request: Any, index: int, text: str, settings: Settings) -> Iterator[Updates]:
        """Replace the text of turn ``index`` (0-based), drop later turns, answer again."""
        cs = self.registry.get(request)
        try:
            session = self._ready(cs, settings)
            if not 0 <= index < len(session.turns):
                raise ConversationError(t(cs.lang, "no_such_message", n=index + 1))
            sampling = settings.sampling(session.engine.family, session.engine.name)
        except GlmvError as exc:
            yield self.notice(f"⚠ {reason_text(exc, cs.lang)}")
            return
        yield from self.stream(
            cs, lambda: session.edit(index, text or "", sampling=sampling), index, request
        )

    def edit_event(self, request: Any, data: Any, settings: Settings) -> Iterator[Updates]:
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
            yield Updates().set(self.ui.chatbot, cs.messages()) | self.notice(
                f"⚠ {t(cs.lang, 'edit_media')}"
            )
            return
        value = str(value)
        if value == chat_markdown(cs.turns[turn].text):  # the shown text, unedited
            value = cs.turns[turn].text
        yield from self.edit(request, turn, value, settings)

    def stop(self, request: Any) -> None:
        """End the reply being generated in this browser session only."""
        cs = self.registry.get(request)
        if cs.session is not None:
            cs.session.stop()

    def undo(self, request: Any) -> Updates:
        """Remove the last turn; its text goes back into the input box."""
        cs = self.registry.get(request)
        try:  # the session refuses while a reply runs, in the same step as the change
            turn = cs.session.undo() if cs.session is not None else None
        except ConversationError:
            return self.notice(f"⚠ {t(cs.lang, 'undo_busy')}")
        out = Updates().set(self.ui.chatbot, cs.messages())
        out.update(self.html_outputs(cs), self.notice(""))
        if turn is not None:
            out.set(self.ui.chat_input, {"text": turn.text, "files": []})
        return out

    def clear(self, request: Any) -> Updates:
        cs = self.registry.get(request)
        try:
            if cs.session is not None:
                cs.session.clear()
        except ConversationError:
            return self.notice(f"⚠ {t(cs.lang, 'clear_busy')}")
        cs.attached = None
        cs.sent = ()
        out = Updates(
            {
                self.ui.chatbot: [],
                self.ui.chat_input: {"text": "", "files": []},
                self.ui.attach_group: gr.Group(visible=False),
            }
        )
        return out.update(self.notice(""), self.html_outputs(cs))

    def preview(
        self, request: Any, message: Any, settings: Settings, password: str = ""
    ) -> Iterator[Updates]:
        """Before sending: thumbnails, what each file gives and costs, refusals (the refused
        file is taken off the message), also while a reply streams: files attached meanwhile are
        read and shown at once. Quiet for the files of the message just sent, so a preview that
        arrives late never judges a sent file again."""
        ui = self.ui
        cs = self.registry.get(request)
        paths = message_files(message)
        busy = cs.session is not None and cs.session.busy
        if busy:
            # Written while a reply streams: kept when the reply ends (see stream()).
            cs.draft = message if (message_text(message).strip() or paths) else None
        if not paths:
            yield Updates().set(ui.attach_group, gr.Group(visible=False)) | self.notice("")
            return
        if tuple(paths) == cs.sent:
            yield Updates().set(ui.attach_group, gr.skip())  # no change (an empty dict is none)
            return
        if waiting_for_decoding(usable_paths(cs, paths), settings.media(self.config.media).limits):
            yield self.notice(reason_line(reason("preview.waiting"), cs.lang))
        att = self.attachments(cs, paths, settings, password)
        yield self.attach_outputs(cs, message, att, settings)


def caller_check(cs: ChatState) -> Callable[[str], str]:
    """The rule for a path this session's caller named: in Gradio's upload folder or in the
    session's own media folder (see :mod:`glmv_ui.ui.uploads`)."""
    from .uploads import caller_path

    return lambda path: caller_path(path, own=(cs.dir,))


def usable_paths(cs: ChatState, paths: list[str]) -> list[str]:
    """The real paths of those of ``paths`` the rule allows (the others are not looked at)."""
    check = caller_check(cs)
    out = []
    for path in paths:
        try:
            out.append(check(path))
        except GlmvError:
            continue
    return out


def _path(file: Any) -> str:
    path = file.get("path") if isinstance(file, dict) else getattr(file, "path", file)
    return str(path or "")
