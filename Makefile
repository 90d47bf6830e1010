SHELL := /bin/bash
export PATH := $(HOME)/.local/bin:$(PATH)
# Resolved when used, after `uv` below may have installed it.
UV = $(shell command -v uv 2>/dev/null || echo python3 -m uv)
SHARED_TIKTOKEN := $(abspath ../shared/data/tiktoken_cache)
ifneq ($(wildcard $(SHARED_TIKTOKEN)),)
export TIKTOKEN_CACHE_DIR ?= $(SHARED_TIKTOKEN)
endif

.PHONY: run test test-fast bench openapi fuzz lint uv sync sample

uv:
	@command -v uv >/dev/null 2>&1 || python3 -m uv --version >/dev/null 2>&1 || \
		python3 -m pip install --user --quiet uv || python3 -m pip install --quiet uv

sync: uv
	@$(UV) sync --frozen --quiet

run: sync
	@$(UV) run --frozen python -m devtools.run

# The full suite on the default server (FTM_TEST_REDIS=auto), then the smoke subset on the other.
test: sync
	@$(UV) run --frozen pytest -n 2 --dist loadgroup
	@FTM_TEST_REDIS=other $(UV) run --frozen pytest -n 2 --dist loadgroup -m smoke

# The unit tests and the client's checks against the spec: no Redis, emulator or stack needed.
test-fast: sync
	@$(UV) run --frozen pytest -n 2 tests/unit tests/cli/test_client_spec.py tests/cli/test_client_parsing.py

# A synthetic reflections.csv for the README's walkthrough.
sample: sync
	@$(UV) run --frozen python -c 'from pathlib import Path; from tests.datagen import reflections_csv; reflections_csv(Path("reflections.csv"))'
	@echo "wrote reflections.csv"

bench: sync
	@$(UV) run --frozen python -m bench

openapi: sync
	@$(UV) run --frozen python -m devtools.openapi > openapi/openapi.json

# Schemathesis over every operation against a live stack, bounded by FTM_FUZZ_SECONDS (150).
fuzz: sync
	@$(UV) run --frozen python -m devtools.fuzz

lint: sync
	@$(UV) run --frozen ruff check service worker emulator devtools tests bench ftm
	@$(UV) run --frozen mypy
