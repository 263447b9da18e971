"""Whether a daily table holds a day in full: judged per partition, from the warehouse's own record.

Dagster 1.13.27's FreshnessPolicy judges an asset by its latest materialization of any partition, so reloading an
old day made a table look fresh while the due day was missing. Here a table is complete for day D only when the
warehouse's `source_versions` says the table holds D built from exactly the log files the source holds for D now
(loaded_versions.py records them after each load). The warehouse's record, not the instance's materializations:
it is what the warehouse holds whichever instance or process loaded it (the same record converge.py completes
days from), and it tells a day loaded in an older version of its file from one loaded in the current one.

The result is the `day_complete` check of each daily table: the overdue sensor (alerts/sensors.py) records its
evaluation for the due day, so the UI shows that day's partition failed or passed. The automation's jobs leave it
out (automation/jobs.py: a run of one day says nothing about the due day); a run of every asset and check (`make
run`, the UI's or the CLI's materialize of a day) executes it and judges that run's days the same way.
"""


from collections.abc import Iterator, Sequence
from datetime import date

from dagster import (
    AssetCheckExecutionContext,
    AssetCheckKey,
    AssetCheckResult,
    AssetChecksDefinition,
    AssetCheckSeverity,
    AssetCheckSpec,
    multi_asset_check,
)

from sparkify_assets import day_window
from sparkify_assets.day_window import DayWindow
from sparkify_assets.freshness import DAILY_TABLES
from sparkify_assets.loaded_versions import daily_versions
from sparkify_assets.resources.source import RawSource, day_of_log_key, log_day_prefix
from sparkify_assets.resources.warehouse import Warehouse

CHECK_NAME = "day_complete"
CHECK_KEYS = tuple(AssetCheckKey.from_user_string(f"{t.name}:{CHECK_NAME}") for t in DAILY_TABLES)


def missing(warehouse: Warehouse, source: RawSource, days: Sequence[date],
            wait: bool = False) -> dict[tuple[str, date], str] | None:
    """(table, day) -> why the table does not hold the day in full, for every daily table and day that is not
    complete; None when the warehouse cannot be read now (a run is writing it) unless told to `wait` for it."""
    if not days:
        return {}
    rows = daily_versions(warehouse, DAILY_TABLES, DayWindow.spanning(days), wait=wait)
    if rows is None:
        return None
    held: dict[tuple[str, str], dict[str, str]] = {}
    for table, day, key, version in rows:
        held.setdefault((table, day), {})[key] = version
    behind: dict[tuple[str, date], str] = {}
    for day in days:
        current = {o.key: o.version for o in source.list_objects(log_day_prefix(day)) if day_of_log_key(o.key) == day}
        for table in DAILY_TABLES:
            have = held.get((table.name, day.isoformat()))
            if not current:
                behind[(table.name, day)] = f"no log file for {day} in the source"
            elif not have:
                behind[(table.name, day)] = f"{day} is not loaded"
            elif have != current:
                behind[(table.name, day)] = f"{day} is loaded from an older version of its log file, or partly"
    return behind


def build_day_complete_check(warehouse: Warehouse) -> AssetChecksDefinition:
    """The check the overdue sensor reports on; executed by hand it judges the selected partition the same way."""
    specs = [AssetCheckSpec(CHECK_NAME, asset=t.name, blocking=False,
                            description="The day is loaded in full: this table holds it built from the log files "
                            "the source holds for it now (warehouse table source_versions). Evaluated for the due "
                            "day by the alert_on_overdue_tables sensor; a failed day is overdue.")
             for t in DAILY_TABLES]

    @multi_asset_check(name="daily_tables_day_complete", specs=specs, can_subset=True,
                       pool=warehouse.pool,
                       description="Whether each daily table holds the day in full (see each check).")
    def _day_complete(context: AssetCheckExecutionContext, warehouse: Warehouse,
                      source: RawSource) -> Iterator[AssetCheckResult]:
        win = day_window.of_context(context, DAILY_TABLES[0])
        days = list(win.days) if win else []
        behind = missing(warehouse, source, days, wait=True) or {}
        for key in context.selected_asset_check_keys:
            reasons = [r for (t, _), r in sorted(behind.items()) if t == key.asset_key.to_user_string()]
            yield AssetCheckResult(asset_key=key.asset_key, check_name=CHECK_NAME, passed=bool(days) and not reasons,
                                   severity=AssetCheckSeverity.ERROR,
                                   description="; ".join(reasons) if reasons else "loaded in full" if days
                                   else "no day selected: run it on a partition")

    return _day_complete

