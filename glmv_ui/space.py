"""Assemble a ready-to-push Hugging Face Space folder from this project.

``python -m glmv_ui space --out DIR [--model ID] [--quant 4bit] [--hardware FLAVOR]
[--engine remote --url URL --remote-model NAME]`` writes:

    README.md         front matter (sdk gradio, sdk_version, python_version, app_file, models,
                      preload_from_hub, suggested_hardware) and a short description
    app.py            the Space entry point: applies the Space's defaults, then runs the app
    glmv_app.py       the project's app.py, unchanged
    glmv_ui/          a copy of the package (no caches)
    requirements.txt  the project's pins fitted to the target (below); no gradio: the SDK
                      installs it from sdk_version
    packages.txt      Debian packages: LibreOffice Impress for slides, CJK and DejaVu fonts

Three targets, each with the Python, torch and hardware values its platform accepts:

- ``zerogpu`` (``--hardware zero-a10g``): a ZeroGPU Space. Python and torch from ZeroGPU's list,
  the ``spaces`` package, no ``suggested_hardware`` (ZeroGPU is not one of its values; it is
  chosen in the Space's settings), the GPU size (``large`` 48 GB or ``xlarge`` 96 GB) from the
  memory estimate.
- ``local``: the model runs on a dedicated GPU flavour (or, for the tiny checkpoints, on a CPU
  flavour) with the project's own torch pins.
- ``remote``: a CPU Space in front of an OpenAI-compatible server; no torch stack at all.

The values come from Hugging Face's documentation, read when this was written:
https://huggingface.co/docs/hub/spaces-config-reference (keys, ``suggested_hardware`` values,
``preload_from_hub``), https://huggingface.co/docs/hub/spaces-gpus (GPU memory) and
https://huggingface.co/docs/hub/spaces-zerogpu (sizes, Python and PyTorch versions).

Standard library only; the memory figures come from :func:`glmv_ui.models.estimate_memory`.
"""

from __future__ import annotations

import re
import shutil
from dataclasses import dataclass
from pathlib import Path

from .config import DEFAULT_MODEL
from .errors import ConfigError

__all__ = [
    "GRADIO_VERSION",
    "HARDWARE",
    "TARGETS",
    "ZEROGPU",
    "ZEROGPU_SIZES",
    "SpacePlan",
    "SpaceTarget",
    "build_space",
    "front_matter",
    "plan_space",
    "suggest_hardware",
]

GRADIO_VERSION = "6.31.0"

# The documented suggested_hardware flavours with the GPU memory of the whole flavour in GiB
# (the GB of the spaces-gpus table; 0: no GPU).
HARDWARE: dict[str, float] = {
    "cpu-basic": 0,
    "cpu-upgrade": 0,
    "t4-small": 14.9,
    "t4-medium": 14.9,
    "l4x1": 22.3,
    "l4x4": 89.4,
    "l40sx1": 44.7,
    "l40sx4": 178.8,
    "l40sx8": 357.6,
    "a10g-small": 22.3,
    "a10g-large": 22.3,
    "a10g-largex2": 44.7,
    "a10g-largex4": 89.4,
    "a100-large": 74.5,
    "a100x4": 298.0,
    "a100x8": 596.0,
}
# Tried in this order when suggesting: the cheapest single-GPU flavour whose memory fits
# (transformers runs a model split over several GPUs one layer after another).
_LADDER = ("t4-medium", "l4x1", "a10g-large", "l40sx1", "a100-large")
# ZeroGPU: the Settings / API flavour name, and the GPU sizes `spaces.GPU(size=...)` asks for.
ZEROGPU = "zero-a10g"
ZEROGPU_SIZES: dict[str, float] = {"large": 44.7, "xlarge": 89.4}  # 48 GB, 96 GB
_HEADROOM = 1.2  # activations and the KV cache on top of the weights


@dataclass(frozen=True)
class SpaceTarget:
    """What a kind of Space installs: its Python, and torch pins replacing the project's."""

    name: str
    python_version: str
    torch: tuple[str, ...] | None  # None: the project's pins; (): no torch stack at all
    extra: tuple[str, ...] = ()


