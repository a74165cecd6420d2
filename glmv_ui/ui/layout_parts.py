"""Parts of the page built apart from :func:`glmv_ui.ui.layout.render`: the model panel, the
media settings, and the records both use to register their components."""

from __future__ import annotations

from dataclasses import dataclass
from types import ModuleType
from typing import TYPE_CHECKING, Protocol, TypeVar

from ..config import AppConfig
from .i18n import t

if TYPE_CHECKING:
    from gradio.blocks import Block

B = TypeVar("B", bound="Block")

__all__ = ["Add", "Label", "media_panel", "model_choices", "model_panel"]


@dataclass(frozen=True)
class Label:
    """A component's translatable attribute: ``attr`` is set to ``t(lang, key)``."""

    component: Block
    attr: str
    key: str


class Add(Protocol):
    """Registers a component under its :class:`Ui` name (and its label key) and returns it."""

    def __call__(self, name: str, component: B, key: str | None = None, attr: str = ...) -> B: ...


def model_panel(
    gr: ModuleType, add: Add, labels: list[Label], config: AppConfig, lang: str
) -> None:
    """What is loaded (its memory, what the engine keeps) and, when the operator allows it,
    the controls to load another model for everyone."""
    allowed = config.switching_allowed()
    with gr.Group(elem_id="glmv-model"):
        add("model_status", gr.Markdown("", elem_id="glmv-model-status"))
        with (
            add(
                "model_acc",
                gr.Accordion(
                    t(lang, "model_details"), open=False, visible=allowed, elem_id="glmv-model-acc"
                ),
                "model_details",
            ),
            gr.Row(equal_height=False),
        ):
            with gr.Column(scale=1, min_width=280):
                add("model_details", gr.Markdown("", elem_id="glmv-model-details"))
            with (
                gr.Column(scale=1, min_width=280),
                add("switch_group", gr.Group(visible=allowed, elem_id="glmv-switch")),
            ):
                choice = add(
                    "model_choice",
                    gr.Dropdown(
                        choices=model_choices(),
                        value=config.model,
                        allow_custom_value=True,
                        label=t(lang, "model_choice"),
                        info=t(lang, "model_choice_info"),
                        elem_id="glmv-model-choice",
                    ),
                    "model_choice",
                )
                labels.append(Label(choice, "info", "model_choice_info"))
                add(
                    "model_quant",
                    gr.Radio(
                        choices=[("bf16", "none"), ("8-bit", "8bit"), ("4-bit", "4bit")],
                        value=config.load.quantization or "none",
                        label=t(lang, "model_quant"),
                        elem_id="glmv-model-quant",
                    ),
                    "model_quant",
                )
                with gr.Row():
                    add(
                        "remote_url",
                        gr.Textbox(
                            "",
                            label=t(lang, "remote_url"),
                            placeholder="http://gpu-box:8000/v1",
                            elem_id="glmv-remote-url",
                            max_lines=1,
                        ),
                        "remote_url",
                    )
                    add(
                        "remote_model",
                        gr.Textbox(
                            "",
                            label=t(lang, "remote_model"),
                            placeholder="glm-4.5v",
                            elem_id="glmv-remote-model",
                            max_lines=1,
                        ),
                        "remote_model",
                    )
                add("model_estimate", gr.Markdown("", elem_id="glmv-model-estimate"))
                with gr.Row():
                    add(
                        "model_load",
                        gr.Button(
                            t(lang, "model_load"),
                            variant="primary",
                            size="md",
                            scale=0,
                            min_width=200,
                            elem_id="glmv-model-load",
                        ),
                        "model_load",
                        "value",
                    )


def model_choices() -> list[str]:
    """The checkpoints offered in the model panel (a local folder can be typed in)."""
    from ..models import KNOWN_MODELS
    from ..tiny import TINY_MODELS

    return [*KNOWN_MODELS, *TINY_MODELS]


def media_panel(
    gr: ModuleType, add: Add, labels: list[Label], config: AppConfig, lang: str
) -> None:
    """How uploads are read: PDF pages and their size, video frames and range, image size."""
    limits = config.media
    with gr.Accordion(t(lang, "media_settings"), open=False) as acc:
        labels.append(Label(acc, "label", "media_settings"))
        with gr.Row():
            add(
                "pdf_first",
                gr.Number(0, precision=0, minimum=0, label=t(lang, "pdf_first")),
                "pdf_first",
            )
            add(
                "pdf_last",
                gr.Number(0, precision=0, minimum=0, label=t(lang, "pdf_last")),
                "pdf_last",
            )
        add(
            "pdf_tokens",
            gr.Slider(
                256,
                6000,
                value=limits.pdf_tokens_per_page,
                step=64,
                label=t(lang, "pdf_tokens"),
            ),
            "pdf_tokens",
        )
        with gr.Row():
            add(
                "video_fps",
                gr.Number(limits.video_fps, minimum=0.1, maximum=30, label=t(lang, "video_fps")),
                "video_fps",
            )
            add(
                "video_max_frames",
                gr.Number(
                    limits.video_max_frames,
                    precision=0,
                    minimum=2,
                    label=t(lang, "video_max_frames"),
                ),
                "video_max_frames",
            )
        with gr.Row():
            add(
                "video_start",
                gr.Number(0, minimum=0, label=t(lang, "video_start")),
                "video_start",
            )
            add(
                "video_end",
                gr.Number(0, minimum=0, label=t(lang, "video_end")),
                "video_end",
            )
        add(
            "image_mp",
            gr.Slider(
                0.1,
                12.0,
                value=round(limits.image_max_pixels / 1e6, 2),
                step=0.1,
                label=t(lang, "image_mp"),
            ),
            "image_mp",
        )
