"""Command-line chat: ``python -m glmv_ui chat --model tiny-glm41v --image cat.jpg``.

Streams the reply with the thinking dimmed and apart from the answer; multi-turn; Ctrl-C during a
reply stops that reply (the partial answer is kept), Ctrl-C or Ctrl-D at the prompt quits.
Commands at the prompt: ``/file PATH`` attaches a file to the next message, ``/clear`` starts a
new conversation, ``/undo`` drops the last turn, ``/exit`` quits.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from typing import Any, TextIO

from .config import AppConfig, LoadOptions, MediaLimits, default_sampling, env_model
from .errors import GlmvError

__all__ = ["build_parser", "main"]

DIM, BOLD, UNDER, RESET = "\033[2m", "\033[1m", "\033[4m", "\033[0m"


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m glmv_ui", description=__doc__.split("\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    chat = sub.add_parser("chat", help="chat with a GLM-V model in the terminal")
    chat.add_argument(
        "--model",
        default=env_model(),
        help="hub id, local folder, or tiny-glm41v / tiny-glm45v (env GLMV_MODEL)",
    )
    chat.add_argument("--quant", choices=["none", "4bit", "8bit"], default="none")
    chat.add_argument("--engine", choices=["local", "remote"], default="local")
    chat.add_argument("--url", help="base URL of an OpenAI-compatible server (remote engine)")
    chat.add_argument(
        "--remote-model",
        help="served model name (remote engine; default: the first the server lists)",
    )
    chat.add_argument(
        "--api-key-env",
        default="GLMV_API_KEY",
        help="environment variable holding the server's API key (remote engine)",
    )
    chat.add_argument(
        "--thinking-style",
        choices=["chat_template_kwargs", "vendor"],
        default="chat_template_kwargs",
        help="how the thinking switch is sent: vLLM/SGLang chat_template_kwargs, "
        "or the vendor API's thinking parameter (remote engine)",
    )
    chat.add_argument(
        "--image",
        "--file",
        dest="files",
        action="append",
        default=[],
        help="image, video, PDF or slide deck for the first message (repeatable)",
    )
    chat.add_argument("--prompt", help="ask this once and exit (no interactive prompt)")
    chat.add_argument("--system", default="", help="system prompt")
    chat.add_argument("--no-thinking", action="store_true", help="GLM-4.5V: answer directly")
    chat.add_argument("--thinking-budget", type=int, help="GLM-4.1V: at most N thinking tokens")
    chat.add_argument("--max-new-tokens", type=int)
    chat.add_argument("--temperature", type=float)
    chat.add_argument("--seed", type=int)
    chat.add_argument("--password", help="password of an encrypted PDF")
    chat.add_argument("--color", choices=["auto", "always", "never"], default="auto")
    space = sub.add_parser("space", help="assemble a Hugging Face Space folder (see Spaces.md)")
    space.add_argument("--out", required=True, help="folder to write the Space into")
    space.add_argument("--model", default=env_model(), help="model the Space runs (local engine)")
    space.add_argument("--quant", choices=["none", "4bit", "8bit"], default="none")
    space.add_argument(
        "--hardware", help="suggested Space hardware (default: from the model's memory estimate)"
    )
    space.add_argument("--engine", choices=["local", "remote"], default="local")
    space.add_argument("--url", help="OpenAI-compatible server the Space talks to (remote)")
    space.add_argument("--remote-model", help="served model name (remote engine)")
    space.add_argument("--title", default="GLM-V Workbench")
    space.add_argument("--force", action="store_true", help="replace a non-empty --out folder")
    space.add_argument("--root", help="project checkout to copy (default: this package's)")
    return parser


def _space(args: argparse.Namespace, out: TextIO) -> int:
    from .space import build_space

    path = build_space(
        args.out,
        args.model,
        engine=args.engine,
        quantization=None if args.quant == "none" else args.quant,
        hardware=args.hardware,
        url=args.url,
        remote_model=args.remote_model,
        title=args.title,
        root=args.root,
        overwrite=args.force,
    )
    out.write(f"Space folder written to {path}; push it with git or `hf upload` (see Spaces.md)\n")
    return 0


class _Printer:
    """Writes parser events as they come: thinking dimmed, boxed text underlined."""

    def __init__(self, out: TextIO, color: bool) -> None:
        self.out = out
        self.color = color
        self.mode = ""

    def _style(self, style: str) -> None:
        if self.color and style != self.mode:
            self.out.write(RESET + style)
        self.mode = style

    def event(self, ev: Any) -> None:
        if ev.kind == "thinking":
            if self.mode != DIM and not self.color:
                self.out.write("[thinking] ")
            self._style(DIM)
            self.out.write(ev.text)
        elif ev.kind == "thinking_done":
            self._style("")
            self.out.write("\n" + ("" if self.color else "[answer]") + "\n")
        elif ev.kind == "answer_reset":
            self.out.write("\n(the text above was thinking)\n")
        elif ev.kind == "box_open":
            self._style(UNDER)
        elif ev.kind == "box_close":
            self._style("")
        elif ev.kind == "answer":
            if self.mode == DIM:
                self._style("")
            self.out.write(ev.text)
        self.out.flush()

    def end(self, reply: Any) -> None:
        """The reply's notices (the token limit, a failure) and its figures, after the text."""
        self._style("")
        for notice in reply.notices:
            if notice.kind != "stopped":  # Ctrl-C already said so
                self.out.write(f"\n[{notice.text()}]")
        line = reply.stats_line()
        self.out.write(f"\n{DIM if self.color else ''}[{line}]{RESET if self.color else ''}\n")
        self.out.flush()


