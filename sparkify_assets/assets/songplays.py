"""The fact table: every song play of the partition's days, matched to the song catalogue."""


from dagster import AssetExecutionContext, AssetsDefinition, BackfillPolicy, MaterializeResult, asset

from sparkify_assets import reporting
from sparkify_assets.assets.common import (
    OWNERS,
    asset_metadata,
    code_version,
    fail_permanent_errors_at_once,
    run_transform,
)
from sparkify_assets.partitions import daily_partitions
from sparkify_assets.resources.warehouse import Warehouse
from sparkify_assets.retries import retry_policy
from sparkify_assets.sql import transforms
from sparkify_assets.sql.dialect import Dialect
from sparkify_assets.tables import SONGPLAYS, STAGING_EVENTS, STAGING_SONGS


def build_songplays_asset(dialect: Dialect, kind: str) -> AssetsDefinition:
    sql = transforms.songplays_window(dialect)

    @asset(
        name=SONGPLAYS.name,
        description=SONGPLAYS.description,
        deps=[STAGING_EVENTS.name, STAGING_SONGS.name],
        partitions_def=daily_partitions,
        backfill_policy=BackfillPolicy.single_run(),
        retry_policy=retry_policy(),
        group_name="warehouse",
        kinds={kind},
        owners=OWNERS,
        code_version=code_version(SONGPLAYS, sql),
        metadata=asset_metadata(SONGPLAYS, sql, dialect),
    )
    @fail_permanent_errors_at_once
    def songplays(context: AssetExecutionContext, warehouse: Warehouse) -> MaterializeResult:
        return run_transform(context, warehouse, SONGPLAYS, sql, reads=(STAGING_EVENTS, STAGING_SONGS),
                             extra_metadata=reporting.song_match_metadata)

    return songplays
