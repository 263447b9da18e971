"""Staging: the raw JSON loaded into the warehouse as typed rows, every bad record quarantined with its reason.

What a load read and did (files, bytes, records read / loaded / rejected, seconds) is reported once, as
materialization metadata, not also as log lines: every log line is one more commit to the run's event log.
"""


import time

from dagster import AssetExecutionContext, AssetsDefinition, MaterializeResult, asset

from sparkify_assets import day_window, key_quarantine, loaded_versions, reporting
from sparkify_assets.assets.common import fail_permanent_errors_at_once, table_asset
from sparkify_assets.assets.raw import LOG_DATA, SONG_DATA
from sparkify_assets.resources.source import RawSource
from sparkify_assets.resources.warehouse import Warehouse
from sparkify_assets.settings import Settings
from sparkify_assets.tables import STAGING_EVENTS, STAGING_SONGS


def build_staging_assets(warehouse: Warehouse, *, settings: Settings) -> list[AssetsDefinition]:
    ddl = [warehouse.dialect.create_table(STAGING_EVENTS)]

    @asset(**table_asset(STAGING_EVENTS, sql=ddl, warehouse=warehouse, deps=[LOG_DATA], group="staging",
                         settings=settings))
    @fail_permanent_errors_at_once
    def staging_events(context: AssetExecutionContext, source: RawSource, warehouse: Warehouse) -> MaterializeResult:
        win = day_window.of_context(context, STAGING_EVENTS)
        assert win is not None
        objects = source.log_objects(win.days)
        started = time.perf_counter()
        stats = warehouse.stage_events(source, objects, win, context.run.run_id)
        refused = source.rejected_log_keys(win.days)
        key_quarantine.record(warehouse, STAGING_EVENTS, refused, context.run.run_id)
        key_quarantine.count(stats, refused, whole_table=False)
        seconds = time.perf_counter() - started
        loaded_versions.record(warehouse, STAGING_EVENTS, {o.key: o.version for o in objects}, win)
        return MaterializeResult(metadata={
            **reporting.table_metadata(warehouse, STAGING_EVENTS, win, seconds),
            **reporting.load_metadata(stats, source.uri("log_data/")),
            **loaded_versions.log_metadata(objects),
        })

    songs_ddl = [warehouse.dialect.create_table(STAGING_SONGS)]

    @asset(**table_asset(STAGING_SONGS, sql=songs_ddl, warehouse=warehouse, deps=[SONG_DATA], group="staging",
                         settings=settings))
    @fail_permanent_errors_at_once
    def staging_songs(context: AssetExecutionContext, source: RawSource, warehouse: Warehouse) -> MaterializeResult:
        objects = source.song_objects()
        started = time.perf_counter()
        stats = warehouse.stage_songs(source, objects, context.run.run_id)
        refused = [(key, None) for key in source.rejected_song_keys()]
        key_quarantine.record(warehouse, STAGING_SONGS, refused, context.run.run_id)
        key_quarantine.count(stats, refused, whole_table=True)
        seconds = time.perf_counter() - started
        digest = loaded_versions.songs_digest(objects)
        loaded_versions.record_songs_digest(warehouse, digest)
        return MaterializeResult(metadata={
            **reporting.table_metadata(warehouse, STAGING_SONGS, None, seconds),
            **reporting.load_metadata(stats, source.uri("song_data/")),
            loaded_versions.SONG_METADATA: digest,
        })

    return [staging_events, staging_songs]
