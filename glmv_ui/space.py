"""Assemble a ready-to-push Hugging Face Space folder from this project.

``python -m glmv_ui space --out DIR [--model ID] [--quant 4bit] [--hardware FLAVOR]
[--engine remote --url URL --remote-model NAME]`` writes:

    README.md         front matter (sdk gradio, sdk_version, python_version, app_file, models,
                      preload_from_hub, suggested_hardware) and a short description
    app.py            the Space entry point: applies the Space's defaults, then runs the app
    glmv_app.py       the project's app.py, unchanged
    glmv_ui/          a copy of the package (no caches)
    requirements.txt  the project's pins, fitted to a Space (no gradio: the SDK installs it; no
                      test or notebook packages; no torch stack for a remote-engine Space)
    packages.txt      Debian packages: LibreOffice Impress for slides, CJK and DejaVu fonts

Standard library only; the memory figures behind the hardware suggestion come from
:func:`glmv_ui.models.estimate_memory`.
"""

from __future__ import annotations

import re
import shutil
from dataclasses import dataclass
from pathlib import Path

from .config import DEFAULT_MODEL
from .errors import ConfigError

__all__ = ["GRADIO_VERSION", "HARDWARE", "PYTHON_VERSION", "SpacePlan", "build_space",
           "front_matter", "plan_space", "suggest_hardware"]

GRADIO_VERSION = "6.31.0"
PYTHON_VERSION = "3.11"

# Space hardware flavours with the GPU memory of one GPU in GiB (0: no GPU). "zero-a10g" is
# ZeroGPU, which now hands out a 70 GB slice of an H200.
HARDWARE: dict[str, float] = {
    "cpu-basic": 0, "cpu-upgrade": 0, "t4-small": 14.9, "t4-medium": 14.9, "l4x1": 22.3,
    "a10g-small": 22.3, "a10g-large": 22.3, "l40sx1": 44.7, "zero-a10g": 65.2,
    "a100-large": 74.5, "rtx-pro-6000": 89.4,
}
# Tried in this order when suggesting: the cheapest flavour whose memory fits.
_LADDER = ("t4-medium", "l4x1", "a10g-large", "l40sx1", "a100-large", "rtx-pro-6000")
_HEADROOM = 1.2  # activations and the KV cache on top of the weights

_SPACE_DROP = {"gradio", "gradio-client", "ipywidgets", "matplotlib"}
_TORCH_STACK = {"torch", "torchvision", "transformers", "accelerate", "tokenizers",
                "safetensors", "bitsandbytes"}
_PACKAGES = ("libreoffice-impress", "fonts-noto-cjk", "fonts-dejavu-core")


@dataclass(frozen=True)
class SpacePlan:
    """What a Space will run and the front matter that says so."""

    model: str
    engine: str
    quantization: str | None
    hardware: str
    url: str | None = None
    remote_model: str | None = None
    title: str = "GLM-V Workbench"

    @property
    def hub_model(self) -> str | None:
        """The Hub repository the Space runs, if it is one (tiny ids and paths are not)."""
        name = self.remote_model if self.engine == "remote" else self.model
        if not name or name.startswith(("tiny-", "/", ".")) or name.count("/") != 1:
            return None
        return name


def suggest_hardware(model: str, quantization: str | None = None, engine: str = "local") -> str:
    """The cheapest Space flavour whose GPU holds the model (weights + 20 %)."""
    if engine == "remote" or model.startswith("tiny-"):
        return "cpu-basic"
    from .models import estimate_memory

    option = quantization or "bf16"
    need = estimate_memory(model).by_option.get(option)
    if need is None:
        raise ConfigError(f"no memory estimate for {model} with {option}")
    need_gib = need / 2**30 * _HEADROOM
    for flavour in _LADDER:
        if HARDWARE[flavour] >= need_gib:
            return flavour
    raise ConfigError(
        f"{model} ({option}) needs about {need_gib:.0f} GiB of GPU memory, more than any "
        "single Space GPU: serve it with vLLM or SGLang and build a remote-engine Space "
        "(--engine remote --url ...)")


def plan_space(model: str = DEFAULT_MODEL, *, engine: str = "local",
               quantization: str | None = None, hardware: str | None = None,
               url: str | None = None, remote_model: str | None = None,
               title: str = "GLM-V Workbench") -> SpacePlan:
    if engine not in ("local", "remote"):
        raise ConfigError(f"engine must be local or remote, got {engine!r}")
    if engine == "remote" and not url:
        raise ConfigError("a remote-engine Space needs the server URL (--url)")
    if quantization not in (None, "4bit", "8bit"):
        raise ConfigError(f"quantization must be 4bit or 8bit, got {quantization!r}")
    if hardware is not None and hardware not in HARDWARE:
        raise ConfigError(f"unknown Space hardware {hardware!r}; one of {', '.join(HARDWARE)}")
    chosen = hardware or suggest_hardware(model, quantization, engine)
    return SpacePlan(model=model, engine=engine, quantization=quantization, hardware=chosen,
                     url=url, remote_model=remote_model, title=title)


