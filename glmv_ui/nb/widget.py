"""An ipywidgets chat over a :class:`~glmv_ui.session.Session`, for Jupyter.

Uploads, a thinking control chosen from the model family's traits (an on/off toggle for
GLM-4.5V, a thinking budget for GLM-4.1V, which always thinks), sampling controls, Send / Stop /
New chat, and the streamed reply with its thinking in a collapsible panel. Generation runs in a
background thread so Stop works while the kernel is free; the display is redrawn at most every
``interval_s`` seconds, never per token. Everything the buttons do is also a method
(:meth:`ChatWidget.send`, :meth:`ChatWidget.stop`, :meth:`ChatWidget.wait`), so code and tests
can drive the widget without a browser.
"""

from __future__ import annotations

import html as _html
import os
import re
import shutil
import tempfile
import threading
import time
import weakref
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

from ..config import SAMPLING_RANGES, MediaLimits, Sampling
from ..conversation import Conversation, Turn
from ..errors import GlmvError
from ..media.options import MediaOptions
from ..reply import Reply, thinking_title
from ..session import ReplyUpdate
from ..throttle import Throttle
from .helpers import as_session
from .page_scripts import ENTER_SENDS_JS, SCROLL_JS, SUBMIT
from .render import markdown_to_html, reply_html

__all__ = ["ACCEPT", "ChatWidget"]

ACCEPT = "image/*,video/*,.pdf,.pptx,.ppt,.odp"
TRANSCRIPT_HEIGHT = "420px"  # the conversation scrolls inside this; the newest turn shows
_SAFE_EXT = re.compile(r"^\.[a-z0-9]{1,8}$")


