"""The source sensor: a run for each day whose log file is new or changed, and a song-catalogue refresh when
the song files change. Works the same on S3 (versions are ETags) and on a local folder (modification times)."""

import time
from datetime import date

from dagster import (
    AssetKey,
    DagsterInstance,
    DagsterInvariantViolationError,
    DailyPartitionsDefinition,
    DefaultSensorStatus,
    RunRequest,
    SensorEvaluationContext,
    SensorResult,
    SkipReason,
    sensor,
)

from sparkify_assets import loaded_versions
from sparkify_assets.assets.songplays import REMATCH_ONLY, REMATCH_ONLY_TAG
from sparkify_assets.automation.converge import (
    busy,
    catalogue_request,
    incomplete_catalogue,
    incomplete_days,
    plan_convergence,
)
from sparkify_assets.automation.cursor import Loaded, SourceCursor, plan_logs, songs_digest
from sparkify_assets.automation.jobs import DAILY_JOB, SONG_CATALOG_JOB
from sparkify_assets.dagster_internals import ASSET_PARTITION_RANGE_END_TAG, ASSET_PARTITION_RANGE_START_TAG
from sparkify_assets.partitions import daily_partitions
from sparkify_assets.pools import ensure_pool_known
from sparkify_assets.resources.source import LOG_PREFIX, SONG_PREFIX, RawSource, SourceObject, day_of_log_key
from sparkify_assets.resources.warehouse import Warehouse
from sparkify_assets.settings import Settings
from sparkify_assets.tables import ARTISTS, SONGPLAYS, SONGS, STAGING_EVENTS, STAGING_SONGS

# What a song refresh rebuilds when no day has been loaded yet (songplays needs a range of days).
SONG_ASSETS_WITHOUT_DAYS = [AssetKey(t.name) for t in (STAGING_SONGS, SONGS, ARTISTS)]
# With days: songplays too, re-matching only the plays whose song key changed. Not time: a re-match changes no
# start_time, so time's rows cannot change.
SONG_ASSETS_WITH_DAYS = [*SONG_ASSETS_WITHOUT_DAYS, AssetKey(SONGPLAYS.name)]


def partition_state(partitions: DailyPartitionsDefinition):
    """How a day stands against the daily partitions right now: 'ok', 'waiting' (not yet a partition) or 'out'."""
    first = partitions.get_first_partition_window()
    last = partitions.get_last_partition_window()

    def state(day: date) -> str:
        if first is None or day < first.start.date():
            return "out"
        if last is None or day > last.start.date():
            # Today's file (its partition exists from tomorrow), or a day past SPARKIFY_END_DATE.
            end = partitions.end
            return "out" if end is not None and day >= end.date() else "waiting"
        return "ok"

    return state


def build_source_sensor(settings: Settings, default_status: DefaultSensorStatus = DefaultSensorStatus.STOPPED):
    """Up to SPARKIFY_SENSOR_MAX_RUNS runs a tick, every SPARKIFY_SENSOR_INTERVAL_SECONDS; `default_status` depends
    on the source (definitions.sensor_status)."""
    partitions, attempts = daily_partitions(settings), settings.converge_attempts
    max_runs_per_tick, minimum_interval_seconds = settings.sensor_max_runs, settings.sensor_interval_seconds

    @sensor(
        name="source_files_sensor",
        jobs=[DAILY_JOB, SONG_CATALOG_JOB],
        minimum_interval_seconds=minimum_interval_seconds,
        default_status=default_status,
        description=f"Watches {LOG_PREFIX} and {SONG_PREFIX} of the source: one run per new or changed daily log "
        f"file (at most {max_runs_per_tick} per tick), and a song-catalogue refresh when song files change.",
    )
    def source_files_sensor(context: SensorEvaluationContext, source: RawSource, warehouse: Warehouse):
        cursor = SourceCursor.parse(context.cursor)
        songs = [o for o in source.list_objects(SONG_PREFIX) if o.key.endswith(".json")]
        digest = songs_digest(songs)
        refresh_songs = digest is not None and digest != cursor.songs
        if refresh_songs:
            songs_loaded = _songs_loaded(context, warehouse, digest)
            if songs_loaded is not False:
                refresh_songs = False
                if songs_loaded:  # already loaded in exactly this version: nothing to do
                    cursor.songs = digest
                else:
                    context.log.info("song files changed; the warehouse is busy: asking again next tick")
        logs = source.list_objects(LOG_PREFIX)
        state = partition_state(partitions)
        loaded = _logs_loaded(context, warehouse, [o for o in logs if cursor.is_new(o)
                                                   and (d := day_of_log_key(o.key)) and state(d) == "ok"])
        plan = plan_logs(logs, cursor, max_runs_per_tick - int(refresh_songs), state, time.time(), loaded)

        requests = [
            RunRequest(job_name=DAILY_JOB.name, partition_key=batch.day.isoformat(), run_key=batch.run_key,
                       tags={"sparkify/trigger": "sensor"})
            for batch in plan.days
        ]
        if refresh_songs:
            days = sorted({d for o in logs if (d := day_of_log_key(o.key)) and state(d) == "ok"}
                          | {date.fromisoformat(p) for p in _loaded_days(context)})
            requests.append(_song_request(digest, days))
            plan.cursor.songs = digest
        for obj in plan.ignored:
            context.log.info(f"ignoring {source.uri(obj.key)}: not a daily log file of a known partition")
        if plan.waiting:
            context.log.info(f"{len(plan.waiting)} file(s) wait for their day to end: "
                             + ", ".join(source.uri(o.key) for o in plan.waiting[:3]))
        if plan.already_loaded:
            context.log.info(f"{len(plan.already_loaded)} file(s) already loaded in their current version: "
                             + ", ".join(source.uri(o.key) for o in plan.already_loaded[:3]))
        if plan.unconfirmed:
            context.log.info(f"{len(plan.unconfirmed)} new or changed file(s) wait for the warehouse to be "
                             "readable (a run is writing it) to check whether they are loaded already")
        if plan.deferred:
            context.log.info(f"{plan.deferred} new file(s) left for the next ticks ({max_runs_per_tick} runs a tick)")
        if not requests and not plan.unconfirmed and not plan.deferred:
            requests = _converge(context, warehouse, state, attempts)
        if not requests:
            return SensorResult(skip_reason=SkipReason(f"no new or changed files under {source.uri(LOG_PREFIX)} "
                                                       f"or {source.uri(SONG_PREFIX)}"),
                                cursor=plan.cursor.serialize())
        if (instance := _instance(context)) is not None:
            ensure_pool_known(instance, warehouse.pool)
        return SensorResult(run_requests=requests, cursor=plan.cursor.serialize())

    return source_files_sensor


