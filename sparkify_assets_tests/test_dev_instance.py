"""The instance `make dev` and `make run` use (dagster_instance.yaml, copied to DAGSTER_HOME): valid for this
Dagster, and running queued runs one at a time, since the embedded DuckDB file takes one writer at a time."""

from __future__ import annotations

import shutil
from pathlib import Path

from dagster import DagsterInstance
from dagster._core.run_coordinator import QueuedRunCoordinator

ROOT = Path(__file__).resolve().parents[1]


def test_dev_instance_config_is_valid_and_runs_one_run_at_a_time(tmp_path: Path) -> None:
    shutil.copy(ROOT / "dagster_instance.yaml", tmp_path / "dagster.yaml")
    with DagsterInstance.from_config(str(tmp_path)) as instance:
        assert isinstance(instance.run_coordinator, QueuedRunCoordinator)
        assert instance.run_coordinator.get_run_queue_config().max_concurrent_runs == 1
        assert not instance.telemetry_enabled


def test_dev_instance_runs_the_freshness_daemon(tmp_path: Path) -> None:
    """The daemon evaluates the daily tables' freshness policies: what the overdue alerts read."""
    shutil.copy(ROOT / "dagster_instance.yaml", tmp_path / "dagster.yaml")
    with DagsterInstance.from_config(str(tmp_path)) as instance:
        assert instance.freshness_enabled
        assert "FRESHNESS_DAEMON" in instance.get_required_daemon_types()