def build_space(out: str | Path, model: str = DEFAULT_MODEL, *, engine: str = "local",
                quantization: str | None = None, hardware: str | None = None,
                url: str | None = None, remote_model: str | None = None,
                title: str = "GLM-V Workbench", root: str | Path | None = None,
                overwrite: bool = False) -> Path:
    """Write the Space folder at ``out`` and return its path.

    ``root`` is the project checkout holding ``app.py`` and ``glmv_ui/`` (default: the one this
    module lives in). An existing non-empty ``out`` is refused unless ``overwrite``.
    """
    plan = plan_space(model, engine=engine, quantization=quantization, hardware=hardware,
                      url=url, remote_model=remote_model, title=title)
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
    shutil.copytree(src / "glmv_ui", dest / "glmv_ui",
                    ignore=shutil.ignore_patterns("__pycache__", "*.pyc", ".*"))
    shutil.copy2(app, dest / "glmv_app.py")
    (dest / "app.py").write_text(_launcher(plan), encoding="utf-8")
    (dest / "README.md").write_text(_readme(plan), encoding="utf-8")
    (dest / "requirements.txt").write_text(_requirements(src / "requirements.txt", plan),
                                           encoding="utf-8")
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
        f'python_version: "{PYTHON_VERSION}"',
        "app_file: app.py",
        "pinned: false",
        f"suggested_hardware: {plan.hardware}",
        "short_description: Chat with GLM-V about images, PDFs, slides and videos",
    ]
    hub = plan.hub_model
    if hub:
        lines += ["models:", f"  - {hub}"]
        if plan.engine == "local":
            # Downloaded while the Space is built, so the first start does not wait for it.
            lines += ["preload_from_hub:", f"  - {hub}"]
    lines.append("---")
    return "\n".join(lines) + "\n"


def _readme(plan: SpacePlan) -> str:
    if plan.engine == "remote":
        runs = (f"This Space runs no model itself: it sends each request to the OpenAI-compatible "
                f"server at `{plan.url}` (model `{plan.remote_model or 'first listed'}`). "
                "Set the API key as a Space secret named `GLMV_API_KEY`.")
    else:
        quant = f", {plan.quantization} quantized" if plan.quantization else ""
        runs = (f"This Space runs `{plan.model}`{quant} on the Space's own hardware "
                f"(suggested: `{plan.hardware}`).")
    return (front_matter(plan) + f"\n# {plan.title}\n\n"
            "A chat demo for the GLM-V vision-language models: images, PDFs, slide decks and "
            "videos in, thinking and answers streamed out, grounding boxes drawn on the "
            "image.\n\n" + runs + "\n\n"
            "Settings are Space variables: `GLMV_MODEL`, `GLMV_QUANT` (4bit / 8bit), "
            "`GLMV_ENGINE`, `GLMV_REMOTE_URL`, `GLMV_REMOTE_MODEL`; with persistent storage, set "
            "`HF_HOME=/data/.huggingface` to keep downloaded weights across restarts.\n")


def _launcher(plan: SpacePlan) -> str:
    defaults = {"GLMV_MODEL": plan.model, "GLMV_ENGINE": plan.engine}
    if plan.quantization:
        defaults["GLMV_QUANT"] = plan.quantization
    if plan.url:
        defaults["GLMV_REMOTE_URL"] = plan.url
    if plan.remote_model:
        defaults["GLMV_REMOTE_MODEL"] = plan.remote_model
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
if os.environ.get("SPACE_ID"):
    # Inside a Space the app must listen on all interfaces.
    _flag("--host", "0.0.0.0")

runpy.run_path(str(Path(__file__).with_name("glmv_app.py")), run_name="__main__")
'''


def _requirements(path: Path, plan: SpacePlan) -> str:
    lines = ["# Installed on top of the Space's Gradio image (gradio comes from sdk_version)."]
    if not path.is_file():
        raise ConfigError(f"{path}: the project's requirements file is missing")
    for raw in path.read_text(encoding="utf-8").splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        name = re.split(r"[\[=<>!~ ;]", line, maxsplit=1)[0].lower()
        if name in _SPACE_DROP:
            continue
        if plan.engine == "remote" and name in _TORCH_STACK:
            continue
        if name == "transformers":
            line = re.sub(r"\[[^\]]*\]", "", line)  # the serving extra is for local servers
        lines.append(line)
    if plan.hardware == "zero-a10g":
        lines.append("spaces")
    return "\n".join(lines) + "\n"
