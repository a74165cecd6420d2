"""The page's other handlers: the model panel while it loads, the language switch, export and
import. Each returns ``{component: value}`` for the components it changes.
"""

from __future__ import annotations

import gradio as gr

from ..config import AppConfig, default_sampling
from ..errors import ConversationError, GlmvError
from ..reasons import reason
from .chat import ChatHandlers
from .i18n import t
from .layout import Ui, chat_placeholder, title_markdown
from .model import ModelManager
from .reasons_zh import reason_text
from .settings import (
    SettingsCarry,
    carry_settings,
    effort_choices,
    model_ranges,
    sampling_note,
)
from .state import SessionRegistry
from .updates import Updates

__all__ = ["PanelHandlers"]

INTEGER_FIELDS = ("top_k", "max_new_tokens", "thinking_budget")


def carry_notes(carry: SettingsCarry, model: str, lang: str, switched: bool) -> list[str]:
    """What the page says about the settings after a switch: each clamped value, with why."""
    notes = [
        t(
            lang,
            "setting_clamped",
            setting=t(lang, c.name),
            old=f"{c.was:g}",
            model=model,
            limit=f"{c.limit:g}",
            new=f"{c.value:g}",
        )
        for c in carry.clamped()
    ]
    if carry.thinking_forced:
        notes.append(t(lang, "thinking_always"))
    if switched and carry.defaulted():
        notes.append(t(lang, "setting_defaults", model=model))
    return notes


