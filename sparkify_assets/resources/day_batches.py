"""A long window of log files cut into batches of whole days, so a backfill's staging work stays one day-sized.

Classifying a 30-day window of 10M events in one statement keeps every line and every typed record in DuckDB's
temporary storage at once (gigabytes, spilled beyond the memory limit). Staged a batch at a time inside the same
transaction, only one batch is in flight, and the result is the same: a day is never split, and the only thing
the classification compares across records, exact duplicates among loadable records, stays within one day (a
loadable record's ts lies in its file's day, so identical loadable lines always come from files of the same day).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from datetime import date
from typing import TypeVar

BATCH_BYTES = 256 << 20  # a day of 10M events / 30 days is about 150 MB; bigger days stay whole

T = TypeVar("T")


def day_batches(items: Sequence[T], day_of: Callable[[T], date], size_of: Callable[[T], int],
                batch_bytes: int = BATCH_BYTES) -> Iterator[list[T]]:
    """Consecutive days' items, grouped until a batch holds at least `batch_bytes` (one day is never split)."""
    by_day: dict[date, list[T]] = {}
    for item in items:
        by_day.setdefault(day_of(item), []).append(item)
    batch: list[T] = []
    nbytes = 0
    for day in sorted(by_day):
        batch += by_day[day]
        nbytes += sum(size_of(i) for i in by_day[day])
        if nbytes >= batch_bytes:
            yield batch
            batch, nbytes = [], 0
    if batch:
        yield batch
