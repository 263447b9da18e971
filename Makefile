# Two commands do everything on a fresh machine: `make run` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
SAMPLE := data/sample
export DAGSTER_HOME := $(CURDIR)/data/dagster_home

.PHONY: install sample run test dev serve front lint bench bench-quick clean

$(STAMP): setup.py pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

$(SAMPLE)/log_data: | $(STAMP)
	$(BIN)/python -m sparkify_assets.sample_data --out $(SAMPLE)

sample: $(SAMPLE)/log_data

INSTANCE := $(DAGSTER_HOME)/dagster.yaml

# A persistent DAGSTER_HOME (run history survives restarts); created once, then left to the user.
$(INSTANCE): | dagster_instance.yaml
	mkdir -p $(DAGSTER_HOME)
	cp dagster_instance.yaml $(INSTANCE)

run: install sample $(INSTANCE)
	$(BIN)/python -m sparkify_assets.run

# Two workers: the suite is mostly waiting on runs and servers. `--dist loadscope` keeps each module on one worker,
# so a module's server (webserver, dagster dev, PostgreSQL) starts once, not once per worker that gets a share of it.
# Each test's time lands in test-artifacts/pytest.xml (JUnit XML), so runs can be compared test by test.
test: install
	$(BIN)/python -m pytest -n 2 --dist loadscope --durations=15 --junitxml=test-artifacts/pytest.xml

# On the local sample (SPARKIFY_DATA_URL unset) the daily partitions end at the sample's last day, so the UI's
# "Materialize all" offers the sample's days rather than every day up to today; SPARKIFY_END_DATE overrides.
# File names are data, never shell text: only a name that is exactly a date's log file yields a value, and that
# value (digits and '-') is single-quoted where a recipe uses it.
SAMPLE_LAST_DAY = $(shell ls $(SAMPLE)/log_data/*/*/ 2>/dev/null \
	| sed -n 's/^\([0-9]\{4\}-[0-9]\{2\}-[0-9]\{2\}\)-events\.json$$/\1/p' | sort | tail -n 1)

# Dagster 1.13 marks `dagster dev` superseded by `dg dev` (a separate CLI package this project does not need);
# that one notice is silenced, every other warning still shows.
dev: install sample $(INSTANCE)
	if [ -z "$$SPARKIFY_DATA_URL" ] && [ -z "$$SPARKIFY_END_DATE" ]; then export SPARKIFY_END_DATE='$(SAMPLE_LAST_DAY)'; fi; \
	PYTHONWARNINGS='ignore:Function `dev_command` is superseded' \
	$(BIN)/dagster dev -h 127.0.0.1 -p 3000 -w workspace.yaml

# The service (docs/operating.md): code server, webserver and daemon as three processes on one instance whose
# storage is PostgreSQL (DAGSTER_POSTGRES_URL, or a local one under data/service/postgres), in the foreground.
# Its own DAGSTER_HOME: run history lives in PostgreSQL, not in make dev's SQLite files.
SERVICE := $(CURDIR)/data/service
serve: install sample
	if [ -z "$$SPARKIFY_DATA_URL" ] && [ -z "$$SPARKIFY_END_DATE" ]; then export SPARKIFY_END_DATE='$(SAMPLE_LAST_DAY)'; fi; \
	export DAGSTER_HOME=$(SERVICE)/dagster_home SPARKIFY_SERVICE_DATA=$(SERVICE)/postgres; \
	exec $(BIN)/python -m sparkify_service

# The authenticated HTTPS front for other machines (docs/operating.md): Debian's nginx before `make serve`'s
# webserver. The password comes from SPARKIFY_FRONT_PASSWORD or SPARKIFY_FRONT_PASSWORD_FILE, never an argument.
front: install
	exec $(BIN)/python -m sparkify_service.front

lint: install
	$(BIN)/ruff check sparkify_assets sparkify_assets_tests sparkify_service

# Benchmark (docs/performance.md): `make bench` at 1,000,000 events; `make bench ARGS=--quick` or `make bench-quick`
# for a smoke run. Prints a table and writes benchmarks/results/latest.json.
bench: install
	$(BIN)/python benchmarks/bench.py $(ARGS)

bench-quick: install
	$(BIN)/python benchmarks/bench.py --quick $(ARGS)

clean:
	rm -rf data/warehouse.duckdb data/warehouse.working.duckdb data/warehouse.working.duckdb.wal data/warehouse.published data/dagster_home data/service
