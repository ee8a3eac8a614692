# The two commands of the README: `make serve` and `make test`. Each installs
# what it needs into .venv first (once, and again when pyproject.toml changes).
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
export JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION := 20
export CDK_DISABLE_CLI_TELEMETRY := true
CHROMIUM ?= /usr/bin/chromium
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
PLAYGROUND := functions/playground/static/.built

.PHONY: serve test lint typecheck openapi web chromium unit handlers e2e infra clean

$(STAMP): pyproject.toml
	$(PYTHON) -c 'import sys; assert sys.version_info >= (3, 11), "Python 3.11+ is required"'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $@

# The API playground's files (GET /docs): swagger-ui-dist as web/package-lock.json pins it,
# copied into the playground function's folder, which ships as its Lambda asset.
web/node_modules/.package-lock.json: web/package.json web/package-lock.json
	cd web && npm ci --no-audit --no-fund
	touch $@
$(PLAYGROUND): web/node_modules/.package-lock.json web/build.py web/playground.js
	$(PYTHON) web/build.py
web: $(PLAYGROUND)

# Browser tests drive Debian's Chromium, never a downloaded one.
chromium:
	@test -x $(CHROMIUM) || { $(SUDO) apt-get update -qq && \
		DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq --no-install-recommends chromium; }

serve: $(STAMP) web
	$(BIN)/imgpro local $(ARGS)

test: $(STAMP) lint typecheck web chromium
	$(BIN)/pytest -q

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

# mypy --strict on the imgpro package (pyproject.toml [tool.mypy]).
typecheck: $(STAMP)
	$(BIN)/mypy

# docs/openapi.json from the route table and the wire types; a test fails when stale.
openapi: $(STAMP)
	$(BIN)/python -m imgpro.openapi docs/openapi.json

unit: $(STAMP)
	$(BIN)/pytest -q tests/unit

handlers: $(STAMP)
	$(BIN)/pytest -q tests/handlers

e2e: $(STAMP) web chromium
	$(BIN)/pytest -q tests/e2e

infra: $(STAMP)
	$(BIN)/pytest -q tests/infra

clean:
	rm -rf $(VENV) cdk.out .pytest_cache .ruff_cache .mypy_cache web/node_modules functions/playground/static
