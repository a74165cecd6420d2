"""Connect the page's events to the handlers; the one place that knows both.

Settings reach every generating endpoint as named parameters (Gradio's ``inputs_kwargs``), so an
API or MCP caller sees ``temperature``, ``max_new_tokens``… rather than ``param_3``. Generation
waits for the chat's own fair gate (one reply per tab, and per login with logins); Stop and the
cheap handlers never wait behind a generation.
"""

from __future__ import annotations

import functools
import inspect
import json
import logging
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any, Literal, TypedDict

# Imported only when the app is built; gradio reads these annotations to inject the request.
import gradio as gr
from gradio.blocks import Block

from ..errors import GlmvError
from .api import ApiHandlers
from .chat import ChatHandlers
from .layout import Ui
from .panel import PanelHandlers
from .settings import CARRIED_FIELDS, Settings
from .state import SessionRegistry
from .updates import GradioUpdates, to_gradio

__all__ = ["wire"]

_log = logging.getLogger(__name__)


def page_only(fn: Callable[..., Any]) -> Callable[..., Any]:
    """Mark a handler of the page's own events: it keeps state per browser session, which MCP
    clients (all sharing one Gradio client) must not share; it is not listed as an MCP tool,
    and a call from the MCP bridge is refused. Generators stay generators (Gradio streams
    them)."""

    def check(args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
        request = kwargs.get("request") or next(
            (a for a in args if isinstance(a, gr.Request)), None
        )
        headers = getattr(request, "headers", None) or {}
        if headers.get("x-gradio-user") == "mcp":
            raise gr.Error(
                "this endpoint belongs to the web page; MCP clients use the ask tool",
                print_exception=False,
            )

    if inspect.isgeneratorfunction(fn):

        @functools.wraps(fn)
        def streaming(*args: Any, **kwargs: Any) -> Iterator[Any]:
            check(args, kwargs)
            yield from fn(*args, **kwargs)

        guarded: Callable[..., Any] = streaming
    else:

        @functools.wraps(fn)
        def plain(*args: Any, **kwargs: Any) -> Any:
            check(args, kwargs)
            return fn(*args, **kwargs)

        guarded = plain
    guarded._mcp_type = "page"  # type: ignore[attr-defined]  # gradio's MCP lists no such tool
    return guarded


@dataclass(frozen=True)
class _Targets:
    """The output lists that several events share."""

    html: list[Block]  # the HTML preview of the last reply
    attach: list[Block]  # the attachment panel; the notice beside the input comes last
    gen: list[Block]  # what a generating event redraws
    tick: list[Block]  # the model panel and the settings that follow the model

    @classmethod
    def of(cls, ui: Ui) -> _Targets:
        html: list[Block] = [ui.html_group, ui.html_preview, ui.html_source, ui.download_html]
        attach: list[Block] = [
            ui.attach_group,
            ui.attach_gallery,
            ui.attach_info,
            ui.pdf_password,
            ui.notice,
        ]
        busy: list[Block] = [ui.stop, ui.regenerate, ui.undo, ui.clear, ui.status]
        # The notice beside the input stays the last output (API clients read it there).
        gen: list[Block] = [ui.chatbot, ui.chat_input, *html, *busy, *attach]
        tick: list[Block] = [
            ui.model_status,
            ui.model_details,
            ui.timer,
            ui.thinking,
            ui.thinking_budget,
            ui.effort,
            ui.model_acc,
            ui.sampling_note,
            ui.notice,
            *(ui.setting(name) for name in CARRIED_FIELDS),
        ]
        return cls(html, attach, gen, tick)


# Generation waits in Gradio's queue (bounded: see create_app), ``concurrency`` replies at once;
# with logins a login's second reply is refused at once (ChatHandlers.stream).
class _Queueing(TypedDict, total=False):
    """How an event waits in Gradio's queue (the keyword arguments of an event listener)."""

    concurrency_id: str
    concurrency_limit: int | Literal["default"] | None
    show_progress: Literal["full", "minimal", "hidden"]


GENERATE = _Queueing(concurrency_id="generate", concurrency_limit="default", show_progress="hidden")
CHEAP = _Queueing(concurrency_limit=None, show_progress="hidden")  # never behind a reply
# A sent request may wait in the queue before its handler runs and can say anything: the page
# marks itself at once (no server round trip) and unmarks when the request ended; the style
# shows "waiting" while marked and no reply streams yet.
SENT = "() => { document.body.classList.add('glmv-sent'); }"
DONE = "() => { document.body.classList.remove('glmv-sent'); }"


def wire(
    demo: gr.Blocks,
    ui: Ui,
    talk: ChatHandlers,
    panel: PanelHandlers,
    registry: SessionRegistry,
    api: ApiHandlers,
) -> None:
    """Every event of the page, then the API's own endpoints."""
    targets = _Targets.of(ui)
    _wire_generation(ui, talk, targets)
    _wire_conversation(ui, talk, targets)
    _wire_panel(demo, ui, panel, targets)

    @page_only
    def unload(request: gr.Request) -> None:
        registry.drop(request)

    demo.unload(unload)
    _wire_api(api)


def _wire_generation(ui: Ui, talk: ChatHandlers, targets: _Targets) -> None:
    """Send, regenerate and edit: the events that stream a reply."""
    settings = ui.settings()

    @page_only
    def chat(
        request: gr.Request, message: dict[str, Any] | None, password: str = "", **values: object
    ) -> Iterator[GradioUpdates]:
        """Send a message ({"text", "files"}) and stream the conversation."""
        yield from to_gradio(talk.chat(request, message, Settings.from_inputs(**values), password))

    @page_only
    def regenerate(request: gr.Request, **values: object) -> Iterator[GradioUpdates]:
        """Answer the last message again."""
        yield from to_gradio(talk.regenerate(request, Settings.from_inputs(**values)))

    @page_only
    def edit(
        request: gr.Request, index: float, text: str, **values: object
    ) -> Iterator[GradioUpdates]:
        """Replace the text of turn `index` (0-based), drop later turns and answer again."""
        changes = talk.edit(request, int(index or 0), text, Settings.from_inputs(**values))
        yield from to_gradio(changes)

    @page_only
    def on_edit(
        request: gr.Request, data: gr.EditData, **values: object
    ) -> Iterator[GradioUpdates]:
        yield from to_gradio(talk.edit_event(request, data, Settings.from_inputs(**values)))

    gen_out = targets.gen
    ui.chat_input.submit(None, None, None, js=SENT)
    ui.regenerate.click(None, None, None, js=SENT)
    ui.chatbot.edit(None, None, None, js=SENT)
    ui.chat_input.submit(
        chat, [ui.chat_input], gen_out, inputs_kwargs=settings, api_name="chat", **GENERATE
    ).then(None, None, None, js=DONE)
    ui.regenerate.click(
        regenerate, None, gen_out, inputs_kwargs=settings, api_name="regenerate", **GENERATE
    ).then(None, None, None, js=DONE)
    ui.edit_api.click(
        edit,
        [ui.edit_index, ui.edit_text],
        gen_out,
        inputs_kwargs=settings,
        api_name="edit",
        **GENERATE,
    )
    ui.chatbot.edit(
        on_edit, None, gen_out, inputs_kwargs=ui.settings(), api_visibility="private", **GENERATE
    ).then(None, None, None, js=DONE)


def _wire_conversation(ui: Ui, talk: ChatHandlers, targets: _Targets) -> None:
    """Stop, undo, clear, the attachment preview and the HTML panel's two views."""

    @page_only
    def stop(request: gr.Request) -> None:
        """Stop the reply being generated in this session; the partial answer is kept."""
        talk.stop(request)

    @page_only
    def undo(request: gr.Request) -> GradioUpdates:
        """Remove the last turn."""
        return talk.undo(request).to_gradio()

    @page_only
    def clear(request: gr.Request) -> GradioUpdates:
        """Start a new conversation."""
        return talk.clear(request).to_gradio()

    @page_only
    def preview_attachments(
        request: gr.Request, message: dict[str, Any] | None, password: str = "", **values: object
    ) -> Iterator[GradioUpdates]:
        """What each attached file gives and costs, and which were refused, before sending
        (first a notice when other previews hold the shared decoding budget)."""
        settings = Settings.from_inputs(**values)
        yield from to_gradio(talk.preview(request, message, settings, password))

    html_out = targets.html
    ui.stop.click(stop, None, None, api_name="stop", **CHEAP)
    ui.undo.click(
        undo, None, [ui.chatbot, ui.chat_input, *html_out, ui.notice], api_name="undo", **CHEAP
    )
    ui.clear.click(
        clear,
        None,
        [ui.chatbot, ui.chat_input, *html_out, ui.attach_group, ui.notice],
        api_name="clear",
        **CHEAP,
    )
    preview_out = [ui.chat_input, *targets.attach]
    ui.chat_input.change(
        preview_attachments,
        [ui.chat_input],
        preview_out,
        inputs_kwargs=ui.settings(),
        api_name="preview_attachments",
        trigger_mode="always_last",
        **CHEAP,
    )
    ui.pdf_password.submit(
        preview_attachments,
        [ui.chat_input],
        preview_out,
        inputs_kwargs=ui.settings(),
        api_visibility="private",
        **CHEAP,
    )
    ui.show_preview.click(
        lambda: (gr.HTML(visible=True), gr.Code(visible=False)),
        None,
        [ui.html_preview, ui.html_source],
        api_visibility="private",
        **CHEAP,
    )
    ui.show_source.click(
        lambda: (gr.HTML(visible=False), gr.Code(visible=True)),
        None,
        [ui.html_preview, ui.html_source],
        api_visibility="private",
        **CHEAP,
    )


def _wire_panel(demo: gr.Blocks, ui: Ui, panel: PanelHandlers, targets: _Targets) -> None:
    """The model panel, the language switch, export and import."""

    @page_only
    def tick(request: gr.Request, thinking: bool = True, **shown: object) -> GradioUpdates:
        # The model panel's tick reads the generation settings shown, to carry them over a
        # switch.
        return panel.tick(request, Settings.carried(**shown), thinking).to_gradio()

    @page_only
    def model_status(request: gr.Request) -> str:
        """The model panel: loading progress, the loaded model, or the load error."""
        return panel.model_status(request)

    @page_only
    def set_language(request: gr.Request, lang: str) -> GradioUpdates:
        return panel.set_language(request, lang).to_gradio()

    @page_only
    def export(request: gr.Request, fmt: str) -> str:
        """Export the conversation: json, markdown or llamafactory."""
        return panel.export(request, fmt)

    @page_only
    def import_conversation(request: gr.Request, file: object) -> GradioUpdates:
        """Load a conversation exported as JSON."""
        return panel.import_conversation(request, file).to_gradio()

    @page_only
    def estimate_model(request: gr.Request, choice: str, quant: str, url: str) -> str:
        """What loading a model would take (memory), before loading it."""
        return panel.estimate(request, choice, quant, url)

    @page_only
    def load_model(
        request: gr.Request, choice: str, quant: str, url: str, served: str
    ) -> GradioUpdates:
        """Replace the model for everyone (when the operator allows switching)."""
        return panel.load_model(request, choice, quant, url, served).to_gradio()

    shown: dict[str, Block] = {name: ui.setting(name) for name in CARRIED_FIELDS}
    for event in (ui.timer.tick, demo.load):
        event(
            tick,
            [ui.thinking],
            targets.tick,
            inputs_kwargs=shown,
            api_visibility="private",
            **CHEAP,
        )
    ui.status_api.click(model_status, None, [ui.model_status], api_name="model_status", **CHEAP)
    ui.language.change(
        set_language,
        [ui.language],
        [*ui.labelled(), ui.title, ui.model_status, ui.model_details, ui.chatbot, ui.sampling_note],
        api_name="set_language",
        **CHEAP,
    )
    ui.export_button.click(export, [ui.export_format], [ui.export_file], api_name="export", **CHEAP)
    ui.import_button.upload(
        import_conversation,
        [ui.import_button],
        [ui.chatbot, *targets.html, ui.notice],
        api_name="import_conversation",
        **CHEAP,
    )
    model_in = [ui.model_choice, ui.model_quant, ui.remote_url]
    gr.on(
        [ui.model_choice.change, ui.model_quant.change, ui.remote_url.change],
        estimate_model,
        model_in,
        [ui.model_estimate],
        api_visibility="private",
        **CHEAP,
    )
    ui.model_load.click(
        load_model,
        [*model_in, ui.remote_model],
        [ui.model_status, ui.timer, ui.notice],
        api_name="load_model",
        **CHEAP,
    )


def _wire_api(api: ApiHandlers) -> None:
    """The endpoints that are no event of the page: ``ask`` and ``model_info``."""

    def ask(
        request: gr.Request,
        text: str,
        files: list[str] | None = None,
        conversation: str = "",
        thinking: bool = True,
        thinking_budget: int = 0,
        max_new_tokens: int = 2048,
        temperature: float | None = None,
        top_p: float | None = None,
        system_prompt: str = "",
        pdf_first: int = 0,
        pdf_last: int = 0,
        effort: str = "",
    ) -> str:
        """Ask GLM-V about text, images, PDFs, slide decks or a video.

        Args:
            text: the question.
            files: files as https: or data: URLs (images, PDF, PPTX/ODP, one video).
            conversation: the id a previous ask returned, to ask a follow-up question in that
                conversation; empty starts a new one. Only the caller that received an id can
                continue its conversation.
            thinking: GLM-4.5V thinks before answering unless this is false.
            thinking_budget: GLM-4.1V: stop thinking after this many tokens (0: no limit).
            max_new_tokens: the longest answer, thinking included.
            temperature: sampling temperature (empty: the model's default).
            top_p: nucleus sampling (empty: the model's default).
            system_prompt: instructions for the model.
            pdf_first: first PDF page or slide to use (0: from the start).
            pdf_last: last PDF page or slide to use (0: to the end).
            effort: for a model whose template takes a reasoning effort (GLM-5.3-Flash): one
                of the efforts model_info lists ("none" answers without thinking; empty: the
                model's default).

        Returns:
            JSON: answer, thinking, boxes and GUI actions (0-1000 grid), notices, stats and
            the conversation id.
        """
        settings = Settings.from_inputs(
            thinking=thinking,
            thinking_budget=thinking_budget,
            max_new_tokens=max_new_tokens,
            temperature=temperature,
            top_p=top_p,
            system_prompt=system_prompt,
            pdf_first=pdf_first,
            pdf_last=pdf_last,
            effort=effort,
        )
        # Fair use is per caller: a login, else a Gradio session (MCP clients without a login
        # all come through Gradio's one bridge session).
        user = getattr(request, "username", None)
        client = f"user:{user}" if user else f"session:{getattr(request, 'session_hash', '')}"
        try:
            return json.dumps(
                api.ask(text, files, conversation, settings, client, user or ""), ensure_ascii=False
            )
        except GlmvError as exc:
            raise gr.Error(str(exc), print_exception=False) from None
        except Exception:  # noqa: BLE001 - logged in full; the caller gets a plain refusal
            # Library text may name server paths: the caller gets the kind, the log the rest.
            _log.exception("ask failed")
            raise gr.Error(
                "the request failed on the server; the operator's log has the details",
                print_exception=False,
            ) from None

    def model_info() -> str:
        """Which GLM-V model answers (JSON: model, family, state, can_disable_thinking)."""
        return json.dumps(api.model_info())

    # Not in the page's "generate" group: ask downloads its files before taking one of the
    # model's slots, which its own fair gate hands out (see fair.FairGate).
    gr.api(ask, api_name="ask", concurrency_limit=None)  # type: ignore[attr-defined]
    gr.api(model_info, api_name="model_info", concurrency_limit=None)  # type: ignore[attr-defined]
