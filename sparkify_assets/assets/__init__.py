"""Every table as an asset: raw sources, staging, the songplays fact and the dimensions."""

from __future__ import annotations

from dagster import AssetsDefinition, AssetSpec

from sparkify_assets.assets.dimensions import build_dimension_assets
from sparkify_assets.assets.raw import build_raw_assets
from sparkify_assets.assets.songplays import build_songplays_asset
from sparkify_assets.assets.staging import build_staging_assets
from sparkify_assets.partitions import daily_partitions
from sparkify_assets.settings import Settings
from sparkify_assets.sql.dialect import dialect_for


def build_assets(warehouse_kind: str, *, settings: Settings) -> list[AssetsDefinition | AssetSpec]:
    dialect = dialect_for(warehouse_kind)
    return [
        *build_raw_assets(daily_partitions(settings)),
        *build_staging_assets(dialect, warehouse_kind, settings=settings),
        build_songplays_asset(dialect, warehouse_kind, settings=settings),
        *build_dimension_assets(dialect, warehouse_kind, settings=settings),
    ]
