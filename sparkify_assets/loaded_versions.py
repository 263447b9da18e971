"""What each staging load read, as key -> version, recorded in two places the source sensor can ask:

- the staging asset's materialization metadata (`source_versions` for log files, `source_digest` for the song
  files): cheap to read from the instance, but only the instance that ran the load knows it;
- the warehouse table `source_versions`, written after each load: what the warehouse holds, whichever instance
  loaded it (`make run` records in data/dagster_home, `make serve` in PostgreSQL).

The tables built from the logs (songplays, time, users) record there too, after each load, the versions their
upstream held (`record_built`): a day is complete when each of them holds its staging_events version, which any
instance can read from the warehouse (automation/converge.py completes the days that are not).

The warehouse row is written after the load commits, in its own transaction: a worker dying in between leaves the
load without its row, so the file is loaded once more (loads are idempotent); never the other way round. The
song files also have one row each, written by the load itself in its transaction (an incremental load trusts
them to say what staging_songs holds; `sql/song_files.py`); the songs' digest row beside them is what the sensor
compares.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence

from dagster import AssetKey, AssetRecordsFilter, DagsterInstance, MetadataValue

from sparkify_assets.day_window import DayWindow
from sparkify_assets.resources.source import SONG_PREFIX, SourceObject, day_of_log_key
from sparkify_assets.resources.warehouse import Warehouse
from sparkify_assets.sql import loaded_versions as sv_sql
from sparkify_assets.tables import (
    ARTISTS,
    SONGPLAYS,
    SONGS,
    SOURCE_VERSIONS,
    STAGING_EVENTS,
    STAGING_SONGS,
    TIME,
    USERS,
    Table,
)

LOG_METADATA = "source_versions"  # staging_events: JSON {key: version} of the files the load read
SONG_METADATA = "source_digest"  # staging_songs: songs_digest() of the song files the load read
SONGS_KEY = SONG_PREFIX  # the source_versions row of staging_songs holding the digest (per-file rows beside it)

# The tables a day's log file flows into, each with the table it is built from: the versions it records are that
# table's (so time, built from songplays, is current only once songplays was). users is rebuilt whole, so it
# records every day's.
BUILT_FROM_LOGS: tuple[tuple[Table, Table], ...] = ((SONGPLAYS, STAGING_EVENTS), (TIME, SONGPLAYS),
                                                     (USERS, STAGING_EVENTS))
# The catalogue tables built from the song files: they record staging_songs' digest row.
BUILT_FROM_SONGS: tuple[Table, ...] = (SONGS, ARTISTS)


def songs_digest(objects: Sequence[SourceObject]) -> str | None:
    """One value that changes when any song file is added, removed or rewritten; None when there are none."""
    if not objects:
        return None
    listing = "\n".join(f"{o.key}@{o.version}" for o in sorted(objects, key=lambda o: o.key))
    return hashlib.sha256(listing.encode()).hexdigest()[:20]


# -- recording (by the staging assets) --------------------------------------------------------------------------


def log_metadata(objects: Sequence[SourceObject]) -> dict[str, MetadataValue]:
    return {LOG_METADATA: MetadataValue.json({o.key: o.version for o in objects})}


def record(warehouse: Warehouse, table: Table, versions: dict[str, str], window: DayWindow | None = None) -> None:
    """Replace what `table` was loaded from (for a daily table: within `window`) by `versions`."""
    d = warehouse.dialect
    params: dict[str, object] = {"target_table": table.name, **(window.params if window else {})}
    for i, (key, version) in enumerate(sorted(versions.items())):
        day = day_of_log_key(key)
        params |= {f"k{i}": key, f"v{i}": version, f"p{i}": day.isoformat() if day else None}
    statements = [sv_sql.delete_sql(d, "days" if window else "table")]
    if versions:
        statements.append(sv_sql.insert_values_sql(d, len(versions)))
    warehouse.run(statements, params, ensure=(SOURCE_VERSIONS,))


def record_built(warehouse: Warehouse, table: Table, window: DayWindow | None = None) -> None:
    """`table` was just rebuilt (for a daily table: `window`) from its upstream in BUILT_FROM_LOGS (or the song files,
    BUILT_FROM_SONGS): it now holds the versions its upstream holds. Written after the load commits: a worker dying
    in between leaves the table behind, so it is built again, never the other way round."""
    upstream = STAGING_SONGS if table in BUILT_FROM_SONGS else dict(BUILT_FROM_LOGS).get(table)
    if upstream is None:
        return
    d = warehouse.dialect
    params: dict[str, object] = {"target_table": table.name, "upstream": upstream.name}
    scope: sv_sql.Scope = "table"
    if upstream is STAGING_SONGS:  # the digest of every song file, not the per-file rows
        params["key"] = SONGS_KEY
        scope = "key"
    elif window and table.partition_column:
        params |= window.params
        scope = "days"
    warehouse.run([sv_sql.delete_sql(d, scope), sv_sql.copy_upstream_sql(d, scope)], params,
                  ensure=(SOURCE_VERSIONS,))


def record_songs_digest(warehouse: Warehouse, digest: str | None) -> None:
    """Replace the one digest row of staging_songs; its per-file rows are the load's own (written in its
    transaction, by an engine that loads incrementally)."""
    d = warehouse.dialect
    params = {"target_table": STAGING_SONGS.name, "key": SONGS_KEY, "k0": SONGS_KEY, "v0": digest, "p0": None}
    statements = [sv_sql.delete_sql(d, "key")]
    if digest:
        statements.append(sv_sql.insert_values_sql(d, 1))
    warehouse.run(statements, params, ensure=(SOURCE_VERSIONS,))


# -- looking up (by the source sensor) ---------------------------------------------------------------------------


def loaded_in_instance(instance: DagsterInstance, days: Iterable[str]) -> dict[str, str]:
    """key -> version of the log files the latest staging_events materialization of each day read."""
    wanted = set(days)
    if not wanted:
        return {}
    found: dict[str, str] = {}
    seen: set[str] = set()
    records = instance.fetch_materializations(
        AssetRecordsFilter(AssetKey(STAGING_EVENTS.name), asset_partitions=sorted(wanted)), limit=10 * len(wanted)
    ).records
    for record in records:  # newest first
        event = record.asset_materialization
        if event is None or event.partition in seen:
            continue
        seen.add(event.partition)
        versions = event.metadata.get(LOG_METADATA)
        for key, version in (versions.value if versions is not None else {}).items():
            if day_of_log_key(key) is not None and day_of_log_key(key).isoformat() == event.partition:
                found[key] = version
    return found


def songs_loaded_in_instance(instance: DagsterInstance) -> str | None:
    """The song digest the latest staging_songs materialization read."""
    event = instance.get_latest_materialization_event(AssetKey(STAGING_SONGS.name))
    meta = event.asset_materialization.metadata if event and event.asset_materialization else {}
    return meta[SONG_METADATA].value if SONG_METADATA in meta else None


def loaded_in_warehouse(warehouse: Warehouse, keys: Sequence[str]) -> dict[str, str] | None:
    """key -> version the warehouse holds for `keys` (log keys, or SONGS_KEY); None when it cannot be read now."""
    if not keys:
        return {}
    params = {f"k{i}": key for i, key in enumerate(keys)}
    rows = warehouse.read_if_available(sv_sql.versions_of_keys_sql(warehouse.dialect, len(keys)), params,
                                       SOURCE_VERSIONS)
    return None if rows is None else {key: version for key, version in rows}


def daily_versions(warehouse: Warehouse, tables: Sequence[Table], window: DayWindow | None = None,
                   wait: bool = False) -> list[tuple[str, str, str, str]] | None:
    """(table, day, key, version) the warehouse records for the daily rows of `tables` (within `window`, else
    every day): what converge and the day_complete check judge a day by. None when it cannot be read now (a run
    is writing it), unless told to `wait` for it as a step in a run does."""
    params: dict[str, object] = {f"t{i}": t.name for i, t in enumerate(tables)} | (window.params if window else {})
    sql = sv_sql.daily_versions_sql(warehouse.dialect, len(tables), windowed=window is not None)
    if wait:
        warehouse.run([], ensure=(SOURCE_VERSIONS,))
        return warehouse.fetchall(sql, params)
    return warehouse.read_if_available(sql, params, SOURCE_VERSIONS)


def versions_of_key(warehouse: Warehouse, tables: Sequence[Table], key: str) -> list[tuple[str, str]] | None:
    """(table, version) of the row `key` of each of `tables` (the songs' digest); None when it cannot be read now."""
    params: dict[str, object] = {f"t{i}": t.name for i, t in enumerate(tables)} | {"key": key}
    return warehouse.read_if_available(sv_sql.key_versions_sql(warehouse.dialect, len(tables)), params,
                                       SOURCE_VERSIONS)
