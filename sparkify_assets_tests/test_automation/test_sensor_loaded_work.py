"""The sensor does not redo loaded work: with a new instance or a lost cursor, files the warehouse already holds in
their current version are not requested; a changed file is requested once; while another process writes the
DuckDB file (so nothing can read it) files the instance cannot vouch for wait, and are never requested twice."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date
from pathlib import Path

import pytest
from dagster import AssetKey, DagsterInstance

from sparkify_assets.resources.source import log_key
from sparkify_assets.run import materialize_days
from sparkify_assets_tests.conftest import local_defs
from sparkify_assets_tests.support.automation import days_requested, song_requests, tick
from sparkify_assets_tests.test_automation.test_automation_local import copy_sample

DAYS = [date(2018, 11, 8), date(2018, 11, 9)]

HOLD_LOCK = """
import sys, duckdb
con = duckdb.connect(sys.argv[1])
print("locked", flush=True)
sys.stdin.read()
"""


@pytest.fixture(scope="module")
def loaded(real_sample: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """Two days and the songs loaded by one run on an instance that is then thrown away (as `make run` leaves
    its history in a SQLite instance that `make serve` does not read)."""
    work = tmp_path_factory.mktemp("loaded")
    data = copy_sample(real_sample, work / "data", DAYS)
    db = work / "w.duckdb"
    with DagsterInstance.ephemeral() as instance:
        assert materialize_days(local_defs(data, db), DAYS, instance).success
        meta = instance.get_latest_materialization_event(AssetKey("staging_events")).asset_materialization.metadata
        assert meta["source_versions"].value == {log_key(d): str((data / log_key(d)).stat().st_mtime_ns) for d in DAYS}
    return data, db


@contextmanager
def touched(path: Path) -> Iterator[int]:
    """A new version of a file (a later modification time), put back afterwards for the module's other tests."""
    before = path.stat().st_mtime_ns
    stamp = before + 10**9
    os.utime(path, ns=(stamp, stamp))
    try:
        yield stamp
    finally:
        os.utime(path, ns=(before, before))


def test_a_new_instance_requests_nothing_already_loaded_then_exactly_the_changed_day(
        loaded: tuple[Path, Path], instance: DagsterInstance) -> None:
    data, db = loaded
    defs = local_defs(data, db)
    sensor = defs.resolve_sensor_def("source_files_sensor")
    first = tick(sensor, defs, instance, None)
    assert first.run_requests == [], [r.run_key for r in first.run_requests]
    assert tick(sensor, defs, instance, first.cursor).run_requests == []

    with touched(data / log_key(DAYS[0])) as stamp:
        changed = tick(sensor, defs, instance, first.cursor)
        assert days_requested(changed) == [DAYS[0].isoformat()] and not song_requests(changed)
        assert [r.run_key for r in changed.run_requests] == [f"{log_key(DAYS[0])}@{stamp}"]
        assert tick(sensor, defs, instance, changed.cursor).run_requests == []
        lost = tick(sensor, defs, instance, None)  # a lost cursor asks again: the same one run, same run key
        assert [r.run_key for r in lost.run_requests] == [f"{log_key(DAYS[0])}@{stamp}"]


def test_while_another_process_writes_the_warehouse_unconfirmed_files_wait(
        loaded: tuple[Path, Path], instance: DagsterInstance) -> None:
    data, db = loaded
    defs = local_defs(data, db)
    sensor = defs.resolve_sensor_def("source_files_sensor")
    with touched(data / log_key(DAYS[1])) as stamp:
        holder = subprocess.Popen([sys.executable, "-c", HOLD_LOCK, str(db)], stdin=subprocess.PIPE,
                                  stdout=subprocess.PIPE, text=True)
        try:
            assert holder.stdout is not None and holder.stdout.readline().strip() == "locked"
            busy = tick(sensor, defs, instance, None)
            assert busy.run_requests == []  # nothing confirmed: nothing requested, nothing marked as dealt with
        finally:
            holder.communicate("", timeout=60)
        after = tick(sensor, defs, instance, busy.cursor)  # readable again: only the changed day, once
        assert [r.run_key for r in after.run_requests] == [f"{log_key(DAYS[1])}@{stamp}"]
        assert tick(sensor, defs, instance, after.cursor).run_requests == []
