"""Render the page: build every component and return handles to them. No event wiring here.

Labels come from :mod:`glmv_ui.ui.i18n`; each labelled component is listed in ``Ui.labels`` with
its string key, so the language switch can relabel the page in one pass.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ..config import AppConfig, MediaLimits, Sampling
from .i18n import LANGUAGES, t
from .views import LATEX_DELIMITERS

__all__ = ["Ui", "render"]


@dataclass
class Ui:
    """Handles to the components; ``labels`` maps components to (attribute, string key)."""

    c: dict[str, Any] = field(default_factory=dict)
    labels: list[tuple[Any, str, str]] = field(default_factory=list)

    def __getattr__(self, name: str) -> Any:
        try:
            return self.__dict__["c"][name]
        except KeyError:
            raise AttributeError(name) from None

    def add(self, name: str, component: Any, key: str | None = None,
            attr: str = "label") -> Any:
        self.c[name] = component
        if key is not None:
            self.labels.append((component, attr, key))
        return component

    def labelled(self) -> list[Any]:
        """Each labelled component once, in the order first registered."""
        seen: dict[int, Any] = {}
        for component, _, _ in self.labels:
            seen.setdefault(id(component), component)
        return list(seen.values())

    def settings(self) -> list[Any]:
        return [self.c[n] for n in SETTING_NAMES]


SETTING_NAMES = (
    "thinking", "thinking_budget", "temperature", "top_p", "top_k", "repetition_penalty",
    "max_new_tokens", "seed", "system_prompt", "pdf_first", "pdf_last", "pdf_tokens",
    "video_fps", "video_max_frames", "video_start", "video_end", "image_mp",
)


def render(config: AppConfig, family: str, sampling: Sampling, examples: list[Any],
           lang: str = "en") -> Ui:
    """Build the components inside the current ``gr.Blocks`` context."""
    import gradio as gr

    ui = Ui()
    limits: MediaLimits = config.media
    with gr.Row(elem_id="glmv-header"):
        with gr.Column(scale=5, min_width=300):
            ui.add("title", gr.Markdown(_title(lang), elem_id="glmv-title"))
        with gr.Column(scale=1, min_width=160):
            ui.add("language", gr.Radio(
                choices=[(name, code) for code, name in LANGUAGES.items()], value=lang,
                show_label=False, container=False, elem_id="glmv-lang"))
    with gr.Group(elem_id="glmv-model"):
        ui.add("model_status", gr.Markdown("", elem_id="glmv-model-status"))
        with ui.add("model_acc", gr.Accordion(t(lang, "model_details"), open=False,
                                                 visible=False),
                    "model_details"):
            ui.add("model_details", gr.Markdown(""))
    ui.add("timer", gr.Timer(0.5, active=True))
    with gr.Row(equal_height=False):
        with gr.Column(scale=7, min_width=420):
            ui.add("chatbot", gr.Chatbot(
                label=t(lang, "chat"), show_label=False, height=620, editable="user",
                latex_delimiters=LATEX_DELIMITERS, buttons=["copy", "copy_all"],
                elem_id="glmv-chat", autoscroll=True, group_consecutive_messages=True,
                placeholder=chat_placeholder(lang),
                feedback_options=None), "chat")
            with ui.add("attach_group", gr.Group(visible=False, elem_id="glmv-attach")):
                ui.add("attach_gallery", gr.Image(
                    show_label=False, height=170, interactive=False, buttons=[],
                    type="filepath", elem_id="glmv-attach-preview", container=False))
                ui.add("attach_info", gr.Markdown("", elem_id="glmv-attach-info"))
            ui.add("chat_input", gr.MultimodalTextbox(
                file_count="multiple", sources=["upload"], placeholder=t(lang, "placeholder"),
                show_label=False, autofocus=True, elem_id="glmv-input",
                file_types=["image", "video", ".pdf", ".pptx", ".ppt", ".odp", ".gif"]),
                "placeholder", attr="placeholder")
            with gr.Row(elem_id="glmv-actions"):
                ui.add("stop", gr.Button(t(lang, "stop"), variant="stop", size="sm",
                                         elem_id="glmv-stop"), "stop", "value")
                ui.add("regenerate", gr.Button(t(lang, "regenerate"), size="sm",
                                               elem_id="glmv-regenerate"), "regenerate", "value")
                ui.add("undo", gr.Button(t(lang, "undo"), size="sm", elem_id="glmv-undo"),
                       "undo", "value")
                ui.add("clear", gr.Button(t(lang, "clear"), size="sm", elem_id="glmv-clear"),
                       "clear", "value")
            with ui.add("html_group", gr.Group(visible=False, elem_id="glmv-html")):
                ui.add("html_title", gr.Markdown(f"**{t(lang, 'html_page')}**"))
                with gr.Row():
                    ui.add("show_preview", gr.Button(t(lang, "show_preview"), size="sm",
                                                     elem_id="glmv-show-preview"),
                           "show_preview", "value")
                    ui.add("show_source", gr.Button(t(lang, "show_source"), size="sm",
                                                    elem_id="glmv-show-source"),
                           "show_source", "value")
                    ui.add("download_html", gr.DownloadButton(
                        t(lang, "download_html"), size="sm", elem_id="glmv-download-html"),
                        "download_html", "label")
                ui.add("html_preview", gr.HTML("", elem_id="glmv-html-preview"))
                ui.add("html_source", gr.Code("", language="html", visible=False,
                                              elem_id="glmv-html-source", max_lines=30))
            with ui.add("examples_acc", gr.Accordion(t(lang, "examples"), open=True,
                                                     elem_id="glmv-examples"), "examples"):
                if examples:
                    ui.add("examples", gr.Examples(
                        examples=examples, inputs=[ui.chat_input], label=None,
                        examples_per_page=6))
        with gr.Column(scale=3, min_width=300, elem_id="glmv-side"):
            with ui.add("settings_acc", gr.Accordion(t(lang, "settings"), open=True),
                        "settings"):
                ui.add("thinking", gr.Checkbox(value=sampling.thinking,
                                               label=t(lang, "thinking_on"),
                                               visible=family == "glm4v_moe"), "thinking_on")
                ui.add("thinking_budget", gr.Slider(
                    0, 16384, value=sampling.thinking_budget or 0, step=256,
                    label=t(lang, "thinking_budget"), visible=family == "glm4v"),
                    "thinking_budget")
                ui.add("temperature", gr.Slider(0.0, 2.0, value=sampling.temperature, step=0.05,
                                                label=t(lang, "temperature")), "temperature")
                ui.add("top_p", gr.Slider(0.00001, 1.0, value=sampling.top_p, step=0.01,
                                          label=t(lang, "top_p")), "top_p")
                with gr.Row():
                    ui.add("top_k", gr.Number(value=sampling.top_k, precision=0, minimum=0,
                                              label=t(lang, "top_k")), "top_k")
                    ui.add("seed", gr.Number(value=-1 if sampling.seed is None else sampling.seed,
                                             precision=0, label=t(lang, "seed")), "seed")
                ui.add("repetition_penalty", gr.Slider(
                    0.8, 2.0, value=sampling.repetition_penalty, step=0.01,
                    label=t(lang, "repetition_penalty")), "repetition_penalty")
                ui.add("max_new_tokens", gr.Slider(
                    16, 32768, value=sampling.max_new_tokens, step=16,
                    label=t(lang, "max_new_tokens")), "max_new_tokens")
                ui.add("system_prompt", gr.Textbox(
                    "", lines=2, label=t(lang, "system_prompt"),
                    placeholder=t(lang, "system_placeholder")), "system_prompt")
                ui.labels.append((ui.system_prompt, "placeholder", "system_placeholder"))
            with ui.add("media_acc", gr.Accordion(t(lang, "media_settings"), open=False),
                        "media_settings"):
                with gr.Row():
                    ui.add("pdf_first", gr.Number(0, precision=0, minimum=0,
                                                  label=t(lang, "pdf_first")), "pdf_first")
                    ui.add("pdf_last", gr.Number(0, precision=0, minimum=0,
                                                 label=t(lang, "pdf_last")), "pdf_last")
                ui.add("pdf_tokens", gr.Slider(256, 6000, value=limits.pdf_tokens_per_page,
                                               step=64, label=t(lang, "pdf_tokens")),
                       "pdf_tokens")
                with gr.Row():
                    ui.add("video_fps", gr.Number(limits.video_fps, minimum=0.1, maximum=30,
                                                  label=t(lang, "video_fps")), "video_fps")
                    ui.add("video_max_frames", gr.Number(
                        limits.video_max_frames, precision=0, minimum=2,
                        label=t(lang, "video_max_frames")), "video_max_frames")
                with gr.Row():
                    ui.add("video_start", gr.Number(0, minimum=0, label=t(lang, "video_start")),
                           "video_start")
                    ui.add("video_end", gr.Number(0, minimum=0, label=t(lang, "video_end")),
                           "video_end")
                ui.add("image_mp", gr.Slider(0.1, 12.0, value=round(
                    limits.image_max_pixels / 1e6, 2), step=0.1, label=t(lang, "image_mp")),
                    "image_mp")
            with ui.add("export_acc", gr.Accordion(t(lang, "export"), open=False), "export"):
                ui.add("export_format", gr.Radio(
                    choices=[("JSON", "json"), ("Markdown", "markdown"),
                             ("LLaMA-Factory", "llamafactory")], value="json",
                    label=t(lang, "export_format")), "export_format")
                ui.add("export_button", gr.Button(t(lang, "export_button"), size="sm"),
                       "export_button", "value")
                ui.add("export_file", gr.File(label=t(lang, "export_file"), interactive=False),
                       "export_file")
                ui.add("import_button", gr.UploadButton(
                    t(lang, "import_button"), file_types=[".json"], size="sm"),
                    "import_button", "label")
    # API-only inputs: the Chatbot's edit event carries its index in the event data, which an
    # API client cannot send, so the "edit" endpoint takes a turn index and text instead.
    ui.add("edit_index", gr.Number(0, precision=0, visible=False))
    ui.add("edit_text", gr.Textbox("", visible=False))
    ui.add("edit_api", gr.Button(visible=False))
    ui.add("status_api", gr.Button(visible=False))
    return ui


def chat_placeholder(lang: str) -> str:
    return f"### {t(lang, 'title')}\n{t(lang, 'subtitle')}"


def _title(lang: str) -> str:
    return f"## {t(lang, 'title')}\n<span class='glmv-sub'>{t(lang, 'subtitle')}</span>"
