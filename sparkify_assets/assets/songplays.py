"""The fact table: every song play of the partition's days, matched to the song catalogue."""

import time
from datetime import date, timedelta

from dagster import AssetExecutionContext, AssetsDefinition, MaterializeResult, asset

from sparkify_assets import day_window, loaded_versions, reporting
from sparkify_assets.assets.common import fail_permanent_errors_at_once, table_asset
from sparkify_assets.partitions import consecutive_runs
from sparkify_assets.resources.warehouse import Warehouse
from sparkify_assets.settings import Settings
from sparkify_assets.sql import transforms
from sparkify_assets.tables import SONG_MATCHES, SONGPLAYS, STAGING_EVENTS, STAGING_SONGS

# A run tagged so (the source sensor's song-catalogue refresh) only re-matches plays; the days' events are unchanged.
REMATCH_ONLY_TAG = "sparkify/songplays"
REMATCH_ONLY = "rematch-only"

_EPOCH = date(1970, 1, 1)


def build_songplays_asset(warehouse: Warehouse, *, settings: Settings) -> AssetsDefinition:
    rematch = transforms.songplays_rematch(warehouse.dialect)
    reload = transforms.songplays_window(warehouse.dialect)
    reads = (STAGING_EVENTS, STAGING_SONGS)

    @asset(**table_asset(SONGPLAYS, sql=[*rematch, *reload], warehouse=warehouse,
                         deps=[t.name for t in reads], group="warehouse", settings=settings))
    @fail_permanent_errors_at_once
    def songplays(context: AssetExecutionContext, warehouse: Warehouse) -> MaterializeResult:
        """Every load first re-matches the plays of any day whose song key changed in the catalogue, then (unless
        the run is a catalogue refresh) replaces its own days; both in one transaction."""
        win = day_window.of_context(context, SONGPLAYS)
        assert win is not None
        rematch_only = context.run.tags.get(REMATCH_ONLY_TAG) == REMATCH_ONLY
        started = time.perf_counter()
        with warehouse.transaction() as s:
            warehouse.ensure_tables(s, (*reads, SONGPLAYS, SONG_MATCHES))
            for sql in rematch:
                s.execute(sql)
            per_day = s.fetchall(transforms.rematch_summary_sql())
            s.execute(transforms.drop_rematch_sql())
            if not rematch_only:
                for sql in reload:
                    s.execute(sql, win.params)
        seconds = time.perf_counter() - started
        if not rematch_only:  # a re-match leaves the days' plays as they were: their record stands
            loaded_versions.record_built(warehouse, SONGPLAYS, win)
        days = [_EPOCH + timedelta(days=int(n)) for n, _ in per_day]
        plays = sum(int(c) for _, c in per_day)
        return MaterializeResult(metadata={
            **reporting.table_metadata(warehouse, SONGPLAYS, win, seconds),
            "reads": ", ".join(t.name for t in reads),
            "load_mode": "re-match only (song catalogue refresh)" if rematch_only else "days replaced",
            "plays_rematched": plays,
            "days_rematched": day_ranges(days),
            **reporting.song_match_metadata(warehouse, SONGPLAYS, win),
        })

    return songplays


def day_ranges(days: list[date]) -> str:
    """Sorted days as runs of consecutive days ('2018-11-01..2018-11-30, 2018-12-02'): short for any history."""
    return ", ".join(r[0].isoformat() if len(r) == 1 else f"{r[0]}..{r[-1]}"
                     for r in consecutive_runs(days)) or "none"
