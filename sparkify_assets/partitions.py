"""The daily partitions shared by the log-driven assets: UTC days of `ts`, as the log file names are.

Built from the settings when the definitions are built (never at import), and handed to every builder that
needs them, so one `Settings` gives one set of days everywhere.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, timedelta

from dagster import DailyPartitionsDefinition

from sparkify_assets.settings import Settings


def daily_partitions(settings: Settings) -> DailyPartitionsDefinition:
    """SPARKIFY_START_DATE..SPARKIFY_END_DATE (inclusive; open-ended when unset) as Dagster's daily partitions."""
    return DailyPartitionsDefinition(start_date=settings.start_date, end_date=settings.end_date_exclusive,
                                     timezone="UTC")


def consecutive_runs(days: Sequence[date]) -> list[list[date]]:
    """Sorted days grouped into runs of consecutive days: one range run each, or one short label each."""
    runs: list[list[date]] = []
    for day in days:
        if runs and day == runs[-1][-1] + timedelta(days=1):
            runs[-1].append(day)
        else:
            runs.append([day])
    return runs
