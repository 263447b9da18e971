"""Everything Dagster loads, assembled in one visible place from one `Settings`.

Nothing is built at import: `defs` is Dagster's lazy entry point, which its loaders (`-m sparkify_assets`,
workspace.yaml, `[tool.dagster]`) call when they load the code, so importing any module of the package reads no
environment and builds no definition.
"""

from __future__ import annotations

import warnings

from dagster import (
    BetaWarning,
    DefaultSensorStatus,
    Definitions,
    PreviewWarning,
    definitions,
)

from sparkify_assets.alerts.sensors import build_alert_sensors
from sparkify_assets.assets import build_assets
from sparkify_assets.automation import DAILY_JOB, SONG_CATALOG_JOB, build_daily_schedule, build_source_sensor
from sparkify_assets.checks import build_checks
from sparkify_assets.day_complete import build_day_complete_check
from sparkify_assets.executor import in_process_or_multiprocess_executor
from sparkify_assets.resources.duckdb_warehouse import DuckDBWarehouse
from sparkify_assets.resources.source import LocalFolderSource, RawSource
from sparkify_assets.resources.warehouse import Warehouse
from sparkify_assets.settings import Settings


def build_source(settings: Settings) -> RawSource:
    """S3 and Redshift support is imported only when configured: a local DuckDB run starts seconds faster."""
    url = settings.data_url
    if url.startswith("s3://"):
        from dagster_aws.s3 import S3Resource

        from sparkify_assets.resources.s3_source import S3Source

        bucket, _, prefix = url.removeprefix("s3://").partition("/")
        return S3Source(
            s3=S3Resource(
                endpoint_url=settings.s3_endpoint_url,
                region_name=settings.aws_region or "us-west-2",
            ),
            bucket=bucket,
            prefix=prefix,
        )
    return LocalFolderSource(root=url)


def build_warehouse(settings: Settings) -> Warehouse:
    if settings.warehouse == "duckdb":
        return DuckDBWarehouse(path=settings.duckdb_working_path, publish_path=settings.duckdb_path,
                               publish_retention_hours=settings.publish_retention_hours,
                               memory_limit=settings.duckdb_memory_limit)
    from sparkify_assets.resources import redshift_warehouse

    return redshift_warehouse.from_settings(settings.redshift)


def sensor_status(source: RawSource, switch: str) -> DefaultSensorStatus:
    """Running by default on a local folder (so `make dev` shows it working), stopped on S3 unless asked for."""
    on = switch == "on" or (switch == "auto" and isinstance(source, LocalFolderSource))
    return DefaultSensorStatus.RUNNING if on else DefaultSensorStatus.STOPPED


def build_definitions(settings: Settings | None = None, *, source: RawSource | None = None,
                      warehouse: Warehouse | None = None) -> Definitions:
    """The project's definitions from `settings` (None: the environment's); tests pass their own resources."""
    settings = settings or Settings.from_env()
    warehouse = warehouse or build_warehouse(settings)
    source = source or build_source(settings)
    with warnings.catch_warnings():
        # Chosen on purpose and pinned to dagster 1.13.27: single-run backfills and partition-scoped checks.
        warnings.filterwarnings("ignore", category=BetaWarning)
        warnings.filterwarnings("ignore", category=PreviewWarning)
        assets = build_assets(warehouse, settings=settings)
        checks = [*build_checks(warehouse, settings=settings), build_day_complete_check(warehouse)]
    return Definitions(
        assets=assets,
        asset_checks=checks,
        jobs=[DAILY_JOB, SONG_CATALOG_JOB],
        schedules=[build_daily_schedule(settings)],
        sensors=[build_source_sensor(settings, sensor_status(source, settings.sensor)),
                 *build_alert_sensors(settings)],
        resources={"source": source, "warehouse": warehouse},
        executor=in_process_or_multiprocess_executor,
    )


@definitions
def defs() -> Definitions:
    """Dagster's entry point: the settings are read, checked and turned into definitions when Dagster loads them."""
    return build_definitions(Settings.from_env())
