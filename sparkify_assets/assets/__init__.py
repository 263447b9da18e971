"""Every table as an asset: raw sources, staging, the songplays fact and the dimensions."""

from __future__ import annotations

import warnings

from dagster import AssetsDefinition, AssetSpec, BetaWarning

from sparkify_assets.assets.dimensions import build_dimension_assets
from sparkify_assets.assets.raw import log_data, song_data
from sparkify_assets.assets.songplays import build_songplays_asset
from sparkify_assets.assets.staging import build_staging_assets
from sparkify_assets.sql.dialect import dialect_for


def build_assets(warehouse_kind: str) -> list[AssetsDefinition | AssetSpec]:
    dialect = dialect_for(warehouse_kind)
    with warnings.catch_warnings():
        # BackfillPolicy.single_run() is a deliberate choice (a day range loads in one run); Dagster marks the
        # parameter beta and would print the same warning for every asset at every load of the code location.
        warnings.filterwarnings("ignore", message="Parameter `backfill_policy`", category=BetaWarning)
        return [
            log_data,
            song_data,
            *build_staging_assets(dialect, warehouse_kind),
            build_songplays_asset(dialect, warehouse_kind),
            *build_dimension_assets(dialect, warehouse_kind),
        ]