class PanelHandlers:
    def __init__(
        self,
        config: AppConfig,
        manager: ModelManager,
        registry: SessionRegistry,
        ui: Ui,
        chat: ChatHandlers,
    ) -> None:
        self.config = config
        self.manager = manager
        self.registry = registry
        self.ui = ui
        self.chat = chat

    def tick(
        self,
        request: gr.Request,
        shown: dict[str, float | None] | None = None,
        thinking: bool = True,
    ) -> Updates:
        """The model panel while a model loads; once it is ready, the settings follow the
        model (``shown``: the values on the page; ones the user changed are kept, clamped to
        what the new model accepts), and a tab whose model was switched is told so once."""
        ui = self.ui
        cs = self.registry.get(request)
        self.manager.start()
        out = Updates().set(ui.model_status, self.manager.status_line(cs.lang))
        if self.manager.state in ("idle", "loading"):
            return out.set(ui.timer, gr.Timer(0.5, active=True))
        allowed = self.config.switching_allowed()
        caps, name = self.manager.caps, self.manager.name
        details = self.manager.details(cs.lang)
        # With switching allowed the page checks every 2 s for a switch; else once a minute,
        # which keeps an open tab's session alive (idle sessions are dropped).
        out.update(
            Updates(
                {
                    ui.model_details: details,
                    ui.timer: gr.Timer(2.0 if allowed else 60.0, active=True),
                    ui.thinking: gr.Checkbox(visible=caps.thinking == "switch"),
                    ui.thinking_budget: gr.Slider(visible=caps.uses_budget),
                    ui.effort: gr.Dropdown(
                        visible=caps.thinking == "effort", choices=effort_choices(caps, cs.lang)
                    ),
                    ui.model_acc: gr.Accordion(visible=bool(details) or allowed),
                    ui.sampling_note: sampling_note(caps, cs.lang, name),
                }
            )
        )
        old = (
            cs.shown_caps or self.manager.guessed_caps,
            cs.shown_model or self.manager.guessed_name,
        )
        switched = cs.seen_generation != self.manager.generation and self.manager.state == "ready"
        notes: list[str] = []
        if (caps, name) != old:
            # The page was drawn for another model: settings the user never touched take this
            # model's defaults, the others stay within what it accepts.
            ranges = model_ranges(name)
            carry = carry_settings(
                shown or {},
                default_sampling(old[0], old[1]),
                default_sampling(caps, name),
                ranges,
                thinking=thinking,
                family=caps,
            )
            for c in carry.fields:
                value = int(c.value) if c.name in INTEGER_FIELDS else c.value
                if c.name == "top_k":
                    out.set(ui.top_k, gr.update(value=value))
                else:
                    out.set(
                        ui.setting(c.name), gr.update(value=value, maximum=ranges[c.name].maximum)
                    )
            # A tab opened after the switch was never shown the old model: nothing to explain
            # about defaults (a clamped value it sent is still said).
            notes = carry_notes(carry, name, cs.lang, switched and cs.shown_model is not None)
            out.set(
                ui.effort,
                gr.Dropdown(
                    visible=caps.thinking == "effort",
                    choices=effort_choices(caps, cs.lang),
                    value=caps.default_effort or "",
                ),
            )
        cs.shown_family, cs.shown_model = caps.family, name
        cs.shown_caps = caps
        if switched:
            cs.seen_generation = self.manager.generation
            if cs.turns:
                notes.insert(0, t(cs.lang, "model_switched", model=name))
        if notes:
            out.update(self.chat.notice("ℹ " + "\n\n".join(notes)))
        return out

    def estimate(self, request: gr.Request, choice: str, quant: str, url: str) -> str:
        """What loading ``choice`` would take, before anything is loaded."""
        from ..models import available_memory, estimate_memory, human_bytes

        lang = self.registry.get(request).lang
        if not self.config.may_switch(getattr(request, "username", None)):
            return ""  # it reads the server's files: only for those who may switch
        if (url or "").strip():
            return t(lang, "estimate_remote", url=url.strip())
        choice = (choice or "").strip()
        if not choice:
            return ""
        option = quant if quant in ("4bit", "8bit") else "bf16"
        try:
            estimate = estimate_memory(choice)
        except GlmvError as exc:
            return t(lang, "estimate_unknown", model=choice, reason=exc)
        need = estimate.by_option.get(option, estimate.by_option["bf16"])
        where, free = available_memory()
        text = t(
            lang,
            "estimate_local",
            model=choice,
            need=human_bytes(need),
            option=option,
            free=human_bytes(free),
            where=t(lang, "gpu_memory" if where == "cuda" else "ram"),
        )
        if need > free * 1.1:
            text += " " + t(lang, "estimate_tight")
        return text

    def load_model(
        self, request: gr.Request, choice: str, quant: str, url: str, served: str
    ) -> Updates:
        """Load another model for everyone (when the operator allows it)."""
        from dataclasses import replace

        from ..config import LoadOptions, quantization_of

        ui = self.ui
        cs = self.registry.get(request)
        if not self.config.switching_allowed():
            return self.chat.notice("⚠ " + t(cs.lang, "switch_off"))
        if not self.config.may_switch(getattr(request, "username", None)):
            return self.chat.notice("⚠ " + t(cs.lang, "switch_denied"))
        url, choice = (url or "").strip(), (choice or "").strip()
        if url:
            config = replace(
                self.config,
                engine="remote",
                remote_url=url,
                remote_model=(served or "").strip() or None,
                model=url,
            )
        else:
            load = LoadOptions(
                dtype=self.config.load.dtype,
                device_map=self.config.load.device_map,
                attn_implementation=self.config.load.attn_implementation,
                quantization=quantization_of(quant),
            )
            config = replace(
                self.config, engine="local", model=choice or self.config.model, load=load
            )
        try:
            self.manager.switch(config)
        except GlmvError as exc:
            return self.chat.notice(f"⚠ {reason_text(exc, cs.lang)}")
        out = Updates(
            {
                ui.model_status: self.manager.status_line(cs.lang),
                ui.timer: gr.Timer(0.5, active=True),
            }
        )
        return out.update(self.chat.notice(""))

    def model_status(self, request: gr.Request) -> str:
        """The model panel text (loading progress, the loaded model, or the error)."""
        return self.manager.status_line(self.registry.get(request).lang)

    def set_language(self, request: gr.Request, lang: str) -> Updates:
        ui = self.ui
        cs = self.registry.get(request)
        cs.relabel(lang if lang in ("en", "zh") else "en")
        changes: dict[int, dict[str, str]] = {}
        for label in ui.labels:
            changes.setdefault(id(label.component), {})[label.attr] = t(cs.lang, label.key)
        out = Updates({c: gr.update(**changes[id(c)]) for c in ui.labelled()})  # type: ignore[arg-type]
        out.update(
            Updates(
                {
                    ui.title: title_markdown(cs.lang),
                    ui.model_status: self.manager.status_line(cs.lang),
                    ui.model_details: self.manager.details(cs.lang),
                    ui.sampling_note: sampling_note(self.manager.caps, cs.lang, self.manager.name),
                    ui.effort: gr.Dropdown(
                        label=t(cs.lang, "effort"),
                        choices=effort_choices(self.manager.caps, cs.lang),
                    ),
                    ui.chatbot: gr.Chatbot(
                        value=cs.messages(),  # type: ignore[arg-type]
                        placeholder=chat_placeholder(cs.lang),
                    ),
                }
            )
        )
        return out

    def export(self, request: gr.Request, fmt: str) -> str:
        """Write the conversation in ``fmt`` (json, markdown, llamafactory); return the file."""
        from .. import export

        cs = self.registry.get(request)
        if not cs.turns:
            raise gr.Error(t(cs.lang, "nothing_to_export"), print_exception=False)
        caps = cs.session.engine.caps if cs.session is not None else self.manager.caps
        family = caps.family
        cs.dir.mkdir(parents=True, exist_ok=True)
        return str(export.write_export(cs.exported(self.manager.name, family), fmt, cs.dir))

    def import_conversation(self, request: gr.Request, file: object) -> Updates:
        """Load a conversation exported as JSON into this session; a file that breaks a rule is
        refused by name beside the input, and the current conversation stays."""
        import logging

        from .. import export

        cs = self.registry.get(request)
        path = (
            file
            if isinstance(file, str)
            else getattr(file, "name", None)
            or (file.get("path") if isinstance(file, dict) else None)
        )
        from .uploads import base_name, caller_path

        try:
            engine = self.manager.require(cs.lang)
            # A caller names the file: only an upload (or this session's own file) is read.
            convo = export.read_json(caller_path(path, own=(cs.dir,)), limits=self.config.media)
        except GlmvError as exc:
            logging.getLogger("glmv_ui").info("import refused: %s", exc)
            return self.chat.notice(
                f"⚠ {t(cs.lang, 'not_imported', reason=reason_text(exc, cs.lang))}"
            )
        except Exception:  # library text may name server paths: it is logged only
            logging.getLogger("glmv_ui").exception(
                "import of %s failed", base_name(str(path or ""))
            )
            refusal = ConversationError(
                reason("file.unreadable"), subject=base_name(str(path or ""))
            )
            return self.chat.notice(
                f"⚠ {t(cs.lang, 'not_imported', reason=reason_text(refusal, cs.lang))}"
            )
        try:
            cs.ensure_session(engine, self.config).load(convo)
        except ConversationError:  # a reply is running: the conversation stays as it is
            return self.chat.notice(f"⚠ {t(cs.lang, 'busy')}")
        imported = "imported_one" if len(convo.turns) == 1 else "imported"
        out = Updates().set(self.ui.chatbot, cs.messages())
        return out.update(
            self.chat.html_outputs(cs),
            self.chat.notice(t(cs.lang, imported, n=len(convo.turns))),
        )
