# ChatSphere: `make run` starts the platform on embedded defaults; `make test` runs every check.
SHELL := /bin/bash
UV ?= $(shell command -v uv 2>/dev/null || echo $(HOME)/.local/bin/uv)
PACKAGES := shared-contracts/src service-kit/src core-service/src agent-service/src

.PHONY: help install run promote test lint format typecheck pytest chromium test-contracts test-core test-agent test-deploy check-deep check-containers bench clean

help:
	@echo "make run    start core (8000), agent (8001) and the worker on embedded PostgreSQL"
	@echo "make promote USER=<username or email>  make that account staff (make run's database)"
	@echo "make test   lint, types and every test"
	@echo "make check-deep  fault and load suites with real processes"
	@echo "make check-containers  build the images, run the compose stack, smoke-test it (root or docker)"
	@echo "make bench  benchmarks (not part of make test)"

$(UV):
	python3 -m pip install --user --quiet uv || python3 -m pip install --user --quiet --break-system-packages uv

install: $(UV)
	$(UV) sync --frozen

run: install
	$(UV) run --frozen python scripts/run_local.py

# USER must come from the command line: the environment's USER is the shell's login name.
promote: install
	@if [ "$(origin USER)" != "command line" ]; then \
		echo "usage: make promote USER=<username or email>" >&2; exit 2; fi
	$(UV) run --frozen python scripts/run_local.py promote '$(USER)'

test: install lint typecheck pytest

lint:
	$(UV) run --frozen ruff format --check .
	$(UV) run --frozen ruff check .

format: install
	$(UV) run --frozen ruff format .
	$(UV) run --frozen ruff check --fix .

typecheck:
	$(UV) run --frozen mypy $(PACKAGES) service-kit/tests scripts testsupport bench conftest.py
	# Each service's tests are checked on their own: both folders have a conftest module.
	$(UV) run --frozen mypy core-service/tests
	$(UV) run --frozen mypy agent-service/tests
	$(UV) run --frozen mypy shared-contracts/tests tests

pytest: chromium
	$(UV) run --frozen pytest -m "not deep"

# The widget's browser tests drive Debian's Chromium: installed here when missing (as root).
chromium:
	bash scripts/ensure_chromium.sh

# Fault and load suites with real processes (minutes, not seconds); CI runs them after make test.
check-deep: install
	$(UV) run --frozen pytest -m deep -v

# Builds both images and runs the compose stack for real (a Docker engine, or root to start one);
# CI runs it after check-deep. See scripts/check_containers.sh.
check-containers: $(UV)
	UV=$(UV) bash scripts/check_containers.sh

test-contracts: install
	$(UV) run --frozen pytest shared-contracts/tests

test-core: install
	$(UV) run --frozen pytest core-service/tests

test-agent: install
	$(UV) run --frozen pytest agent-service/tests

test-deploy: install
	$(UV) run --frozen pytest deploy/tests

clean:
	rm -rf .data .mypy_cache .ruff_cache

bench: $(UV)
	$(UV) sync --frozen --group bench
	PYTHONPATH=. $(UV) run --frozen --group bench python -m bench
