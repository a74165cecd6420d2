"""Wire the components: every handler, and one function that connects them to the page.

Handlers read per-session state from the :class:`SessionRegistry` (keyed by the browser session),
turn :class:`GlmvError` into ``gr.Error`` / ``gr.Warning`` with the core's message, and stream
replies at a bounded rate: the displayed value is rebuilt from the parser's cached text at most
every :data:`FRAME_SECONDS`, never per token, and the heavy post-processing (boxes, drawing, the
HTML preview) runs once when the reply ends.
"""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import replace
from typing import Any

# This module is imported only when the app is built (create_app), so gradio may load here; the
# wiring functions' annotations must resolve at module level for gradio to inject the request.
import gradio as gr

from ..config import AppConfig, Sampling, default_sampling
from ..errors import ConversationError, GlmvError, MediaBudgetError
from ..models import FAMILIES
from ..session import ReplyUpdate
from .i18n import t
from .layout import SETTING_NAMES, Ui, _title, chat_placeholder
from .state import ChatState, ModelManager, SessionRegistry
from .views import answer_markdown, turn_messages

__all__ = ["FRAME_SECONDS", "Handlers", "wire"]

FRAME_SECONDS = 0.06  # at most ~16 screen updates a second, whatever the token rate


def _settings(values: tuple[Any, ...]) -> dict[str, Any]:
    return dict(zip(SETTING_NAMES, values, strict=True))


def _int(value: Any, default: int = 0) -> int:
    try:
        return int(value) if value is not None else default
    except (TypeError, ValueError):
        return default


def _float(value: Any, default: float = 0.0) -> float:
    try:
        return float(value) if value is not None else default
    except (TypeError, ValueError):
        return default


class LiveReply:
    """The reply as shown while it streams, rebuilt from parser events only (the parser itself
    belongs to the worker thread): thinking and answer pieces, box spans, the HTML fencer."""

    def __init__(self, fencer: Any) -> None:
        self.fencer = fencer
        self._thinking: list[str] = []
        self._answer: list[str] = []
        self._answer_len = 0
        self._box_start: int | None = None
        self.spans: list[tuple[int, int]] = []
        self.closed = False
        self.seconds: float | None = None
        self.update: ReplyUpdate | None = None

    def absorb(self, update: ReplyUpdate) -> None:
        from ..htmlfix import HtmlFencer

        self.update = update
        if update.thinking_seconds is not None:
            self.seconds = update.thinking_seconds
        for ev in update.events:
            if ev.kind == "thinking":
                self._thinking.append(ev.text)
            elif ev.kind == "answer":
                self.closed = True
                self._answer.append(ev.text)
                self._answer_len += len(ev.text)
                self.fencer.feed(ev.text)
            elif ev.kind == "thinking_done":
                self.closed = True
            elif ev.kind == "answer_reset":
                self._answer, self._answer_len, self.spans = [], 0, []
                self.fencer = HtmlFencer()
                self.closed = False
            elif ev.kind == "box_open":
                self._box_start = self._answer_len
            elif ev.kind == "box_close" and self._box_start is not None:
                self.spans.append((self._box_start, self._answer_len))
                self._box_start = None

    @property
    def thinking(self) -> str:
        return "".join(self._thinking)

    def answer_md(self) -> str:
        if self.spans:
            return answer_markdown("".join(self._answer), self.spans)
        return self.fencer.text


