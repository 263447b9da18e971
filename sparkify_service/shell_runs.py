"""A run started from a shell takes its pools' slots as a queued run would, before it touches anything.

The queue enforces pools only when it dequeues (pools at run granularity: a run holds every pool of its steps
while it is STARTING, STARTED or CANCELING). A run executed by `dagster asset materialize` never passes through
the queue, so it could meet a queued run on the DuckDB file's lock. Such a run is STARTED before it waits here, so
from then on the queue counts it as holding its pools and starts no run that needs them; it waits while other
active runs hold them: queued runs (which never wait) and shell runs that started before it (so two shell runs
never wait on each other). One clean look is not enough: the queue may have read the active runs just before this
run became STARTED and be launching one, so the wait ends only after two clean looks SETTLE_S apart.
"""

from __future__ import annotations

import sys
import time
from typing import Any

from dagster import DagsterInstance, RunRecord, RunsFilter

from sparkify_assets.dagster_internals import ACTIVE_RUN_STATUSES
from sparkify_service.workers import SHELL_RUN_TAG

SETTLE_S = 2.0
POLL_S = 1.0


def wait_for_pools(instance: DagsterInstance, run_id: str) -> None:
    """Block until this run's limited pools have room for it among the runs it must give way to."""
    (record,) = instance.get_run_records(RunsFilter(run_ids=[run_id]))
    limits = _limits(instance, _pools(record))
    if not limits:
        return
    told: set[str] = set()
    clean_since: float | None = None
    while True:
        holders = _holders(instance, record, limits)
        if holders:
            clean_since = None
            new = sorted(set(holders) - told)
            if new:
                told.update(new)
                message = (f"run {run_id} (started from a shell) waits for pool(s) {', '.join(sorted(limits))}, "
                           f"held by run(s) {', '.join(new)}")
                print(f"sparkify: {message}", file=sys.stderr, flush=True)
                instance.report_engine_event(message, record.dagster_run)
        elif clean_since is None:
            clean_since = time.monotonic()
        elif time.monotonic() - clean_since >= SETTLE_S:
            return
        time.sleep(POLL_S)


def _pools(record: RunRecord) -> set[str]:
    concurrency = record.dagster_run.run_op_concurrency
    return set(concurrency.all_pools or []) if concurrency else set()


def _limits(instance: DagsterInstance, pools: set[str]) -> dict[str, int]:
    """The limit of each pool the run needs that has one (configured, or the instance's default)."""
    configured = {p.name: p.limit for p in instance.event_log_storage.get_pool_limits()}
    default = instance.global_op_concurrency_default_limit
    limits = {pool: configured.get(pool, default) for pool in pools}
    return {pool: limit for pool, limit in limits.items() if limit is not None}


def _holders(instance: DagsterInstance, mine: RunRecord, limits: dict[str, int]) -> list[str]:
    """Runs that keep this one waiting: for some pool, at least `limit` active runs it must give way to."""
    others = [r for r in instance.get_run_records(RunsFilter(statuses=ACTIVE_RUN_STATUSES))
              if r.dagster_run.run_id != mine.dagster_run.run_id and _gives_way_to(mine, r)]
    holding: list[str] = []
    for pool, limit in limits.items():
        in_pool = [r.dagster_run.run_id for r in others if pool in _pools(r)]
        if len(in_pool) >= limit:
            holding.extend(in_pool)
    return holding


def _gives_way_to(mine: RunRecord, other: RunRecord) -> bool:
    """Every run that did not come from a shell; a shell run only if it started first."""
    if SHELL_RUN_TAG not in other.dagster_run.tags:
        return True
    return _order(other) < _order(mine)


def _order(record: RunRecord) -> tuple[Any, ...]:
    return (record.start_time or float("inf"), record.dagster_run.run_id)
