"""Everything Dagster loads, assembled in one visible place; resources are chosen from the environment here."""

from __future__ import annotations

import warnings

from dagster import (
    BetaWarning,
    DefaultScheduleStatus,
    DefaultSensorStatus,
    Definitions,
    EnvVar,
    PreviewWarning,
)

from sparkify_assets import settings
from sparkify_assets.alerts.sensors import build_alert_sensors
from sparkify_assets.assets import build_assets
from sparkify_assets.automation import DAILY_JOB, SONG_CATALOG_JOB, build_daily_schedule, build_source_sensor
from sparkify_assets.checks import build_checks
from sparkify_assets.day_complete import build_day_complete_check
from sparkify_assets.executor import in_process_or_multiprocess_executor
from sparkify_assets.resources.duckdb_warehouse import DuckDBWarehouse
from sparkify_assets.resources.source import LocalFolderSource, RawSource
from sparkify_assets.resources.warehouse import Warehouse


def build_source(url: str) -> RawSource:
    """S3 and Redshift support is imported only when configured: a local DuckDB run starts seconds faster."""
    if url.startswith("s3://"):
        from dagster_aws.s3 import S3Resource

        from sparkify_assets.resources.s3_source import S3Source

        bucket, _, prefix = url.removeprefix("s3://").partition("/")
        return S3Source(
            s3=S3Resource(
                endpoint_url=settings.s3_endpoint_url(),
                region_name=EnvVar("AWS_REGION").get_value("us-west-2"),
            ),
            bucket=bucket,
            prefix=prefix,
        )
    return LocalFolderSource(root=url)


def build_warehouse(kind: str) -> Warehouse:
    if kind == "duckdb":
        return DuckDBWarehouse(path=settings.duckdb_working_path(), publish_path=settings.duckdb_path(),
                               publish_retention_hours=settings.duckdb_publish_retention_hours(),
                               memory_limit=settings.duckdb_memory_limit())
    from sparkify_assets.resources import redshift_warehouse

    return redshift_warehouse.from_env()


def sensor_status(source: RawSource) -> DefaultSensorStatus:
    """Running by default on a local folder (so `make dev` shows it working), stopped on S3 unless asked for."""
    switch = settings.sensor_switch()
    on = switch == "on" or (switch == "auto" and isinstance(source, LocalFolderSource))
    return DefaultSensorStatus.RUNNING if on else DefaultSensorStatus.STOPPED


def build_definitions(source: RawSource | None = None, warehouse: Warehouse | None = None) -> Definitions:
    """The project's definitions; tests pass their own resources, everyone else gets the environment's."""
    warehouse = warehouse or build_warehouse(settings.warehouse_kind())
    source = source or build_source(settings.data_url())
    schedule_on = settings.schedule_switch() == "on"
    with warnings.catch_warnings():
        # Chosen on purpose and pinned to dagster 1.13.27: single-run backfills and partition-scoped checks.
        warnings.filterwarnings("ignore", category=BetaWarning)
        warnings.filterwarnings("ignore", category=PreviewWarning)
        assets = build_assets(warehouse)
        checks = [*build_checks(warehouse), build_day_complete_check(warehouse)]
    return Definitions(
        assets=assets,
        asset_checks=checks,
        jobs=[DAILY_JOB, SONG_CATALOG_JOB],
        schedules=[build_daily_schedule(settings.schedule_hour(), DefaultScheduleStatus.RUNNING if schedule_on
                                        else DefaultScheduleStatus.STOPPED)],
        sensors=[build_source_sensor(sensor_status(source), settings.sensor_max_runs_per_tick(),
                                     settings.sensor_interval_seconds()),
                 *build_alert_sensors()],
        resources={"source": source, "warehouse": warehouse},
        executor=in_process_or_multiprocess_executor,
    )


defs = build_definitions()
