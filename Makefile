# Two entry points, each of which sets up what it needs first:
#   make demo [MODEL=tiny-glm41v]   install the app's requirements and launch the demo
#   make test                       install the test requirements (Chromium, LibreOffice too) and run every check
# and one for the notebooks:
#   make lab                        install JupyterLab and open notebooks/ in it
#
# pip runs with --isolated so that a machine-wide pip configuration (extra find-links, a local
# CPU-only torch wheel) cannot swap in different builds than requirements.txt names.

PYTHON ?= python3
VENV ?= .venv
PIP_INSTALL ?= $(VENV)/bin/pip install --isolated --disable-pip-version-check -q
PY := $(VENV)/bin/python
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
# Jupyter refuses to run as root unless told to; containers and CI often run as root.
ALLOW_ROOT := $(shell [ "$$(id -u)" = 0 ] && echo --allow-root)
MODEL ?=
ARGS ?=

.PHONY: demo test test-fast lab lint screenshot system-deps

$(VENV)/bin/python:
	$(PYTHON) -m venv $(VENV)

# The package itself is installed in editable mode, so notebooks and scripts import it from
# any folder.
$(VENV)/.app-installed: requirements.txt pyproject.toml | $(VENV)/bin/python
	$(PIP_INSTALL) -r requirements.txt
	$(PIP_INSTALL) --no-deps --no-build-isolation -e .
	touch $@

$(VENV)/.test-installed: requirements.txt requirements-test.txt requirements-lab.txt pyproject.toml | $(VENV)/bin/python
	$(PIP_INSTALL) -r requirements-test.txt
	$(PIP_INSTALL) --no-deps --no-build-isolation -e .
	touch $(VENV)/.app-installed $(VENV)/.lab-installed $@

$(VENV)/.lab-installed: requirements-lab.txt $(VENV)/.app-installed
	$(PIP_INSTALL) -r requirements-lab.txt
	touch $@

demo: $(VENV)/.app-installed
	$(PY) app.py $(if $(MODEL),--model $(MODEL)) $(ARGS)

# On loopback and without opening a browser: open the URL it prints (it carries the token).
lab: $(VENV)/.lab-installed
	$(VENV)/bin/jupyter lab notebooks/ --ip=127.0.0.1 --no-browser $(ALLOW_ROOT) $(ARGS)

# Headless Chromium drives the page in the browser tests; LibreOffice renders slide decks.
system-deps:
	@if ! command -v chromium >/dev/null || ! command -v soffice >/dev/null; then \
	  $(SUDO) apt-get update -q && \
	  DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -q --no-install-recommends \
	    chromium libreoffice-impress fonts-dejavu-core fonts-noto-cjk; \
	fi

# Style and types: ruff's rules and its formatter over everything, mypy --strict over the package,
# then the tests and the launcher, checked more loosely (settings in pyproject.toml).
lint: $(VENV)/.test-installed
	$(VENV)/bin/ruff check glmv_ui tests bench app.py
	$(VENV)/bin/ruff format --check glmv_ui tests bench app.py
	$(VENV)/bin/mypy
	$(VENV)/bin/mypy tests app.py

test: system-deps $(VENV)/.test-installed lint
	$(PY) -m pytest

# The quick loop while working, under 20 s: everything but tests that start servers, browsers,
# LibreOffice or subprocesses, import Gradio, wait out real timeouts or run many generations
# (marked slow); `make test` runs them all.
test-fast: $(VENV)/.test-installed
	$(PY) -m pytest -m "not slow" -q

# The README's picture: the page test that draws boxes saves tests/artifacts/app_full.png, and
# this copies it over docs/screenshot.png. Tests never write into docs/ themselves.
screenshot: system-deps $(VENV)/.test-installed
	$(PY) -m pytest -q tests/test_app_browser.py::test_image_and_pdf_think_then_draw_boxes
	cp tests/artifacts/app_full.png docs/screenshot.png