def _stream(session: Any, text: str, parts: list[Any], printer: _Printer) -> None:
    """Print one reply. Ctrl-C meanwhile stops the reply (not the program): a SIGINT handler
    sets the session's cancel event, so generation ends cleanly and the partial answer stays."""
    import signal
    import threading

    stopped = threading.Event()

    def on_interrupt(_signum: int, _frame: Any) -> None:
        stopped.set()
        session.stop()

    in_main = threading.current_thread() is threading.main_thread()
    previous = signal.signal(signal.SIGINT, on_interrupt) if in_main else None
    try:
        for update in session.submit(text, parts):
            for ev in update.events:
                printer.event(ev)
    finally:
        if in_main:
            signal.signal(signal.SIGINT, previous)
    if stopped.is_set():
        printer.out.write("\n[stopped]")
    printer.end(session.reply())


def _chat(args: argparse.Namespace, out: TextIO, inp: TextIO) -> int:  # noqa: C901
    from .engines.factory import create_engine
    from .session import Session

    config = AppConfig(
        model=args.model,
        load=LoadOptions(quantization=None if args.quant == "none" else args.quant),
        engine=args.engine,
        remote_url=args.url,
        remote_model=args.remote_model,
        remote_api_key_env=args.api_key_env,
        remote_thinking_style=args.thinking_style,
    )
    color = args.color == "always" or (
        args.color == "auto" and out.isatty() and not os.environ.get("NO_COLOR")
    )
    target = args.url if args.engine == "remote" else args.model
    out.write(f"{'Connecting to' if args.engine == 'remote' else 'Loading'} {target} ...\n")
    out.flush()
    engine = create_engine(config)
    sampling = default_sampling(engine.caps)
    changes: dict[str, Any] = {}
    if args.no_thinking:
        changes["thinking"] = False
    if args.thinking_budget is not None:
        changes["thinking_budget"] = args.thinking_budget
    if args.max_new_tokens:
        changes["max_new_tokens"] = args.max_new_tokens
    if args.temperature is not None:
        changes["temperature"] = args.temperature
    if args.seed is not None:
        changes["seed"] = args.seed
    session = Session(
        engine,
        sampling=sampling.replace(**changes),
        limits=MediaLimits(),
        system_prompt=args.system,
    )
    printer = _Printer(out, color)
    pending: list[Any] = []
    if args.files:
        pending = session.attach(args.files, password=args.password)
        for part in pending:
            for note in part.notes:
                out.write(f"note: {note}\n")
        out.write(f"attached: {', '.join(sorted({p.source for p in pending}))}\n")
    if args.prompt is not None:
        _stream(session, args.prompt, pending, printer)
        return 0
    out.write("Type a message (/file PATH, /undo, /clear, /exit). Ctrl-C stops a reply.\n")
    while True:
        out.write(f"{BOLD if color else ''}you>{RESET if color else ''} ")
        out.flush()
        try:
            line = inp.readline()
        except KeyboardInterrupt:
            out.write("\n")
            return 0
        if not line:
            out.write("\n")
            return 0
        line = line.strip()
        if not line:
            continue
        if line in ("/exit", "/quit"):
            return 0
        try:
            if line == "/clear":
                session.clear()
                pending = []
                out.write("(new conversation)\n")
            elif line == "/undo":
                turn = session.undo()
                out.write(f"(removed: {turn.text!r})\n" if turn else "(nothing to undo)\n")
            elif line.startswith("/file "):
                new = _attach(session, line[6:].strip(), pending, args.password)
                pending += new
                out.write(f"attached {len(new)} part(s) from {new[0].source}\n" if new else "")
            else:
                out.write(f"{BOLD if color else ''}glm>{RESET if color else ''} ")
                _stream(session, line, pending, printer)
                pending = []
        except GlmvError as exc:
            out.write(f"error: {exc}\n")


def _attach(session: Any, path: str, pending: list[Any], password: str | None) -> list[Any]:
    from .media import ingest

    return list(
        ingest([path], session.limits, existing=[*session.parts, *pending], password=password)
    )


def main(
    argv: Sequence[str] | None = None, *, out: TextIO | None = None, inp: TextIO | None = None
) -> int:
    args = build_parser().parse_args(argv)
    out = out or sys.stdout
    inp = inp or sys.stdin
    try:
        if args.command == "space":
            return _space(args, out)
        return _chat(args, out, inp)
    except GlmvError as exc:
        out.write(f"error: {exc}\n")
        return 2
    except KeyboardInterrupt:
        out.write("\n")
        return 130
