"""The sensor on a local folder (versions are modification times), and which automation is on by default."""

from __future__ import annotations

import os
import shutil
from datetime import date
from pathlib import Path

import pytest
from dagster import DagsterInstance, DefaultScheduleStatus, DefaultSensorStatus
from dagster_aws.s3 import S3Resource

from sparkify_assets.definitions import build_definitions
from sparkify_assets.resources.duckdb_warehouse import DuckDBWarehouse
from sparkify_assets.resources.s3_source import S3Source
from sparkify_assets.resources.source import LocalFolderSource, RawSource, log_key
from sparkify_assets_tests.conftest import local_defs
from sparkify_assets_tests.support.automation import days_requested, song_requests, tick

DAYS = [date(2018, 11, 5), date(2018, 11, 6), date(2018, 11, 7)]


def copy_sample(real_sample: Path, to: Path, days: list[date]) -> Path:
    shutil.copytree(real_sample / "song_data", to / "song_data")
    for day in days:
        (to / log_key(day)).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(real_sample / log_key(day), to / log_key(day))
    return to


def statuses(source: RawSource, tmp_path: Path) -> tuple[DefaultSensorStatus, DefaultScheduleStatus]:
    defs = build_definitions(source=source, warehouse=DuckDBWarehouse(path=str(tmp_path / "w.duckdb")))
    return (defs.resolve_sensor_def("source_files_sensor").default_status,
            defs.resolve_schedule_def("daily_logs_schedule").default_status)


def test_sensor_runs_by_default_for_a_local_folder_only(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    local = LocalFolderSource(root=str(tmp_path))
    s3 = S3Source(s3=S3Resource(region_name="us-east-1"), bucket="sparkify")
    for name in ("SPARKIFY_SENSOR", "SPARKIFY_SCHEDULE", "SPARKIFY_SCHEDULE_HOUR"):
        monkeypatch.delenv(name, raising=False)
    assert statuses(local, tmp_path) == (DefaultSensorStatus.RUNNING, DefaultScheduleStatus.STOPPED)
    assert statuses(s3, tmp_path) == (DefaultSensorStatus.STOPPED, DefaultScheduleStatus.STOPPED)
    monkeypatch.setenv("SPARKIFY_SENSOR", "on")
    monkeypatch.setenv("SPARKIFY_SCHEDULE", "on")
    assert statuses(s3, tmp_path) == (DefaultSensorStatus.RUNNING, DefaultScheduleStatus.RUNNING)
    monkeypatch.setenv("SPARKIFY_SENSOR", "off")
    assert statuses(local, tmp_path)[0] == DefaultSensorStatus.STOPPED
    monkeypatch.setenv("SPARKIFY_SCHEDULE_HOUR", "5")
    defs = build_definitions(source=local, warehouse=DuckDBWarehouse(path=str(tmp_path / "w.duckdb")))
    assert defs.resolve_schedule_def("daily_logs_schedule").cron_schedule == "0 5 * * *"
    monkeypatch.setenv("SPARKIFY_SCHEDULE_HOUR", "24")
    with pytest.raises(ValueError, match="SPARKIFY_SCHEDULE_HOUR"):
        build_definitions(source=local, warehouse=DuckDBWarehouse(path=str(tmp_path / "w.duckdb")))


def test_local_sensor_sees_new_and_touched_files_by_modification_time(real_sample: Path, tmp_path: Path,
                                                                      instance: DagsterInstance) -> None:
    data = copy_sample(real_sample, tmp_path / "data", DAYS[:2])
    defs = local_defs(data, tmp_path / "w.duckdb")
    sensor = defs.resolve_sensor_def("source_files_sensor")

    first = tick(sensor, defs, instance, None)
    assert days_requested(first) == ["2018-11-05", "2018-11-06"] and len(song_requests(first)) == 1
    mtime = (data / log_key(DAYS[0])).stat().st_mtime_ns
    assert f"{log_key(DAYS[0])}@{mtime}" in [r.run_key for r in first.run_requests]
    second = tick(sensor, defs, instance, first.cursor)
    assert second.run_requests == []

    # `touch` an existing day (a newer modification time is a new version) and add a new day.
    os.utime(data / log_key(DAYS[0]), ns=(mtime + 10**9, mtime + 10**9))
    shutil.copyfile(real_sample / log_key(DAYS[2]), data / log_key(DAYS[2]))
    third = tick(sensor, defs, instance, second.cursor)
    assert days_requested(third) == ["2018-11-05", "2018-11-07"] and not song_requests(third)
    assert f"{log_key(DAYS[0])}@{mtime + 10**9}" in [r.run_key for r in third.run_requests]
    assert tick(sensor, defs, instance, third.cursor).run_requests == []