class Handlers:
    """The event handlers; one instance per app, state per browser session."""

    def __init__(self, config: AppConfig, manager: ModelManager, registry: SessionRegistry,
                 ui: Ui) -> None:
        self.config = config
        self.manager = manager
        self.registry = registry
        self.ui = ui
        self.shown_family = manager.family

    # -- helpers -----------------------------------------------------------------------------

    def _gr(self) -> Any:
        import gradio as gr

        return gr

    def sampling(self, family: str, s: dict[str, Any]) -> Sampling:
        base = default_sampling(family)
        budget = _int(s.get("thinking_budget"), 0)
        seed = _int(s.get("seed"), -1)
        return replace(
            base,
            temperature=_float(s.get("temperature"), base.temperature),
            top_p=_float(s.get("top_p"), base.top_p),
            top_k=_int(s.get("top_k"), base.top_k),
            repetition_penalty=_float(s.get("repetition_penalty"), base.repetition_penalty),
            max_new_tokens=_int(s.get("max_new_tokens"), base.max_new_tokens),
            seed=None if seed < 0 else seed,
            thinking=bool(s.get("thinking", True)) if family == "glm4v_moe" else True,
            thinking_budget=budget if budget > 0 and family == "glm4v" else None,
        )

    def media_options(self, s: dict[str, Any]) -> tuple[Any, dict[str, Any]]:
        limits = replace(
            self.config.media,
            pdf_tokens_per_page=max(64, _int(s.get("pdf_tokens"),
                                             self.config.media.pdf_tokens_per_page)),
            image_max_pixels=max(28 * 28, int(_float(s.get("image_mp"), 2.07) * 1e6)),
            video_fps=max(0.1, _float(s.get("video_fps"), self.config.media.video_fps)),
            video_max_frames=max(2, _int(s.get("video_max_frames"),
                                         self.config.media.video_max_frames)),
        )
        first, last = _int(s.get("pdf_first")), _int(s.get("pdf_last"))
        start, end = _float(s.get("video_start")), _float(s.get("video_end"))
        options: dict[str, Any] = {}
        if first > 0 or last > 0:
            options["page_range"] = (max(1, first), last if last > 0 else 10**6)
        if start > 0 or end > 0:
            options["video_range"] = (start, end if end > 0 else 1e9)
        return limits, options

    def _ready(self, cs: ChatState, s: dict[str, Any]) -> Any:
        engine = self.manager.require(cs.lang)
        session = cs.ensure_session(engine, self.config)
        session.system_prompt = str(s.get("system_prompt") or "")
        return session

    def _files(self, message: Any) -> list[str]:
        if not isinstance(message, dict):
            return []
        out = []
        for f in message.get("files") or []:
            path = f.get("path") if isinstance(f, dict) else getattr(f, "path", f)
            if path:
                out.append(str(path))
        return out

    def ingest(self, cs: ChatState, paths: list[str], s: dict[str, Any]) -> list[Any]:
        """Uploads -> parts, one file at a time so a refusal names its file. Cached per key."""
        from ..media import ingest

        if not paths:
            return []
        limits, options = self.media_options(s)
        existing = cs.session.parts if cs.session is not None else []
        key = (tuple(paths), repr(limits), repr(sorted(options.items())), len(existing))
        if key in cs.pending:
            return cs.pending[key]
        parts: list[Any] = []
        for path in paths:
            parts += ingest([path], limits, existing=[*existing, *parts], **options)
        cs.pending = {key: parts}
        return parts

    # -- generation --------------------------------------------------------------------------

    def stream(self, cs: ChatState, make: Callable[[], Iterator[ReplyUpdate]],
               index: int) -> Iterator[tuple[Any, ...]]:
        """Drive one reply: coalesced frames while it streams, the finished view at the end.

        The session's iterator runs in a worker thread and hands over each update's events
        through a queue; this generator folds them into its own buffers (the HTML fencer is fed
        answer deltas, so each token costs O(delta)) and yields a frame when
        :data:`FRAME_SECONDS` have passed since the last one, or when the stream goes quiet
        with something not yet shown, so the last tokens before a pause are never held back.
        """
        from ..htmlfix import HtmlFencer

        skip = gr.skip()
        try:
            updates = make()
        except GlmvError as exc:
            raise gr.Error(str(exc)) from None
        turn = cs.turns[index]
        prefix = cs.messages(upto=index)
        strips = cs.strips(turn.parts)
        inbox: queue.SimpleQueue[tuple[str, Any]] = queue.SimpleQueue()

        def pump() -> None:
            try:
                for item in updates:
                    inbox.put(("update", item))
                inbox.put(("end", None))
            except BaseException as exc:  # noqa: BLE001 - handed to the page below
                inbox.put(("error", exc))

        threading.Thread(target=pump, name="glmv-reply", daemon=True).start()
        live = LiveReply(HtmlFencer())
        cleared = gr.MultimodalTextbox(value=None, interactive=False)
        first, dirty, kind = True, False, ""
        last_frame = 0.0
        failure: BaseException | None = None
        try:
            while True:
                wait = None if not dirty else max(0.0, last_frame + FRAME_SECONDS
                                                  - time.perf_counter())
                try:
                    kind, item = inbox.get(timeout=wait)
                except queue.Empty:
                    kind, item = "quiet", None
                if kind == "update":
                    live.absorb(item)
                    dirty = True
                    if not first and time.perf_counter() - last_frame < FRAME_SECONDS:
                        continue
                elif kind != "quiet":
                    failure = item if kind == "error" else None
                    break
                messages = prefix + turn_messages(
                    turn.text, strips, thinking=live.thinking, thinking_done=live.closed,
                    thinking_seconds=live.seconds, answer_md=live.answer_md(),
                    status="streaming", lang=cs.lang)
                yield (messages, cleared if first else skip, skip, skip, skip, skip,
                       gr.Group(visible=False) if first else skip)
                first, dirty = False, False
                last_frame = time.perf_counter()
        finally:
            if kind not in ("end", "error") and cs.session is not None:
                cs.session.stop()  # the page went away mid-reply: end generation too
        live.fencer.finish()
        if live.update is not None and turn.status in ("done", "cancelled"):
            cs.forget([turn])
            cs.extras(index, fenced=live.fencer.text, html=live.fencer.html,
                      found_html=live.fencer.html is not None, thinking_seconds=live.seconds)
        yield (cs.messages(), gr.MultimodalTextbox(interactive=True), *self.html_outputs(cs),
               skip)
        if failure is not None:
            message = str(failure) if isinstance(failure, GlmvError) else \
                f"generation failed: {failure}"
            raise gr.Error(message)

    def html_outputs(self, cs: ChatState) -> tuple[Any, ...]:
        """The HTML panel for the last reply: shown with its preview when it holds a page."""
        from ..preview import download_filename, preview_iframe

        gr = self._gr()
        html = None
        if cs.turns and cs.turns[-1].status in ("done", "cancelled"):
            html = cs.extras(len(cs.turns) - 1).html
        if not html:
            return (gr.Group(visible=False), "", gr.Code(value="", visible=False),
                    gr.DownloadButton(value=None))
        cs.dir.mkdir(parents=True, exist_ok=True)
        path = cs.dir / download_filename(html)
        path.write_text(html, encoding="utf-8")
        return (gr.Group(visible=True), gr.HTML(value=preview_iframe(html, height=520),
                                                visible=True),
                gr.Code(value=html, visible=False), gr.DownloadButton(value=str(path)))

    def chat(self, message: dict[str, Any] | None, *values: Any,
             request: Any = None) -> Iterator[tuple[Any, ...]]:
        """Send a message (text and files) and stream the reply."""
        gr = self._gr()
        cs = self.registry.get(request)
        s = _settings(values)
        text = (message or {}).get("text", "") if isinstance(message, dict) else str(message or "")
        try:
            session = self._ready(cs, s)
            parts = self.ingest(cs, self._files(message), s)
            family = session.engine.family
            sampling = self.sampling(family, s)
            if session.busy:
                raise ConversationError(t(cs.lang, "busy"))
            make = self._submit(session, text, parts, sampling)
        except MediaBudgetError as exc:
            raise gr.Error(str(exc)) from None
        except GlmvError as exc:
            raise gr.Error(str(exc)) from None
        index = len(session.turns)
        yield from self.stream(cs, make, index)

    @staticmethod
    def _submit(session: Any, text: str, parts: list[Any],
                sampling: Sampling) -> Callable[[], Iterator[ReplyUpdate]]:
        if not (text or "").strip() and not parts:
            raise ConversationError("type a message or attach a file first")  # shown as a toast
        return lambda: session.submit(text, parts, sampling=sampling)

    def regenerate(self, *values: Any, request: Any = None) -> Iterator[tuple[Any, ...]]:
        """Answer the last message again."""
        gr = self._gr()
        cs = self.registry.get(request)
        s = _settings(values)
        try:
            session = self._ready(cs, s)
            if not session.turns:
                raise ConversationError("nothing to regenerate yet")
            sampling = self.sampling(session.engine.family, s)
        except GlmvError as exc:
            raise gr.Error(str(exc)) from None
        cs.forget([session.turns[-1]])
        yield from self.stream(cs, lambda: session.regenerate(sampling=sampling),
                               len(session.turns) - 1)

    def edit(self, index: Any, text: str, *values: Any,
             request: Any = None) -> Iterator[tuple[Any, ...]]:
        """Replace the text of message ``index`` (0-based turn), drop later turns, answer again."""
        gr = self._gr()
        cs = self.registry.get(request)
        s = _settings(values)
        i = _int(index, -1)
        try:
            session = self._ready(cs, s)
            if not 0 <= i < len(session.turns):
                raise ConversationError(f"there is no message {i + 1} to edit")
            sampling = self.sampling(session.engine.family, s)
        except GlmvError as exc:
            raise gr.Error(str(exc)) from None
        cs.forget(session.turns[i:])
        yield from self.stream(cs, lambda: session.edit(i, text or "", sampling=sampling), i)

    def edit_event(self, *values: Any, data: Any = None,
                   request: Any = None) -> Iterator[tuple[Any, ...]]:
        """The Chatbot's own edit event: map the message index to its turn."""
        gr = self._gr()
        cs = self.registry.get(request)
        index = data.index[0] if isinstance(data.index, tuple | list) else data.index
        turn = cs.edit_map.get(int(index))
        value = data.value
        if isinstance(value, list):
            value = " ".join(v.get("text", "") if isinstance(v, dict) else str(v) for v in value)
        elif isinstance(value, dict):
            value = value.get("text", "")
        if turn is None:
            gr.Warning(t(cs.lang, "edit_media"))
            yield (cs.messages(), *(gr.skip() for _ in range(6)))
            return
        yield from self.edit(turn, str(value), *values, request=request)

    def stop(self, request: Any = None) -> None:
        """End the reply being generated in this browser session only."""
        cs = self.registry.get(request)
        if cs.session is not None:
            cs.session.stop()

    def undo(self, request: Any = None) -> tuple[Any, ...]:
        """Remove the last turn; its text goes back into the input box."""
        gr = self._gr()
        cs = self.registry.get(request)
        turn = cs.session.undo() if cs.session is not None else None
        if turn is not None:
            cs.forget([turn])
        restored = {"text": turn.text, "files": []} if turn is not None else gr.skip()
        return (cs.messages(), restored, *self.html_outputs(cs))

    def clear(self, request: Any = None) -> tuple[Any, ...]:
        gr = self._gr()
        cs = self.registry.get(request)
        if cs.session is not None:
            cs.session.clear()
        cs.forget()
        cs.pending.clear()
        return ([], {"text": "", "files": []}, *self.html_outputs(cs), gr.Group(visible=False))

    def preview(self, message: dict[str, Any] | None, *values: Any,
                request: Any = None) -> tuple[Any, Any, Any]:
        """Thumbnails and the visual-token estimate of the files attached, before sending."""
        from ..media import check_budget

        gr = self._gr()
        cs = self.registry.get(request)
        paths = self._files(message)
        if not paths:
            return gr.Group(visible=False), None, ""
        s = _settings(values)
        limits, _ = self.media_options(s)
        existing = cs.session.parts if cs.session is not None else []
        try:
            parts = self.ingest(cs, paths, s)
        except GlmvError as exc:
            gr.Warning(str(exc))
            return gr.Group(visible=True), None, f"**{t(cs.lang, 'refused', error=exc)}**"
        from .views import join_strips

        strips = cs.strips(parts)
        composite = cs.save_image(join_strips([s for s, _ in strips]), "attached")
        report = check_budget(parts, limits, existing)
        info = t(cs.lang, "estimate", count=len(paths), tokens=report.visual_tokens,
                 budget=report.budget)
        info += "".join(f"\n- {caption.splitlines()[0]}" for _, caption in strips)
        return gr.Group(visible=True), composite, info

    def tick(self, request: Any = None) -> tuple[Any, ...]:
        """Model panel refresh while loading; on the first tick after it settles, the settings
        switch to the loaded family and the timer stops."""
        gr = self._gr()
        cs = self.registry.get(request)
        self.manager.start()
        status = self.manager.status_line(cs.lang)
        sampling_names = ("temperature", "top_p", "top_k", "repetition_penalty",
                          "max_new_tokens")
        if self.manager.state in ("idle", "loading"):
            return (status, *(gr.skip() for _ in range(5 + len(sampling_names))))
        family = self.manager.family
        thinking = gr.Checkbox(visible=family == "glm4v_moe")
        budget = gr.Slider(visible=family == "glm4v")
        details = self.manager.details(cs.lang)
        # The page was drawn for a guessed family; when the loaded model is the other one, its
        # sampling defaults replace the guessed ones.
        if family != self.manager.guessed_family and family in FAMILIES:
            defaults = default_sampling(family)
            sampling = [gr.update(value=getattr(defaults, n)) for n in sampling_names]
        else:
            sampling = [gr.skip() for _ in sampling_names]
        return (status, details, gr.Timer(active=False), thinking, budget,
                gr.Accordion(visible=bool(details)), *sampling)

    def model_status(self, request: Any = None) -> str:
        """The model panel text (loading progress, the loaded model, or the error)."""
        cs = self.registry.get(request)
        return self.manager.status_line(cs.lang)

    def set_language(self, lang: str, request: Any = None) -> tuple[Any, ...]:
        gr = self._gr()
        cs = self.registry.get(request)
        cs.lang = lang if lang in ("en", "zh") else "en"
        cs.forget()
        changes: dict[int, dict[str, str]] = {}
        for component, attr, key in self.ui.labels:
            changes.setdefault(id(component), {})[attr] = t(cs.lang, key)
        updates = [gr.update(**changes[id(c)]) for c in self.ui.labelled()]
        chat = gr.Chatbot(value=cs.messages(), placeholder=chat_placeholder(cs.lang))
        return (*updates, _title(cs.lang), self.manager.status_line(cs.lang),
                self.manager.details(cs.lang), chat)

    def export(self, fmt: str, request: Any = None) -> str:
        """Write the conversation in ``fmt`` (json, markdown, llamafactory); return the file."""
        from .. import export

        gr = self._gr()
        cs = self.registry.get(request)
        if not cs.turns:
            raise gr.Error(t(cs.lang, "nothing_to_export"))
        family = cs.session.engine.family if cs.session is not None else self.manager.family
        system = cs.session.system_prompt if cs.session is not None else ""
        cs.dir.mkdir(parents=True, exist_ok=True)
        return str(export.write_export(cs.turns, fmt, cs.dir, model=self.manager.name,
                                       family=family, system_prompt=system))

    def import_conversation(self, file: Any, request: Any = None) -> tuple[Any, ...]:
        """Load a conversation exported as JSON into this session."""
        from .. import export

        gr = self._gr()
        cs = self.registry.get(request)
        path = file if isinstance(file, str) else getattr(file, "name", None) or file.get("path")
        try:
            convo = export.read_json(path)
            engine = self.manager.require(cs.lang)
        except GlmvError as exc:
            raise gr.Error(str(exc)) from None
        session = cs.ensure_session(engine, self.config)
        session.stop()
        session.turns = convo.turns
        session.system_prompt = convo.system_prompt
        cs.forget()
        gr.Info(t(cs.lang, "imported", n=len(convo.turns)))
        return (cs.messages(), *self.html_outputs(cs))


