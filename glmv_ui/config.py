"""Frozen option records and per-family defaults; the only module that reads ``GLMV_*`` variables.

Every setting of :class:`AppConfig` is declared once, in :data:`OPTIONS`: its flag, its
``GLMV_*`` variable, how its text is read, and its one default (the record's own). ``app.py`` and
the terminal chat build their parsers with :func:`add_arguments` and their config with
:meth:`AppConfig.from_args`; a notebook or a Space uses :meth:`AppConfig.from_env`. Precedence:
a flag given wins over its variable, a set (non-empty) variable wins over the default.
:class:`HostSettings` holds the machine's own variables (LibreOffice, decoding budget, caches),
read when asked, never at import.

Standard library only.
"""

from __future__ import annotations

import argparse
import os
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Literal

from .errors import ConfigError
from .options import ALL_GROUPS, OPTIONS, Option, OptionGroup, declare_arguments, option

if TYPE_CHECKING:
    from .caps import Capabilities

__all__ = [
    "DEFAULT_MODEL",
    "HOST_VARS",
    "OPTIONS",
    "SAMPLING_RANGES",
    "AppConfig",
    "HostSettings",
    "LoadOptions",
    "MediaLimits",
    "Option",
    "Range",
    "Sampling",
    "add_arguments",
    "default_of",
    "default_sampling",
    "env_model",
    "env_values",
    "env_zerogpu_size",
    "option",
    "quantization_of",
]

DEFAULT_MODEL = "zai-org/GLM-4.1V-9B-Thinking"

Family = Literal["glm4v", "glm4v_moe", "glm46v", "glmga", "glm5_next"]
Quantization = Literal[None, "4bit", "8bit"]


@dataclass(frozen=True)
class Sampling:
    """Decoding settings. ``temperature == 0`` means greedy decoding."""

    temperature: float = 0.6
    top_p: float = 0.95
    top_k: int = 2
    repetition_penalty: float = 1.1
    max_new_tokens: int = 8192
    seed: int | None = None
    # GLM-4.5V: False sends enable_thinking=False. GLM-4.1V always thinks and ignores it.
    thinking: bool = True
    # GLM-4.1V: after this many thinking tokens close the thought and answer. None = no limit.
    thinking_budget: int | None = None
    # Checkpoints whose template takes a reasoning effort (GLM-5.3-Flash): None = its default.
    effort: str | None = None

    def __post_init__(self) -> None:
        if self.temperature < 0:
            raise ConfigError(f"temperature must be >= 0, got {self.temperature}")
        if not 0 < self.top_p <= 1:
            raise ConfigError(f"top_p must be in (0, 1], got {self.top_p}")
        if self.top_k < 0:
            raise ConfigError(f"top_k must be >= 0, got {self.top_k}")
        if self.repetition_penalty <= 0:
            raise ConfigError(f"repetition_penalty must be > 0, got {self.repetition_penalty}")
        if self.max_new_tokens < 1:
            raise ConfigError(f"max_new_tokens must be >= 1, got {self.max_new_tokens}")
        if self.thinking_budget is not None and self.thinking_budget < 0:
            raise ConfigError(f"thinking_budget must be >= 0, got {self.thinking_budget}")

    def replace(self, **changes: object) -> Sampling:
        return replace(self, **changes)  # type: ignore[arg-type]


@dataclass(frozen=True)
class Range:
    """The values a control offers for one setting (the app's sliders, the notebook widget's)."""

    minimum: float
    maximum: float
    step: float


SAMPLING_RANGES: dict[str, Range] = {
    "temperature": Range(0.0, 2.0, 0.05),
    "top_p": Range(1e-5, 1.0, 0.01),
    "top_k": Range(0, 100, 1),
    "repetition_penalty": Range(0.8, 2.0, 0.01),
    "max_new_tokens": Range(16, 32768, 16),
    "thinking_budget": Range(0, 16384, 64),
}


# Defaults by the checkpoint's sampling style (``Capabilities.sampling``). Always-thinking
# GLM-4.1V: the upstream demo's near-greedy settings. Hybrid-reasoning checkpoints (GLM-4.5V on):
# the vendor desktop app's settings. Both are documented in FACTS and shown in the UI.
_STYLE_SAMPLING: dict[str, Sampling] = {
    "near_greedy": Sampling(
        temperature=1.0, top_p=1e-5, top_k=2, repetition_penalty=1.1, max_new_tokens=8192
    ),
    "vendor": Sampling(
        temperature=0.3, top_p=0.6, top_k=2, repetition_penalty=1.1, max_new_tokens=16384
    ),
}


