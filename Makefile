# Two commands do everything on a fresh machine: `make run` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
SAMPLE := data/sample
export DAGSTER_HOME := $(CURDIR)/data/dagster_home

.PHONY: install sample run test dev lint bench bench-quick clean

$(STAMP): setup.py pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

$(SAMPLE)/log_data: | $(STAMP)
	$(BIN)/python -m sparkify_assets.sample_data --out $(SAMPLE)

sample: $(SAMPLE)/log_data

$(DAGSTER_HOME):
	mkdir -p $(DAGSTER_HOME)

run: install sample | $(DAGSTER_HOME)
	$(BIN)/python -m sparkify_assets.run

test: install
	$(BIN)/python -m pytest

dev: install sample | $(DAGSTER_HOME)
	$(BIN)/dagster dev -h 127.0.0.1 -p 3000

lint: install
	$(BIN)/ruff check sparkify_assets sparkify_assets_tests
	$(BIN)/ruff format --check sparkify_assets sparkify_assets_tests

# Benchmark (docs/performance.md): `make bench` at 1,000,000 events; `make bench ARGS=--quick` or `make bench-quick`
# for a smoke run. Prints a table and writes benchmarks/results/latest.json.
bench: install
	$(BIN)/python benchmarks/bench.py $(ARGS)

bench-quick: install
	$(BIN)/python benchmarks/bench.py --quick $(ARGS)

clean:
	rm -rf data/warehouse.duckdb data/dagster_home
