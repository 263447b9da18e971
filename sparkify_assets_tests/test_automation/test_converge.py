"""Days converge (automation/converge.py), ticked by hand on real runs: a warehouse left with staging loaded and
nothing built on it (a backfill killed as songplays starts), on a NEW instance: the source sensor completes every
day by itself, with bounded attempts for a day whose blocking check keeps failing, whose last failure is then the
one alert naming the day, the table and the reason. The same through the real service: test_service_converge."""

from __future__ import annotations

import shutil
from datetime import date
from pathlib import Path

import pytest
from dagster import AssetKey, DagsterInstance, Definitions, ExecuteInProcessResult, RunRequest

from sparkify_assets.alerts.sensors import alert_for
from sparkify_assets.automation import converge
from sparkify_assets.dagster_internals import ASSET_PARTITION_RANGE_END_TAG, ASSET_PARTITION_RANGE_START_TAG
from sparkify_assets.resources.duckdb_warehouse import DuckDBWarehouse
from sparkify_assets.resources.source import log_key
from sparkify_assets.run import materialize_days
from sparkify_assets_tests.conftest import local_defs
from sparkify_assets_tests.support import expected, warehouse_snapshot
from sparkify_assets_tests.support.automation import tick
from sparkify_assets_tests.test_automation.test_alerts import corrupt_one_play
from sparkify_assets_tests.test_automation.test_automation_local import copy_sample

GOOD = [date(2018, 11, 1), date(2018, 11, 2)]
BAD = date(2018, 11, 4)  # one play with an impossible level: songplays' blocking check fails every time
ATTEMPTS = 3  # the default of SPARKIFY_CONVERGE_ATTEMPTS


def stage_only(defs: Definitions, days: list[date], instance: DagsterInstance) -> None:
    """What a backfill killed as songplays starts leaves: staging loaded (and recorded), nothing built on it."""
    job = defs.resolve_implicit_global_asset_job_def()
    result = job.execute_in_process(
        instance=instance, asset_selection=[AssetKey("staging_events"), AssetKey("staging_songs")],
        tags={ASSET_PARTITION_RANGE_START_TAG: days[0].isoformat(),
              ASSET_PARTITION_RANGE_END_TAG: days[-1].isoformat()})
    assert result.success


def staged_warehouse(real_sample: Path, work: Path) -> tuple[Path, Path]:
    data = copy_sample(real_sample, work / "data", [*GOOD, BAD])
    corrupt_one_play(data / log_key(BAD))
    db = work / "w.duckdb"
    with DagsterInstance.ephemeral() as old:  # thrown away: the new instance knows nothing of these loads
        for days in (GOOD, [BAD]):
            stage_only(local_defs(data, db), days, old)
    return data, db


def execute(defs: Definitions, request: RunRequest, instance: DagsterInstance) -> ExecuteInProcessResult:
    job = defs.resolve_job_def(request.job_name)
    return job.execute_in_process(instance=instance, partition_key=request.partition_key, tags=request.tags,
                                  asset_selection=request.asset_selection, raise_on_error=False)


def test_a_new_instance_completes_every_staged_day_and_gives_up_on_a_failing_one_after_its_attempts(
        real_sample: Path, tmp_path: Path, instance: DagsterInstance, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("SPARKIFY_CONVERGE_ATTEMPTS", raising=False)
    data, db = staged_warehouse(real_sample, tmp_path)
    warehouse = DuckDBWarehouse(path=str(db))
    assert set(converge.incomplete_days(warehouse)) == {*GOOD, BAD}
    defs = local_defs(data, db)
    sensor = defs.resolve_sensor_def("source_files_sensor")

    # Nothing is new in the source. First the catalogue (songs, artists) the killed run never built...
    assert converge.incomplete_catalogue(warehouse) is not None
    songs = tick(sensor, defs, instance, None)
    (request,) = songs.run_requests
    assert (request.job_name, request.tags[converge.KIND_TAG]) == ("song_catalog", "songs")
    assert execute(defs, request, instance).success
    assert converge.incomplete_catalogue(warehouse) is None

    # ...then the incomplete days: one run per contiguous range.
    first = tick(sensor, defs, instance, songs.cursor)
    ranges = sorted((r.tags.get(ASSET_PARTITION_RANGE_START_TAG) or r.partition_key,
                     r.tags.get(ASSET_PARTITION_RANGE_END_TAG) or r.partition_key) for r in first.run_requests)
    assert ranges == [(GOOD[0].isoformat(), GOOD[1].isoformat()), (BAD.isoformat(), BAD.isoformat())]
    assert {r.tags[converge.KIND_TAG] for r in first.run_requests} == {"range"}
    outcomes = {r.partition_key or "range": execute(defs, r, instance).success for r in first.run_requests}
    assert outcomes == {"range": True, BAD.isoformat(): False}
    assert set(converge.incomplete_days(warehouse)) == {BAD}

    # The failed day alone, SPARKIFY_CONVERGE_ATTEMPTS times, then nothing more; only the last failure alerts.
    cursor, runs = first.cursor, []
    for attempt in range(1, ATTEMPTS + 1):
        result = tick(sensor, defs, instance, cursor)
        (request,) = result.run_requests
        assert request.partition_key == BAD.isoformat()
        assert request.tags[converge.ATTEMPT_TAG] == f"{attempt}/{ATTEMPTS}"
        run = execute(defs, request, instance)
        assert not run.success
        runs.append(run.dagster_run)
        cursor = result.cursor
    assert tick(sensor, defs, instance, cursor).run_requests == []
    assert set(converge.incomplete_days(warehouse)) == {BAD}

    assert all(isinstance(alert_for(instance, r, "http://ui"), str) for r in runs[:-1])
    last = alert_for(instance, runs[-1], "http://ui")
    assert not isinstance(last, str)
    assert (last.kind, last.partition, last.asset) == ("incomplete", BAD.isoformat(), "songplays")
    assert "level_accepted" in last.error and f"after {ATTEMPTS} attempts" in last.text

    # The good days equal an independent computation from their raw files (the bad day's songplays were written
    # before its check failed: a blocking check stops what is downstream, not its own asset).
    good = expected.compute(copy_sample(real_sample, tmp_path / "good", GOOD))
    plays = warehouse_snapshot.table(db, "songplays")
    plays = plays[plays.start_time.dt.date.isin(GOOD)]
    assert sorted(plays.songplay_id) == sorted(good.songplays.songplay_id)
    times = warehouse_snapshot.table(db, "time")
    assert set(times.start_time) == set(plays.start_time)


def test_a_changed_file_makes_its_day_incomplete_until_every_table_is_rebuilt(
        real_sample: Path, tmp_path: Path, instance: DagsterInstance) -> None:
    """Complete days need nothing; reloading staging alone (a new version) leaves the day behind."""
    data = copy_sample(real_sample, tmp_path / "data", GOOD[:1])
    db = tmp_path / "w.duckdb"
    defs = local_defs(data, db)
    assert materialize_days(defs, GOOD[:1], instance).success
    warehouse = DuckDBWarehouse(path=str(db))
    assert converge.incomplete_days(warehouse) == {}
    shutil.copy(data / log_key(GOOD[0]), tmp_path / "copy.json")
    (data / log_key(GOOD[0])).write_bytes((tmp_path / "copy.json").read_bytes())  # a new version (mtime)
    stage_only(defs, GOOD[:1], instance)
    (behind,) = converge.incomplete_days(warehouse).items()
    assert behind[0] == GOOD[0] and behind[1][1] == "songplays"
