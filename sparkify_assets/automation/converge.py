"""Days converge: every day staging_events holds is brought through songplays, time and users, by the service.

Why not Dagster's declarative automation (AutomationCondition.eager() on the downstream assets): in 1.13.27 eager()
is `in_latest_time_window()` and reacts to materializations the instance recorded, so it never looks at an older
day, and a new instance over an existing warehouse has no record of anything. What is complete is read here from
the warehouse itself (`source_versions`, loaded_versions.record_built), whichever instance or process loaded it.

How a tick completes the days (only while no run is queued, in progress or about to be retried, and no backfill
is under way, so a load on its way is never mistaken for an interrupted one):
- the incomplete days, all together, in one run per contiguous range (a killed 30-day backfill is one run);
- a range whose run did not complete it: each day alone, up to SPARKIFY_CONVERGE_ATTEMPTS (3) runs per day and
  version;
- then nothing more for that day: its last run's failure is the one alert (alerts/sensors.py, kind
  'incomplete'), and the day stays failed in the UI until its file changes or a person reloads it.
Each run is the whole daily job (staging_events and downstream), so blocking checks run again before anything
is built on a day. songs and artists (built from the song files, not from a day) converge the same way, from
staging_songs' digest, with a catalogue run (staging_songs, songs, artists).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date

from dagster import AssetKey, DagsterInstance, DagsterRunStatus, RunRequest, RunsFilter

from sparkify_assets.automation.jobs import DAILY_JOB, SONG_CATALOG_JOB
from sparkify_assets.dagster_internals import (
    ASSET_PARTITION_RANGE_END_TAG,
    ASSET_PARTITION_RANGE_START_TAG,
    PARENT_RUN_ID_TAG,
    WILL_RETRY_TAG,
    BulkActionsFilter,
    BulkActionStatus,
)
from sparkify_assets.loaded_versions import (
    BUILT_FROM_LOGS,
    BUILT_FROM_SONGS,
    SONGS_KEY,
    daily_versions,
    versions_of_key,
)
from sparkify_assets.partitions import consecutive_runs
from sparkify_assets.resources.warehouse import Warehouse
from sparkify_assets.tables import STAGING_EVENTS, STAGING_SONGS

KIND_TAG = "sparkify/converge"  # 'range', 'day' or 'songs'
KEY_TAG = "sparkify/converge_key"  # what was incomplete: days and versions (range), day@version, song_data/@digest
ATTEMPT_TAG = "sparkify/converge_attempt"  # 'n/max' on a day's runs: the last attempt's failure alerts
BUSY = [DagsterRunStatus.QUEUED, DagsterRunStatus.NOT_STARTED, DagsterRunStatus.STARTING, DagsterRunStatus.STARTED,
        DagsterRunStatus.CANCELING]


def incomplete_days(warehouse: Warehouse) -> dict[date, tuple[str, str]] | None:
    """day -> (its log files' versions as staging_events holds them, the first table behind them), for every day
    a downstream table does not hold in that version; None when the warehouse cannot be read now."""
    rows = daily_versions(warehouse, [STAGING_EVENTS, *(t for t, _ in BUILT_FROM_LOGS)])
    if rows is None:
        return None
    held: dict[str, dict[str, set[tuple[str, str]]]] = {}
    for table, day, key, version in rows:
        held.setdefault(table, {}).setdefault(day, set()).add((key, version))
    behind: dict[date, tuple[str, str]] = {}
    for day, versions in sorted(held.get(STAGING_EVENTS.name, {}).items()):
        lagging = [t.name for t, _ in BUILT_FROM_LOGS if held.get(t.name, {}).get(day) != versions]
        if lagging:
            behind[date.fromisoformat(day)] = (_digest(sorted(versions)), lagging[0])
    return behind


def incomplete_catalogue(warehouse: Warehouse) -> str | None:
    """The song files' digest when songs or artists were not built from the song files staging_songs holds (a
    run killed in between); None when they were, or the warehouse cannot be read now."""
    rows = versions_of_key(warehouse, [STAGING_SONGS, *BUILT_FROM_SONGS], SONGS_KEY)
    held = dict(rows or [])
    digest = held.get(STAGING_SONGS.name)
    return digest if digest and any(held.get(t.name) != digest for t in BUILT_FROM_SONGS) else None


def catalogue_request(instance: DagsterInstance, digest: str, *, most: int) -> RunRequest | None:
    """The run that builds songs and artists from the staged song files, at most `most` times per digest
    (SPARKIFY_CONVERGE_ATTEMPTS)."""
    key = f"{SONGS_KEY}@{digest}"
    attempts = len(_runs_with(instance, KEY_TAG, key))
    if attempts >= most:
        return None
    return RunRequest(job_name=SONG_CATALOG_JOB.name, run_key=f"converge:{key}:{attempts + 1}",
                      asset_selection=[AssetKey(STAGING_SONGS.name), *(AssetKey(t.name) for t in BUILT_FROM_SONGS)],
                      tags={"sparkify/trigger": "converge", KIND_TAG: "songs", KEY_TAG: key,
                            ATTEMPT_TAG: f"{attempts + 1}/{most}"})


def busy(instance: DagsterInstance) -> bool:
    """A run queued, in progress or about to be retried, or a backfill under way: a load may be on its way."""
    return (instance.get_runs_count(RunsFilter(statuses=BUSY)) > 0 or _retry_pending(instance)
            or instance.get_backfills_count(BulkActionsFilter(statuses=[BulkActionStatus.REQUESTED])) > 0)


@dataclass
class ConvergePlan:
    requests: list[RunRequest] = field(default_factory=list)
    given_up: list[date] = field(default_factory=list)  # attempts used up: alerted once, left for a person
    busy: bool = False  # a run is queued or in progress: nothing judged this tick


def plan_convergence(instance: DagsterInstance, behind: dict[date, tuple[str, str]],
                     in_partitions: Callable[[date], bool], *, most: int) -> ConvergePlan:
    """The runs that complete the days `behind` (see the module's docstring), at most `most` per day and version
    of its file (SPARKIFY_CONVERGE_ATTEMPTS)."""
    days = {d: v for d, v in behind.items() if in_partitions(d)}
    if not days:
        return ConvergePlan()
    if busy(instance):
        return ConvergePlan(busy=True)
    plan = ConvergePlan()
    for run in consecutive_runs(sorted(days)):
        key = _digest([(d.isoformat(), days[d][0]) for d in run])
        if not _runs_with(instance, KEY_TAG, key):
            plan.requests.append(_range_request(run, key))
            continue
        for day in run:
            day_key = f"{day.isoformat()}@{days[day][0]}"
            attempts = len(_runs_with(instance, KEY_TAG, day_key))
            if attempts >= most:
                plan.given_up.append(day)
            else:
                plan.requests.append(RunRequest(
                    job_name=DAILY_JOB.name, partition_key=day.isoformat(),
                    run_key=f"converge:{day_key}:{attempts + 1}",
                    tags={"sparkify/trigger": "converge", KIND_TAG: "day", KEY_TAG: day_key,
                          ATTEMPT_TAG: f"{attempts + 1}/{most}"}))
    return plan


def _range_request(days: list[date], key: str) -> RunRequest:
    tags = {"sparkify/trigger": "converge", KIND_TAG: "range", KEY_TAG: key}
    if len(days) == 1:
        return RunRequest(job_name=DAILY_JOB.name, partition_key=days[0].isoformat(), run_key=f"converge:{key}",
                          tags=tags)
    return RunRequest(job_name=DAILY_JOB.name, run_key=f"converge:{key}", tags={
        **tags, ASSET_PARTITION_RANGE_START_TAG: days[0].isoformat(),
        ASSET_PARTITION_RANGE_END_TAG: days[-1].isoformat()})


def _retry_pending(instance: DagsterInstance) -> bool:
    """A failed run the daemon will retry, whose retry is not queued yet: it is on its way, like a queued run."""
    failed = instance.get_runs(RunsFilter(statuses=[DagsterRunStatus.FAILURE], tags={WILL_RETRY_TAG: "true"}),
                               limit=20)
    return any(not instance.get_runs(RunsFilter(tags={PARENT_RUN_ID_TAG: r.run_id}), limit=1) for r in failed)


def _runs_with(instance: DagsterInstance, tag: str, value: str) -> list[str]:
    """Ids of the runs tagged so, retries included (each is one more attempt)."""
    return [r.run_id for r in instance.get_runs(RunsFilter(tags={tag: value}), limit=100)]


def _digest(items: list[tuple[str, str]]) -> str:
    return hashlib.sha256(repr(items).encode()).hexdigest()[:16]
