# The two commands of the README: `make serve` and `make test`. Each installs
# what it needs into .venv first (once, and again when pyproject.toml changes).
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
export JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION := 20
export CDK_DISABLE_CLI_TELEMETRY := true

.PHONY: serve test lint unit handlers e2e infra clean

$(STAMP): pyproject.toml
	$(PYTHON) -c 'import sys; assert sys.version_info >= (3, 11), "Python 3.11+ is required"'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $@

serve: $(STAMP)
	$(BIN)/imgpro local $(ARGS)

test: $(STAMP) lint
	$(BIN)/pytest -q

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

unit: $(STAMP)
	$(BIN)/pytest -q tests/unit

handlers: $(STAMP)
	$(BIN)/pytest -q tests/handlers

e2e: $(STAMP)
	$(BIN)/pytest -q tests/e2e

infra: $(STAMP)
	$(BIN)/pytest -q tests/infra

clean:
	rm -rf $(VENV) cdk.out .pytest_cache .ruff_cache
