"""Every table as an asset: raw sources, staging, the songplays fact and the dimensions."""

from __future__ import annotations

from dagster import AssetsDefinition, AssetSpec

from sparkify_assets.assets.dimensions import build_dimension_assets
from sparkify_assets.assets.raw import log_data, song_data
from sparkify_assets.assets.songplays import build_songplays_asset
from sparkify_assets.assets.staging import build_staging_assets
from sparkify_assets.resources.warehouse import Warehouse


def build_assets(warehouse: Warehouse) -> list[AssetsDefinition | AssetSpec]:
    """The assets as they run on `warehouse`: its SQL, its kind on each asset, its pool on each step."""
    return [
        log_data,
        song_data,
        *build_staging_assets(warehouse),
        build_songplays_asset(warehouse),
        *build_dimension_assets(warehouse),
    ]