# The tiny test checkpoints (random weights) write word salad: a short answer comes in seconds.
TINY_MAX_NEW_TOKENS = 256


def default_sampling(caps: Capabilities | str, model: str | None = None) -> Sampling:
    """The checkpoint's defaults (its :class:`~glmv_ui.caps.Capabilities`, or a family's when
    only a model type is known); a tiny test checkpoint's ``model`` id gets a short answer."""
    from .caps import as_caps

    base = _STYLE_SAMPLING[as_caps(caps).sampling]
    if model is not None and is_tiny_model(model):
        return replace(base, max_new_tokens=TINY_MAX_NEW_TOKENS)
    return base


def is_tiny_model(model: str) -> bool:
    """A tiny test checkpoint (``tiny-glm41v``, ``tiny-glm53``, ...), by id or by the folder it
    is built in."""
    name = model.rstrip("/").rsplit("/", 1)[-1]
    return name.startswith("tiny-glm")


@dataclass(frozen=True)
class LoadOptions:
    """How to load a checkpoint. Hashable: it is part of the model cache key."""

    dtype: str = "auto"  # "auto" (bf16 on GPU, fp32 on CPU), "bfloat16", "float16", "float32"
    device_map: str | None = "auto"
    attn_implementation: str | None = None  # "sdpa", "eager", "flash_attention_2"
    quantization: Quantization = None

    def __post_init__(self) -> None:
        if self.quantization not in (None, "4bit", "8bit"):
            raise ConfigError(f"quantization must be none, 4bit or 8bit, got {self.quantization!r}")
        if self.dtype not in ("auto", "bfloat16", "float16", "float32"):
            raise ConfigError(
                f"dtype must be auto, bfloat16, float16 or float32, got {self.dtype!r}"
            )


@dataclass(frozen=True)
class MediaLimits:
    """Budgets for uploads, applied before anything reaches the model."""

    max_images: int = 16
    max_pdf_pages: int = 30
    image_max_pixels: int = 1920 * 1080  # larger images are downscaled to this many pixels
    pdf_tokens_per_page: int = 1500  # rendering resolution is chosen from this visual-token budget
    video_fps: float = 2.0
    video_max_frames: int = 600
    max_upload_mb: int = 200
    context_tokens: int = 65536  # the context window the visual tokens must fit in
    reserve_tokens: int = 8192  # kept free for the text of the conversation and the answer
    office_timeout_s: float = 60.0
    # LibreOffice's address-space limit (Linux). The real decks here convert within 400 MB.
    office_memory_mb: int = 2048
    # Slide decks are zip packages, checked before anything unpacks them. The real decks here
    # have at most 123 parts, 1 MB unpacked, an 80 kB largest XML part and 22:1 compression.
    archive_max_members: int = 10_000
    archive_max_member_mb: int = 256  # one part unpacked (a picture, an embedded video)
    archive_max_xml_mb: int = 50  # one XML part unpacked: every reader parses it whole
    archive_max_total_mb: int = 1024  # all parts unpacked
    archive_max_ratio: int = 200  # unpacked:packed, judged for parts of 1 MB and more

    @property
    def max_text_chars(self) -> int:
        """The longest message worth tokenizing: prose runs about four characters a token, so
        a longer one cannot fit the context. Refused at once, before any tokenizer or model
        sees it (the engine then counts the exact tokens of what is let through)."""
        return self.context_tokens * 4


