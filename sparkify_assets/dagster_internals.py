"""Dagster's private API, behind one door: every `dagster._…` name the project uses is imported here and nowhere
else, so a Dagster upgrade means reading this file, not the whole code base.

Each name below has no public equivalent in dagster 1.13.27 (`RunsFilter`, `RunRecord`, `DagsterRun`,
`DagsterRunStatus`, `DagsterEvent` and `DefaultRunLauncher` do, and are imported from `dagster` directly).
`sparkify_assets_tests/test_dagster_internals.py` imports each one again by its path in PRIVATE_PATHS and fails
naming the symbol and the path when an upgrade moves or removes it; what to re-check by hand while it still
imports is said beside each import.

It lives at the bottom of `sparkify_assets` (it imports nothing but Dagster) so the pipeline and the service
both reach it without the pipeline importing the service above it. The webserver and the daemon import it through
the run launcher and the storage named in the instance file: that loads only this module and the package's
`__init__`, which builds nothing (the definitions are Dagster's lazy entry point).
"""

from __future__ import annotations

# converge holds back while a backfill is requested: `DagsterInstance.get_backfills_count` (public) takes a filter
# of these private types. On upgrade: the filter's `statuses` field and the REQUESTED status.
from dagster._core.execution.backfill import BulkActionsFilter, BulkActionStatus

# The run launcher interface (sparkify_service/launcher.py subclasses the public DefaultRunLauncher): what
# `launch_run` receives and what `check_run_worker_health` returns. On upgrade: both signatures, the WorkerStatus
# members, and how run monitoring treats each status (dagster/_daemon/monitoring/run_monitoring.py).
from dagster._core.launcher import LaunchRunContext
from dagster._core.launcher.base import CheckRunHealthResult, WorkerStatus

# The statuses in which the queue counts a run as holding its pools: a run started from a shell waits on the same
# set (sparkify_service/shell_runs.py). On upgrade: that the queue still uses this set for pool limits.
from dagster._core.storage.dagster_run import ACTIVE_RUN_STATUSES

# Run tags Dagster itself writes and reads. On upgrade: their string values, and that a run carrying both range
# tags is still one run over the range (what the CLI's --partition-range asks for).
# - the two range tags: a range of days in one run (the assets' single-run backfill policy), asked for by run.py,
#   the source sensor and converge; the alerts read them back to name the days of a failed run;
# - PARTITION_NAME_TAG: the day of a one-day run, for the alerts;
# - WILL_RETRY_TAG: set by run retries on a failed run it is about to retry (alerts and converge wait for it);
# - PARENT_RUN_ID_TAG: on the retry, naming the failed run (converge tells whether the retry was launched).
from dagster._core.storage.tags import (
    ASSET_PARTITION_RANGE_END_TAG,
    ASSET_PARTITION_RANGE_START_TAG,
    PARENT_RUN_ID_TAG,
    PARTITION_NAME_TAG,
    WILL_RETRY_TAG,
)

# `make serve` asks the code server whether it has loaded the definitions (it answers pings while still loading).
# On upgrade: the constructor's host and port, and `list_repositories()` raising until the code is loaded.
from dagster._grpc.client import DagsterGrpcClient

# The command line of a run worker (`dagster api execute_run ...`), built as Dagster's Docker and Kubernetes
# launchers build it. On upgrade: the fields and `get_command_args()`.
from dagster._grpc.types import ExecuteRunArgs

# What the instance file's classes (storage, run launcher) are built with (sparkify_service/storage.py).
from dagster._serdes import ConfigurableClassData

# freshness.py computes a day's deadline with the cron arithmetic Dagster's schedules use (time zones, daylight
# saving). On upgrade: the signature (cron string, datetime, time zone name) and that it returns an aware datetime.
from dagster._utils.schedules import get_latest_completed_cron_tick

# The daemon, started as `python -m dagster._daemon run -w WORKSPACE` with the service's own interpreter: the same
# entry point as the `dagster-daemon` console script (dagster's entry_points.txt), without a PATH lookup. On
# upgrade: that the console script still points into this package and that it still has a __main__.
DAEMON_MODULE = "dagster._daemon"

# Where each name above comes from: the test imports each one again from there.
PRIVATE_PATHS: dict[str, str] = {
    "BulkActionsFilter": "dagster._core.execution.backfill",
    "BulkActionStatus": "dagster._core.execution.backfill",
    "LaunchRunContext": "dagster._core.launcher",
    "CheckRunHealthResult": "dagster._core.launcher.base",
    "WorkerStatus": "dagster._core.launcher.base",
    "ACTIVE_RUN_STATUSES": "dagster._core.storage.dagster_run",
    "ASSET_PARTITION_RANGE_END_TAG": "dagster._core.storage.tags",
    "ASSET_PARTITION_RANGE_START_TAG": "dagster._core.storage.tags",
    "PARENT_RUN_ID_TAG": "dagster._core.storage.tags",
    "PARTITION_NAME_TAG": "dagster._core.storage.tags",
    "WILL_RETRY_TAG": "dagster._core.storage.tags",
    "DagsterGrpcClient": "dagster._grpc.client",
    "ExecuteRunArgs": "dagster._grpc.types",
    "ConfigurableClassData": "dagster._serdes",
    "get_latest_completed_cron_tick": "dagster._utils.schedules",
}

__all__ = [
    "ACTIVE_RUN_STATUSES",
    "ASSET_PARTITION_RANGE_END_TAG",
    "ASSET_PARTITION_RANGE_START_TAG",
    "DAEMON_MODULE",
    "PARENT_RUN_ID_TAG",
    "PARTITION_NAME_TAG",
    "PRIVATE_PATHS",
    "WILL_RETRY_TAG",
    "BulkActionStatus",
    "BulkActionsFilter",
    "CheckRunHealthResult",
    "ConfigurableClassData",
    "DagsterGrpcClient",
    "ExecuteRunArgs",
    "LaunchRunContext",
    "WorkerStatus",
    "get_latest_completed_cron_tick",
]