class ChatWidget:
    """A chat with a GLM-V engine. Display it as the last expression of a cell."""

    def __init__(
        self,
        target: Any,
        *,
        sampling: Sampling | None = None,
        limits: MediaLimits | None = None,
        system_prompt: str = "",
        interval_s: float = 0.1,
        preview_height: int = 360,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        import ipywidgets as w

        self.session = as_session(
            target, sampling=sampling, limits=limits, system_prompt=system_prompt
        )
        if sampling is not None:
            self.session.sampling = sampling
        self.traits = self.session.engine.caps
        self.preview_height = preview_height
        self.throttle = Throttle(interval_s, clock=clock)
        self._worker: threading.Thread | None = None
        self._stop_requested = threading.Event()
        self._error = ""
        self._live: Reply | None = None
        self._last_reply: Reply | None = None
        self._rendered: dict[int, tuple[Reply, str]] = {}
        # Uploads are written to a private folder (0700) under a generated name with the
        # original extension; the user's file name is only ever a display name.
        self._tmp = tempfile.mkdtemp(prefix="glmv-nb-")
        self._uploads = 0
        self._refused_upload = False
        self._cleanup = weakref.finalize(self, shutil.rmtree, self._tmp, True)

        s = self.session.sampling
        r = SAMPLING_RANGES
        self.upload = w.FileUpload(accept=ACCEPT, multiple=True, description="Attach")
        self.text = w.Textarea(
            placeholder="Ask about the attached files… (Enter sends, Shift+Enter for a new line)",
            layout=w.Layout(width="100%", height="64px"),
        )
        self.text.add_class("glmv-chat-input")
        self.send_button = w.Button(description="Send", button_style="primary", icon="paper-plane")
        self.send_button.add_class("glmv-send")
        # What the attached files will cost, shown before Send.
        self.cost = w.HTML()
        self._stored: tuple[Any, list[str]] | None = None
        self.stop_button = w.Button(
            description="Stop", button_style="warning", icon="stop", disabled=True
        )
        self.clear_button = w.Button(description="New chat", icon="trash")
        self.temperature = w.FloatSlider(
            value=s.temperature,
            min=r["temperature"].minimum,
            max=r["temperature"].maximum,
            step=r["temperature"].step,
            description="temperature",
        )
        self.top_p = w.BoundedFloatText(
            value=s.top_p,
            min=r["top_p"].minimum,
            max=r["top_p"].maximum,
            step=r["top_p"].step,
            description="top-p",
        )
        self.top_k = w.IntSlider(
            value=s.top_k,
            min=int(r["top_k"].minimum),
            max=int(r["top_k"].maximum),
            description="top-k",
        )
        self.max_new_tokens = w.BoundedIntText(
            value=s.max_new_tokens,
            min=int(r["max_new_tokens"].minimum),
            max=int(r["max_new_tokens"].maximum),
            step=256,
            description="max tokens",
        )
        if self.traits.thinking == "effort":
            self.thinking_mode = "effort"
            efforts = list(self.traits.efforts)
            self.effort = w.Dropdown(
                options=efforts,
                value=s.effort if s.effort in efforts else efforts[-1],
                description="Reasoning effort",
            )
            self.thinking_control: Any = self.effort
        elif self.traits.can_disable_thinking:
            self.thinking_mode = "toggle"
            self.thinking = w.Checkbox(value=s.thinking, description="Thinking", indent=False)
            self.thinking_control = self.thinking
        else:
            self.thinking_mode = "budget"
            self.thinking_limit = w.Checkbox(
                value=s.thinking_budget is not None, indent=False, description="Limit thinking"
            )
            budget = r["thinking_budget"]
            self.thinking_budget = w.IntSlider(
                value=s.thinking_budget or 1024,
                min=int(budget.minimum),
                max=int(budget.maximum),
                step=int(budget.step),
                description="budget",
                disabled=s.thinking_budget is None,
            )
            self.thinking_limit.observe(
                lambda ch: setattr(self.thinking_budget, "disabled", not ch["new"]), "value"
            )
            self.thinking_control = w.HBox([self.thinking_limit, self.thinking_budget])
        self.transcript = w.HTML(layout=w.Layout(max_height=TRANSCRIPT_HEIGHT, overflow="auto"))
        self.transcript.add_class("glmv-transcript")
        # Runs the two page scripts when the chat is shown (an Output's outputs are trusted).
        self._scripts = w.Output(layout=w.Layout(display="none"))
        self._scripts.outputs = (
            {
                "output_type": "display_data",
                "metadata": {},
                "data": {"application/javascript": ENTER_SENDS_JS + SCROLL_JS, "text/plain": ""},
            },
        )
        self.thinking_view = w.HTML()
        self.thinking_box = w.Accordion(
            children=[self.thinking_view], titles=("Thinking",), layout=w.Layout(display="none")
        )
        self.answer_view = w.HTML()
        self.status = w.HTML()
        settings = w.Accordion(
            children=[
                w.VBox(
                    [
                        self.thinking_control,
                        self.temperature,
                        self.top_p,
                        self.top_k,
                        self.max_new_tokens,
                    ]
                )
            ],
            titles=(f"Settings ({self.traits.label})",),
        )
        self.view = w.VBox(
            [
                self.transcript,
                self.thinking_box,
                self.answer_view,
                self.status,
                self.text,
                w.HBox(
                    [self.upload, self.send_button, self.stop_button, self.clear_button, self.cost]
                ),
                settings,
                self._scripts,
            ]
        )
        self.view.add_class("glmv-chat")
        self.upload.observe(lambda _ch: self._show_cost(), "value")
        self.text.observe(self._on_text, "value")
        self.send_button.on_click(lambda _b: self.send_from_ui())
        self.stop_button.on_click(lambda _b: self.stop())
        self.clear_button.on_click(lambda _b: self.clear())

    # -- display ---------------------------------------------------------------------------

    def _repr_mimebundle_(self, **kwargs: Any) -> Any:
        return self.view._repr_mimebundle_(**kwargs)

    # -- state for code and tests ----------------------------------------------------------

    @property
    def draws(self) -> int:
        """Live redraws made; with the throttle far fewer than chunks."""
        return self.throttle.frames

    @property
    def history(self) -> list[Turn]:
        return self.session.turns

    @property
    def conversation(self) -> Conversation:
        """The chat's record (``glmv_ui.export.write_export`` writes it)."""
        return self.session.conversation

    @property
    def busy(self) -> bool:
        return self._worker is not None and self._worker.is_alive()

    @property
    def error(self) -> str:
        """The message shown for the last refused upload or failed reply ('' if none)."""
        return self._error

    @property
    def answer(self) -> str:
        """The answer of the reply being streamed, else of the last reply."""
        reply = self._live or self._last_reply
        return reply.answer if reply is not None else ""

    @property
    def last_reply(self) -> Reply | None:
        return self._last_reply

    @property
    def output(self) -> str:
        """The HTML the widget shows: the conversation, the live reply and any message."""
        return "".join(
            (
                self.transcript.value,
                self.thinking_view.value,
                self.answer_view.value,
                self.status.value,
            )
        )

    def current_sampling(self) -> Sampling:
        """Sampling from the controls (raises ConfigError for values out of range)."""
        changes: dict[str, Any] = {
            "temperature": float(self.temperature.value),
            "top_p": float(self.top_p.value),
            "top_k": int(self.top_k.value),
            "max_new_tokens": int(self.max_new_tokens.value),
        }
        if self.thinking_mode == "effort":
            changes["effort"] = str(self.effort.value)
            changes["thinking"] = self.effort.value != "none"
        elif self.thinking_mode == "toggle":
            changes["thinking"] = bool(self.thinking.value)
        else:
            changes["thinking_budget"] = (
                int(self.thinking_budget.value) if self.thinking_limit.value else None
            )
        return self.session.sampling.replace(**changes)

    # -- actions ---------------------------------------------------------------------------

    def send(
        self,
        text: str,
        files: Sequence[str | os.PathLike[str]] = (),
        *,
        names: Sequence[str] | None = None,
        options: MediaOptions | None = None,
    ) -> bool:
        """Attach ``files`` and ask ``text``; the reply streams in a background thread.

        Returns False (with :attr:`error` set and the conversation unchanged) when an upload is
        refused or the message cannot be sent; ``options`` (page range, password, video
        sampling) go to ``media.ingest``.
        """
        self._refused_upload = False
        if self.busy:
            return self._refuse("a reply is still being generated; press Stop first")
        self._show_error("")
        try:
            paths = [os.fspath(f) for f in files]
            parts = self.session.attach(paths, options, names=names) if paths else []
        except GlmvError as exc:
            self._refused_upload = True
            return self._refuse(str(exc))
        try:
            updates = self.session.submit(text, parts, sampling=self.current_sampling())
        except GlmvError as exc:
            return self._refuse(str(exc))
        self._stop_requested.clear()
        self._set_running(True)
        self._draw_transcript()
        self._worker = threading.Thread(
            target=self._run, args=(updates,), daemon=True, name="glmv-notebook-chat"
        )
        self._worker.start()
        return True

    def send_from_ui(self) -> bool:
        """What the Send button does: the text box and the files in the upload control."""
        entries = list(self.upload.value)
        try:
            paths = self._stored_uploads()
        except OSError as exc:
            return self._refuse(f"could not store the upload: {exc}")
        started = self.send(self.text.value, paths, names=[str(e["name"]) for e in entries])
        if started:
            self.text.value = ""
        if started or self._refused_upload:
            # A refused file would be refused again on every Send: let the user pick again.
            self.upload.value = ()
            self.cost.value = ""
        return started

    def cost_of(
        self,
        files: Sequence[str | os.PathLike[str]],
        *,
        names: Sequence[str] | None = None,
        options: MediaOptions | None = None,
    ) -> str:
        """What ``files`` would cost in visual tokens, against what the conversation has left,
        as the line shown beside Send; a file that would be refused says why."""
        from ..media.budget import check_budget

        try:
            parts = self.session.attach([os.fspath(f) for f in files], options, names=names)
        except GlmvError as exc:
            return f"not sendable: {exc}"
        report = check_budget(parts, self.session.limits, self.session.parts)
        what = ", ".join(p.label for p in parts[:3]) + (" …" if len(parts) > 3 else "")
        return f"{what}: {report.message}" if report.fits else report.message

    def _show_cost(self) -> None:
        entries = list(self.upload.value)
        if not entries:
            self.cost.value = ""
            return
        try:
            paths = self._stored_uploads()
        except OSError as exc:
            self.cost.value = _html.escape(f"could not store the upload: {exc}")
            return
        line = self.cost_of(paths, names=[str(e["name"]) for e in entries])
        colour = "#cf222e" if line.startswith("not sendable") else "#57606a"
        self.cost.value = f'<span style="color:{colour};font-size:90%">{_html.escape(line)}</span>'

    def _on_text(self, change: dict[str, Any]) -> None:
        """Enter in the box (see ENTER_SENDS_JS): the marked value is sent like Send."""
        value = str(change["new"])
        if SUBMIT not in value:
            return
        self.text.value = value.replace(SUBMIT, "")
        self.send_from_ui()

    def stop(self) -> None:
        """End the reply being generated; the partial answer stays in the conversation."""
        self._stop_requested.set()
        self.session.stop()

    def wait(self, timeout: float | None = None) -> bool:
        """Join the generation thread; True when no reply is running any more."""
        worker = self._worker
        if worker is not None:
            worker.join(timeout)
        return not self.busy

    def clear(self) -> None:
        """Start a new conversation (stops a running reply first)."""
        self.stop()
        self.wait()
        self.session.clear()
        self._last_reply = None
        self._rendered.clear()
        self._show_error("")
        self._draw_transcript()

    def close(self) -> None:
        """Stop, close the widgets and remove the uploaded copies."""
        self.stop()
        self.wait()
        self.view.close()
        self._cleanup()

    # -- internals -------------------------------------------------------------------------

    def _stored_uploads(self) -> list[str]:
        """The upload control's files as private copies, written once per selection (the
        cost line and Send share them)."""
        value = self.upload.value
        if self._stored is None or self._stored[0] is not value:
            self._stored = (value, [self._save_upload(e) for e in value])
        return list(self._stored[1])

    def _save_upload(self, entry: dict[str, Any]) -> str:
        ext = Path(str(entry.get("name", ""))).suffix.lower()
        self._uploads += 1
        path = Path(self._tmp) / f"upload-{self._uploads}{ext if _SAFE_EXT.match(ext) else ''}"
        path.write_bytes(bytes(entry["content"]))
        return str(path)

    def _refuse(self, message: str) -> bool:
        self._show_error(message)
        return False

    def _show_error(self, message: str) -> None:
        self._error = message
        self.status.value = (
            (f'<div style="color:#cf222e;font-weight:600">⚠ {_html.escape(message)}</div>')
            if message
            else ""
        )

    def _set_running(self, running: bool) -> None:
        self.send_button.disabled = running
        self.stop_button.disabled = not running

    def _run(self, updates: Iterator[ReplyUpdate]) -> None:
        last: ReplyUpdate | None = None
        error = ""
        try:
            for last in updates:
                if self._stop_requested.is_set():
                    self.session.stop()  # Stop pressed before this reply's cancel event existed
                if not last.done and self.throttle.due():
                    self._draw_live(last.reply())
        except GlmvError as exc:
            error = str(exc)
        except Exception as exc:  # noqa: BLE001 - a thread must report, not vanish
            error = f"generation failed: {type(exc).__name__}: {exc}"
        finally:
            close = getattr(updates, "close", None)
            if close is not None:
                close()
            self._finish(error)

    def _draw_live(self, reply: Reply) -> None:
        self.throttle.mark()
        self._live = reply
        if reply.thinking:
            self.thinking_box.titles = (str(thinking_title(reply).timed),)
            self.thinking_view.value = (
                f'<div style="white-space:pre-wrap">{_html.escape(reply.thinking)}</div>'
            )
            self.thinking_box.layout.display = None
        self.answer_view.value = markdown_to_html(reply.text)

    def _finish(self, error: str) -> None:
        self._last_reply = self.session.reply() if self.session.turns else None
        self._live = None
        self.thinking_view.value = ""
        self.thinking_box.layout.display = "none"
        self.answer_view.value = ""
        self._draw_transcript()
        self._show_error(error)
        self._set_running(False)

    def _draw_transcript(self) -> None:
        pieces = []
        for index, turn in enumerate(self.session.turns):
            attached = "".join(f" <code>📎 {_html.escape(p.label)}</code>" for p in turn.parts)
            pieces.append(
                f'<div style="margin:8px 0;padding:6px 10px;background:#f6f8fa;'
                f'border-radius:6px"><b>You:</b> {_html.escape(turn.text)}{attached}'
                "</div>"
            )
            if turn.status in ("pending", "streaming"):
                continue
            reply = self.session.reply(index)
            cached = self._rendered.get(id(turn))
            if cached is None or cached[0] is not reply:
                cached = (reply, reply_html(reply, preview_height=self.preview_height))
                self._rendered[id(turn)] = cached
            pieces.append(cached[1])
        self.transcript.value = "".join(pieces)
