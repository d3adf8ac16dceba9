# Everything runs in ./.venv, created on first use from pyproject.toml: `make run` installs what
# serving needs only; `make test` and `make lint` add the tools on first use (a stamp of their own).
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
TOOLS_STAMP := $(VENV)/.installed-tools

.PHONY: venv run test lint bench format clean

# The environment that serves: the SDK (./sdk, the distribution rockets-client, which the server
# depends on: installed first, so that pip never looks for it on an index), then this project with
# the PostgreSQL extra (the commands rockets and litestar), built with the build backend this
# project names, installed first (so that a plugin package installs without network too:
# pip install --no-build-isolation).
# Removed first: this project under its former distribution name, `rockets`, and the example
# plugin package, which environments made before installed: their entry points would load
# standard plugins twice, or serve the example's types. setuptools' warning about editable
# installs (a folder named like the package, which is the point here) is silenced. Modules are
# compiled when first imported, not as they install: a third of the time of the first `make run`
# went into compiling modules nothing imports (faker's locales, through Litestar).
QUIET_INSTALL := PYTHONWARNINGS=ignore $(BIN)/python -m pip install --quiet --no-compile
BUILD_BACKEND = $(shell $(PYTHON) -c 'import shlex, tomllib; \
	print(*map(shlex.quote, tomllib.load(open("pyproject.toml", "rb"))["build-system"]["requires"]))')

$(STAMP): pyproject.toml sdk/pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip uninstall -qq --yes rockets rockets-fuel
	rm -rf rockets.egg-info
	$(QUIET_INSTALL) $(BUILD_BACKEND)
	$(QUIET_INSTALL) -e sdk
	$(QUIET_INSTALL) --no-build-isolation -e '.[postgres]'
	touch $(STAMP)

# The tools of the tests and of the linters, over that environment: one set, as the tests check
# the linters' versions too and mypy reads the test kit's code (which imports pytest).
$(TOOLS_STAMP): $(STAMP)
	$(QUIET_INSTALL) --no-build-isolation -e '.[postgres,test,lint]'
	touch $(TOOLS_STAMP)

venv: $(STAMP)

PORT ?= 8088

## Serve the API on 127.0.0.1:8088 (PORT=… for another) with the five standard message types
## (Ctrl-C stops it after applying queued messages).
run: $(STAMP)
	$(BIN)/rockets serve --host 127.0.0.1 --port $(PORT)

## Run the whole test suite, after installing the system packages it uses when missing (.ci/setup).
test: $(TOOLS_STAMP)
	bash .ci/setup
	$(BIN)/python -m pytest

## ruff (lint + format check) and mypy (strict).
lint: $(TOOLS_STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

## Every performance target as a ratio to baselines run alongside (docs/performance.md).
bench: $(TOOLS_STAMP)
	bash .ci/setup
	$(BIN)/python -m benchmarks.bench

format: $(TOOLS_STAMP)
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache .hypothesis
