"""``glmv_ui.config`` is the one module that reads ``GLMV_*`` variables; the package's other
environment reads are listed here, each with why it is not an option of the app."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from glmv_ui.config import HOST_VARS, OPTIONS, HostSettings
from glmv_ui.errors import ConfigError

PACKAGE = Path(__file__).resolve().parent.parent / "glmv_ui"
READ = re.compile(r"\benviron\b|getenv|putenv")

# (file, text of the line): the reads that stay outside config.py.
ALLOWED = {
    # The variable the operator named for the remote server's key (GLMV_API_KEY_ENV): read
    # when a request is sent, never stored in the config.
    ("engines/remote.py", 'os.environ.get(self.api_key_env, "")'),
    ("engines/remote.py", "def from_env(cls, environ: dict[str, str] | None = None"),
    ("engines/remote.py", "AppConfig.from_env(environ)"),
    # Other programs' own variables.
    ("models.py", 'os.environ.get("HF_HUB_OFFLINE")'),  # huggingface_hub's offline switch
    ("ui/web.py", 'os.environ.get("GRADIO_TEMP_DIR")'),  # where Gradio keeps uploads
    ("cli.py", 'os.environ.get("NO_COLOR")'),  # https://no-color.org
    # LibreOffice runs with only these of the parent's variables.
    ("media/slides.py", 'os.environ.items() if k in ("PATH", "LANG", "LC_ALL", "TZ")'),
    # The text of a Space's launcher: another program, written into the Space folder.
    ("space.py", 'f"os.environ.setdefault({k!r}, {v!r})"'),
    ("space.py", '_flag("--model", os.environ["GLMV_MODEL"])'),
    ("space.py", 'if os.environ.get("SPACE_ID") and not (os.environ.get("GLMV_HOST")'),
    ("space.py", 'or os.environ.get("GRADIO_SERVER_NAME")):'),
}


def test_no_module_but_config_reads_the_environment() -> None:
    found = set()
    unexpected = []
    for path in sorted(PACKAGE.rglob("*.py")):
        name = path.relative_to(PACKAGE).as_posix()
        if name == "config.py":
            continue
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            if not READ.search(line):
                continue
            match = next((a for a in ALLOWED if a[0] == name and a[1] in line), None)
            if match is None:
                unexpected.append(f"{name}:{number}: {line.strip()}")
            else:
                found.add(match)
    assert unexpected == []
    assert found == ALLOWED  # an entry no longer needed is dropped from the list


def test_every_glmv_variable_is_declared_in_config() -> None:
    declared = {o.env for o in OPTIONS} | set(HOST_VARS)
    used = set()
    for path in PACKAGE.rglob("*.py"):
        used |= set(re.findall(r"\bGLMV_[A-Z0-9_]+\b", path.read_text(encoding="utf-8")))
    # GLMV_API_KEY is the default value of GLMV_API_KEY_ENV (a name, not a setting).
    assert used - declared == {"GLMV_API_KEY"}


def test_host_settings_are_read_when_asked(monkeypatch: pytest.MonkeyPatch) -> None:
    from glmv_ui.examples import example_dir
    from glmv_ui.media.inflight import DecodeBudget
    from glmv_ui.media.slides import find_soffice
    from glmv_ui.tiny import tiny_cache_dir

    assert HostSettings.from_env({}) == HostSettings()
    monkeypatch.setenv("GLMV_DECODE_BUDGET_MB", "3")
    monkeypatch.setenv("GLMV_DECODE_JOBS", "5")
    budget = DecodeBudget()  # as the module's shared one: the variables are read at first use
    assert (budget.budget_bytes, budget.max_jobs) == (3 * 2**20, 5)
    assert DecodeBudget(budget_bytes=100).max_jobs == 5
    monkeypatch.setenv("GLMV_EXAMPLES_DIR", "/srv/examples")
    assert example_dir().parent == Path("/srv/examples")
    monkeypatch.setenv("GLMV_CACHE", "/srv/cache")
    assert tiny_cache_dir() == Path("/srv/cache/tiny")
    monkeypatch.setenv("GLMV_SOFFICE", "")
    assert find_soffice() is None
    monkeypatch.setenv("GLMV_DECODE_JOBS", "two")
    with pytest.raises(ConfigError, match="GLMV_DECODE_JOBS='two': expected a whole number"):
        HostSettings.from_env()
