"""The daily partitions shared by the log-driven assets: UTC days of `ts`, as the log file names are."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, timedelta

from dagster import DailyPartitionsDefinition

from sparkify_assets import settings
from sparkify_assets.resources.warehouse import DayWindow

daily_partitions = DailyPartitionsDefinition(
    start_date=settings.start_date(), end_date=settings.end_date_exclusive(), timezone="UTC"
)


def window_of(partition_keys: Sequence[str]) -> DayWindow:
    """The days a run covers; single-run backfills hand over one contiguous range."""
    days = tuple(sorted(date.fromisoformat(k) for k in partition_keys))
    if not days:
        raise ValueError("no partition to load")
    gaps = [d for d, nxt in zip(days, days[1:], strict=False) if nxt - d != timedelta(days=1)]
    if gaps:
        raise ValueError(f"partitions must be one contiguous range; gap after {gaps[0]}")
    return DayWindow(days)


def consecutive_runs(days: Sequence[date]) -> list[list[date]]:
    """Sorted days grouped into runs of consecutive days: one range run each, or one short label each."""
    runs: list[list[date]] = []
    for day in days:
        if runs and day == runs[-1][-1] + timedelta(days=1):
            runs[-1].append(day)
        else:
            runs.append([day])
    return runs
