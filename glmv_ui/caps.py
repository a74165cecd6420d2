"""What a checkpoint can do, read once from its config and its chat template.

:class:`Capabilities` is the one description the page, the notebook widget, the CLI, export and
the engines ask: which thinking control the checkpoint's template offers (an on/off switch, an
effort setting, or only a budget for a model that always thinks), whether answers carry
``<answer>`` tags, whether the template drops earlier reasoning itself, the context length and
whether a kept prompt cache can be cropped back to a shorter prefix. Nothing here compares model
names: the model type comes from ``config.model_type``, the rest from the config's shapes and the
template's text. Family defaults (:func:`for_family`) stand in only before a checkpoint is on
disk (memory figures, a remote server that says nothing about itself).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Literal

from .errors import ConfigError

__all__ = [
    "REFUSED",
    "SUPPORTED",
    "Capabilities",
    "ThinkingControl",
    "as_caps",
    "check_model_type",
    "for_family",
    "from_checkpoint",
    "from_folder",
]

ThinkingControl = Literal["switch", "budget", "effort"]
SamplingStyle = Literal["near_greedy", "vendor"]
PrefixReuse = Literal["crop", "extend"]


@dataclass(frozen=True)
class Capabilities:
    """What one checkpoint can do; see the module docstring."""

    family: str  # config.model_type, as declared
    label: str
    moe: bool
    thinking: ThinkingControl
    answer_tags: bool  # the model wraps its answer in <answer>…</answer>
    template_drops_old_thinking: bool
    plain_string_content: bool  # system/assistant content must be plain strings
    context_tokens: int
    sampling: SamplingStyle = "vendor"
    prefix_reuse: PrefixReuse = "crop"  # "extend": linear-attention state, no cropping
    efforts: tuple[str, ...] = ()  # the effort values the template knows (thinking == "effort")

    @property
    def can_disable_thinking(self) -> bool:
        """The template takes a switch (``enable_thinking``) or an effort that turns it off."""
        return self.thinking in ("switch", "effort")

    @property
    def default_effort(self) -> str | None:
        """The effort a request without one is sent with (the highest the template knows)."""
        return self.efforts[-1] if self.efforts else None

    @property
    def uses_budget(self) -> bool:
        """The model always thinks: a thinking budget is the only control."""
        return self.thinking == "budget"

    @property
    def budget_closing(self) -> str:
        """What closes the thought when the budget is spent."""
        return "</think><answer>" if self.answer_tags else "</think>\n"

    def template_kwargs(self, thinking: bool, effort: str | None = None) -> dict[str, Any]:
        """Chat-template arguments for this request's thinking setting."""
        if self.thinking == "switch":
            return {"enable_thinking": thinking}
        if self.thinking == "effort":
            chosen = effort if effort in self.efforts else None
            if not thinking:
                chosen = "none" if "none" in self.efforts else chosen
            return {"reasoning_effort": chosen or self.default_effort} if self.efforts else {}
        return {}

    def describe(self) -> str:
        """One line for the model panel and the CLI."""
        control = {
            "switch": "thinking can be switched off",
            "budget": "always thinks (a thinking budget closes the thought)",
            "effort": "reasoning effort " + "/".join(self.efforts),
        }[self.thinking]
        reuse = (
            "prompt cache reused only when the new prompt extends the kept one exactly "
            "(linear-attention layers cannot be cropped)"
            if self.prefix_reuse == "extend"
            else "prompt cache reused up to the shared prefix"
        )
        return f"{self.label}: {control}; {self.context_tokens:,} tokens of context; {reuse}"


# The model types the app loads, with what is true before a template is read.
_BASE: dict[str, Capabilities] = {
    c.family: c
    for c in (
        Capabilities(
            "glm4v", "GLM-4.1V (dense)", False, "budget", True, False, True, 65536, "near_greedy"
        ),
        Capabilities(
            "glm4v_moe", "GLM-4.5V / GLM-4.6V (MoE)", True, "switch", False, True, False, 65536
        ),
        Capabilities("glm46v", "GLM-4.6V", False, "switch", False, True, False, 131072),
        Capabilities(
            "glmga", "GLM-4.6V family (glmga)", False, "switch", False, True, False, 131072
        ),
        Capabilities(
            "glm5_next",
            "GLM-5.3-Flash",
            True,
            "effort",
            False,
            True,
            False,
            1048576,
            prefix_reuse="extend",
            efforts=("none", "low", "medium", "high"),
        ),
    )
}
SUPPORTED: tuple[str, ...] = tuple(_BASE)
REFUSED = {
    "glm_image": "GLM-Image is an image generator, not a chat model",
    # Published GLM-OCR checkpoints name GlmOcrProcessor and GlmOcrImageProcessor.
    "glm_ocr": "GLM-OCR needs GlmOcrProcessor, which the pinned transformers (5.24) lacks",
}
_EFFORT_ORDER = ("none", "minimal", "low", "medium", "high", "max")


