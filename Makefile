# onboard: `make run` serves on a bare machine; `make test` runs every check CI runs.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
PIP_INSTALL := $(BIN)/python -m pip install --quiet --disable-pip-version-check -c constraints.txt

.PHONY: run test lint bench screenshots clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(VENV)/.installed: pyproject.toml constraints.txt | $(BIN)/python
	$(PIP_INSTALL) -e .
	@touch $@

$(VENV)/.installed-dev: pyproject.toml constraints.txt | $(BIN)/python
	$(PIP_INSTALL) -e '.[dev]'
	@touch $(VENV)/.installed $@

run: $(VENV)/.installed
	$(BIN)/onboard db upgrade
	$(BIN)/onboard demo
	exec $(BIN)/onboard serve

lint: $(VENV)/.installed-dev
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/ruff format --check src tests benchmarks
	$(BIN)/mypy
	$(BIN)/lint-imports

test: lint
	$(BIN)/pytest -n 2 --dist loadgroup -p no:benchmark

$(VENV)/.installed-bench: pyproject.toml constraints.txt | $(BIN)/python
	$(PIP_INSTALL) -e '.[dev,bench]'
	@touch $(VENV)/.installed $(VENV)/.installed-dev $@

BENCH_PG_URL ?= postgresql://root@127.0.0.1:5432/postgres
# Bounded for a routine run (a few minutes in all); docs/benchmarks.md gives the figures at
# a million rows and the commands behind them.
bench: $(VENV)/.installed-bench
	$(BIN)/python benchmarks/sync_vs_async.py --database-url $(BENCH_PG_URL) --seconds 10 --concurrency 32
	$(BIN)/python benchmarks/codes_at_scale.py --database-url $(BENCH_PG_URL) --rows 200000
	$(BIN)/python benchmarks/code_resolution_http.py --database-url $(BENCH_PG_URL) --rows 100000 --seconds 10
	$(BIN)/python benchmarks/batches.py --database-url $(BENCH_PG_URL) --count 1000000
	$(BIN)/python benchmarks/enrollments.py --database-url $(BENCH_PG_URL) --rows 200000
	$(BIN)/python benchmarks/registrations.py --database-url $(BENCH_PG_URL) --rows 200000
	$(BIN)/python benchmarks/activations.py --database-url $(BENCH_PG_URL) --serials 100000 --seconds 10 --connections 32
	$(BIN)/python benchmarks/activations.py --database-url $(BENCH_PG_URL) --serials 20000 --seconds 10 --connections 32 --repeat
	$(BIN)/python benchmarks/labels.py --count 10000 --stock a4-24
	$(BIN)/python benchmarks/labels.py --count 10000 --stock a4-65

# PNGs of the main screens in docs/screenshots/, from a demo organization served over a
# temporary SQLite database (needs Debian's Chromium at /usr/bin/chromium).
screenshots: $(VENV)/.installed-dev
	$(BIN)/python docs/screenshots.py

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache
