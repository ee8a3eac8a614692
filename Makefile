# The two commands of the README: `make serve` and `make test`. Each installs
# what it needs into .venv first (once, and again when pyproject.toml changes):
# `make serve` only the local stack's packages (the `local` extra), `make test`
# everything (the `dev` extra).
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
# One stamp per extra. `dev` includes `local`, so `make test` marks both: `make serve`
# after it installs nothing, and `make test` after `make serve` adds what tests need.
LOCAL_STAMP := $(VENV)/.installed-local
STAMP := $(VENV)/.installed-dev
BENCH_STAMP := $(VENV)/.installed-bench
PIP := $(BIN)/python -m pip install --quiet --disable-pip-version-check
export JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION := 20
export CDK_DISABLE_CLI_TELEMETRY := true
CHROMIUM ?= /usr/bin/chromium
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
PLAYGROUND := functions/playground/static/.built

.PHONY: serve test bench lint typecheck openapi web chromium unit handlers e2e infra clean

$(BIN)/python:
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11))' || \
		{ echo "make: Python 3.11 or later is required (PYTHON=$(PYTHON))" >&2; exit 1; }
	@echo "creating $(VENV)"
	@$(PYTHON) -m venv $(VENV)

$(LOCAL_STAMP): pyproject.toml | $(BIN)/python
	@echo "installing the local stack's packages into $(VENV) (about 30 s)"
	@$(PIP) -e '.[local]'
	@touch $@

$(STAMP): pyproject.toml | $(BIN)/python
	@echo "installing the development packages into $(VENV) (about a minute)"
	@$(PIP) --upgrade pip
	@$(PIP) -e '.[dev]'
	@touch $@ $(LOCAL_STAMP)

$(BENCH_STAMP): $(STAMP)
	@echo "installing libvips (pyvips-binary) for the benchmarks"
	@$(PIP) -e '.[dev,bench]'
	@touch $@

# The API playground's files (GET /docs): swagger-ui-dist as web/package-lock.json pins it,
# copied into the playground function's folder, which ships as its Lambda asset.
web/node_modules/.package-lock.json: web/package.json web/package-lock.json
	@echo "installing the playground's npm packages into web/node_modules"
	@cd web && npm ci --no-audit --no-fund --silent
	@touch $@
$(PLAYGROUND): web/node_modules/.package-lock.json web/build.py $(wildcard web/*.js web/*.css)
	@echo "building the playground"
	@$(PYTHON) web/build.py
web: $(PLAYGROUND)

# Browser tests drive Debian's Chromium, never a downloaded one.
chromium:
	@test -x $(CHROMIUM) || { $(SUDO) apt-get update -qq && \
		DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq --no-install-recommends chromium; }

# The Python and npm installs side by side: a first `make serve` answers sooner.
serve:
	@$(MAKE) --no-print-directory --silent -j2 $(LOCAL_STAMP) web
	@echo "starting the local stack (Ctrl-C stops it)"
	@$(BIN)/imgpro local $(ARGS)

test: $(STAMP) lint typecheck web chromium
	$(BIN)/pytest -q

# Every benchmark (bench/all.py): tables on stdout and in bench/RESULTS.md, in about 10 min.
bench: $(BENCH_STAMP)
	$(BIN)/python bench/all.py

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