def wire(demo: Any, ui: Ui, handlers: Handlers) -> None:
    """Connect the events. Generation shares one concurrency group (the queue's limit);
    Stop and the cheap handlers never wait behind a generation."""
    settings = ui.settings()
    html_out = [ui.html_group, ui.html_preview, ui.html_source, ui.download_html]
    gen_out = [ui.chatbot, ui.chat_input, *html_out, ui.attach_group]
    gen: dict[str, Any] = {"concurrency_id": "generate", "concurrency_limit": "default",
                           "show_progress": "hidden"}
    cheap: dict[str, Any] = {"concurrency_limit": None, "show_progress": "hidden"}
    tick_out = [ui.model_status, ui.model_details, ui.timer, ui.thinking, ui.thinking_budget,
                ui.model_acc, ui.temperature, ui.top_p, ui.top_k, ui.repetition_penalty,
                ui.max_new_tokens]

    # Gradio passes the request (and event data) to parameters annotated with its types that
    # come before *values; these thin functions put them there and name the API endpoints.
    def chat(request: gr.Request, *values: Any) -> Iterator[Any]:
        """Send a message ({"text", "files"}) and stream the conversation."""
        yield from handlers.chat(*values, request=request)

    def regenerate(request: gr.Request, *values: Any) -> Iterator[Any]:
        """Answer the last message again."""
        yield from handlers.regenerate(*values, request=request)

    def edit(request: gr.Request, *values: Any) -> Iterator[Any]:
        """Replace the text of turn `index` (0-based), drop later turns and answer again."""
        yield from handlers.edit(*values, request=request)

    def on_edit(request: gr.Request, data: gr.EditData, *values: Any) -> Iterator[Any]:
        yield from handlers.edit_event(*values, data=data, request=request)

    def stop(request: gr.Request) -> None:
        """Stop the reply being generated in this session; the partial answer is kept."""
        handlers.stop(request)

    def undo(request: gr.Request) -> tuple[Any, ...]:
        """Remove the last turn."""
        return handlers.undo(request)

    def clear(request: gr.Request) -> tuple[Any, ...]:
        """Start a new conversation."""
        return handlers.clear(request)

    def preview(request: gr.Request, *values: Any) -> tuple[Any, ...]:
        """Thumbnails and the visual-token estimate of the attached files."""
        return handlers.preview(*values, request=request)

    def tick(request: gr.Request) -> tuple[Any, ...]:
        return handlers.tick(request)

    def model_status(request: gr.Request) -> str:
        """The model panel: loading progress, the loaded model, or the load error."""
        return handlers.model_status(request)

    def set_language(request: gr.Request, lang: str) -> tuple[Any, ...]:
        return handlers.set_language(lang, request)

    def export(request: gr.Request, fmt: str) -> str:
        """Export the conversation: json, markdown or llamafactory."""
        return handlers.export(fmt, request)

    def import_conversation(request: gr.Request, file: Any) -> tuple[Any, ...]:
        """Load a conversation exported as JSON."""
        return handlers.import_conversation(file, request)

    def unload(request: gr.Request) -> None:
        handlers.registry.drop(request)

    ui.chat_input.submit(chat, [ui.chat_input, *settings], gen_out, api_name="chat", **gen)
    ui.regenerate.click(regenerate, settings, gen_out, api_name="regenerate", **gen)
    ui.edit_api.click(edit, [ui.edit_index, ui.edit_text, *settings], gen_out, api_name="edit",
                      **gen)
    ui.chatbot.edit(on_edit, settings, gen_out, api_visibility="private", **gen)
    ui.stop.click(stop, None, None, api_name="stop", **cheap)
    ui.undo.click(undo, None, [ui.chatbot, ui.chat_input, *html_out], api_name="undo", **cheap)
    ui.clear.click(clear, None, [ui.chatbot, ui.chat_input, *html_out, ui.attach_group],
                   api_name="clear", **cheap)
    ui.chat_input.change(preview, [ui.chat_input, *settings],
                         [ui.attach_group, ui.attach_gallery, ui.attach_info],
                         api_name="preview_attachments", trigger_mode="always_last", **cheap)
    ui.timer.tick(tick, None, tick_out, api_visibility="private", **cheap)
    demo.load(tick, None, tick_out, api_visibility="private", **cheap)
    ui.status_api.click(model_status, None, [ui.model_status], api_name="model_status",
                        **cheap)
    labelled = ui.labelled()
    ui.language.change(set_language, [ui.language],
                       [*labelled, ui.title, ui.model_status, ui.model_details, ui.chatbot],
                       api_name="set_language", **cheap)
    ui.show_preview.click(lambda: (gr.HTML(visible=True), gr.Code(visible=False)), None,
                          [ui.html_preview, ui.html_source], api_visibility="private", **cheap)
    ui.show_source.click(lambda: (gr.HTML(visible=False), gr.Code(visible=True)), None,
                         [ui.html_preview, ui.html_source], api_visibility="private", **cheap)
    ui.export_button.click(export, [ui.export_format], [ui.export_file], api_name="export",
                           **cheap)
    ui.import_button.upload(import_conversation, [ui.import_button], [ui.chatbot, *html_out],
                            api_name="import_conversation", **cheap)
    demo.unload(unload)
