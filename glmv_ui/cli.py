"""Command-line chat: ``python -m glmv_ui chat --model tiny-glm41v --image cat.jpg``.

Streams the reply with the thinking dimmed and apart from the answer; multi-turn; Ctrl-C during a
reply stops that reply (the partial answer is kept), Ctrl-C or Ctrl-D at the prompt quits.
Commands at the prompt: ``/file PATH`` attaches a file to the next message, ``/clear`` starts a
new conversation, ``/undo`` drops the last turn, ``/exit`` quits.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING, TextIO

from .config import AppConfig, add_arguments, default_sampling
from .errors import ConfigError, GlmvError
from .media.options import MediaOptions

if TYPE_CHECKING:
    from types import FrameType

    from .media.parts import MediaPart
    from .reply import Reply
    from .session import Session
    from .stream import Event

__all__ = ["build_parser", "main"]

DIM, BOLD, UNDER, RESET = "\033[2m", "\033[1m", "\033[4m", "\033[0m"
# The options a Space folder is built from (the rest are the Space's variables at run time).
SPACE_FIELDS = ("model", "quantization", "engine", "remote_url", "remote_model")


def build_parser() -> argparse.ArgumentParser:
    """The shared options come from :func:`glmv_ui.config.add_arguments` (one default each, the
    same ``GLMV_*`` variables as ``app.py``); the rest belong to the terminal."""
    parser = argparse.ArgumentParser(prog="python -m glmv_ui", description=__doc__.split("\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    chat = sub.add_parser("chat", help="chat with a GLM-V model in the terminal")
    add_arguments(chat, groups=("engine", "media"))
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
    chat.add_argument(
        "--no-thinking",
        action="store_true",
        help="answer directly (models whose template can switch thinking off)",
    )
    chat.add_argument(
        "--effort", help="reasoning effort, for a model whose template takes one (GLM-5.3-Flash)"
    )
    chat.add_argument("--thinking-budget", type=int, help="GLM-4.1V: at most N thinking tokens")
    chat.add_argument("--max-new-tokens", type=int)
    chat.add_argument("--temperature", type=float)
    chat.add_argument("--seed", type=int)
    chat.add_argument("--password", help="password of an encrypted PDF")
    chat.add_argument("--color", choices=["auto", "always", "never"], default="auto")
    space = sub.add_parser("space", help="assemble a Hugging Face Space folder (see Spaces.md)")
    space.add_argument("--out", required=True, help="folder to write the Space into")
    add_arguments(space, fields=SPACE_FIELDS)
    space.add_argument(
        "--hardware", help="suggested Space hardware (default: from the model's memory estimate)"
    )
    space.add_argument("--title", default="GLM-V Workbench")
    space.add_argument("--force", action="store_true", help="replace a non-empty --out folder")
    space.add_argument("--root", help="project checkout to copy (default: this package's)")
    return parser


def _space(args: argparse.Namespace, out: TextIO) -> int:
    from .space import build_space

    config = AppConfig.from_args(args)
    path = build_space(
        args.out,
        config.model,
        engine=config.engine,
        quantization=config.load.quantization,
        hardware=args.hardware,
        url=config.remote_url,
        remote_model=config.remote_model,
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

    def event(self, ev: Event) -> None:
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

    def end(self, reply: Reply) -> None:
        """The reply's notices (the token limit, a failure) and its figures, after the text."""
        self._style("")
        for notice in reply.notices:
            if notice.kind != "stopped":  # Ctrl-C already said so
                self.out.write(f"\n[{notice.text()}]")
        line = reply.stats_line()
        self.out.write(f"\n{DIM if self.color else ''}[{line}]{RESET if self.color else ''}\n")
        self.out.flush()


def _stream(session: Session, text: str, parts: list[MediaPart], printer: _Printer) -> None:
    """Print one reply. Ctrl-C meanwhile stops the reply (not the program): a SIGINT handler
    sets the session's cancel event, so generation ends cleanly and the partial answer stays."""
    import signal
    import threading

    stopped = threading.Event()

    def on_interrupt(_signum: int, _frame: FrameType | None) -> None:
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


def _color(args: argparse.Namespace, out: TextIO) -> bool:
    """Colour when asked, or on a terminal unless NO_COLOR (https://no-color.org) is set."""
    import os

    auto = out.isatty() and not os.environ.get("NO_COLOR")
    return args.color == "always" or (args.color == "auto" and auto)


