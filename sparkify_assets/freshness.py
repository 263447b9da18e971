"""When a daily table is overdue: a UTC day not loaded SPARKIFY_FRESHNESS_HOURS after it ended.

The deadline is the next day at that hour (or SPARKIFY_FRESHNESS_DEADLINE_CRON); the day whose deadline passed
last is the due day, and each daily table is judged on that partition alone (day_complete.py), not with
Dagster's FreshnessPolicy, which in 1.13.27 judges an asset by its latest materialization of any partition.
The unpartitioned tables are not judged: they are rebuilt by the runs that load their upstreams.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone

from sparkify_assets.dagster_internals import get_latest_completed_cron_tick  # the evaluator's own tick arithmetic
from sparkify_assets.settings import AlertSettings
from sparkify_assets.tables import WAREHOUSE_TABLES, Table

DAILY_TABLES: tuple[Table, ...] = tuple(t for t in WAREHOUSE_TABLES if t.partition_column)


def deadline_cron(delay: timedelta) -> str:
    minutes = int(delay.total_seconds() // 60)
    return f"{minutes % 60} {minutes // 60} * * *"


def overdue_day(now: datetime, alerts: AlertSettings) -> date:
    """The day the latest passed deadline was for: the one that ended `delay` before that deadline."""
    delay = alerts.freshness_delay
    cron = alerts.freshness_deadline_cron or deadline_cron(delay)
    deadline = get_latest_completed_cron_tick(cron, now.astimezone(timezone.utc), "UTC")
    return (deadline - delay - timedelta(microseconds=1)).astimezone(timezone.utc).date()
