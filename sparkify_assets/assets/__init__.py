"""Every table as an asset: raw sources, staging, the songplays fact and the dimensions."""

from __future__ import annotations

from dagster import AssetsDefinition, AssetSpec

from sparkify_assets.assets.dimensions import build_dimension_assets
from sparkify_assets.assets.raw import log_data, song_data
from sparkify_assets.assets.songplays import build_songplays_asset
from sparkify_assets.assets.staging import build_staging_assets
from sparkify_assets.sql.dialect import dialect_for


def build_assets(warehouse_kind: str) -> list[AssetsDefinition | AssetSpec]:
    dialect = dialect_for(warehouse_kind)
    return [
        log_data,
        song_data,
        *build_staging_assets(dialect, warehouse_kind),
        build_songplays_asset(dialect, warehouse_kind),
        *build_dimension_assets(dialect, warehouse_kind),
    ]
