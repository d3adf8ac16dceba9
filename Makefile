# Everything runs in ./.venv, created on first use from pyproject.toml.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: venv run test lint bench format clean

# Built afresh whenever pyproject.toml changes, so that nothing an earlier version installed
# stays behind (this project under its former distribution name, `rockets`, for one).
$(STAMP): pyproject.toml plugins/rockets-fuel/pyproject.toml
	rm -rf rockets.egg-info
	$(PYTHON) -m venv --clear $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[postgres,test,lint]'
	# The example third-party plugin, loaded through its entry point like any other.
	$(BIN)/python -m pip install --quiet -e plugins/rockets-fuel
	touch $(STAMP)

venv: $(STAMP)

## Serve the API on 127.0.0.1:8088 (Ctrl-C stops it after applying queued messages).
run: $(STAMP)
	$(BIN)/rockets serve --host 127.0.0.1 --port 8088

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
