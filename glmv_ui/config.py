"""Frozen option records and per-family defaults; the only module that reads environment variables.

Standard library only.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Literal

from .errors import ConfigError

if TYPE_CHECKING:
    from .caps import Capabilities

__all__ = [
    "DEFAULT_MODEL",
    "ENV_VARS",
    "SAMPLING_RANGES",
    "AppConfig",
    "LoadOptions",
    "MediaLimits",
    "Range",
    "Sampling",
    "default_sampling",
    "env_model",
    "env_zerogpu_size",
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
        """Settings from ``GLMV_*`` environment variables (see :data:`ENV_VARS`); unset ones
        keep their defaults. Command-line flags, where a program has them, override these."""
        env = os.environ if environ is None else environ

        def get(name: str) -> str:
            return env.get(name, "").strip()

        values: dict[str, object] = {}
        for var, (attr, convert) in ENV_VARS.items():
            raw = get(var)
            if raw:
                try:
                    values[attr] = convert(raw)
                except ValueError:
                    raise ConfigError(f"{var}={raw!r} is not a valid value") from None
        quant = values.pop("quantization", None)
        load = LoadOptions(quantization=None if quant in (None, "none") else quant)  # type: ignore[arg-type]
        size = values.get("max_file_size_mb")
        upload_mb = size if isinstance(size, int) else MediaLimits.max_upload_mb
        return cls(load=load, media=MediaLimits(max_upload_mb=upload_mb), **values)  # type: ignore[arg-type]


def _flag(raw: str) -> bool:
    if raw.lower() in ("1", "true", "yes", "on"):
        return True
    if raw.lower() in ("0", "false", "no", "off"):
        return False
    raise ValueError(raw)


# Environment variable -> (AppConfig field, parser).
ENV_VARS: dict[str, tuple[str, Callable[[str], object]]] = {
    "GLMV_MODEL": ("model", str),
    "GLMV_QUANT": ("quantization", str),
    "GLMV_ENGINE": ("engine", str),
    "GLMV_REMOTE_URL": ("remote_url", str),
    "GLMV_REMOTE_MODEL": ("remote_model", str),
    "GLMV_REMOTE_FAMILY": ("remote_family", str),
    "GLMV_REMOTE_THINKING": ("remote_thinking_style", str),
    "GLMV_REMOTE_VIDEO": ("remote_video_mode", str),
    "GLMV_API_KEY_ENV": ("remote_api_key_env", str),
    "GLMV_HOST": ("host", str),
    "GLMV_PORT": ("port", int),
    "GLMV_SHARE": ("share", _flag),
    "GLMV_MCP": ("mcp_server", _flag),
    "GLMV_CONCURRENCY": ("concurrency", int),
    "GLMV_MAX_FILE_MB": ("max_file_size_mb", int),
    "GLMV_LANGUAGE": ("language", str),
    "GLMV_MODEL_SWITCH": ("model_switch", _flag),
    "GLMV_AUTH": ("auth", str),
    "GLMV_OPERATORS": ("operators", str),
    "GLMV_FETCH_PRIVATE": ("fetch_private", _flag),
    "GLMV_FETCH_PROXY": ("fetch_proxy", _flag),
    "GLMV_FETCH_DEADLINE_S": ("fetch_deadline_s", float),
    "GLMV_QUEUE_SIZE": ("queue_size", int),
    "GLMV_ZEROGPU_SIZE": ("zerogpu_size", str),
}


def env_model(default: str = DEFAULT_MODEL) -> str:
    """The model id chosen with ``GLMV_MODEL`` (any id the registry accepts, tiny ones too)."""
    return os.environ.get("GLMV_MODEL", "").strip() or default


ZEROGPU_SIZES = ("large", "xlarge")


def env_zerogpu_size() -> str | None:
    """The ZeroGPU size chosen with ``GLMV_ZEROGPU_SIZE`` (``large`` or ``xlarge``), or None."""
    size = os.environ.get("GLMV_ZEROGPU_SIZE", "").strip().lower() or None
    if size is not None and size not in ZEROGPU_SIZES:
        raise ConfigError(f"GLMV_ZEROGPU_SIZE must be large or xlarge, got {size!r}")
    return size
