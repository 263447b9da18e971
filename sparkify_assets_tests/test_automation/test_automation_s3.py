"""The sensor, the schedule and retries against a real S3 API: moto's server on loopback with the real sample."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import replace
from datetime import date, datetime, timezone
from pathlib import Path

import pytest
from dagster import DagsterEventType, DagsterInstance, Definitions, build_schedule_context

from sparkify_assets.automation import build_source_sensor
from sparkify_assets.dagster_internals import ASSET_PARTITION_RANGE_END_TAG, ASSET_PARTITION_RANGE_START_TAG
from sparkify_assets.definitions import build_definitions
from sparkify_assets.resources.duckdb_warehouse import DuckDBWarehouse
from sparkify_assets.resources.source import log_key
from sparkify_assets.run import materialize_days
from sparkify_assets.settings import Settings
from sparkify_assets_tests.conftest import NOVEMBER, local_defs
from sparkify_assets_tests.support import warehouse_snapshot
from sparkify_assets_tests.support.automation import days_requested, execute, song_requests, tick
from sparkify_assets_tests.support.s3 import FaultProxy, client, running_moto, s3_source, upload_tree


def day_patterns(*days: date) -> tuple[str, ...]:
    return (*(log_key(d) for d in days), "song_data/**/*.json")


@pytest.fixture(scope="module")
def endpoint() -> Iterator[str]:
    with running_moto() as url:
        yield url


@pytest.fixture
def bucket() -> str:
    return f"sparkify-{uuid.uuid4().hex[:12]}"


def s3_defs(endpoint: str, bucket: str, tmp_path: Path, max_attempts: int = 5) -> Definitions:
    return build_definitions(source=s3_source(endpoint, bucket, max_attempts),
                             warehouse=DuckDBWarehouse(path=str(tmp_path / "s3.duckdb")))


def test_sensor_requests_every_new_or_changed_day_once(real_sample: Path, endpoint: str, bucket: str,
                                                       instance: DagsterInstance, tmp_path: Path) -> None:
    upload_tree(endpoint, bucket, real_sample)
    s3 = client(endpoint)
    defs = s3_defs(endpoint, bucket, tmp_path)
    sensor = build_source_sensor(replace(Settings.from_env(), sensor_max_runs=100))

    first = tick(sensor, defs, instance, None)
    assert days_requested(first) == [d.isoformat() for d in NOVEMBER]
    for request in first.run_requests:
        if request.job_name == "daily_logs":
            key = log_key(date.fromisoformat(request.partition_key))
            etag = s3.head_object(Bucket=bucket, Key=key)["ETag"].strip('"')
            assert request.run_key == f"{key}@{etag}"
    (songs,) = song_requests(first)
    assert songs.tags[ASSET_PARTITION_RANGE_START_TAG] == "2018-11-01"
    assert songs.tags[ASSET_PARTITION_RANGE_END_TAG] == "2018-11-30"

    second = tick(sensor, defs, instance, first.cursor)
    assert second.run_requests == [] and "no new or changed files" in second.skip_message

    # A new day's file: exactly that day.
    body = (real_sample / log_key(date(2018, 11, 5))).read_bytes()
    s3.put_object(Bucket=bucket, Key=log_key(date(2018, 12, 1)), Body=body)
    third = tick(sensor, defs, instance, second.cursor)
    assert days_requested(third) == ["2018-12-01"] and not song_requests(third)

    # A changed file re-uploaded: that day again, under a new run key; the same bytes again: nothing.
    changed = b"\n".join(body.splitlines()[:-1]) + b"\n"
    s3.put_object(Bucket=bucket, Key=log_key(date(2018, 11, 5)), Body=changed)
    fourth = tick(sensor, defs, instance, third.cursor)
    assert days_requested(fourth) == ["2018-11-05"]
    old_key = next(r.run_key for r in first.run_requests if r.partition_key == "2018-11-05")
    assert fourth.run_requests[0].run_key != old_key
    s3.put_object(Bucket=bucket, Key=log_key(date(2018, 11, 5)), Body=changed)
    assert tick(sensor, defs, instance, fourth.cursor).run_requests == []

    # A new song file: one catalogue refresh, no day.
    song = next((real_sample / "song_data").rglob("*.json"))
    s3.put_object(Bucket=bucket, Key="song_data/Z/Z/Z/TRZZZZZ.json", Body=song.read_bytes())
    fifth = tick(sensor, defs, instance, fourth.cursor)
    assert days_requested(fifth) == [] and len(song_requests(fifth)) == 1
    assert tick(sensor, defs, instance, fifth.cursor).run_requests == []


def test_a_tick_requests_at_most_its_budget(real_sample: Path, endpoint: str, bucket: str,
                                            instance: DagsterInstance, tmp_path: Path) -> None:
    upload_tree(endpoint, bucket, real_sample)
    defs = s3_defs(endpoint, bucket, tmp_path)
    sensor = build_source_sensor(replace(Settings.from_env(), sensor_max_runs=7))
    cursor, seen, ticks = None, [], 0
    while True:
        data = tick(sensor, defs, instance, cursor)
        cursor = data.cursor
        if not data.run_requests:
            break
        ticks += 1
        assert len(data.run_requests) <= 7
        seen += days_requested(data)
    assert sorted(seen) == [d.isoformat() for d in NOVEMBER]  # every day, none twice
    assert ticks == 5  # 30 days + 1 song refresh, 7 a tick


def test_runs_the_sensor_requests_build_what_a_direct_backfill_builds(
        real_sample: Path, endpoint: str, bucket: str, instance: DagsterInstance, tmp_path: Path) -> None:
    days = NOVEMBER[4:7]
    upload_tree(endpoint, bucket, real_sample, day_patterns(*days[:2]))
    defs = s3_defs(endpoint, bucket, tmp_path)
    sensor = defs.resolve_sensor_def("source_files_sensor")

    first = tick(sensor, defs, instance, None)
    assert days_requested(first) == [d.isoformat() for d in days[:2]] and len(song_requests(first)) == 1
    for request in first.run_requests:
        result = execute(defs, request, instance)
        if request.partition_key:  # the run loaded exactly its day
            staged = [m.partition for m in result.get_asset_materialization_events()
                      for m in [m.materialization] if m.asset_key.to_user_string() == "staging_events"]
            assert staged == [request.partition_key]

    # The next day lands: the sensor asks for exactly that day.
    s3 = client(endpoint)
    s3.put_object(Bucket=bucket, Key=log_key(days[2]), Body=(real_sample / log_key(days[2])).read_bytes())
    second = tick(sensor, defs, instance, first.cursor)
    assert days_requested(second) == [days[2].isoformat()] and not song_requests(second)
    execute(defs, second.run_requests[0], instance)

    # Every table equals what one CLI-style backfill of the same days builds from the local copy.
    direct = tmp_path / "direct.duckdb"
    assert materialize_days(local_defs(real_sample, direct), days, DagsterInstance.ephemeral()).success
    assert warehouse_snapshot.snapshot(tmp_path / "s3.duckdb") == warehouse_snapshot.snapshot(direct)


def test_schedule_loads_yesterday_or_skips_naming_the_missing_file(
        real_sample: Path, endpoint: str, bucket: str, instance: DagsterInstance, tmp_path: Path) -> None:
    upload_tree(endpoint, bucket, real_sample, day_patterns(date(2018, 11, 5)))
    source = s3_source(endpoint, bucket)
    defs = build_definitions(source=source, warehouse=DuckDBWarehouse(path=str(tmp_path / "w.duckdb")))
    schedule = defs.resolve_schedule_def("daily_logs_schedule")

    def evaluate(when: datetime):
        with build_schedule_context(instance=instance, scheduled_execution_time=when, resources={"source": source},
                                    repository_def=defs.get_repository_def()) as context:
            return schedule.evaluate_tick(context)

    present = evaluate(datetime(2018, 11, 6, 1, tzinfo=timezone.utc))
    (request,) = present.run_requests
    assert request.partition_key == "2018-11-05" and schedule.job_name == "daily_logs"
    missing = evaluate(datetime(2018, 11, 7, 1, tzinfo=timezone.utc))
    assert not missing.run_requests
    assert f"s3://{bucket}/{log_key(date(2018, 11, 6))}" in missing.skip_message


def test_schedule_launches_anyway_when_s3_is_throttling(real_sample: Path, endpoint: str, bucket: str,
                                                        instance: DagsterInstance, tmp_path: Path) -> None:
    """Unsure whether the file is there, it launches the run (which retries, and fails clearly if it is not)."""
    upload_tree(endpoint, bucket, real_sample, day_patterns(date(2018, 11, 5)))
    with FaultProxy(endpoint) as proxy:
        defs = s3_defs(proxy.url, bucket, tmp_path, max_attempts=0)
        schedule = defs.resolve_schedule_def("daily_logs_schedule")
        proxy.fail_next(1)
        with build_schedule_context(instance=instance, resources=dict(defs.resources),
                                    scheduled_execution_time=datetime(2018, 11, 6, 1, tzinfo=timezone.utc),
                                    repository_def=defs.get_repository_def()) as context:
            data = schedule.evaluate_tick(context)
        assert proxy.failed == 1
    (request,) = data.run_requests
    assert request.partition_key == "2018-11-05" and request.run_key == "2018-11-05:unchecked"


def step_events(result, event_type: DagsterEventType) -> list[str]:
    return [e.step_key for e in result.all_events if e.event_type == event_type]


def test_throttled_s3_is_retried_and_the_run_succeeds(real_sample: Path, endpoint: str, bucket: str,
                                                      instance: DagsterInstance, tmp_path: Path,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SPARKIFY_RETRY_DELAY_SECONDS", "0.05")
    day = date(2018, 11, 5)
    upload_tree(endpoint, bucket, real_sample, day_patterns(day))
    with FaultProxy(endpoint) as proxy:
        # No boto retries (dagster-aws's max_attempts counts retries), so every 503 reaches Dagster's RetryPolicy.
        defs = s3_defs(proxy.url, bucket, tmp_path, max_attempts=0)
        proxy.fail_next(2)
        result = defs.resolve_job_def("daily_logs").execute_in_process(
            partition_key=day.isoformat(), instance=instance, raise_on_error=False)
        assert proxy.failed == 2 and proxy.forwarded > 0
    assert result.success
    assert step_events(result, DagsterEventType.STEP_UP_FOR_RETRY) == ["staging_events", "staging_events"]
    assert step_events(result, DagsterEventType.STEP_RESTARTED) == ["staging_events", "staging_events"]

    direct = tmp_path / "direct.duckdb"
    local = local_defs(real_sample, direct)
    assert local.resolve_job_def("daily_logs").execute_in_process(
        partition_key=day.isoformat(), instance=DagsterInstance.ephemeral()).success
    tables = ["staging_events", "songplays", "users", "time", "rejected_records"]
    assert warehouse_snapshot.snapshot(tmp_path / "s3.duckdb", tables) == warehouse_snapshot.snapshot(direct, tables)


def test_a_missing_day_fails_at_once_naming_the_file(real_sample: Path, endpoint: str, bucket: str,
                                                    instance: DagsterInstance, tmp_path: Path) -> None:
    upload_tree(endpoint, bucket, real_sample, day_patterns(date(2018, 11, 5)))
    defs = s3_defs(endpoint, bucket, tmp_path)
    result = defs.resolve_job_def("daily_logs").execute_in_process(
        partition_key="2018-11-10", instance=instance, raise_on_error=False)
    assert not result.success
    assert step_events(result, DagsterEventType.STEP_UP_FOR_RETRY) == []
    (failure,) = [e for e in result.all_events if e.event_type == DagsterEventType.STEP_FAILURE]
    assert failure.step_key == "staging_events"
    message = failure.step_failure_data.error.message
    assert f"s3://{bucket}/{log_key(date(2018, 11, 10))}" in message and "SourceDataError" in message