TARGETS: dict[str, SpaceTarget] = {
    # ZeroGPU lists Python 3.10.13 and 3.12.12 and PyTorch 2.8.0-2.11.0; transformers 5 needs
    # Python 3.11 or newer, so 3.12.12 with the newest listed torch and its torchvision.
    "zerogpu": SpaceTarget(
        "zerogpu", "3.12.12", ("torch==2.11.0", "torchvision==0.26.0"), ("spaces",)
    ),
    "local": SpaceTarget("local", "3.11", None),
    "remote": SpaceTarget("remote", "3.11", ()),
}

_SPACE_DROP = {"gradio", "gradio-client", "ipywidgets", "matplotlib"}
_TORCH_STACK = {
    "torch",
    "torchvision",
    "transformers",
    "accelerate",
    "tokenizers",
    "safetensors",
    "bitsandbytes",
}
_PACKAGES = ("libreoffice-impress", "fonts-noto-cjk", "fonts-dejavu-core")


@dataclass(frozen=True)
class SpacePlan:
    """What a Space will run and the front matter that says so."""

    model: str
    engine: str
    quantization: str | None
    hardware: str  # a flavour name: suggested_hardware, or ZEROGPU
    url: str | None = None
    remote_model: str | None = None
    title: str = "GLM-V Workbench"
    zerogpu_size: str | None = None  # "xlarge" when the default "large" is too small

    @property
    def target(self) -> SpaceTarget:
        if self.engine == "remote":
            return TARGETS["remote"]
        return TARGETS["zerogpu" if self.hardware == ZEROGPU else "local"]

    @property
    def suggested_hardware(self) -> str | None:
        return None if self.hardware == ZEROGPU else self.hardware

    @property
    def hub_model(self) -> str | None:
        """The Hub repository the Space runs, if it is one (tiny ids and paths are not)."""
        name = self.remote_model if self.engine == "remote" else self.model
        if not name or name.startswith(("tiny-", "/", ".")) or name.count("/") != 1:
            return None
        return name


def _need_gib(model: str, quantization: str | None) -> float:
    if model.startswith("tiny-"):
        return 0.0
    from .models import estimate_memory

    option = quantization or "bf16"
    need = estimate_memory(model).by_option.get(option)
    if need is None:
        raise ConfigError(f"no memory estimate for {model} with {option}")
    return need / 2**30 * _HEADROOM


def _too_big(model: str, option: str, need_gib: float, where: str) -> ConfigError:
    return ConfigError(
        f"{model} ({option}) needs about {need_gib:.0f} GiB of GPU memory, more than {where}: "
        "serve it with vLLM or SGLang and build a remote-engine Space (--engine remote --url ...)"
    )


def suggest_hardware(model: str, quantization: str | None = None, engine: str = "local") -> str:
    """The cheapest Space flavour whose GPU holds the model (weights + 20 %)."""
    if engine == "remote" or model.startswith("tiny-"):
        return "cpu-basic"
    need_gib = _need_gib(model, quantization)
    for flavour in _LADDER:
        if HARDWARE[flavour] >= need_gib:
            return flavour
    raise _too_big(model, quantization or "bf16", need_gib, "any single Space GPU")


def _zerogpu_size(model: str) -> str | None:
    need_gib = _need_gib(model, None)
    for size, gib in ZEROGPU_SIZES.items():
        if gib >= need_gib:
            return None if size == "large" else size
    raise _too_big(model, "bf16", need_gib, "ZeroGPU's largest size (96 GB)")


