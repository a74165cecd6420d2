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
from typing import Any

# Imported only when the app is built; gradio reads these annotations to inject the request.
import gradio as gr

from ..errors import GlmvError
from .api import ApiHandlers
from .chat import ChatHandlers
from .layout import Ui
from .panel import PanelHandlers
from .settings import CARRIED_FIELDS, Settings
from .state import SessionRegistry

__all__ = ["wire"]

_log = logging.getLogger(__name__)

Outputs = dict[Any, Any]


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


def wire(  # noqa: C901
    demo: Any,
    ui: Ui,
    talk: ChatHandlers,
    panel: PanelHandlers,
    registry: SessionRegistry,
    api: ApiHandlers,
) -> None:
    settings = ui.settings()
    html_out = [ui.html_group, ui.html_preview, ui.html_source, ui.download_html]
    attach_out = [ui.attach_group, ui.attach_gallery, ui.attach_info, ui.pdf_password, ui.notice]
    busy_out = [ui.stop, ui.regenerate, ui.undo, ui.clear, ui.status]
    # The notice beside the input stays the last output (API clients read it there).
    gen_out = [ui.chatbot, ui.chat_input, *html_out, *busy_out, *attach_out]
    # Generation waits in Gradio's queue (bounded: see create_app), ``concurrency`` replies at
    # once; with logins a login's second reply is refused at once (ChatHandlers.stream).
    gen: dict[str, Any] = {
        "concurrency_id": "generate",
        "concurrency_limit": "default",
        "show_progress": "hidden",
    }
    cheap: dict[str, Any] = {"concurrency_limit": None, "show_progress": "hidden"}
    tick_out = [
        ui.model_status,
        ui.model_details,
        ui.timer,
        ui.thinking,
        ui.thinking_budget,
        ui.model_acc,
        ui.sampling_note,
        ui.notice,
        ui.temperature,
        ui.top_p,
        ui.top_k,
        ui.repetition_penalty,
        ui.max_new_tokens,
    ]
    # The model panel's tick reads the generation settings shown, to carry them over a switch.

    @page_only
    def chat(
        request: gr.Request, message: dict[str, Any] | None, password: str = "", **values: Any
    ) -> Iterator[Outputs]:
        """Send a message ({"text", "files"}) and stream the conversation."""
        yield from talk.chat(request, message, Settings.from_inputs(**values), password)

    @page_only
    def regenerate(request: gr.Request, **values: Any) -> Iterator[Outputs]:
        """Answer the last message again."""
        yield from talk.regenerate(request, Settings.from_inputs(**values))

    @page_only
    def edit(request: gr.Request, index: float, text: str, **values: Any) -> Iterator[Outputs]:
        """Replace the text of turn `index` (0-based), drop later turns and answer again."""
        yield from talk.edit(request, int(index or 0), text, Settings.from_inputs(**values))

    @page_only
    def on_edit(request: gr.Request, data: gr.EditData, **values: Any) -> Iterator[Outputs]:
        yield from talk.edit_event(request, data, Settings.from_inputs(**values))

    @page_only
    def stop(request: gr.Request) -> None:
        """Stop the reply being generated in this session; the partial answer is kept."""
        talk.stop(request)

    @page_only
    def undo(request: gr.Request) -> Outputs:
        """Remove the last turn."""
        return talk.undo(request)

    @page_only
    def clear(request: gr.Request) -> Outputs:
        """Start a new conversation."""
        return talk.clear(request)

    @page_only
    def preview_attachments(
        request: gr.Request, message: dict[str, Any] | None, password: str = "", **values: Any
    ) -> Iterator[Outputs]:
        """What each attached file gives and costs, and which were refused, before sending
        (first a notice when other previews hold the shared decoding budget)."""
        yield from talk.preview(request, message, Settings.from_inputs(**values), password)

    @page_only
    def tick(request: gr.Request, thinking: bool = True, **shown: Any) -> Outputs:
        return panel.tick(request, Settings.carried(**shown), thinking)

    @page_only
    def model_status(request: gr.Request) -> str:
        """The model panel: loading progress, the loaded model, or the load error."""
        return panel.model_status(request)

    @page_only
    def set_language(request: gr.Request, lang: str) -> Outputs:
        return panel.set_language(request, lang)

    @page_only
    def export(request: gr.Request, fmt: str) -> str:
        """Export the conversation: json, markdown or llamafactory."""
        return panel.export(request, fmt)

    @page_only
    def import_conversation(request: gr.Request, file: Any) -> Outputs:
        """Load a conversation exported as JSON."""
        return panel.import_conversation(request, file)

    @page_only
    def estimate_model(request: gr.Request, choice: str, quant: str, url: str) -> str:
        """What loading a model would take (memory), before loading it."""
        return panel.estimate(request, choice, quant, url)

    @page_only
    def load_model(request: gr.Request, choice: str, quant: str, url: str, served: str) -> Outputs:
        """Replace the model for everyone (when the operator allows switching)."""
        return panel.load_model(request, choice, quant, url, served)

    @page_only
    def unload(request: gr.Request) -> None:
        registry.drop(request)

    # A sent request may wait in the queue before its handler runs and can say anything: the
    # page marks itself at once (no server round trip) and unmarks when the request ended; the
    # style shows "waiting" while marked and no reply streams yet.
    sent = "() => { document.body.classList.add('glmv-sent'); }"
    done = "() => { document.body.classList.remove('glmv-sent'); }"
    ui.chat_input.submit(None, None, None, js=sent)
    ui.regenerate.click(None, None, None, js=sent)
    ui.chatbot.edit(None, None, None, js=sent)
    ui.chat_input.submit(
        chat, [ui.chat_input], gen_out, inputs_kwargs=settings, api_name="chat", **gen
    ).then(None, None, None, js=done)
    ui.regenerate.click(
        regenerate, None, gen_out, inputs_kwargs=settings, api_name="regenerate", **gen
    ).then(None, None, None, js=done)
    ui.edit_api.click(
        edit, [ui.edit_index, ui.edit_text], gen_out, inputs_kwargs=settings, api_name="edit", **gen
    )
    ui.chatbot.edit(
        on_edit, None, gen_out, inputs_kwargs=ui.settings(), api_visibility="private", **gen
    ).then(None, None, None, js=done)
    ui.stop.click(stop, None, None, api_name="stop", **cheap)
    ui.undo.click(
        undo, None, [ui.chatbot, ui.chat_input, *html_out, ui.notice], api_name="undo", **cheap
    )
    ui.clear.click(
        clear,
        None,
        [ui.chatbot, ui.chat_input, *html_out, ui.attach_group, ui.notice],
        api_name="clear",
        **cheap,
    )
    ui.chat_input.change(
        preview_attachments,
        [ui.chat_input],
        [ui.chat_input, *attach_out],
        inputs_kwargs=settings,
        api_name="preview_attachments",
        trigger_mode="always_last",
        **cheap,
    )
    ui.pdf_password.submit(
        preview_attachments,
        [ui.chat_input],
        [ui.chat_input, *attach_out],
        inputs_kwargs=settings,
        api_visibility="private",
        **cheap,
    )
    shown = {name: getattr(ui, name) for name in CARRIED_FIELDS}
    ui.timer.tick(
        tick, [ui.thinking], tick_out, inputs_kwargs=shown, api_visibility="private", **cheap
    )
    demo.load(tick, [ui.thinking], tick_out, inputs_kwargs=shown, api_visibility="private", **cheap)
    ui.status_api.click(model_status, None, [ui.model_status], api_name="model_status", **cheap)
    ui.language.change(
        set_language,
        [ui.language],
        [*ui.labelled(), ui.title, ui.model_status, ui.model_details, ui.chatbot, ui.sampling_note],
        api_name="set_language",
        **cheap,
    )
    ui.show_preview.click(
        lambda: (gr.HTML(visible=True), gr.Code(visible=False)),
        None,
        [ui.html_preview, ui.html_source],
        api_visibility="private",
        **cheap,
    )
    ui.show_source.click(
        lambda: (gr.HTML(visible=False), gr.Code(visible=True)),
        None,
        [ui.html_preview, ui.html_source],
        api_visibility="private",
        **cheap,
    )
    ui.export_button.click(export, [ui.export_format], [ui.export_file], api_name="export", **cheap)
    ui.import_button.upload(
        import_conversation,
        [ui.import_button],
        [ui.chatbot, *html_out, ui.notice],
        api_name="import_conversation",
        **cheap,
    )
    model_in = [ui.model_choice, ui.model_quant, ui.remote_url]
    gr.on(
        [ui.model_choice.change, ui.model_quant.change, ui.remote_url.change],
        estimate_model,
        model_in,
        [ui.model_estimate],
        api_visibility="private",
        **cheap,
    )
    ui.model_load.click(
        load_model,
        [*model_in, ui.remote_model],
        [ui.model_status, ui.timer, ui.notice],
        api_name="load_model",
        **cheap,
    )
    demo.unload(unload)

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
