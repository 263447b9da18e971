"""When a daily table is overdue: a UTC day not loaded SPARKIFY_FRESHNESS_HOURS after it ended.

Expressed as Dagster's cron freshness policy, evaluated by the daemon from the instance's materialization
records (no warehouse query): the deadline is the next day at that hour, and a table is fresh when it was
materialized after the day ended. The unpartitioned tables carry no policy of their own: they are rebuilt
by the runs that load their upstreams, and their upstreams' freshness says when those runs stopped.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone

from dagster import FreshnessPolicy
from dagster._utils.schedules import get_latest_completed_cron_tick  # the evaluator's own tick arithmetic

from sparkify_assets import settings
from sparkify_assets.tables import WAREHOUSE_TABLES, Table

DAILY_TABLES: tuple[Table, ...] = tuple(t for t in WAREHOUSE_TABLES if t.partition_column)


def deadline_cron(delay: timedelta) -> str:
    minutes = int(delay.total_seconds() // 60)
    return f"{minutes % 60} {minutes // 60} * * *"


def daily_policy() -> FreshnessPolicy:
    delay = settings.freshness_delay()
    cron = settings.freshness_deadline_cron() or deadline_cron(delay)
    return FreshnessPolicy.cron(deadline_cron=cron, lower_bound_delta=delay, timezone="UTC")


def policy_for(table: Table) -> FreshnessPolicy | None:
    return daily_policy() if table.partition_column else None


def overdue_day(now: datetime) -> date:
    """The day the latest passed deadline was for: the one that ended `delay` before that deadline."""
    delay = settings.freshness_delay()
    cron = settings.freshness_deadline_cron() or deadline_cron(delay)
    deadline = get_latest_completed_cron_tick(cron, now.astimezone(timezone.utc), "UTC")
    return (deadline - delay - timedelta(microseconds=1)).astimezone(timezone.utc).date()