def plan_space(
    model: str = DEFAULT_MODEL,
    *,
    engine: str = "local",
    quantization: str | None = None,
    hardware: str | None = None,
    url: str | None = None,
    remote_model: str | None = None,
    title: str = "GLM-V Workbench",
) -> SpacePlan:
    if engine not in ("local", "remote"):
        raise ConfigError(f"engine must be local or remote, got {engine!r}")
    if engine == "remote" and not url:
        raise ConfigError("a remote-engine Space needs the server URL (--url)")
    if quantization not in (None, "4bit", "8bit"):
        raise ConfigError(f"quantization must be 4bit or 8bit, got {quantization!r}")
    if hardware == "zerogpu":
        hardware = ZEROGPU
    if hardware is not None and hardware not in HARDWARE and hardware != ZEROGPU:
        raise ConfigError(
            f"unknown Space hardware {hardware!r}; one of {', '.join(HARDWARE)} "
            f"or {ZEROGPU} (ZeroGPU)"
        )
    size = None
    if engine == "remote":
        if hardware is not None and HARDWARE.get(hardware, 1) > 0:
            raise ConfigError(
                "a remote-engine Space runs no model: choose a CPU flavour "
                "(cpu-basic or cpu-upgrade)"
            )
    elif hardware == ZEROGPU:
        if quantization:
            raise ConfigError(
                "ZeroGPU holds GLM-4.1V in bf16 (48 GB); 4-bit and 8-bit loading "
                "are for smaller GPUs: leave --quant out"
            )
        size = _zerogpu_size(model)
    elif hardware is not None and HARDWARE[hardware] == 0 and not model.startswith("tiny-"):
        raise ConfigError(
            f"{model} needs a GPU: choose a GPU flavour, {ZEROGPU} (ZeroGPU), "
            "or a remote-engine Space"
        )
    chosen = hardware or suggest_hardware(model, quantization, engine)
    return SpacePlan(
        model=model,
        engine=engine,
        quantization=quantization,
        hardware=chosen,
        url=url,
        remote_model=remote_model,
        title=title,
        zerogpu_size=size,
    )


def build_space(
    out: str | Path,
    model: str = DEFAULT_MODEL,
    *,
    engine: str = "local",
    quantization: str | None = None,
    hardware: str | None = None,
    url: str | None = None,
    remote_model: str | None = None,
    title: str = "GLM-V Workbench",
    root: str | Path | None = None,
    overwrite: bool = False,
) -> Path:
    """Write the Space folder at ``out`` and return its path.

    ``root`` is the project checkout holding ``app.py`` and ``glmv_ui/`` (default: the one this
    module lives in). An existing non-empty ``out`` is refused unless ``overwrite``.
    """
    plan = plan_space(
        model,
        engine=engine,
        quantization=quantization,
        hardware=hardware,
        url=url,
        remote_model=remote_model,
        title=title,
    )
    src = Path(root) if root else Path(__file__).resolve().parent.parent
    app = src / "app.py"
    if not app.is_file():
        raise ConfigError(f"{app}: the app's entry point is missing from the project")
    dest = Path(out)
    if dest.exists() and any(dest.iterdir()):
        if not overwrite:
            raise ConfigError(f"{dest} is not empty; choose another folder or pass --force")
        shutil.rmtree(dest)
    dest.mkdir(parents=True, exist_ok=True)
    shutil.copytree(
        src / "glmv_ui",
        dest / "glmv_ui",
        ignore=shutil.ignore_patterns("__pycache__", "*.pyc", ".*"),
    )
    shutil.copy2(app, dest / "glmv_app.py")
    (dest / "app.py").write_text(_launcher(plan), encoding="utf-8")
    (dest / "README.md").write_text(_readme(plan), encoding="utf-8")
    (dest / "requirements.txt").write_text(
        _requirements(src / "requirements.txt", plan), encoding="utf-8"
    )
    (dest / "packages.txt").write_text("\n".join(_PACKAGES) + "\n", encoding="utf-8")
    return dest


def front_matter(plan: SpacePlan) -> str:
    """The README's YAML block (written by hand: the values are plain scalars and lists)."""
    lines = [
        "---",
        f"title: {plan.title}",
        "emoji: 🔭",
        "colorFrom: indigo",
        "colorTo: blue",
        "sdk: gradio",
        f'sdk_version: "{GRADIO_VERSION}"',
        f'python_version: "{plan.target.python_version}"',
        "app_file: app.py",
        "pinned: false",
    ]
    if plan.suggested_hardware:
        lines.append(f"suggested_hardware: {plan.suggested_hardware}")
    lines.append("short_description: Chat with GLM-V about images, PDFs, slides and videos")
    hub = plan.hub_model
    if hub:
        lines += ["models:", f"  - {hub}"]
        if plan.engine == "local":
            # Downloaded while the Space is built, into the default cache (it does not follow
            # a changed HF_HOME), so the first start does not wait for it.
            lines += ["preload_from_hub:", f"  - {hub}"]
    lines.append("---")
    return "\n".join(lines) + "\n"