@dataclass(frozen=True)
class AppConfig:
    model: str = DEFAULT_MODEL
    load: LoadOptions = field(default_factory=LoadOptions)
    engine: Literal["local", "remote", "scripted"] = "local"
    remote_url: str | None = None
    remote_model: str | None = None  # None: the first model the server lists
    remote_family: str | None = None  # None: a known served id, else glm4v_moe (remote_caps)
    remote_api_key_env: str = "GLMV_API_KEY"
    # The server the API key belongs to: the remote URL the operator configured at start. A
    # model switch to another URL does not carry the key there. None: ``remote_url``.
    remote_key_url: str | None = None
    remote_thinking_style: Literal["chat_template_kwargs", "vendor", "none"] = (
        "chat_template_kwargs"
    )
    remote_video_mode: Literal["frames", "video"] = "frames"
    # None: Gradio decides (GRADIO_SERVER_NAME / GRADIO_SERVER_PORT, else 127.0.0.1 and the
    # first free port from 7860), as hosts such as Docker images and Spaces expect.
    host: str | None = None
    port: int | None = None
    zerogpu_size: Literal["large", "xlarge"] | None = None  # None: ZeroGPU's default (large)
    share: bool = False
    mcp_server: bool = False
    concurrency: int = 1
    max_file_size_mb: int = 200
    language: Literal["en", "zh"] = "en"
    media: MediaLimits = field(default_factory=MediaLimits)
    # Whether an operator may load another model. The model is shared by every user of the
    # process, so it is off unless the operator turns it on, and then only the logins named in
    # ``operators`` may use it (never an anonymous visitor, API or MCP caller).
    model_switch: bool = False
    # "user:password" pairs, comma-separated, that the page asks for (GLMV_AUTH only: a flag
    # would show the passwords in process lists). Never printed: kept out of repr.
    auth: str | None = field(default=None, repr=False)
    # Comma-separated user names of ``auth`` that are operators (may switch the model).
    operators: str | None = None
    # Files by URL: private and non-global addresses are refused unless this is set; the
    # environment's proxy settings are ignored unless ``fetch_proxy`` is set.
    fetch_private: bool = False
    fetch_proxy: bool = False
    fetch_deadline_s: float = 60.0  # all of one request's downloads together
    # Requests of API and MCP callers waiting for the model; more are refused ("busy").
    queue_size: int = 8

    def __post_init__(self) -> None:
        if self.remote_key_url is None and self.remote_url:
            object.__setattr__(self, "remote_key_url", self.remote_url)

    def auth_pairs(self) -> list[tuple[str, str]]:
        """The logins from ``auth``; refuses a malformed entry without echoing it."""
        pairs = []
        for entry in (self.auth or "").split(","):
            if not entry.strip():
                continue
            user, sep, password = entry.strip().partition(":")
            if not sep or not user or not password:
                raise ConfigError("GLMV_AUTH must be user:password pairs separated by commas")
            pairs.append((user, password))
        return pairs

    def operator_names(self) -> frozenset[str]:
        """The operators' user names; each must be one of the logins of ``auth``."""
        names = frozenset(n.strip() for n in (self.operators or "").split(",") if n.strip())
        unknown = names - {user for user, _ in self.auth_pairs()}
        if unknown:
            raise ConfigError("GLMV_OPERATORS names users that GLMV_AUTH does not define")
        return names

    def switching_allowed(self) -> bool:
        """Whether the model panel offers switching: only when the operator turned it on
        (never inferred from where the app listens) and named who may use it."""
        return self.model_switch and bool(self.operator_names())

    def may_switch(self, username: str | None) -> bool:
        """Whether the caller logged in as ``username`` may load another model."""
        return self.switching_allowed() and username in self.operator_names()

    def check_access(self) -> None:
        """Refuse settings that would hand operator powers to nobody or to everybody."""
        if self.model_switch and not self.operator_names():
            raise ConfigError(
                "model switching (GLMV_MODEL_SWITCH / --model-switch) needs "
                "GLMV_AUTH logins and GLMV_OPERATORS naming who may switch"
            )
        if self.queue_size < 0 or self.fetch_deadline_s <= 0:
            raise ConfigError("GLMV_QUEUE_SIZE must be >= 0 and GLMV_FETCH_DEADLINE_S > 0")

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> AppConfig:
        """Settings from the ``GLMV_*`` variables of :data:`OPTIONS`; unset ones keep their
        defaults. Programs with flags use :meth:`from_args`, where a flag wins over these."""
        return cls.from_values(env_values(environ))

    @classmethod
    def from_args(
        cls, args: argparse.Namespace, environ: Mapping[str, str] | None = None
    ) -> AppConfig:
        """Settings from a parser built with :func:`add_arguments`: a flag that was given wins
        over its variable, a set variable wins over the default."""
        values = env_values(environ)
        given = vars(args)
        values.update({o.field: given[o.field] for o in OPTIONS if o.field in given})
        return cls.from_values(values)

    @classmethod
    def from_values(cls, values: Mapping[str, object]) -> AppConfig:
        """A config from option values by field name (as :meth:`Option.parse` returns them)."""
        rest = dict(values)
        load = LoadOptions(quantization=rest.pop("quantization", None))  # type: ignore[arg-type]
        size = rest.get("max_file_size_mb")
        media = MediaLimits(
            max_upload_mb=size if isinstance(size, int) else MediaLimits.max_upload_mb
        )
        return cls(load=load, media=media, **rest)  # type: ignore[arg-type]


