"""The daily schedule: at a configurable UTC hour, load the previous UTC day, if its log file has arrived."""

from datetime import datetime, timedelta, timezone

from dagster import DefaultScheduleStatus, RunRequest, ScheduleEvaluationContext, SkipReason, schedule

from sparkify_assets.automation.jobs import DAILY_JOB
from sparkify_assets.partitions import daily_partitions
from sparkify_assets.resources.source import RawSource, SourceDataError
from sparkify_assets.retries import is_transient
from sparkify_assets.settings import Settings


def build_daily_schedule(settings: Settings):
    """At SPARKIFY_SCHEDULE_HOUR; running from the start when SPARKIFY_SCHEDULE=on, else left to the UI."""
    partitions, hour = daily_partitions(settings), settings.schedule_hour
    default_status = DefaultScheduleStatus.RUNNING if settings.schedule == "on" else DefaultScheduleStatus.STOPPED

    @schedule(
        name="daily_logs_schedule",
        job=DAILY_JOB,
        cron_schedule=f"0 {hour} * * *",
        execution_timezone="UTC",
        default_status=default_status,
        description=f"At {hour:02d}:00 UTC, load the previous UTC day's log file; skips while that file is missing.",
    )
    def daily_logs_schedule(context: ScheduleEvaluationContext, source: RawSource):
        scheduled = context.scheduled_execution_time or datetime.now(timezone.utc)
        day = scheduled.astimezone(timezone.utc).date() - timedelta(days=1)
        partition = day.isoformat()
        if not partitions.has_partition_key(partition):
            return SkipReason(f"{partition} is outside the daily partitions")
        try:
            objects = source.log_objects([day])
        except SourceDataError as exc:
            return SkipReason(f"not loading {partition}: {exc}")
        except Exception as exc:
            if not is_transient(exc):
                raise
            # The source could not be asked right now; the run retries the listing itself and fails with a clear
            # message if the file really is missing, which beats silently skipping the day.
            context.log.warning(f"could not check the source for {partition} ({type(exc).__name__}); launching anyway")
            objects = []
        version = "+".join(f"{o.key}@{o.version}" for o in objects) or "unchecked"
        return RunRequest(partition_key=partition, run_key=f"{partition}:{version}",
                          tags={"sparkify/trigger": "schedule"})

    return daily_logs_schedule
