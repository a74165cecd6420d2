# Two entry points, each of which sets up what it needs first:
#   make demo [MODEL=tiny-glm41v]   install the app's requirements and launch the demo
#   make test                       install the test requirements (Chromium, LibreOffice too) and run every check
#
# pip runs with --isolated so that a machine-wide pip configuration (extra find-links, a local
# CPU-only torch wheel) cannot swap in different builds than requirements.txt names.

PYTHON ?= python3
VENV ?= .venv
PIP_INSTALL ?= $(VENV)/bin/pip install --isolated --disable-pip-version-check -q
PY := $(VENV)/bin/python
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
MODEL ?=
ARGS ?=

.PHONY: demo test lint system-deps

$(VENV)/bin/python:
	$(PYTHON) -m venv $(VENV)

# The package itself is installed in editable mode, so notebooks and scripts import it from
# any folder.
$(VENV)/.app-installed: requirements.txt pyproject.toml | $(VENV)/bin/python
	$(PIP_INSTALL) -r requirements.txt
	$(PIP_INSTALL) --no-deps --no-build-isolation -e .
	touch $@

$(VENV)/.test-installed: requirements.txt requirements-test.txt pyproject.toml | $(VENV)/bin/python
	$(PIP_INSTALL) -r requirements-test.txt
	$(PIP_INSTALL) --no-deps --no-build-isolation -e .
	touch $(VENV)/.app-installed $@

demo: $(VENV)/.app-installed
	$(PY) app.py $(if $(MODEL),--model $(MODEL)) $(ARGS)

# Headless Chromium drives the page in the browser tests; LibreOffice renders slide decks.
system-deps:
	@if ! command -v chromium >/dev/null || ! command -v soffice >/dev/null; then \
	  $(SUDO) apt-get update -q && \
	  DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -q --no-install-recommends \
	    chromium libreoffice-impress fonts-dejavu-core fonts-noto-cjk; \
	fi

lint: $(VENV)/.test-installed
	$(VENV)/bin/ruff check glmv_ui tests bench app.py

test: system-deps $(VENV)/.test-installed lint
	$(PY) -m pytest