def _open_session(args: argparse.Namespace, config: AppConfig, out: TextIO) -> Session:
    """Load the model (or reach the server) and start a conversation with the flags' sampling."""
    from .engines.factory import create_engine
    from .session import Session

    remote = config.engine == "remote"
    target = config.remote_url if remote else config.model
    out.write(f"{'Connecting to' if remote else 'Loading'} {target} ...\n")
    out.flush()
    engine = create_engine(config)
    sampling = default_sampling(engine.caps)
    if args.effort and args.effort not in engine.caps.efforts:
        known = ", ".join(engine.caps.efforts)
        said = f"this model's efforts are {known}" if known else "this model takes no effort"
        raise ConfigError(f"--effort {args.effort}: {said}")
    changes = {
        "effort": args.effort or None,
        "thinking": False if args.no_thinking or args.effort == "none" else None,
        "thinking_budget": args.thinking_budget,
        "max_new_tokens": args.max_new_tokens or None,
        "temperature": args.temperature,
        "seed": args.seed,
    }
    sampling = sampling.replace(**{k: v for k, v in changes.items() if v is not None})
    return Session(engine, sampling=sampling, limits=config.media, system_prompt=args.system)


def _attach_first(session: Session, args: argparse.Namespace, out: TextIO) -> list[MediaPart]:
    """The files of ``--image`` / ``--file``, with their notes, for the first message."""
    if not args.files:
        return []
    pending = session.attach(args.files, MediaOptions(password=args.password))
    for part in pending:
        for note in part.notes:
            out.write(f"note: {note}\n")
    out.write(f"attached: {', '.join(sorted({p.source for p in pending}))}\n")
    return pending


class _Prompt:
    """The interactive loop: one line at a time, a command or a message."""

    def __init__(
        self, session: Session, printer: _Printer, password: str | None, pending: list[MediaPart]
    ) -> None:
        self.session, self.printer, self.password = session, printer, password
        self.pending = pending
        self.out = printer.out

    def tag(self, name: str) -> str:
        color = self.printer.color
        return f"{BOLD if color else ''}{name}>{RESET if color else ''} "

    def run(self, inp: TextIO) -> int:
        self.out.write("Type a message (/file PATH, /undo, /clear, /exit). Ctrl-C stops a reply.\n")
        while True:
            self.out.write(self.tag("you"))
            self.out.flush()
            try:
                line = inp.readline()
            except KeyboardInterrupt:
                line = ""
            if not line:
                self.out.write("\n")
                return 0
            line = line.strip()
            if line in ("/exit", "/quit"):
                return 0
            if not line:
                continue
            try:
                self.handle(line)
            except GlmvError as exc:
                self.out.write(f"error: {exc}\n")

    def handle(self, line: str) -> None:
        """One command (``/clear``, ``/undo``, ``/file PATH``) or a message to answer."""
        session, out = self.session, self.out
        if line == "/clear":
            session.clear()
            self.pending = []
            out.write("(new conversation)\n")
        elif line == "/undo":
            turn = session.undo()
            out.write(f"(removed: {turn.text!r})\n" if turn else "(nothing to undo)\n")
        elif line.startswith("/file "):
            new = _attach(session, line[6:].strip(), self.pending, self.password)
            self.pending += new
            out.write(f"attached {len(new)} part(s) from {new[0].source}\n" if new else "")
        else:
            out.write(self.tag("glm"))
            _stream(session, line, self.pending, self.printer)
            self.pending = []


def _chat(args: argparse.Namespace, out: TextIO, inp: TextIO) -> int:
    config = AppConfig.from_args(args)
    session = _open_session(args, config, out)
    printer = _Printer(out, _color(args, out))
    pending = _attach_first(session, args, out)
    if args.prompt is not None:
        _stream(session, args.prompt, pending, printer)
        return 0
    return _Prompt(session, printer, args.password, pending).run(inp)


def _attach(
    session: Session, path: str, pending: list[MediaPart], password: str | None
) -> list[MediaPart]:
    from .media import ingest

    return list(
        ingest(
            [path],
            session.limits,
            options=MediaOptions(password=password),
            existing=[*session.parts, *pending],
        )
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
