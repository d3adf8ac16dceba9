# Everything runs in ./.venv, created on first use from pyproject.toml.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: venv run test lint bench format clean

# The environment, with this project and the example third-party plugin (the one to copy),
# installed for its own tests and those of the loader (`make run` blocks it). This project under
# its former distribution name, `rockets`, is removed first: its entry points, in the
# environment or in ./rockets.egg-info, would load every standard plugin twice. setuptools'
# warning about editable installs (a folder named like the package, which is the point here)
# is silenced.
QUIET_INSTALL := PYTHONWARNINGS=ignore $(BIN)/python -m pip install --quiet

$(STAMP): pyproject.toml plugins/rockets-fuel/pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(QUIET_INSTALL) --upgrade pip
	$(BIN)/python -m pip uninstall -qq --yes rockets
	rm -rf rockets.egg-info
	$(QUIET_INSTALL) -e '.[postgres,test,lint]'
	$(QUIET_INSTALL) -e plugins/rockets-fuel
	touch $(STAMP)

venv: $(STAMP)

PORT ?= 8088
# Plugins `make run` does not load, besides those in ROCKETS_BLOCKED_PLUGINS: the example package
# (`make run RUN_BLOCKED=` loads it too).
RUN_BLOCKED ?= fuel

## Serve the API on 127.0.0.1:8088 with the five standard message types (Ctrl-C stops it after
## applying queued messages).
run: $(STAMP)
	ROCKETS_BLOCKED_PLUGINS="$(RUN_BLOCKED)$${ROCKETS_BLOCKED_PLUGINS:+,$$ROCKETS_BLOCKED_PLUGINS}" \
		$(BIN)/rockets serve --host 127.0.0.1 --port $(PORT)

## Run the whole test suite.
test: $(STAMP)
	$(BIN)/python -m pytest

## ruff (lint + format check) and mypy (strict).
lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

## Every performance target as a ratio to baselines run alongside (docs/performance.md).
bench: $(STAMP)
	$(BIN)/python -m benchmarks.bench

format: $(STAMP)
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache .hypothesis
