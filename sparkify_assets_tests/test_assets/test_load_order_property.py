"""Property: any sequence of partition loads, in any order, repeated or overlapping, converges to the tables
of one in-order load, once every day has been loaded at least once."""

from __future__ import annotations

import shutil
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest
from dagster import build_init_resource_context
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sparkify_assets.assets.dimensions import DIMENSIONS
from sparkify_assets.day_window import DayWindow
from sparkify_assets.resources.duckdb_warehouse import DuckDBWarehouse
from sparkify_assets.resources.source import LocalFolderSource
from sparkify_assets.sql import transforms
from sparkify_assets.tables import SONGPLAYS, STAGING_EVENTS, STAGING_SONGS
from sparkify_assets_tests.support import warehouse_snapshot

DAYS = [date(2018, 11, 20) + timedelta(days=i) for i in range(6)]
Snapshot = dict[str, list[tuple[Any, ...]]]


def load(warehouse: DuckDBWarehouse, source: LocalFolderSource, days: list[date]) -> None:
    """What one run of the whole graph does for a range of days, asset by asset, in dependency order."""
    window = DayWindow(tuple(days))
    d = warehouse.dialect
    warehouse.stage_events(source, source.log_objects(days), window, "prop")
    warehouse.run(transforms.songplays_window(d), window.params, ensure=(STAGING_EVENTS, STAGING_SONGS, SONGPLAYS))
    for spec in DIMENSIONS:
        warehouse.run(spec.statements(d), window.params if spec.partitioned else None, ensure=(*spec.reads, spec.table))


ranges = st.lists(st.tuples(st.integers(0, len(DAYS) - 1), st.integers(1, 3)), min_size=1, max_size=6)


def load_sequence(db: Path, source: LocalFolderSource, sequence: list[list[date]]) -> Snapshot:
    """Stage the songs, load each range in turn on one connection (as a run does), and read the tables back."""
    with DuckDBWarehouse(path=str(db)).yield_for_execution(build_init_resource_context()) as warehouse:
        warehouse.stage_songs(source, source.song_objects(), "prop")
        for days in sequence:
            load(warehouse, source, days)
    return warehouse_snapshot.snapshot(db)


@pytest.fixture(scope="module")
def in_order(real_sample: Path, tmp_path_factory: pytest.TempPathFactory) -> Snapshot:
    db = tmp_path_factory.mktemp("reference") / "reference.duckdb"
    return load_sequence(db, LocalFolderSource(root=str(real_sample)), [DAYS])


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(ranges=ranges, tail=st.permutations(DAYS))
def test_any_load_order_converges_to_the_in_order_load(real_sample: Path, in_order: Snapshot,
                                                       tmp_path_factory: pytest.TempPathFactory,
                                                       ranges: list[tuple[int, int]], tail: list[date]) -> None:
    sequence = [DAYS[start:start + length] for start, length in ranges]
    covered = {d for days in sequence for d in days}
    sequence += [[d] for d in tail if d not in covered]  # whatever the ranges missed, in a random order
    base = tmp_path_factory.mktemp("prop")
    assert load_sequence(base / "shuffled.duckdb", LocalFolderSource(root=str(real_sample)), sequence) == in_order
    shutil.rmtree(base)
