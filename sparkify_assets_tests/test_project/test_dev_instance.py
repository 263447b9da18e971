"""The instances `make dev`/`make run` (dagster_instance.yaml) and `make serve` (dagster_service.yaml) use: valid
for this Dagster, and holding the embedded warehouse's steps to one run at a time through a pool, which only the
DuckDB definitions use: every step takes its pool, and every asset its kind, from the warehouse resource."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from dagster import AssetsDefinition, DagsterInstance
from dagster._core.instance.config import PoolGranularity
from dagster._core.run_coordinator import QueuedRunCoordinator

from sparkify_assets.assets import build_assets
from sparkify_assets.checks import build_checks
from sparkify_assets.day_complete import build_day_complete_check
from sparkify_assets.pools import DUCKDB_WAREHOUSE_POOL
from sparkify_assets.resources.duckdb_warehouse import DuckDBWarehouse
from sparkify_assets.resources.redshift_warehouse import RedshiftWarehouse
from sparkify_assets.resources.warehouse import Warehouse
from sparkify_assets.settings import Settings
from sparkify_assets_tests.support.redshift import PostgresStandIn

ROOT = Path(__file__).resolve().parents[2]


def test_dev_instance_config_is_valid_and_runs_one_warehouse_run_at_a_time(tmp_path: Path) -> None:
    shutil.copy(ROOT / "dagster_instance.yaml", tmp_path / "dagster.yaml")
    with DagsterInstance.from_config(str(tmp_path)) as instance:
        assert isinstance(instance.run_coordinator, QueuedRunCoordinator)
        pools = instance.get_concurrency_config().pool_config
        assert pools.default_pool_limit == 1
        assert pools.pool_granularity == PoolGranularity.RUN
        assert not instance.telemetry_enabled


def test_dev_instance_runs_the_freshness_daemon(tmp_path: Path) -> None:
    """Dagster's freshness daemon stays as configured (no asset has a policy now: overdue is day_complete.py's)."""
    shutil.copy(ROOT / "dagster_instance.yaml", tmp_path / "dagster.yaml")
    with DagsterInstance.from_config(str(tmp_path)) as instance:
        assert instance.freshness_enabled
        assert "FRESHNESS_DAEMON" in instance.get_required_daemon_types()


@pytest.mark.filterwarnings("ignore::dagster.BetaWarning", "ignore::dagster.PreviewWarning")  # as definitions.py
@pytest.mark.parametrize(("warehouse", "kind", "pool"), [
    (DuckDBWarehouse(path="never-opened.duckdb"), "duckdb", DUCKDB_WAREHOUSE_POOL),
    (RedshiftWarehouse(), "redshift", None),
    (PostgresStandIn(), "redshift", None),  # the tests' Redshift on PostgreSQL: Redshift's structure, other SQL
], ids=["duckdb", "redshift", "postgres-stand-in"])
def test_every_warehouse_step_takes_the_pool_and_kind_of_its_warehouse(warehouse: Warehouse, kind: str,
                                                                       pool: str | None) -> None:
    assets = [a for a in build_assets(warehouse, settings=Settings.from_env()) if isinstance(a, AssetsDefinition)]
    steps = [*assets, *build_checks(warehouse, settings=Settings.from_env()), build_day_complete_check(warehouse)]
    assert len(steps) == 15  # the 7 tables, one step for the checks of each, and the daily tables' day_complete
    assert {s.node_def.name: s.node_def.pool for s in steps if s.node_def.pool != pool} == {}
    assert {spec.key.to_user_string(): spec.kinds for a in assets for spec in a.specs if spec.kinds != {kind}} == {}
