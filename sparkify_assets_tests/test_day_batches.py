"""A long window staged a batch of whole days at a time gives exactly what one batch gives: the same rows, the same
quarantine (duplicates included), the same counts, and the same failure leaving the previous state.

The scale itself (10M events in one backfill) is measured by `make bench ARGS='--events 10000000'`, not here.
"""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

import pytest

from sparkify_assets.resources.day_batches import day_batches
from sparkify_assets.resources.duckdb_warehouse import DuckDBWarehouse
from sparkify_assets.resources.source import SourceDataError, log_key
from sparkify_assets.resources.warehouse import DayWindow, LoadStats
from sparkify_assets_tests.test_bad_input import DAY, TS, Stage, line
from sparkify_assets_tests.test_large_files import snapshot

DAYS = tuple(DAY + timedelta(days=i) for i in range(4))
HOUR_MS = 3600 * 1000


def ts(day: date, hour: int = 10) -> int:
    return TS + (day - DAY).days * 24 * HOUR_MS + (hour - 10) * HOUR_MS


def day_lines(day: date) -> list[str]:
    """Valid events, exact duplicates within the day (near and far), bad records, and a copy of the day before's
    first event (which lies outside this file's day)."""
    first = line(itemInSession=1, ts=ts(day))
    lines = [first, line(itemInSession=2, ts=ts(day, 11)), first, line(itemInSession=3, ts="soon"), "{not json"]
    lines += [line(itemInSession=10 + i, ts=ts(day, 12), userId=str(i % 5 + 1)) for i in range(30)]
    lines += [line(itemInSession=2, ts=ts(day, 11)), line(itemInSession=1, ts=ts(day - timedelta(days=1)))]
    return lines


def write_window(stage: Stage, days: tuple[date, ...] = DAYS) -> None:
    for day in days:
        stage.write(log_key(day), "\n".join(day_lines(day)) + "\n")


def stage_window(stage: Stage, batch_bytes: int, days: tuple[date, ...] = DAYS) -> LoadStats:
    stage.warehouse = DuckDBWarehouse(path=str(stage.db), batch_bytes=batch_bytes)
    return stage.warehouse.stage_events(stage.source, stage.source.log_objects(list(days)), DayWindow(days), "r")


def test_days_are_grouped_in_order_and_never_split() -> None:
    items = [(DAY + timedelta(days=d), n) for d, n in ((2, 5), (0, 3), (1, 4), (0, 3), (3, 1))]
    batches = list(day_batches(items, lambda i: i[0], lambda i: i[1], batch_bytes=6))
    assert [[(d - DAY).days for d, _ in b] for b in batches] == [[0, 0], [1, 2], [3]]
    assert list(day_batches(items, lambda i: i[0], lambda i: i[1], batch_bytes=1 << 30)) == [sorted(
        items, key=lambda i: i[0])]
    assert list(day_batches([], lambda i: i[0], lambda i: i[1])) == []


def test_batches_of_days_load_and_quarantine_exactly_what_one_batch_does(tmp_path: Path) -> None:
    results = []
    for batch_bytes in (1 << 30, 1, 5000):  # one batch; a batch per day; two days a batch
        stage = Stage(tmp_path / str(batch_bytes))
        write_window(stage)
        stats = stage_window(stage, batch_bytes)
        results.append((snapshot(stage.db), stats))
    assert results[1] == results[0] and results[2] == results[0]
    (rows, rejects), stats = results[0]
    reasons = [r[4] for r in rejects]
    # Per day: line 3 and line 36 are copies, line 4 and 5 are bad, line 37 is the day before's event.
    assert len(rejects) == 5 * len(DAYS) and stats.rejected == len(rejects)
    assert sum(r.startswith("duplicate of ") for r in reasons) == 2 * len(DAYS)
    assert sum("outside the file's day" in r for r in reasons) == len(DAYS)
    assert len(rows) == 32 * len(DAYS) == stats.loaded and stats.read == stats.loaded + stats.rejected
    assert stats.files == len(DAYS) and len(stats.sample_rejects) == 10
    assert stats.sample_rejects == sorted(stats.sample_rejects)


def test_a_file_without_json_fails_every_batch_leaving_the_previous_state(tmp_path: Path) -> None:
    """The failure names the same files whichever batch they are in, and nothing of the load is committed, even
    the batches staged before the bad file's."""
    messages = []
    for batch_bytes in (1 << 30, 1):
        stage = Stage(tmp_path / str(batch_bytes))
        write_window(stage)
        stage_window(stage, batch_bytes)
        before = snapshot(stage.db)
        stage.write(log_key(DAYS[1]), "not json\nnor this\n")
        stage.write(log_key(DAYS[3]), "still not\n")
        with pytest.raises(SourceDataError) as err:
            stage_window(stage, batch_bytes)
        messages.append(str(err.value).replace(str(stage.root), "<root>"))
        assert snapshot(stage.db) == before
    assert messages[1] == messages[0]
    assert log_key(DAYS[1]) in messages[0] and log_key(DAYS[3]) in messages[0]


def test_restaging_part_of_the_window_in_batches_replaces_exactly_its_days(tmp_path: Path) -> None:
    whole = Stage(tmp_path / "whole")
    write_window(whole)
    stage_window(whole, 1 << 30)
    parts = Stage(tmp_path / "parts")
    write_window(parts)
    stage_window(parts, 1)
    stage_window(parts, 1, DAYS[1:3])  # the middle days again, in batches
    assert snapshot(parts.db) == snapshot(whole.db)
