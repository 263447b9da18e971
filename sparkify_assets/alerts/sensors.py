"""When alerts are sent: a sensor on failed runs (one message per failed run, naming the blocking check when one
stopped it; one per day the service gave up completing) and a sensor judging each daily table on the due day's
partition from the warehouse's record (day_complete.py; one message per overdue table and day).

Both run in the daemon, never inside a run, so a webhook cannot fail or hold up a load; they queue messages in a
durable outbox (outbox.py) and deliver with a short timeout, so a dead webhook cannot hold up a tick either (and
the daemon evaluates sensors in threads: dagster_service.yaml). Without SPARKIFY_ALERT_WEBHOOK_URL none is defined.
"""

from __future__ import annotations

import json
import time
from collections.abc import Sequence
from datetime import date, datetime, timezone

from dagster import (
    AssetCheckEvaluation,
    AssetCheckSeverity,
    AssetKey,
    DagsterEventType,
    DagsterInstance,
    DagsterRun,
    DagsterRunStatus,
    DefaultSensorStatus,
    RunsFilter,
    SensorDefinition,
    SensorEvaluationContext,
    SensorResult,
    SkipReason,
    sensor,
)

from sparkify_assets import day_complete, freshness
from sparkify_assets.alerts import messages, outbox
from sparkify_assets.automation import converge
from sparkify_assets.automation.sensor import partition_state
from sparkify_assets.dagster_internals import (
    ASSET_PARTITION_RANGE_END_TAG,
    ASSET_PARTITION_RANGE_START_TAG,
    PARTITION_NAME_TAG,
    WILL_RETRY_TAG,
)
from sparkify_assets.partitions import daily_partitions
from sparkify_assets.resources.source import RawSource
from sparkify_assets.resources.warehouse import Warehouse
from sparkify_assets.settings import AlertSettings, Settings

FIRST_LOOKBACK_S = 3600.0  # a sensor without a cursor alerts on runs failed within the last hour
OVERLAP_S = 300.0  # runs updated this long before the newest one seen are looked at again (ids stop repeats)


def run_partition(run: DagsterRun) -> str | None:
    """The day (or first...last days) a run loaded, from its tags."""
    if day := run.tags.get(PARTITION_NAME_TAG):
        return day
    start, end = run.tags.get(ASSET_PARTITION_RANGE_START_TAG), run.tags.get(ASSET_PARTITION_RANGE_END_TAG)
    return f"{start}...{end}" if start and end and start != end else start


def failed_blocking_checks(instance: DagsterInstance, run: DagsterRun) -> list[AssetCheckEvaluation]:
    records = instance.get_records_for_run(run_id=run.run_id, of_type=DagsterEventType.ASSET_CHECK_EVALUATION,
                                           limit=1000).records
    evaluations = [r.event_log_entry.dagster_event.event_specific_data for r in records
                   if r.event_log_entry.dagster_event is not None]
    return [e for e in evaluations if isinstance(e, AssetCheckEvaluation) and not e.passed and e.blocking
            and e.severity == AssetCheckSeverity.ERROR]


def step_error(instance: DagsterInstance, run: DagsterRun) -> tuple[str | None, str]:
    """(step, first line of its error) of the first failed step: the cause, not Dagster's wrapper around it."""
    for record in instance.get_records_for_run(run_id=run.run_id, of_type=DagsterEventType.STEP_FAILURE,
                                               limit=100).records:
        event = record.event_log_entry.dagster_event
        if event is None:
            continue
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
    failures = instance.get_records_for_run(run_id=run.run_id, of_type=DagsterEventType.RUN_FAILURE).records
    event = failures[-1].event_log_entry.dagster_event if failures else None
    return None, messages.first_line(event.message if event is not None else "the run failed")


def check_error(evaluation: AssetCheckEvaluation) -> str:
    counts = [f"{k}: {v.value}" for k, v in evaluation.metadata.items()
              if isinstance(v.value, int | float) and not isinstance(v.value, bool)]
    return messages.first_line(evaluation.description or ", ".join(counts) or "failed")


def build_run_failure_alert(instance: DagsterInstance, run: DagsterRun, ui_url: str) -> messages.Alert:
    common = {"ui_url": ui_url, "run_id": run.run_id, "job": run.job_name, "partition": run_partition(run)}
    if checks := failed_blocking_checks(instance, run):
        first, *rest = checks
        return messages.check_failed(**common, asset=first.asset_key.to_user_string(), check=first.check_name,
                                     error=check_error(first),
                                     others=tuple(f"{c.asset_key.to_user_string()}.{c.check_name}" for c in rest))
    step, error = step_error(instance, run)
    return messages.run_failed(**common, asset=step, error=error)


def alert_for(instance: DagsterInstance, run: DagsterRun, ui_url: str) -> messages.Alert | str:
    """The message a failed run calls for, or why it calls for none."""
    if run.tags.get(WILL_RETRY_TAG) == "true":
        return f"run {run.run_id} will be retried; its retry alerts if it fails"
    attempt = run.tags.get(converge.ATTEMPT_TAG, "")
    n, _, of = attempt.partition("/")
    if run.tags.get(converge.KIND_TAG) and not (n and n == of):
        return f"run {run.run_id} completing days failed; the source sensor tries again (attempt {attempt or 0})"
    alert = build_run_failure_alert(instance, run, ui_url)
    if not attempt:
        return alert
    return messages.incomplete(ui_url=ui_url, run_id=run.run_id, job=run.job_name,
                               day=run_partition(run) or "the song catalogue", asset=alert.asset,
                               error=f"{alert.check + ' ' if alert.check else ''}{alert.error}", attempts=int(of))