def env_values(environ: Mapping[str, str] | None = None) -> dict[str, object]:
    """The values of the options whose variables are set (empty counts as unset)."""
    env = os.environ if environ is None else environ
    values: dict[str, object] = {}
    for opt in OPTIONS:
        raw = env.get(opt.env, "").strip()
        if not raw:
            continue
        try:
            values[opt.field] = opt.parse(raw)
        except ValueError as exc:
            shown = "" if opt.field == "auth" else f"={raw!r}"
            raise ConfigError(f"{opt.env}{shown}: {exc}") from None
    return values


def quantization_of(word: str) -> Quantization:
    """The quantization a word of ``--quant`` / ``GLMV_QUANT`` / the model panel stands for
    (``none``: None); a word it does not know is ``none``."""
    try:
        value = option("quantization").parse(word or "none")
    except ValueError:
        return None
    return "4bit" if value == "4bit" else "8bit" if value == "8bit" else None


def env_model(default: str = DEFAULT_MODEL) -> str:
    """The model id chosen with ``GLMV_MODEL`` (any id the registry accepts, tiny ones too)."""
    return os.environ.get(option("model").env, "").strip() or default


ZEROGPU_SIZES = ("large", "xlarge")


def env_zerogpu_size() -> str | None:
    """The ZeroGPU size chosen with ``GLMV_ZEROGPU_SIZE`` (``large`` or ``xlarge``), or None."""
    size = env_values({"GLMV_ZEROGPU_SIZE": os.environ.get("GLMV_ZEROGPU_SIZE", "")})
    value = size.get("zerogpu_size")
    return value if isinstance(value, str) else None


# -- the host: where this machine keeps things, what it can spare ------------------------------


@dataclass(frozen=True)
class HostSettings:
    """Settings of the machine rather than of the app, read from the environment when a module
    asks (never at import), so a test or a launcher that sets them first is honoured."""

    soffice: str | None = None  # GLMV_SOFFICE: the LibreOffice binary; "" = none; None: PATH's
    decode_budget_mb: int = 640  # GLMV_DECODE_BUDGET_MB: decoding in flight, all sessions
    decode_jobs: int = 2  # GLMV_DECODE_JOBS: reads decoding at once
    examples_dir: str | None = None  # GLMV_EXAMPLES_DIR: None: the temp dir's glmv_ui/examples
    cache_dir: str | None = None  # GLMV_CACHE: None: ~/.cache/glmv_ui

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> HostSettings:
        env = os.environ if environ is None else environ

        def number(var: str, default: int) -> int:
            raw = env.get(var, "").strip()
            if not raw:
                return default
            try:
                value = int(raw)
            except ValueError:
                raise ConfigError(f"{var}={raw!r}: expected a whole number") from None
            if value < 1:
                raise ConfigError(f"{var}={raw!r}: expected a number of 1 or more")
            return value

        return cls(
            soffice=env.get("GLMV_SOFFICE"),
            decode_budget_mb=number("GLMV_DECODE_BUDGET_MB", cls.decode_budget_mb),
            decode_jobs=number("GLMV_DECODE_JOBS", cls.decode_jobs),
            examples_dir=env.get("GLMV_EXAMPLES_DIR") or None,
            cache_dir=env.get("GLMV_CACHE") or None,
        )


HOST_VARS = (
    "GLMV_SOFFICE",
    "GLMV_DECODE_BUDGET_MB",
    "GLMV_DECODE_JOBS",
    "GLMV_EXAMPLES_DIR",
    "GLMV_CACHE",
)


def default_of(opt: Option) -> object:
    """The one default of ``opt``: :class:`AppConfig`'s own field default."""
    config = AppConfig()
    if opt.field == "quantization":
        return config.load.quantization
    return getattr(config, opt.field)


def add_arguments(
    parser: argparse.ArgumentParser,
    groups: Collection[OptionGroup] = ALL_GROUPS,
    fields: Collection[str] | None = None,
) -> None:
    """Declare the flags of ``groups`` (only ``fields`` of them when given) on ``parser``, each
    option's help naming its variable and its default."""
    declare_arguments(parser, default_of, groups, fields)
