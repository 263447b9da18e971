"""Shared fixtures: the real sample, a throwaway Dagster instance, and project definitions on real resources."""

from __future__ import annotations

import os
import signal
from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path

import pytest
from dagster import DagsterInstance, Definitions, ExecuteInProcessResult

from sparkify_assets.definitions import build_definitions
from sparkify_assets.resources.duckdb_warehouse import DuckDBWarehouse
from sparkify_assets.resources.source import LocalFolderSource
from sparkify_assets_tests.support.postgres import PgServer, running_postgres

# A shell that starts `make test` in the background (nohup, a CI runner's script) hands it SIGINT ignored. Dagster
# copies SIGINT's handler to SIGTERM whenever it restores its own (execute_in_process does), and an ignored signal
# stays ignored across exec: every process a later test started would ignore SIGTERM and be stopped only by
# SIGKILL. Python's own SIGINT handler, as in a foreground run, keeps both at their defaults for children.
if signal.getsignal(signal.SIGINT) is signal.SIG_IGN:
    signal.signal(signal.SIGINT, signal.default_int_handler)

# The webserver and browser fixtures, for the UI tests.
pytest_plugins = ["sparkify_assets_tests.support.webserver", "sparkify_assets_tests.support.browser"]

ROOT = Path(__file__).resolve().parents[1]
NOVEMBER = [date(2018, 11, 1) + timedelta(days=i) for i in range(30)]  # the real sample's days
REAL_SAMPLE = Path(os.environ.get("SPARKIFY_REAL_SAMPLE", ROOT.parent / "shared" / "data" / "sparkify"))


@pytest.fixture(scope="session")
def real_sample() -> Path:
    if not (REAL_SAMPLE / "log_data").is_dir():
        pytest.skip(f"the real Sparkify sample is not at {REAL_SAMPLE} (set SPARKIFY_REAL_SAMPLE to its folder)")
    return REAL_SAMPLE


@pytest.fixture(scope="session")
def pg_server() -> Iterator[PgServer]:
    """One real PostgreSQL (database ``sparkify``) behind the redshift_connector proxy, per session."""
    with running_postgres() as server:
        yield server


@pytest.fixture
def instance() -> Iterator[DagsterInstance]:
    """An in-memory instance: real runs and event logs, none of the cost of on-disk storage."""
    with DagsterInstance.ephemeral() as inst:
        yield inst


def local_defs(data: Path, db: Path) -> Definitions:
    return build_definitions(source=LocalFolderSource(root=str(data)), warehouse=DuckDBWarehouse(path=str(db)))


def failed_checks(result: ExecuteInProcessResult) -> set[tuple[str, str]]:
    """(asset, check) of every check that did not pass in a run."""
    return {(e.asset_key.to_user_string(), e.check_name) for e in result.get_asset_check_evaluations() if not e.passed}
