"""The days a run covers, as one idea: which days, their bound parameters, the SQL predicates over them, and
how a step reads them from its context.

A window is one partition (the UI's Materialize, a schedule tick) or a contiguous range (a single-run backfill).
Tables are scoped two ways: by time (staging keeps epoch ms, the star schema timestamps) and by the day a row
was loaded for (`partition_key`, in `rejected_records` and `source_versions`). Both predicates live here, beside
the parameters they name, so no caller writes either again.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone
from typing import TYPE_CHECKING, Any

from sparkify_assets.sql.dialect import Dialect, q
from sparkify_assets.tables import Table

if TYPE_CHECKING:
    from dagster import AssetCheckExecutionContext, AssetExecutionContext


@dataclass(frozen=True)
class DayWindow:
    """A contiguous range of UTC days."""

    days: tuple[date, ...]

    @classmethod
    def of_keys(cls, partition_keys: Sequence[str]) -> DayWindow:
        """The days of a run's partition keys; single-run backfills hand over one contiguous range."""
        days = tuple(sorted(date.fromisoformat(k) for k in partition_keys))
        if not days:
            raise ValueError("no partition to load")
        gaps = [d for d, nxt in zip(days, days[1:], strict=False) if nxt - d != timedelta(days=1)]
        if gaps:
            raise ValueError(f"partitions must be one contiguous range; gap after {gaps[0]}")
        return cls(days)

    @classmethod
    def of_day(cls, day: date) -> DayWindow:
        return cls((day,))

    @classmethod
    def spanning(cls, days: Sequence[date]) -> DayWindow:
        """Every day from the first to the last of `days`, which need not be contiguous (a few days judged at once)."""
        first, last = min(days), max(days)
        return cls(tuple(first + timedelta(days=n) for n in range((last - first).days + 1)))

    @property
    def start(self) -> datetime:
        return datetime.combine(self.days[0], time(), tzinfo=timezone.utc)

    @property
    def end(self) -> datetime:
        return self.start + timedelta(days=len(self.days))

    @property
    def first_key(self) -> str:
        return self.days[0].isoformat()

    @property
    def last_key(self) -> str:
        return self.days[-1].isoformat()

    @property
    def params(self) -> dict[str, Any]:
        """Every bound parameter the predicates below name: epoch ms (staging ts), naive UTC timestamps
        (start_time columns) and the first and last partition keys."""
        return {
            "start_ms": int(self.start.timestamp() * 1000),
            "end_ms": int(self.end.timestamp() * 1000),
            "start_ts": self.start.replace(tzinfo=None),
            "end_ts": self.end.replace(tzinfo=None),
            "first_day": self.first_key,
            "last_day": self.last_key,
        }

    @property
    def label(self) -> str:
        """How metadata names the days, so a check can tell which load covered which days."""
        return self.first_key if len(self.days) == 1 else f"{self.first_key}..{self.last_key}"

    @property
    def partition_keys(self) -> list[str]:
        return [d.isoformat() for d in self.days]


def of_context(context: AssetExecutionContext | AssetCheckExecutionContext, table: Table) -> DayWindow | None:
    """The step's days when `table` is daily and the run has partitions; None means the whole table."""
    if table.partition_column is None or not (context.has_partition_key or context.has_partition_key_range):
        return None
    return DayWindow.of_keys(context.partition_keys)


def time_predicate(table: Table, d: Dialect, alias: str = "") -> str:
    """Rows of the window's days, by the table's partition column; `1 = 1` for an undated table."""
    col = table.partition_column
    if col is None:
        return "1 = 1"
    lo, hi = ("start_ms", "end_ms") if table.column(col).type == "BIGINT" else ("start_ts", "end_ts")
    ref = f"{alias}.{q(col)}" if alias else q(col)
    return f"{ref} >= {d.param(lo)} AND {ref} < {d.param(hi)}"


def key_predicate(d: Dialect, column: str = "partition_key") -> str:
    """Rows recorded for the window's days (quarantine, loaded versions): their partition key in the window."""
    return f"{q(column)} BETWEEN {d.param('first_day')} AND {d.param('last_day')}"