def build_run_failure_sensor(url: str, alerts: AlertSettings) -> SensorDefinition:
    @sensor(
        name="alert_on_run_failure",
        description="Posts one message to SPARKIFY_ALERT_WEBHOOK_URL per failed run (any job, backfill or CLI "
        "run, after its retries), naming the day, the table, the blocking check if one failed, and the error; and "
        "one per day the service gave up completing. Undelivered messages are retried on later ticks.",
        default_status=DefaultSensorStatus.RUNNING,
        minimum_interval_seconds=alerts.interval_seconds,
    )
    def alert_on_run_failure(context: SensorEvaluationContext) -> SkipReason | None:
        now = time.time()
        state = json.loads(context.cursor) if context.cursor else {"since": now - FIRST_LOOKBACK_S}
        box = outbox.Outbox.parse(state.get("outbox"))
        since = float(state["since"])
        # Every failed run, whoever started it (the sensor, a backfill, a shell's `dagster asset materialize`).
        records = context.instance.get_run_records(
            RunsFilter(statuses=[DagsterRunStatus.FAILURE],
                       updated_after=datetime.fromtimestamp(since - OVERLAP_S, timezone.utc)),
            limit=200, order_by="update_timestamp", ascending=True)
        for record in records:
            run = record.dagster_run
            since = max(since, record.update_timestamp.timestamp())
            if box.knows(f"run:{run.run_id}"):
                continue
            alert = alert_for(context.instance, run, alerts.ui_url)
            if isinstance(alert, str):
                context.log.info(alert)
                box.settle(f"run:{run.run_id}", now)
            elif box.add(f"run:{run.run_id}", alert.body(), now):
                context.log.info(f"alert queued: {alert.kind} for run {run.run_id}")
        box.deliver(url, context.log, now)
        context.update_cursor(outbox.dumps({"since": since, "outbox": box.to_json()}))
        return None if box.pending else SkipReason("no undelivered alert")

    return alert_on_run_failure


def overdue_events(behind: dict[tuple[str, date], str], day: date,
                   reported: dict[str, str]) -> list[AssetCheckEvaluation]:
    """The day_complete evaluations of `day` whose outcome the UI does not show yet (`reported`: table ->
    'day:passed' recorded last), so a tick records nothing when nothing changed."""
    events = []
    for table in freshness.DAILY_TABLES:
        reason = behind.get((table.name, day))
        outcome = f"{day.isoformat()}:{reason is None}"
        if reported.get(table.name) == outcome:
            continue
        reported[table.name] = outcome
        events.append(AssetCheckEvaluation(
            asset_key=AssetKey(table.name), check_name=day_complete.CHECK_NAME, passed=reason is None,
            partition=day.isoformat(), severity=AssetCheckSeverity.ERROR, blocking=False,
            description=f"overdue: {reason}" if reason else f"{day} is loaded in full",
            metadata={"day": day.isoformat(), "judged_by": "alert_on_overdue_tables"}))
    return events


def build_overdue_sensor(url: str, settings: Settings) -> SensorDefinition:
    alerts, partitions = settings.alerts, daily_partitions(settings)
    hours = alerts.freshness_delay.total_seconds() / 3600

    @sensor(
        name="alert_on_overdue_tables",
        description="Judges each daily table on the due day's partition from the warehouse's record "
        "(source_versions against the source's log files): records the table's day_complete check for that "
        "partition, so the UI shows the day failed or passed, and posts one message to SPARKIFY_ALERT_WEBHOOK_URL "
        "per overdue table and day.",
        default_status=DefaultSensorStatus.RUNNING,
        minimum_interval_seconds=alerts.interval_seconds,
    )
    def alert_on_overdue_tables(context: SensorEvaluationContext, warehouse: Warehouse,
                                source: RawSource) -> SensorResult:
        now = time.time()
        day = freshness.overdue_day(datetime.now(timezone.utc), alerts)
        state = json.loads(context.cursor) if context.cursor else {}
        box, reported = outbox.Outbox.parse(state), dict(state.get("reported", {}))
        judged = partition_state(partitions)(day) == "ok"  # asked each tick: the last day moves with time
        behind = day_complete.missing(warehouse, source, [day]) if judged else {}
        events = overdue_events(behind, day, reported) if judged and behind is not None else []
        for (asset, _), reason in sorted((behind or {}).items()):
            alert = messages.overdue(ui_url=alerts.ui_url, asset=asset, day=day.isoformat(), hours=hours,
                                     reason=reason)
            if box.add(f"overdue:{asset}:{day.isoformat()}", alert.body(), now):
                context.log.info(f"alert queued: {asset} overdue for {day}: {reason}")
        box.deliver(url, context.log, now)
        cursor = outbox.dumps({**box.to_json(), "reported": reported})
        if events or box.pending:
            return SensorResult(asset_events=events, cursor=cursor)
        why = ("the warehouse is being written: the due day is judged next tick" if behind is None
               else f"{day} is not a daily partition" if not judged else f"every daily table holds {day} in full"
               if not behind else f"{day}: overdue tables already alerted")
        return SensorResult(skip_reason=SkipReason(why), cursor=cursor)

    return alert_on_overdue_tables


def build_alert_sensors(settings: Settings) -> Sequence[SensorDefinition]:
    """The alert sensors, or none when SPARKIFY_ALERT_WEBHOOK_URL is unset."""
    url = settings.alerts.webhook_url
    if not url:
        return []
    return [build_run_failure_sensor(url, settings.alerts), build_overdue_sensor(url, settings)]