def _instance(context: SensorEvaluationContext) -> DagsterInstance | None:
    try:
        return context.instance
    except DagsterInvariantViolationError:  # evaluated without an instance (a bare unit test)
        return None


def _converge(context: SensorEvaluationContext, warehouse: Warehouse, state,  # noqa: ANN001
              attempts: int) -> list[RunRequest]:
    """Runs that complete the days the warehouse holds only partly (automation/converge.py); none while busy."""
    instance = _instance(context)
    if instance is None:
        return []
    behind = incomplete_days(warehouse) or {}
    songs = incomplete_catalogue(warehouse)
    if songs and not busy(instance):
        if (request := catalogue_request(instance, songs, most=attempts)) is not None:
            return [request]  # first: songplays is matched against the catalogue
        context.log.info("songs/artists stay behind the song files after their attempts: left for a person")
    if not behind:
        return []
    plan = plan_convergence(instance, behind, lambda d: state(d) == "ok", most=attempts)
    if plan.busy:
        context.log.info(f"{len(behind)} day(s) incomplete; waiting for the runs in progress before completing them")
    for day in plan.given_up:
        context.log.info(f"{day} stays incomplete ({behind[day][1]} behind its log file) after "
                            "its attempts: alerted, left for a person (docs/operating.md)")
    return plan.requests


def _logs_loaded(context: SensorEvaluationContext, warehouse: Warehouse, new: list[SourceObject]) -> Loaded:
    """Which of the new-looking log files (of days that are partitions) are loaded in their current version: the
    instance's materializations first (cheap), then the warehouse's own record for the rest (it knows loads by any
    instance)."""
    candidates = [o for o in new if day_of_log_key(o.key) is not None]
    if not candidates:
        return Loaded()
    instance = _instance(context)
    days = {d.isoformat() for o in candidates if (d := day_of_log_key(o.key))}
    known = loaded_versions.loaded_in_instance(instance, days) if instance else {}
    unknown = [o.key for o in candidates if known.get(o.key) != o.version]
    held = loaded_versions.loaded_in_warehouse(warehouse, unknown)
    if held is None:
        return Loaded(known, complete=False)
    return Loaded(known | held)


def _songs_loaded(context: SensorEvaluationContext, warehouse: Warehouse, digest: str) -> bool | None:
    """Whether the song files are loaded in exactly this version; None when the warehouse cannot tell now."""
    instance = _instance(context)
    if instance is not None and loaded_versions.songs_loaded_in_instance(instance) == digest:
        return True
    held = loaded_versions.loaded_in_warehouse(warehouse, [loaded_versions.SONGS_KEY])
    return None if held is None else held.get(loaded_versions.SONGS_KEY) == digest


def _loaded_days(context: SensorEvaluationContext) -> set[str]:
    """Days staging_events holds according to Dagster (loaded by any means: sensor, schedule, CLI backfill)."""
    try:
        instance = context.instance
    except DagsterInvariantViolationError:  # evaluated without an instance (a bare unit test)
        return set()
    return instance.get_materialized_partitions(AssetKey(STAGING_EVENTS.name))


def _song_request(digest: str, days: list[date]) -> RunRequest:
    """Reload the changed song files; songplays materialized over every day there is (so each day shows it is
    matched against the new catalogue), re-matching in place only the plays whose song key changed."""
    run_key = f"{SONG_PREFIX}@{digest}"
    if not days:
        return RunRequest(job_name=SONG_CATALOG_JOB.name, run_key=run_key, asset_selection=SONG_ASSETS_WITHOUT_DAYS,
                          tags={"sparkify/trigger": "sensor"})
    return RunRequest(job_name=SONG_CATALOG_JOB.name, run_key=run_key, asset_selection=SONG_ASSETS_WITH_DAYS, tags={
        "sparkify/trigger": "sensor",
        REMATCH_ONLY_TAG: REMATCH_ONLY,
        ASSET_PARTITION_RANGE_START_TAG: days[0].isoformat(),
        ASSET_PARTITION_RANGE_END_TAG: days[-1].isoformat(),
    })
