# One command per intent. Every target installs what it needs into .venv on first use.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
INFRA_STAMP := $(VENV)/.installed-infra
CODEX_STAMP := tests/clients/node_modules/.installed
LLAMAINDEX_VENV := tests/clients/.venv-llamaindex
LLAMAINDEX_STAMP := $(LLAMAINDEX_VENV)/.installed
CLIENTS_STAMP := $(CODEX_STAMP) $(LLAMAINDEX_STAMP)
export JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION := 20
export PYTHONDONTWRITEBYTECODE := 1

.PHONY: install run test unit lint fmt bench clients clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]'
	rm -rf functions/*.egg-info  # build leftovers, not part of the Lambda package
	touch $@

$(INFRA_STAMP): $(STAMP) pyproject.toml
	$(PY) -m pip install --quiet -e '.[dev,infra,bench]'
	rm -rf functions/*.egg-info
	touch $@

install: $(INFRA_STAMP)

## Serve the API on http://$(HOST):$(PORT) with embedded AWS emulation (no AWS account needed).
run: $(STAMP)
	$(PY) -m gateway.dev

## Lint, type-check and run the whole test suite, real clients included (the Codex CLI from npm).
test: lint $(INFRA_STAMP) $(CLIENTS_STAMP)
	$(PY) -m pytest

## Everything but the infrastructure and SDK suites: the quick loop while coding.
unit: $(STAMP)
	$(PY) -m pytest tests/unit tests/integration tests/worker

lint: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy

fmt: $(STAMP)
	$(VENV)/bin/ruff format .
	$(VENV)/bin/ruff check --fix .

## Real clients (the Codex CLI, pinned in tests/clients/package-lock.json; LlamaIndex) against `make run`'s gateway.
$(CODEX_STAMP): tests/clients/package.json tests/clients/package-lock.json
	cd tests/clients && npm ci --no-audit --no-fund --loglevel=error
	touch $@

# LlamaIndex in a venv of its own: llama-index-llms-openai requires openai<3, .venv tests the current SDK.
$(LLAMAINDEX_STAMP): tests/clients/llamaindex/requirements.txt
	$(PYTHON) -m venv --clear $(LLAMAINDEX_VENV)
	$(LLAMAINDEX_VENV)/bin/python -m pip install --quiet -r $<
	touch $@

clients: $(STAMP) $(CLIENTS_STAMP)
	$(PY) -m pytest -m clients tests/clients

## Benchmarks: figures, never pass/fail (tests/bench/).
bench: $(INFRA_STAMP)
	$(PY) -m tests.bench

clean:
	rm -rf build cdk.out .mypy_cache .ruff_cache .pytest_cache

-include infra/infra.mk
