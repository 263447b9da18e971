"""The four dimensions, from one factory: the original project's reusable subdag, as an asset factory."""


from collections.abc import Callable
from dataclasses import dataclass

from dagster import AssetExecutionContext, AssetsDefinition, MaterializeResult, asset

from sparkify_assets import day_window, loaded_versions
from sparkify_assets.assets.common import (
    fail_permanent_errors_at_once,
    run_transform,
    table_asset,
)
from sparkify_assets.resources.warehouse import Warehouse
from sparkify_assets.settings import Settings
from sparkify_assets.sql import transforms
from sparkify_assets.sql.dialect import Dialect
from sparkify_assets.tables import ARTISTS, SONGPLAYS, SONGS, STAGING_EVENTS, STAGING_SONGS, TIME, USERS, Table


@dataclass(frozen=True)
class DimensionSpec:
    table: Table
    reads: tuple[Table, ...]
    statements: Callable[[Dialect], list[str]]

    @property
    def partitioned(self) -> bool:
        """A dimension keyed by time follows its source's daily partitions; the others are rebuilt whole."""
        return self.table.partition_column is not None


DIMENSIONS: tuple[DimensionSpec, ...] = (
    DimensionSpec(USERS, (STAGING_EVENTS,), transforms.users_full),
    DimensionSpec(SONGS, (STAGING_SONGS,), transforms.songs_full),
    DimensionSpec(ARTISTS, (STAGING_SONGS,), transforms.artists_full),
    DimensionSpec(TIME, (SONGPLAYS,), transforms.time_window),
)


def build_dimension_asset(spec: DimensionSpec, warehouse: Warehouse, *, settings: Settings) -> AssetsDefinition:
    table = spec.table
    sql = spec.statements(warehouse.dialect)

    @asset(**table_asset(table, sql=sql, warehouse=warehouse, deps=[t.name for t in spec.reads],
                         group="warehouse", settings=settings))
    @fail_permanent_errors_at_once
    def _dimension(context: AssetExecutionContext, warehouse: Warehouse) -> MaterializeResult:
        result = run_transform(context, warehouse, table, sql, reads=spec.reads)
        win = day_window.of_context(context, table)
        loaded_versions.record_built(warehouse, table, win)
        return result

    return _dimension


def build_dimension_assets(warehouse: Warehouse, *, settings: Settings) -> list[AssetsDefinition]:
    return [build_dimension_asset(spec, warehouse, settings=settings) for spec in DIMENSIONS]
