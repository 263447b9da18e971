"""Loading again, a day at a time or all at once, in any order, leaves every table exactly as it was."""

from __future__ import annotations

import random
from pathlib import Path

from dagster import DagsterInstance

from sparkify_assets.run import materialize_days
from sparkify_assets_tests.conftest import NOVEMBER, local_defs
from sparkify_assets_tests.support import warehouse_snapshot


def test_reloading_in_any_order_gives_identical_tables(real_sample: Path, tmp_path: Path,
                                                        instance: DagsterInstance) -> None:
    db = tmp_path / "warehouse.duckdb"
    defs = local_defs(real_sample, db)
    assert materialize_days(defs, NOVEMBER, instance).success
    first = warehouse_snapshot.snapshot(db)
    assert all(first[t] for t in ("staging_events", "songplays", "users", "time"))

    assert materialize_days(defs, NOVEMBER, instance).success
    assert warehouse_snapshot.snapshot(db) == first

    days = random.Random(7).sample(NOVEMBER, 4)
    for day in days + days[:2]:  # shuffled, and some twice
        assert materialize_days(defs, [day], instance).success
    assert warehouse_snapshot.snapshot(db) == first

    assert materialize_days(defs, NOVEMBER[10:20], instance).success
    assert warehouse_snapshot.snapshot(db) == first


def test_days_loaded_one_by_one_out_of_order_equal_one_backfill(real_sample: Path, tmp_path: Path,
                                                                 instance: DagsterInstance) -> None:
    one_run = tmp_path / "one.duckdb"
    assert materialize_days(local_defs(real_sample, one_run), NOVEMBER[:5], instance).success
    by_day = tmp_path / "by_day.duckdb"
    defs = local_defs(real_sample, by_day)
    for day in random.Random(3).sample(NOVEMBER[:5], 5):
        assert materialize_days(defs, [day], instance).success
    assert warehouse_snapshot.snapshot(by_day) == warehouse_snapshot.snapshot(one_run)
