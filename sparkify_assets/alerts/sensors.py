"""When alerts are sent: a run-failure sensor (one message per failed run, naming the blocking check when one
stopped it) and a sensor on the daemon's freshness states (one message per overdue table and day).

Both run in the daemon, never inside a run, so a slow or dead webhook cannot fail or hold up a load. Without
SPARKIFY_ALERT_WEBHOOK_URL none is defined.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime, timezone

from dagster import (
    AssetCheckEvaluation,
    AssetCheckSeverity,
    AssetKey,
    DagsterEventType,
    DagsterRun,
    DefaultSensorStatus,
    RunFailureSensorContext,
    SensorDefinition,
    SensorEvaluationContext,
    SkipReason,
    run_failure_sensor,
    sensor,
)
from dagster._core.definitions.freshness import FreshnessState
from dagster._core.storage.tags import (
    ASSET_PARTITION_RANGE_END_TAG,
    ASSET_PARTITION_RANGE_START_TAG,
    PARTITION_NAME_TAG,
    WILL_RETRY_TAG,
)

from sparkify_assets import freshness, settings
from sparkify_assets.alerts import messages, webhook


def run_partition(run: DagsterRun) -> str | None:
    """The day (or first...last days) a run loaded, from its tags."""
    if day := run.tags.get(PARTITION_NAME_TAG):
        return day
    start, end = run.tags.get(ASSET_PARTITION_RANGE_START_TAG), run.tags.get(ASSET_PARTITION_RANGE_END_TAG)
    return f"{start}...{end}" if start and end and start != end else start


def failed_blocking_checks(context: RunFailureSensorContext) -> list[AssetCheckEvaluation]:
    records = context.instance.get_records_for_run(
        run_id=context.dagster_run.run_id, of_type=DagsterEventType.ASSET_CHECK_EVALUATION
    ).records
    evaluations = [r.event_log_entry.dagster_event.event_specific_data for r in records
                   if r.event_log_entry.dagster_event is not None]
    return [e for e in evaluations if isinstance(e, AssetCheckEvaluation) and not e.passed and e.blocking
            and e.severity == AssetCheckSeverity.ERROR]


def step_error(context: RunFailureSensorContext) -> tuple[str | None, str]:
    """(step, first line of its error) of the first failed step: the cause, not Dagster's wrapper around it."""
    for event in context.get_step_failure_events():
        data = event.step_failure_data
        if data.user_failure_data is not None and data.user_failure_data.description:
            return event.step_key, messages.first_line(data.user_failure_data.description)
        error = data.error
        while error is not None and error.cause is not None:
            error = error.cause
        if error is not None:
            # "package.module.SomeError: what" -> "SomeError: what"
            head, sep, rest = error.message.partition(": ")
            short = f"{error.cls_name}: {rest}" if sep and head.split(".")[-1] == error.cls_name else error.message
            return event.step_key, messages.first_line(short)
    return None, messages.first_line(context.failure_event.message)


def check_error(evaluation: AssetCheckEvaluation) -> str:
    counts = [f"{k}: {v.value}" for k, v in evaluation.metadata.items()
              if isinstance(v.value, int | float) and not isinstance(v.value, bool)]
    return messages.first_line(evaluation.description or ", ".join(counts) or "failed")


def build_run_failure_alert(context: RunFailureSensorContext, ui_url: str) -> messages.Alert:
    run = context.dagster_run
    common = {"ui_url": ui_url, "run_id": run.run_id, "job": run.job_name, "partition": run_partition(run)}
    if checks := failed_blocking_checks(context):
        first, *rest = checks
        return messages.check_failed(**common, asset=first.asset_key.to_user_string(), check=first.check_name,
                                     error=check_error(first),
                                     others=tuple(f"{c.asset_key.to_user_string()}.{c.check_name}" for c in rest))
    step, error = step_error(context)
    return messages.run_failed(**common, asset=step, error=error)


def build_run_failure_sensor(url: str) -> SensorDefinition:
    @run_failure_sensor(
        name="alert_on_run_failure",
        description="Posts one message to SPARKIFY_ALERT_WEBHOOK_URL per failed run (any job, backfill or CLI "
        "run, after its retries), naming the day, the table, the blocking check if one failed, and the error.",
        monitor_all_code_locations=True,  # runs of `dagster asset materialize` have no code location origin
        default_status=DefaultSensorStatus.RUNNING,
        minimum_interval_seconds=settings.alert_interval_seconds(),
    )
    def alert_on_run_failure(context: RunFailureSensorContext) -> SkipReason | None:
        if context.dagster_run.tags.get(WILL_RETRY_TAG) == "true":
            return SkipReason(f"run {context.dagster_run.run_id} will be retried; its retry alerts if it fails")
        alert = build_run_failure_alert(context, settings.ui_url())
        if webhook.post(url, alert.body(), context.log):
            context.log.info(f"alert posted: {alert.kind} for run {alert.run_id}")
        return None

    return alert_on_run_failure


def build_overdue_sensor(url: str) -> SensorDefinition:
    keys = [AssetKey(t.name) for t in freshness.DAILY_TABLES]
    hours = settings.freshness_delay().total_seconds() / 3600

    @sensor(
        name="alert_on_overdue_tables",
        description="Posts one message to SPARKIFY_ALERT_WEBHOOK_URL per daily table and overdue day, from the "
        "freshness states the daemon keeps (no warehouse query).",
        default_status=DefaultSensorStatus.RUNNING,
        minimum_interval_seconds=settings.alert_interval_seconds(),
    )
    def alert_on_overdue_tables(context: SensorEvaluationContext) -> SkipReason | None:
        day = freshness.overdue_day(datetime.now(timezone.utc)).isoformat()
        alerted: dict[str, str] = json.loads(context.cursor) if context.cursor else {}
        states = context.instance.get_freshness_state_records(keys)
        overdue = [k.to_user_string() for k in keys
                   if (r := states.get(k)) is not None and r.freshness_state == FreshnessState.FAIL]
        for asset in overdue:
            if alerted.get(asset) == day:
                continue
            alert = messages.overdue(ui_url=settings.ui_url(), asset=asset, day=day, hours=hours)
            if webhook.post(url, alert.body(), context.log):
                alerted[asset] = day  # undelivered: tried again next tick
                context.log.info(f"alert posted: {asset} overdue for {day}")
        context.update_cursor(json.dumps(alerted, sort_keys=True))
        return None if overdue else SkipReason("no daily table is overdue")

    return alert_on_overdue_tables


def build_alert_sensors() -> Sequence[SensorDefinition]:
    """The alert sensors, or none when SPARKIFY_ALERT_WEBHOOK_URL is unset."""
    url = settings.alert_webhook_url()
    if not url:
        return []
    return [build_run_failure_sensor(url), build_overdue_sensor(url)]
