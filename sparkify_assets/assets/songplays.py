"""The fact table: every song play of the partition's days, matched to the song catalogue."""


from dagster import AssetExecutionContext, AssetsDefinition, MaterializeResult, asset

from sparkify_assets import reporting
from sparkify_assets.assets.common import (
    fail_permanent_errors_at_once,
    run_transform,
    table_asset,
)
from sparkify_assets.resources.warehouse import Warehouse
from sparkify_assets.sql import transforms
from sparkify_assets.sql.dialect import Dialect
from sparkify_assets.tables import SONGPLAYS, STAGING_EVENTS, STAGING_SONGS


def build_songplays_asset(dialect: Dialect, kind: str) -> AssetsDefinition:
    sql = transforms.songplays_window(dialect)

    @asset(**table_asset(SONGPLAYS, sql=sql, dialect=dialect, kind=kind, deps=[STAGING_EVENTS.name, STAGING_SONGS.name],
                         group="warehouse"))
    @fail_permanent_errors_at_once
    def songplays(context: AssetExecutionContext, warehouse: Warehouse) -> MaterializeResult:
        return run_transform(context, warehouse, SONGPLAYS, sql, reads=(STAGING_EVENTS, STAGING_SONGS),
                             extra_metadata=reporting.song_match_metadata)

    return songplays
