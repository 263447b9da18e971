"""A song-catalogue refresh as the sensor requests it, in real Dagster runs on the real sample: it reads only the
changed song files, re-matches only the plays their songs can match, shows on every loaded day of songplays, and
leaves the tables a from-scratch run leaves."""

from __future__ import annotations

import json
import os
from datetime import date
from pathlib import Path

import duckdb
from dagster import AssetKey, DagsterInstance

from sparkify_assets.assets.songplays import REMATCH_ONLY, REMATCH_ONLY_TAG
from sparkify_assets.resources.source import log_key
from sparkify_assets.run import materialize_days
from sparkify_assets.tables import ALL_TABLES, SONG_MATCHES
from sparkify_assets_tests.conftest import failed_checks, local_defs
from sparkify_assets_tests.support import warehouse_snapshot
from sparkify_assets_tests.support.automation import days_requested, execute, song_requests, tick
from sparkify_assets_tests.test_automation.test_automation_local import copy_sample

DAYS = [date(2018, 11, 5), date(2018, 11, 6), date(2018, 11, 7)]


def a_play(data: Path) -> dict:
    """A NextSong event of the sample with a song, artist and length: a song file with these will match it."""
    for line in (data / log_key(DAYS[1])).read_text().splitlines():
        event = json.loads(line)
        if event["page"] == "NextSong" and event["song"] and event["artist"] and event["length"]:
            return event
    raise AssertionError("no play in the sample")


def rewrite(path: Path, **fields: object) -> None:
    record = json.loads(path.read_text()) | fields
    mtime = path.stat().st_mtime_ns
    path.write_text(json.dumps(record))
    os.utime(path, ns=(mtime + 10**9, mtime + 10**9))  # a new version, whatever the clock's resolution


def metadata(result, asset: str) -> list[dict]:
    return [{k: v.value for k, v in e.metadata.items()} | {"partition": e.partition}
            for e in result.asset_materializations_for_node(asset)]


def test_a_refresh_of_two_changed_songs_rematches_only_their_plays_and_equals_a_clean_run(
        real_sample: Path, tmp_path: Path, instance: DagsterInstance) -> None:
    data = copy_sample(real_sample, tmp_path / "data", DAYS)
    db = tmp_path / "w.duckdb"
    defs = local_defs(data, db)
    assert materialize_days(defs, DAYS, instance).success
    sensor = defs.resolve_sensor_def("source_files_sensor")
    settled = tick(sensor, defs, instance, None)
    assert settled.run_requests == []  # everything listed is loaded in its current version

    # Two song files change: one now matches a play of the sample, the other gets a new title.
    play = a_play(data)
    songs = sorted((data / "song_data").rglob("*.json"))
    rewrite(songs[0], title=play["song"], artist_name=play["artist"], duration=play["length"])
    rewrite(songs[1], title="A title no play has")

    ticked = tick(sensor, defs, instance, settled.cursor)
    assert days_requested(ticked) == []
    (request,) = song_requests(ticked)
    assert request.tags[REMATCH_ONLY_TAG] == REMATCH_ONLY
    assert {k.to_user_string() for k in request.asset_selection} == {"staging_songs", "songs", "artists",
                                                                     "songplays"}
    result = execute(defs, request, instance)
    assert not failed_checks(result) - {("songplays", "song_match_rate")}  # the sample matches few plays

    (staged,) = metadata(result, "staging_songs")
    assert (staged["load_mode"], staged["files_read"], staged["files_new_or_changed"]) == ("incremental", 2, 2)
    assert staged["records_read"] == len(songs)
    plays = metadata(result, "songplays")
    assert sorted(p["partition"] for p in plays) == [d.isoformat() for d in DAYS]  # every day shows the refresh
    assert {p["load_mode"] for p in plays} == {"re-match only (song catalogue refresh)"}
    same = sum(1 for d in DAYS for line in (data / log_key(d)).read_text().splitlines()
               if (e := json.loads(line))["page"] == "NextSong"
               and (e["song"], e["artist"], e["length"]) == (play["song"], play["artist"], play["length"]))
    assert {p["plays_rematched"] for p in plays} == {same}  # those plays only, not the days' other plays
    assert instance.get_latest_materialization_event(AssetKey("time")).run_id != result.run_id

    clean = tmp_path / "clean.duckdb"
    with DagsterInstance.ephemeral() as scratch:
        assert materialize_days(local_defs(data, clean), DAYS, scratch).success
    everything = [t.name for t in (*ALL_TABLES, SONG_MATCHES)]
    assert warehouse_snapshot.snapshot(db, everything) == warehouse_snapshot.snapshot(clean, everything)
    with duckdb.connect(str(db), read_only=True) as con:
        assert con.execute("SELECT count(*) FROM songplays WHERE song_id IS NOT NULL").fetchone()[0] >= same > 0
