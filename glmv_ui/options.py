"""The app's options, declared once: flag, ``GLMV_*`` variable, how the text is read, help.

The one default of each is :class:`~glmv_ui.config.AppConfig`'s own field default; the values
are read (flags by argparse, variables by :func:`glmv_ui.config.env_values`) and assembled by
:meth:`AppConfig.from_args <glmv_ui.config.AppConfig.from_args>`. Nothing here reads the
environment. Standard library only.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass
from typing import Literal

__all__ = ["ALL_GROUPS", "OPTIONS", "Option", "OptionGroup", "declare_arguments", "option"]

OptionGroup = Literal["engine", "media", "serve"]
ALL_GROUPS: tuple[OptionGroup, ...] = ("engine", "media", "serve")


@dataclass(frozen=True)
class Option:
    """One setting of :class:`AppConfig`: its flag, its variable, how its text is read. Its one
    default is the record's own (:func:`glmv_ui.config.default_of`)."""

    field: str  # the AppConfig field; "quantization" is LoadOptions.quantization
    env: str
    flag: str | None  # None: set through the environment only
    help: str
    group: OptionGroup  # engine: what answers; media: uploads; serve: the web app only
    kind: type = str  # str, int, float or bool
    # The words accepted, each with the value it stands for (the one place "none" means None).
    choices: Mapping[str, object] | None = None

    def parse(self, raw: str) -> object:
        """The value ``raw`` (a flag's argument, a variable's text) stands for; a ValueError
        says what was expected."""
        text = raw.strip()
        if self.choices is not None:
            if text.lower() not in self.choices:
                *rest, last = self.choices
                raise ValueError(f"expected {', '.join(rest)} or {last}")
            return self.choices[text.lower()]
        if self.kind is bool:
            return _flag(text)
        if self.kind is int or self.kind is float:
            try:
                return self.kind(text)
            except ValueError:
                raise ValueError(
                    "expected a number" if self.kind is float else "expected a whole number"
                ) from None
        return text

    def word(self, value: object) -> str:
        """How ``value`` is written on the command line (the help's default)."""
        if self.choices is not None:
            return next((k for k, v in self.choices.items() if v == value), str(value))
        if isinstance(value, bool):
            return "on" if value else "off"
        return "unset" if value is None else str(value)

    def from_flag(self, raw: str) -> object:
        try:
            return self.parse(raw)
        except ValueError as exc:
            raise argparse.ArgumentTypeError(f"{raw!r}: {exc}") from None


def _flag(raw: str) -> bool:
    if raw.lower() in ("1", "true", "yes", "on"):
        return True
    if raw.lower() in ("0", "false", "no", "off"):
        return False
    raise ValueError("expected 1/0, true/false, yes/no or on/off")


def _words(*words: str) -> dict[str, object]:
    return {w: w for w in words}


