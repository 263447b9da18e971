"""Every table as an asset: raw sources, staging, the songplays fact and the dimensions."""

from __future__ import annotations

from dagster import AssetsDefinition, AssetSpec

from sparkify_assets.assets.dimensions import build_dimension_assets
from sparkify_assets.assets.raw import build_raw_assets
from sparkify_assets.assets.songplays import build_songplays_asset
from sparkify_assets.assets.staging import build_staging_assets
from sparkify_assets.partitions import daily_partitions
from sparkify_assets.resources.warehouse import Warehouse
from sparkify_assets.settings import Settings


def build_assets(warehouse: Warehouse, *, settings: Settings) -> list[AssetsDefinition | AssetSpec]:
    """The assets as they run on `warehouse`: its SQL, its kind on each asset, its pool on each step."""
    return [
        *build_raw_assets(daily_partitions(settings)),
        *build_staging_assets(warehouse, settings=settings),
        build_songplays_asset(warehouse, settings=settings),
        *build_dimension_assets(warehouse, settings=settings),
    ]
