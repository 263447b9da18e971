"""The two asset jobs automation launches: one day of logs, and a refresh of the song catalogue.

Both are selections of the asset graph (with the selected assets' checks), so they stay right when assets are
added downstream; neither runs the daily tables' `day_complete` check, which the overdue sensor reports for the due
day (day_complete.py), since a run that loads one day says nothing about whether the due day is loaded.
They carry no partitions argument: the daily partitions come from the assets themselves.
"""

from __future__ import annotations

from dagster import AssetSelection, define_asset_job

from sparkify_assets.day_complete import CHECK_KEYS
from sparkify_assets.tables import STAGING_EVENTS, STAGING_SONGS

NOT_IN_RUNS = AssetSelection.checks(*CHECK_KEYS)

DAILY_JOB = define_asset_job(
    "daily_logs",
    selection=AssetSelection.assets(STAGING_EVENTS.name).downstream() - NOT_IN_RUNS,
    description="One UTC day of event logs: staging_events and everything built from it (songplays, time, users).",
)

SONG_CATALOG_JOB = define_asset_job(
    "song_catalog",
    selection=AssetSelection.assets(STAGING_SONGS.name).downstream() - NOT_IN_RUNS,
    description="Reload the song files (staging_songs: only new or changed ones) and rebuild what depends on them: "
    "songs, artists, and songplays/time over the days loaded, so plays are matched against the new catalogue. The "
    "sensor's refresh selects songplays without time and only re-matches the plays of changed songs.",
)