OPTIONS: tuple[Option, ...] = (
    Option(
        "model",
        "GLMV_MODEL",
        "--model",
        "model id, local folder, or tiny-glm41v / tiny-glm45v",
        "engine",
    ),
    Option(
        "quantization",
        "GLMV_QUANT",
        "--quant",
        "weight quantization",
        "engine",
        choices={"none": None, "4bit": "4bit", "8bit": "8bit"},
    ),
    Option(
        "engine",
        "GLMV_ENGINE",
        "--engine",
        "where replies come from",
        "engine",
        choices=_words("local", "remote", "scripted"),
    ),
    Option(
        "remote_url",
        "GLMV_REMOTE_URL",
        "--url",
        "OpenAI-compatible server URL for the remote engine",
        "engine",
    ),
    Option(
        "remote_model",
        "GLMV_REMOTE_MODEL",
        "--remote-model",
        "served model name (unset: the first the server lists)",
        "engine",
    ),
    Option(
        "remote_family",
        "GLMV_REMOTE_FAMILY",
        "--remote-family",
        "the served model's family, glm4v or glm4v_moe (unset: from its name)",
        "engine",
    ),
    Option(
        "remote_thinking_style",
        "GLMV_REMOTE_THINKING",
        "--thinking-style",
        "how the remote engine sends the thinking switch: chat_template_kwargs (vLLM, "
        "SGLang), the vendor API's parameter, or none",
        "engine",
        choices=_words("chat_template_kwargs", "vendor", "none"),
    ),
    Option(
        "remote_video_mode",
        "GLMV_REMOTE_VIDEO",
        "--remote-video",
        "how the remote engine sends a video: as frames or as one video",
        "engine",
        choices=_words("frames", "video"),
    ),
    Option(
        "remote_api_key_env",
        "GLMV_API_KEY_ENV",
        "--api-key-env",
        "the variable holding the remote server's API key",
        "engine",
    ),
    Option(
        "max_file_size_mb",
        "GLMV_MAX_FILE_MB",
        "--max-file-size",
        "upload size limit in MB",
        "media",
        int,
    ),
    Option(
        "host",
        "GLMV_HOST",
        "--host",
        "address to serve on (unset: Gradio's GRADIO_SERVER_NAME, else 127.0.0.1)",
        "serve",
    ),
    Option(
        "port",
        "GLMV_PORT",
        "--port",
        "port (unset: Gradio's GRADIO_SERVER_PORT, else the first free one from 7860)",
        "serve",
        int,
    ),
    Option("share", "GLMV_SHARE", "--share", "create a public share link", "serve", bool),
    Option("mcp_server", "GLMV_MCP", "--mcp", "also serve the app as an MCP server", "serve", bool),
    Option(
        "concurrency",
        "GLMV_CONCURRENCY",
        "--concurrency",
        "replies generated at once",
        "serve",
        int,
    ),
    Option(
        "language",
        "GLMV_LANGUAGE",
        "--language",
        "interface language at start",
        "serve",
        choices=_words("en", "zh"),
    ),
    Option(
        "model_switch",
        "GLMV_MODEL_SWITCH",
        "--model-switch",
        "let operators load another model for everyone (needs GLMV_AUTH logins and GLMV_OPERATORS)",
        "serve",
        bool,
    ),
    # No flag: a password on the command line shows in process lists.
    Option(
        "auth",
        "GLMV_AUTH",
        None,
        "user:password logins the page asks for, comma-separated",
        "serve",
    ),
    Option(
        "operators",
        "GLMV_OPERATORS",
        "--operators",
        "comma-separated logins of GLMV_AUTH that may switch the model",
        "serve",
    ),
    Option(
        "fetch_private",
        "GLMV_FETCH_PRIVATE",
        "--fetch-private",
        "files by URL may come from private and non-global addresses",
        "serve",
        bool,
    ),
    Option(
        "fetch_proxy",
        "GLMV_FETCH_PROXY",
        "--fetch-proxy",
        "files by URL go through the environment's proxy settings",
        "serve",
        bool,
    ),
    Option(
        "fetch_deadline_s",
        "GLMV_FETCH_DEADLINE_S",
        "--fetch-deadline",
        "seconds for all of one request's downloads",
        "serve",
        float,
    ),
    Option(
        "queue_size",
        "GLMV_QUEUE_SIZE",
        "--queue-size",
        "API and MCP requests that may wait for the model; more are refused",
        "serve",
        int,
    ),
    Option(
        "zerogpu_size",
        "GLMV_ZEROGPU_SIZE",
        "--zerogpu-size",
        "ZeroGPU's GPU size (unset: ZeroGPU's default, large)",
        "serve",
        choices=_words("large", "xlarge"),
    ),
)
_BY_FIELD = {o.field: o for o in OPTIONS}


def option(field_name: str) -> Option:
    """The option that sets ``field_name``."""
    return _BY_FIELD[field_name]


def declare_arguments(
    parser: argparse.ArgumentParser,
    default_of: Callable[[Option], object],
    groups: Collection[OptionGroup] = ALL_GROUPS,
    fields: Collection[str] | None = None,
) -> None:
    """Declare the flags of ``groups`` (only ``fields`` of them when given) on ``parser``;
    ``default_of`` gives each option's default for its help (AppConfig's, through
    :func:`glmv_ui.config.add_arguments`). A flag left out leaves no value, so
    :meth:`AppConfig.from_args` falls back to the variable, then to the default."""
    for opt in OPTIONS:
        if opt.flag is None or opt.group not in groups:
            continue
        if fields is not None and opt.field not in fields:
            continue
        text = f"{opt.help} (env {opt.env}; default {opt.word(default_of(opt))})"
        if opt.kind is bool:
            parser.add_argument(
                opt.flag,
                dest=opt.field,
                action=argparse.BooleanOptionalAction,
                default=argparse.SUPPRESS,
                help=text,
            )
            continue
        parser.add_argument(
            opt.flag,
            dest=opt.field,
            type=opt.from_flag,
            default=argparse.SUPPRESS,
            metavar=(
                "{" + ",".join(opt.choices) + "}"
                if opt.choices
                else opt.flag.lstrip("-").replace("-", "_").upper()
            ),
            help=text,
        )