def _readme(plan: SpacePlan) -> str:
    if plan.engine == "remote":
        runs = (
            f"This Space runs no model itself: it sends each request to the OpenAI-compatible "
            f"server at `{plan.url}` (model `{plan.remote_model or 'first listed'}`). "
            "Set the API key as a Space secret named `GLMV_API_KEY`."
        )
    elif plan.hardware == ZEROGPU:
        size = plan.zerogpu_size or "large"
        runs = (
            f"This Space runs `{plan.model}` on ZeroGPU (GPU size `{size}`): choose "
            "ZeroGPU in the Space's settings (`hf spaces settings SPACE --hardware "
            f"{ZEROGPU}`)."
        )
    else:
        quant = f", {plan.quantization} quantized" if plan.quantization else ""
        runs = (
            f"This Space runs `{plan.model}`{quant} on the Space's own hardware "
            f"(suggested: `{plan.hardware}`)."
        )
    return (
        front_matter(plan) + f"\n# {plan.title}\n\n"
        "A chat demo for the GLM-V vision-language models: images, PDFs, slide decks and "
        "videos in, thinking and answers streamed out, grounding boxes drawn on the "
        "image.\n\n" + runs + "\n\n"
        "Settings are Space variables: `GLMV_MODEL`, `GLMV_QUANT` (4bit / 8bit), "
        "`GLMV_ENGINE`, `GLMV_REMOTE_URL`, `GLMV_REMOTE_MODEL`. Leave `HF_HOME` unset: the "
        "weights listed in `preload_from_hub` are stored in the default cache.\n"
    )


def _launcher(plan: SpacePlan) -> str:
    defaults = {"GLMV_MODEL": plan.model, "GLMV_ENGINE": plan.engine}
    if plan.quantization:
        defaults["GLMV_QUANT"] = plan.quantization
    if plan.url:
        defaults["GLMV_REMOTE_URL"] = plan.url
    if plan.remote_model:
        defaults["GLMV_REMOTE_MODEL"] = plan.remote_model
    if plan.zerogpu_size:
        defaults["GLMV_ZEROGPU_SIZE"] = plan.zerogpu_size
    env_lines = "\n".join(f"os.environ.setdefault({k!r}, {v!r})" for k, v in defaults.items())
    return f'''"""Space entry point: this Space's defaults, then the workbench app (glmv_app.py).

Space variables with the same names override these defaults.
"""

import os
import runpy
import sys
from pathlib import Path

{env_lines}


def _flag(name: str, value: str) -> None:
    if not any(arg == name or arg.startswith(name + "=") for arg in sys.argv[1:]):
        sys.argv += [name, value]


_flag("--model", os.environ["GLMV_MODEL"])
if os.environ.get("SPACE_ID") and not (os.environ.get("GLMV_HOST")
                                       or os.environ.get("GRADIO_SERVER_NAME")):
    # Inside a Space the app must listen on all interfaces.
    _flag("--host", "0.0.0.0")

runpy.run_path(str(Path(__file__).with_name("glmv_app.py")), run_name="__main__")
'''


def _requirements(path: Path, plan: SpacePlan) -> str:
    target = plan.target
    lines = [
        f"# {target.name} Space: installed on top of the Space's Gradio image (gradio "
        "comes from sdk_version)."
    ]
    if not path.is_file():
        raise ConfigError(f"{path}: the project's requirements file is missing")
    for raw in path.read_text(encoding="utf-8").splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        name = re.split(r"[\[=<>!~ ;]", line, maxsplit=1)[0].lower()
        if name in _SPACE_DROP:
            continue
        if target.torch == () and name in _TORCH_STACK:
            continue
        if target.torch and name in ("torch", "torchvision"):
            continue  # replaced below by the target's own pins
        if target.name == "zerogpu" and name == "bitsandbytes":
            continue  # ZeroGPU runs the model unquantized
        if name == "transformers":
            line = re.sub(r"\[[^\]]*\]", "", line)  # the serving extra is for local servers
        lines.append(line)
    lines += [*(target.torch or ()), *target.extra]
    return "\n".join(lines) + "\n"
