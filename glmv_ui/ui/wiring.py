"""Connect the page's events to the handlers; the one place that knows both.

Settings reach every generating endpoint as named parameters (Gradio's ``inputs_kwargs``), so an
API or MCP caller sees ``temperature``, ``max_new_tokens``… rather than ``param_3``. Generation
shares one concurrency group (the queue's limit); Stop and the cheap handlers never wait behind a
generation.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

# Imported only when the app is built; gradio reads these annotations to inject the request.
import gradio as gr

from .chat import ChatHandlers
from .layout import Ui
from .panel import PanelHandlers
from .settings import Settings
from .state import SessionRegistry

__all__ = ["wire"]

Outputs = dict[Any, Any]


def wire(demo: Any, ui: Ui, talk: ChatHandlers, panel: PanelHandlers,
         registry: SessionRegistry) -> None:
    settings = ui.settings()
    html_out = [ui.html_group, ui.html_preview, ui.html_source, ui.download_html]
    attach_out = [ui.attach_group, ui.attach_gallery, ui.attach_info, ui.pdf_password,
                  ui.notice]
    gen_out = [ui.chatbot, ui.chat_input, *html_out, *attach_out]
    gen: dict[str, Any] = {"concurrency_id": "generate", "concurrency_limit": "default",
                           "show_progress": "hidden"}
    cheap: dict[str, Any] = {"concurrency_limit": None, "show_progress": "hidden"}
    tick_out = [ui.model_status, ui.model_details, ui.timer, ui.thinking, ui.thinking_budget,
                ui.model_acc, ui.sampling_note, ui.notice, ui.temperature, ui.top_p, ui.top_k,
                ui.repetition_penalty, ui.max_new_tokens]

    def chat(request: gr.Request, message: dict[str, Any] | None, password: str = "",
             **values: Any) -> Iterator[Outputs]:
        """Send a message ({"text", "files"}) and stream the conversation."""
        yield from talk.chat(request, message, Settings.from_inputs(**values), password)

    def regenerate(request: gr.Request, **values: Any) -> Iterator[Outputs]:
        """Answer the last message again."""
        yield from talk.regenerate(request, Settings.from_inputs(**values))

    def edit(request: gr.Request, index: float, text: str, **values: Any) -> Iterator[Outputs]:
        """Replace the text of turn `index` (0-based), drop later turns and answer again."""
        yield from talk.edit(request, int(index or 0), text, Settings.from_inputs(**values))

    def on_edit(request: gr.Request, data: gr.EditData, **values: Any) -> Iterator[Outputs]:
        yield from talk.edit_event(request, data, Settings.from_inputs(**values))

    def stop(request: gr.Request) -> None:
        """Stop the reply being generated in this session; the partial answer is kept."""
        talk.stop(request)

    def undo(request: gr.Request) -> Outputs:
        """Remove the last turn."""
        return talk.undo(request)

    def clear(request: gr.Request) -> Outputs:
        """Start a new conversation."""
        return talk.clear(request)

    def preview_attachments(request: gr.Request, message: dict[str, Any] | None,
                            password: str = "", **values: Any) -> Outputs:
        """What each attached file gives and costs, and which were refused, before sending."""
        return talk.preview(request, message, Settings.from_inputs(**values), password)

    def tick(request: gr.Request) -> Outputs:
        return panel.tick(request)

    def model_status(request: gr.Request) -> str:
        """The model panel: loading progress, the loaded model, or the load error."""
        return panel.model_status(request)

    def set_language(request: gr.Request, lang: str) -> Outputs:
        return panel.set_language(request, lang)

    def export(request: gr.Request, fmt: str) -> str:
        """Export the conversation: json, markdown or llamafactory."""
        return panel.export(request, fmt)

    def import_conversation(request: gr.Request, file: Any) -> Outputs:
        """Load a conversation exported as JSON."""
        return panel.import_conversation(request, file)

    def estimate_model(request: gr.Request, choice: str, quant: str, url: str) -> str:
        """What loading a model would take (memory), before loading it."""
        return panel.estimate(request, choice, quant, url)

    def load_model(request: gr.Request, choice: str, quant: str, url: str,
                   served: str) -> Outputs:
        """Replace the model for everyone (when the operator allows switching)."""
        return panel.load_model(request, choice, quant, url, served)

    def unload(request: gr.Request) -> None:
        registry.drop(request)

    ui.chat_input.submit(chat, [ui.chat_input], gen_out, inputs_kwargs=settings,
                         api_name="chat", **gen)
    ui.regenerate.click(regenerate, None, gen_out, inputs_kwargs=settings,
                        api_name="regenerate", **gen)
    ui.edit_api.click(edit, [ui.edit_index, ui.edit_text], gen_out, inputs_kwargs=settings,
                      api_name="edit", **gen)
    ui.chatbot.edit(on_edit, None, gen_out, inputs_kwargs=ui.settings(),
                    api_visibility="private", **gen)
    ui.stop.click(stop, None, None, api_name="stop", **cheap)
    ui.undo.click(undo, None, [ui.chatbot, ui.chat_input, *html_out], api_name="undo", **cheap)
    ui.clear.click(clear, None, [ui.chatbot, ui.chat_input, *html_out, ui.attach_group,
                                 ui.notice], api_name="clear", **cheap)
    ui.chat_input.change(preview_attachments, [ui.chat_input], [ui.chat_input, *attach_out],
                         inputs_kwargs=settings, api_name="preview_attachments",
                         trigger_mode="always_last", **cheap)
    ui.pdf_password.submit(preview_attachments, [ui.chat_input], [ui.chat_input, *attach_out],
                           inputs_kwargs=settings, api_visibility="private", **cheap)
    ui.timer.tick(tick, None, tick_out, api_visibility="private", **cheap)
    demo.load(tick, None, tick_out, api_visibility="private", **cheap)
    ui.status_api.click(model_status, None, [ui.model_status], api_name="model_status",
                        **cheap)
    ui.language.change(set_language, [ui.language],
                       [*ui.labelled(), ui.title, ui.model_status, ui.model_details, ui.chatbot],
                       api_name="set_language", **cheap)
    ui.show_preview.click(lambda: (gr.HTML(visible=True), gr.Code(visible=False)), None,
                          [ui.html_preview, ui.html_source], api_visibility="private", **cheap)
    ui.show_source.click(lambda: (gr.HTML(visible=False), gr.Code(visible=True)), None,
                         [ui.html_preview, ui.html_source], api_visibility="private", **cheap)
    ui.export_button.click(export, [ui.export_format], [ui.export_file], api_name="export",
                           **cheap)
    ui.import_button.upload(import_conversation, [ui.import_button], [ui.chatbot, *html_out],
                            api_name="import_conversation", **cheap)
    model_in = [ui.model_choice, ui.model_quant, ui.remote_url]
    gr.on([ui.model_choice.change, ui.model_quant.change, ui.remote_url.change], estimate_model,
          model_in, [ui.model_estimate], api_visibility="private", **cheap)
    ui.model_load.click(load_model, [*model_in, ui.remote_model],
                        [ui.model_status, ui.timer, ui.notice], api_name="load_model", **cheap)
    demo.unload(unload)