def check_model_type(model_type: object) -> str:
    """``model_type`` if the app can load it, else one message naming what it can load."""
    if isinstance(model_type, str) and model_type in _BASE:
        return model_type
    why = REFUSED.get(str(model_type), "it is not a GLM-V chat model")
    raise ConfigError(
        f"model_type {model_type!r} cannot be loaded: {why}. The app loads "
        + ", ".join(f"{k} ({v.label})" for k, v in _BASE.items())
    )


def for_family(family: str) -> Capabilities:
    """The family's defaults, for when no checkpoint is at hand."""
    return _BASE[check_model_type(family)]


def as_caps(what: Capabilities | str) -> Capabilities:
    """``what`` itself, or a model type's defaults."""
    return what if isinstance(what, Capabilities) else for_family(what)


def _get(config: Any, name: str, default: Any = None) -> Any:
    if isinstance(config, dict):
        return config.get(name, default)
    return getattr(config, name, default)


def _text_config(config: Any) -> Any:
    text = _get(config, "text_config")
    return text if text is not None else config


def _is_moe(text: Any) -> bool:
    experts = _get(text, "n_routed_experts") or _get(text, "num_experts") or 0
    return bool(experts) or str(_get(text, "model_type", "")).endswith("moe_text")


_EFFORT_VALUES = re.compile(r"reasoning_effort\s*==\s*['\"](\w+)['\"]")


def from_checkpoint(config: Any, template: str | None) -> Capabilities:
    """The capabilities of a checkpoint with ``config`` (a transformers config or its dict) and
    chat ``template`` (None when it has none: the family's defaults stand)."""
    base = for_family(_get(config, "model_type"))
    text = _text_config(config)
    layer_types = _get(text, "layer_types") or ()
    changes: dict[str, Any] = {
        "moe": _is_moe(text),
        "context_tokens": int(_get(text, "max_position_embeddings") or base.context_tokens),
        "prefix_reuse": "extend" if "linear_attention" in layer_types else "crop",
    }
    if template:
        drops = "</think>" in template  # it splits earlier replies at the end of the thought
        if "reasoning_effort" in template:
            found = set(_EFFORT_VALUES.findall(template))
            efforts = tuple(e for e in _EFFORT_ORDER if e in found)
            changes.update(thinking="effort", efforts=efforts or base.efforts or ("high",))
        elif "enable_thinking" in template:
            changes.update(thinking="switch", efforts=())
        else:
            changes.update(thinking="budget", efforts=())
        hybrid = changes["thinking"] != "budget"
        changes.update(
            answer_tags=not hybrid,
            template_drops_old_thinking=drops,
            plain_string_content=not hybrid and not drops,
            sampling="vendor" if hybrid else "near_greedy",
        )
    caps = replace(base, **changes)
    if caps.family == "glm4v" and caps.thinking != "budget":
        caps = replace(caps, label="GLM-V hybrid (dense, glm4v)")
    if caps.family in ("glm46v", "glmga"):
        caps = replace(caps, label=caps.label + (" (MoE)" if caps.moe else " (dense)"))
    return caps


def read_template(folder: Path) -> str | None:
    """The chat template a checkpoint folder carries (its own file, or the tokenizer's)."""
    for name in ("chat_template.jinja", "chat_template.json", "tokenizer_config.json"):
        path = folder / name
        if not path.is_file():
            continue
        text = path.read_text(encoding="utf-8", errors="replace")
        if name.endswith(".jinja"):
            return text
        try:
            found = json.loads(text).get("chat_template")
        except (ValueError, AttributeError):
            continue
        if isinstance(found, list):  # named templates: the default one
            found = next((t.get("template") for t in found if t.get("name") == "default"), None)
        if isinstance(found, str):
            return found
    return None


def from_folder(folder: str | Path) -> Capabilities | None:
    """Capabilities of a checkpoint folder on disk, or None when it has no config.json."""
    path = Path(folder)
    config_file = path / "config.json"
    if not config_file.is_file():
        return None
    config = json.loads(config_file.read_text(encoding="utf-8"))
    return from_checkpoint(config, read_template(path))
