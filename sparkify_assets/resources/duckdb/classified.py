"""What every DuckDB staging load shares: its files listed in `_files`, its records judged into `_classified`, and
the replace of its scope from there (rows into the table, rejects into quarantine, the counts it reports)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import duckdb

from sparkify_assets.day_window import DayWindow
from sparkify_assets.resources.duckdb.session import DuckSession, is_resource_error
from sparkify_assets.resources.source import RawSource, SourceDataError, SourceObject
from sparkify_assets.resources.warehouse import LoadStats
from sparkify_assets.sql import duckdb_json, duckdb_load
from sparkify_assets.sql import staging as staging_sql
from sparkify_assets.sql.dialect import DUCKDB
from sparkify_assets.tables import Table

FileRow = tuple[SourceObject, str | None, int | None, int | None]  # a file, its day and the day's bounds in epoch ms


def load_files(s: DuckSession, files: Sequence[FileRow], paths: dict[str, Path]) -> None:
    """The files' lineage into `_files`, in one statement."""
    s.execute(duckdb_load.create_files_sql(), {
        "path": [str(paths[o.key]) for o, *_ in files], "key": [o.key for o, *_ in files],
        "pk": [pk for _, pk, _, _ in files], "lo": [lo for _, _, lo, _ in files],
        "hi": [hi for _, _, _, hi in files]})


def classify(s: DuckSession, create: str, dedupe_on: str, paths: dict[str, Path], source: RawSource) -> None:
    """`_classified` from `create` (a classify_sql), duplicates marked; a file DuckDB cannot read is the input's
    fault, named by its source URI (never the local copy's path)."""
    try:
        s.execute(create, {"paths": sorted(str(p) for p in paths.values())})
    except duckdb.Error as exc:
        if is_resource_error(exc):
            raise
        message = str(exc)
        for key, path in paths.items():
            message = message.replace(str(path), source.uri(key))
        raise SourceDataError(f"cannot read input: {message}") from None
    s.execute(duckdb_json.mark_duplicates_sql(dedupe_on))


def scope_params(table: Table, window: DayWindow | None, run_id: str) -> dict[str, Any]:
    return {"target_table": table.name, "run_id": run_id, **(window.params if window else {})}


def delete_scope(s: DuckSession, table: Table, window: DayWindow | None, params: dict[str, Any]) -> None:
    """The load's scope out of the table and out of quarantine (its days, or all of an unpartitioned table)."""
    s.execute(staging_sql.delete_scope_sql(DUCKDB, table), params)
    s.execute(staging_sql.delete_rejected_sql(DUCKDB, partitioned=window is not None), params)


def replace(s: DuckSession, table: Table, window: DayWindow | None, run_id: str, nbytes: int,
            nfiles: int) -> LoadStats:
    params = scope_params(table, window, run_id)
    delete_scope(s, table, window, params)
    return insert_classified(s, table, params, nbytes, nfiles, None)


def insert_classified(s: DuckSession, table: Table, params: dict[str, Any], nbytes: int, nfiles: int,
                      fast: dict[str, int] | None) -> LoadStats:
    """`_classified`'s loadable rows into the table, its rejected ones into quarantine; the stats add the rows
    the fast path loaded (`fast`: rows per file; None where there is no fast path)."""
    s.execute(staging_sql.insert_loaded_sql(table))
    s.execute(duckdb_json.insert_rejected_sql(), params)
    # `_classified` holds exactly one row per input record (it is never filtered): that is `read`.
    ((read, loaded, rejected),) = s.fetchall(duckdb_load.CLASSIFIED_COUNTS_SQL)
    sample = s.fetchall(duckdb_load.CLASSIFIED_SAMPLE_SQL)
    for temp in ("_classified", "_files"):
        s.execute(duckdb_load.drop_sql(temp))
    fast_rows = sum(fast.values()) if fast else 0
    return LoadStats(files=nfiles, bytes=nbytes, read=read + fast_rows, loaded=loaded + fast_rows,
                     rejected=rejected, sample_rejects=[(k, n, r) for k, n, r in sample],
                     fast_files=None if fast is None else len(fast))
