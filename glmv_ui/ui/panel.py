"""The page's other handlers: the model panel while it loads, the language switch, export and
import. Each returns ``{component: value}`` for the components it changes.
"""

from __future__ import annotations

from typing import Any

import gradio as gr

from ..config import AppConfig, default_sampling
from ..errors import GlmvError
from ..models import FAMILIES
from .chat import ChatHandlers
from .i18n import t
from .layout import Ui, chat_placeholder, title_markdown
from .model import ModelManager
from .state import SessionRegistry

__all__ = ["PanelHandlers"]

Outputs = dict[Any, Any]
SAMPLING_FIELDS = ("temperature", "top_p", "top_k", "repetition_penalty", "max_new_tokens")


class PanelHandlers:
    def __init__(self, config: AppConfig, manager: ModelManager, registry: SessionRegistry,
                 ui: Ui, chat: ChatHandlers) -> None:
        self.config = config
        self.manager = manager
        self.registry = registry
        self.ui = ui
        self.chat = chat

    def tick(self, request: Any) -> Outputs:
        """Model panel refresh while loading; on the first tick after it settles, the settings
        switch to the loaded family and the timer stops."""
        ui = self.ui
        cs = self.registry.get(request)
        self.manager.start()
        out: Outputs = {ui.model_status: self.manager.status_line(cs.lang)}
        if self.manager.state in ("idle", "loading"):
            return out
        family = self.manager.family
        details = self.manager.details(cs.lang)
        out.update({ui.model_details: details, ui.timer: gr.Timer(active=False),
                    ui.thinking: gr.Checkbox(visible=family == "glm4v_moe"),
                    ui.thinking_budget: gr.Slider(visible=family == "glm4v"),
                    ui.model_acc: gr.Accordion(visible=bool(details))})
        # The page was drawn for a guessed family; when the loaded model is the other one, its
        # sampling defaults replace the guessed ones.
        if family != self.manager.guessed_family and family in FAMILIES:
            defaults = default_sampling(family)
            for name in SAMPLING_FIELDS:
                out[getattr(ui, name)] = gr.update(value=getattr(defaults, name))
        return out

    def model_status(self, request: Any) -> str:
        """The model panel text (loading progress, the loaded model, or the error)."""
        return self.manager.status_line(self.registry.get(request).lang)

    def set_language(self, request: Any, lang: str) -> Outputs:
        ui = self.ui
        cs = self.registry.get(request)
        cs.relabel(lang if lang in ("en", "zh") else "en")
        changes: dict[int, dict[str, str]] = {}
        for label in ui.labels:
            changes.setdefault(id(label.component), {})[label.attr] = t(cs.lang, label.key)
        update: Any = gr.update
        out: Outputs = {c: update(**changes[id(c)]) for c in ui.labelled()}
        out.update({ui.title: title_markdown(cs.lang),
                    ui.model_status: self.manager.status_line(cs.lang),
                    ui.model_details: self.manager.details(cs.lang),
                    ui.chatbot: gr.Chatbot(value=cs.messages(),  # type: ignore[arg-type]
                                           placeholder=chat_placeholder(cs.lang))})
        return out

    def export(self, request: Any, fmt: str) -> str:
        """Write the conversation in ``fmt`` (json, markdown, llamafactory); return the file."""
        from .. import export

        cs = self.registry.get(request)
        if not cs.turns:
            raise gr.Error(t(cs.lang, "nothing_to_export"))
        family = cs.session.engine.family if cs.session is not None else self.manager.family
        system = cs.session.system_prompt if cs.session is not None else ""
        cs.dir.mkdir(parents=True, exist_ok=True)
        return str(export.write_export(cs.turns, fmt, cs.dir, model=self.manager.name,
                                       family=family, system_prompt=system))

    def import_conversation(self, request: Any, file: Any) -> Outputs:
        """Load a conversation exported as JSON into this session."""
        from .. import export

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
        gr.Info(t(cs.lang, "imported", n=len(convo.turns)))
        return {self.ui.chatbot: cs.messages(), **self.chat.html_outputs(cs)}
