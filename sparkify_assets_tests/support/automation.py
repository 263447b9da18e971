"""Helpers for automation tests: evaluate sensor and schedule ticks, and execute the runs they request."""

from __future__ import annotations

from dagster import (
    DagsterInstance,
    Definitions,
    ExecuteInProcessResult,
    RunRequest,
    SensorDefinition,
    build_sensor_context,
)
from dagster._core.definitions.sensor_definition import SensorExecutionData


def tick(sensor: SensorDefinition, defs: Definitions, instance: DagsterInstance,
         cursor: str | None) -> SensorExecutionData:
    """One evaluation of the sensor, as the daemon does it: with the stored cursor and a real instance."""
    with build_sensor_context(instance=instance, cursor=cursor, definitions=defs,
                              resources=dict(defs.resources)) as context:
        return sensor.evaluate_tick(context)


def days_requested(data: SensorExecutionData) -> list[str]:
    return sorted(r.partition_key for r in data.run_requests if r.job_name == "daily_logs")


def song_requests(data: SensorExecutionData) -> list[RunRequest]:
    return [r for r in data.run_requests if r.job_name == "song_catalog"]


def execute(defs: Definitions, request: RunRequest, instance: DagsterInstance) -> ExecuteInProcessResult:
    """Run what a request asks for, in process, as the run the daemon would launch for it."""
    job = defs.resolve_job_def(request.job_name)
    result = job.execute_in_process(instance=instance, partition_key=request.partition_key, tags=request.tags,
                                    asset_selection=request.asset_selection, raise_on_error=False)
    assert result.success, [e.message for e in result.all_events if e.is_failure]
    return result
