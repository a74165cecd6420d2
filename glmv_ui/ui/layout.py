"""Render the page: build every component and return them as one typed :class:`Ui`.

No event wiring here. Slider ranges come from :data:`glmv_ui.config.SAMPLING_RANGES` (the notebook
widget reads the same table); labels come from :mod:`glmv_ui.ui.i18n`, and each labelled
component is listed in ``Ui.labels`` with its string key so the language switch relabels the
page in one pass.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import ModuleType
from typing import TYPE_CHECKING, Any, TypeVar

from ..caps import Capabilities, as_caps
from ..config import SAMPLING_RANGES, AppConfig, Range, Sampling
from .i18n import LANGUAGES, t
from .layout_parts import Label, media_panel, model_panel
from .settings import SETTING_NAMES, model_ranges
from .views import LATEX_DELIMITERS

if TYPE_CHECKING:
    import gradio as gr
    from gradio.blocks import Block
    from gradio.components import Component, Slider

B = TypeVar("B", bound="Block")

__all__ = ["Label", "Ui", "chat_placeholder", "render", "title_markdown"]


@dataclass
class Ui:
    """Every component of the page that a handler reads or writes."""

    title: gr.Markdown
    language: gr.Radio
    model_status: gr.Markdown
    model_acc: gr.Accordion
    model_details: gr.Markdown
    switch_group: gr.Group
    model_choice: gr.Dropdown
    model_quant: gr.Radio
    remote_url: gr.Textbox
    remote_model: gr.Textbox
    model_estimate: gr.Markdown
    model_load: gr.Button
    timer: gr.Timer
    chatbot: gr.Chatbot
    attach_group: gr.Group
    attach_gallery: gr.Image
    attach_info: gr.Markdown
    pdf_password: gr.Textbox
    notice: gr.Markdown
    chat_input: gr.MultimodalTextbox
    stop: gr.Button
    regenerate: gr.Button
    undo: gr.Button
    status: gr.Markdown
    queued: gr.Markdown
    clear: gr.Button
    html_group: gr.Group
    show_preview: gr.Button
    show_source: gr.Button
    download_html: gr.DownloadButton
    html_preview: gr.HTML
    html_source: gr.Code
    sampling_note: gr.Markdown
    thinking: gr.Checkbox
    thinking_budget: gr.Slider
    effort: gr.Dropdown
    temperature: gr.Slider
    top_p: gr.Slider
    top_k: gr.Number
    seed: gr.Number
    repetition_penalty: gr.Slider
    max_new_tokens: gr.Slider
    system_prompt: gr.Textbox
    pdf_first: gr.Number
    pdf_last: gr.Number
    pdf_tokens: gr.Slider
    video_fps: gr.Number
    video_max_frames: gr.Number
    video_start: gr.Number
    video_end: gr.Number
    image_mp: gr.Slider
    export_format: gr.Radio
    export_button: gr.Button
    export_file: gr.File
    import_button: gr.UploadButton
    edit_index: gr.Number
    edit_text: gr.Textbox
    edit_api: gr.Button
    status_api: gr.Button
    labels: list[Label] = field(default_factory=list)

    def settings(self) -> dict[str, Block]:
        """The setting components by parameter name (Gradio's ``inputs_kwargs``), and the
        password of an encrypted PDF (a request value, never a setting that is kept)."""
        return {
            **{name: getattr(self, name) for name in SETTING_NAMES},
            "password": self.pdf_password,
        }

    def setting(self, name: str) -> Component:
        """The control of the setting ``name`` (one of :data:`SETTING_NAMES`)."""
        if name not in SETTING_NAMES:
            raise KeyError(name)
        control: Component = getattr(self, name)
        return control

    def labelled(self) -> list[Block]:
        """Each labelled component once, in the order first registered."""
        seen: dict[int, Block] = {}
        for label in self.labels:
            seen.setdefault(id(label.component), label.component)
        return list(seen.values())


def _slider(
    gr: ModuleType,
    name: str,
    value: float,
    label: str,
    ranges: Mapping[str, Range] | None = None,
    **kwargs: object,
) -> Slider:
    r: Range = (ranges or SAMPLING_RANGES)[name]
    slider: Slider = gr.Slider(
        r.minimum,
        r.maximum,
        value=value,
        step=r.step,
        label=label,
        elem_id=f"glmv-{name.replace('_', '-')}",
        **kwargs,
    )
    return slider


def render(
    config: AppConfig,
    family: Capabilities | str,
    sampling: Sampling,
    examples: list[dict[str, Any]],
    lang: str = "en",
) -> Ui:
    """Build the components inside the current ``gr.Blocks`` context; the thinking control
    follows what the model can do (``family``: its capabilities, or a model type's defaults)."""
    import gradio as gr

    from .settings import effort_choices, sampling_note

    caps = as_caps(family)

    labels: list[Label] = []
    c: dict[str, Any] = {}  # the Ui's fields by name, each of its declared component class

    def add(name: str, component: B, key: str | None = None, attr: str = "label") -> B:
        c[name] = component
        if key is not None:
            labels.append(Label(component, attr, key))
        return component

    with gr.Row(elem_id="glmv-header"):
        with gr.Column(scale=5, min_width=300):
            add("title", gr.Markdown(title_markdown(lang), elem_id="glmv-title"))
        with gr.Column(scale=1, min_width=160):
            add(
                "language",
                gr.Radio(
                    choices=[(name, code) for code, name in LANGUAGES.items()],
                    value=lang,
                    show_label=False,
                    container=False,
                    elem_id="glmv-lang",
                ),
            )
    model_panel(gr, add, labels, config, lang)
    add("timer", gr.Timer(0.5, active=True))
    with gr.Row(equal_height=False):
        with gr.Column(scale=7, min_width=420):
            add(
                "chatbot",
                gr.Chatbot(
                    label=t(lang, "chat"),
                    show_label=False,
                    editable="user",
                    # The conversation is the largest thing on the page at any window size.
                    height="max(360px, calc(100vh - 400px))",
                    latex_delimiters=LATEX_DELIMITERS,
                    buttons=["copy", "copy_all"],
                    elem_id="glmv-chat",
                    autoscroll=True,
                    group_consecutive_messages=True,
                    placeholder=chat_placeholder(lang),
                    feedback_options=None,
                ),
                "chat",
            )
            # The page in the last answer, right under it: above the input, not below the buttons.
            with add("html_group", gr.Group(visible=False, elem_id="glmv-html")):
                gr.Markdown(f"**{t(lang, 'html_page')}**")
                with gr.Row():
                    add(
                        "show_preview",
                        gr.Button(t(lang, "show_preview"), size="sm", elem_id="glmv-show-preview"),
                        "show_preview",
                        "value",
                    )
                    add(
                        "show_source",
                        gr.Button(t(lang, "show_source"), size="sm", elem_id="glmv-show-source"),
                        "show_source",
                        "value",
                    )
                    add(
                        "download_html",
                        gr.DownloadButton(
                            t(lang, "download_html"), size="sm", elem_id="glmv-download-html"
                        ),
                        "download_html",
                        "label",
                    )
                add("html_preview", gr.HTML("", elem_id="glmv-html-preview"))
                add(
                    "html_source",
                    gr.Code(
                        "", language="html", visible=False, elem_id="glmv-html-source", max_lines=30
                    ),
                )
            with add("attach_group", gr.Group(visible=False, elem_id="glmv-attach")):
                with gr.Row(equal_height=False):
                    add(
                        "attach_gallery",
                        gr.Image(
                            show_label=False,
                            height=110,
                            interactive=False,
                            buttons=[],
                            type="filepath",
                            elem_id="glmv-attach-preview",
                            container=False,
                            scale=2,
                            min_width=160,
                        ),
                    )
                    add(
                        "attach_info",
                        gr.Markdown("", elem_id="glmv-attach-info", scale=3, min_width=240),
                    )
                add(
                    "pdf_password",
                    gr.Textbox(
                        "",
                        type="password",
                        visible=False,
                        label=t(lang, "password"),
                        placeholder=t(lang, "password_placeholder"),
                        elem_id="glmv-password",
                        max_lines=1,
                    ),
                    "password",
                )
                labels.append(Label(c["pdf_password"], "placeholder", "password_placeholder"))
            add("notice", gr.Markdown("", visible=False, elem_id="glmv-notice"))
            add(
                "chat_input",
                gr.MultimodalTextbox(
                    file_count="multiple",
                    sources=["upload"],
                    placeholder=t(lang, "placeholder"),
                    show_label=False,
                    autofocus=True,
                    elem_id="glmv-input",
                    file_types=["image", "video", ".pdf", ".pptx", ".ppt", ".odp", ".gif"],
                ),
                "placeholder",
                attr="placeholder",
            )
            with gr.Row(elem_id="glmv-actions"):
                # Stop is lit only while a reply streams (see ChatHandlers.controls).
                for name in ("stop", "regenerate", "undo", "clear"):
                    add(
                        name,
                        gr.Button(
                            t(lang, name),
                            variant="secondary",
                            size="sm",
                            interactive=name != "stop",
                            elem_id=f"glmv-{name}",
                        ),
                        name,
                        "value",
                    )
                add("status", gr.Markdown("", visible=False, elem_id="glmv-status"))
            # Shown by the page's own style while a sent message waits for the queue (see
            # assets.css and wiring.py): the server cannot speak before its turn.
            add("queued", gr.Markdown(t(lang, "queued"), elem_id="glmv-queued"), "queued", "value")
            # Closed at first: open, the examples are taller than a fresh conversation.
            with gr.Accordion(t(lang, "examples"), open=False, elem_id="glmv-examples") as acc:
                labels.append(Label(acc, "label", "examples"))
                if examples:
                    gr.Examples(
                        examples=examples, inputs=[c["chat_input"]], label="", examples_per_page=6
                    )
        with gr.Column(scale=3, min_width=300, elem_id="glmv-side"):
            with gr.Accordion(t(lang, "settings"), open=True) as acc:
                labels.append(Label(acc, "label", "settings"))
                add(
                    "sampling_note",
                    gr.Markdown(sampling_note(caps, lang), elem_id="glmv-sampling-note"),
                )
                add(
                    "thinking",
                    gr.Checkbox(
                        value=sampling.thinking,
                        label=t(lang, "thinking_on"),
                        visible=caps.thinking == "switch",
                    ),
                    "thinking_on",
                )
                add(
                    "effort",
                    gr.Dropdown(
                        choices=effort_choices(caps, lang),
                        value=sampling.effort or caps.default_effort or "",
                        label=t(lang, "effort"),
                        visible=caps.thinking == "effort",
                        elem_id="glmv-effort",
                    ),
                    "effort",
                )
                add(
                    "thinking_budget",
                    _slider(
                        gr,
                        "thinking_budget",
                        sampling.thinking_budget or 0,
                        t(lang, "thinking_budget"),
                        visible=caps.uses_budget,
                    ),
                    "thinking_budget",
                )
                add(
                    "temperature",
                    _slider(gr, "temperature", sampling.temperature, t(lang, "temperature")),
                    "temperature",
                )
                add("top_p", _slider(gr, "top_p", sampling.top_p, t(lang, "top_p")), "top_p")
                add(
                    "max_new_tokens",
                    _slider(
                        gr,
                        "max_new_tokens",
                        sampling.max_new_tokens,
                        t(lang, "max_new_tokens"),
                        model_ranges(config.model),
                    ),
                    "max_new_tokens",
                )
                add(
                    "system_prompt",
                    gr.Textbox(
                        "",
                        lines=2,
                        label=t(lang, "system_prompt"),
                        placeholder=t(lang, "system_placeholder"),
                    ),
                    "system_prompt",
                )
                labels.append(Label(c["system_prompt"], "placeholder", "system_placeholder"))
                # Rarely changed: out of the way until asked for.
                with gr.Accordion(
                    t(lang, "more_settings"), open=False, elem_id="glmv-more-settings"
                ) as more:
                    labels.append(Label(more, "label", "more_settings"))
                    with gr.Row():
                        add(
                            "top_k",
                            gr.Number(
                                value=sampling.top_k,
                                precision=0,
                                minimum=SAMPLING_RANGES["top_k"].minimum,
                                maximum=SAMPLING_RANGES["top_k"].maximum,
                                label=t(lang, "top_k"),
                            ),
                            "top_k",
                        )
                        add(
                            "seed",
                            gr.Number(
                                value=-1 if sampling.seed is None else sampling.seed,
                                precision=0,
                                label=t(lang, "seed"),
                            ),
                            "seed",
                        )
                    add(
                        "repetition_penalty",
                        _slider(
                            gr,
                            "repetition_penalty",
                            sampling.repetition_penalty,
                            t(lang, "repetition_penalty"),
                        ),
                        "repetition_penalty",
                    )
            media_panel(gr, add, labels, config, lang)
            with gr.Accordion(t(lang, "export"), open=False) as acc:
                labels.append(Label(acc, "label", "export"))
                add(
                    "export_format",
                    gr.Radio(
                        choices=[
                            ("JSON", "json"),
                            ("Markdown", "markdown"),
                            ("LLaMA-Factory", "llamafactory"),
                        ],
                        value="json",
                        label=t(lang, "export_format"),
                    ),
                    "export_format",
                )
                add(
                    "export_button",
                    gr.Button(t(lang, "export_button"), size="sm"),
                    "export_button",
                    "value",
                )
                add(
                    "export_file",
                    gr.File(label=t(lang, "export_file"), interactive=False),
                    "export_file",
                )
                add(
                    "import_button",
                    gr.UploadButton(t(lang, "import_button"), file_types=[".json"], size="sm"),
                    "import_button",
                    "label",
                )
    # API-only inputs: the Chatbot's edit event carries its index in the event data, which an
    # API client cannot send, so the "edit" endpoint takes a turn index and text instead.
    add("edit_index", gr.Number(0, precision=0, visible=False))
    add("edit_text", gr.Textbox("", visible=False))
    add("edit_api", gr.Button(visible=False))
    add("status_api", gr.Button(visible=False))
    return Ui(**c, labels=labels)


def chat_placeholder(lang: str) -> str:
    """What an empty conversation shows: how to start (the title is the page's header, once)."""
    return t(lang, "start_hint")


def title_markdown(lang: str) -> str:
    return f"## {t(lang, 'title')}\n<span class='glmv-sub'>{t(lang, 'subtitle')}</span>"
