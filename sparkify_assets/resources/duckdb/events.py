"""The log files of a window into staging_events: entirely valid files through one typed read_json scan (the fast
path), the others record by record (the checked path), in one transaction; both give the same rows."""

from __future__ import annotations

from collections.abc import Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Any

import duckdb

from sparkify_assets.day_window import DayWindow
from sparkify_assets.resources.duckdb.classified import (
    classify,
    delete_scope,
    insert_classified,
    load_files,
    scope_params,
)
from sparkify_assets.resources.duckdb.session import DuckSession, Store, is_resource_error
from sparkify_assets.resources.line_chunks import line_chunks, plain_line_count
from sparkify_assets.resources.source import RawSource, SourceDataError, SourceObject, day_of_log_key
from sparkify_assets.resources.warehouse import LoadStats
from sparkify_assets.sql import duckdb_json, duckdb_load
from sparkify_assets.tables import REJECTED_RECORDS, STAGING_EVENTS

_DayFile = tuple[SourceObject, str, int, int]  # a log file, its day, and the day's bounds in epoch ms


class _FastReadError(Exception):
    """read_json could not read one of the files of a fast scan (which aborts the transaction)."""


def stage_events(wh: Store, source: RawSource, objects: Sequence[SourceObject], window: DayWindow,
                 run_id: str) -> LoadStats:
    """Entirely valid files through one typed scan (`_insert_fast`), the others record by record, in one
    transaction. A file the scan cannot read fails the whole statement and aborts the transaction; then the
    load runs again with the files the scan can read (found one by one), the others record by record."""
    bounds = {d: DayWindow.of_day(d).params for d in window.days}
    files = [
        (o, day.isoformat(), bounds[day]["start_ms"], bounds[day]["end_ms"])
        for o in objects if (day := day_of_log_key(o.key)) is not None
    ]
    with source.local_files(objects) as paths, ThreadPoolExecutor(1) as pool:
        # The byte scan runs in a thread while DuckDB (which releases the GIL) reads the same files.
        fast_keys = {o.key for o, *_ in files} if wh.fast_path else set()
        plain = pool.submit(lambda keys: {k: plain_line_count(paths[k]) for k in keys}, frozenset(fast_keys))
        for attempt in range(3):
            try:
                return _stage(wh, source, objects, files, paths, window, run_id, fast_keys, plain)
            except _FastReadError:  # find the files the scan reads alone; if those fail together, none
                fast_keys = _readable(wh, fast_keys, paths) if attempt == 0 else set()
        raise AssertionError("unreachable: the last attempt has no fast scan")


def _stage(wh: Store, source: RawSource, objects: Sequence[SourceObject], files: list[_DayFile],
           paths: dict[str, Path], window: DayWindow, run_id: str, fast_keys: set[str],
           plain: Future[dict[str, int | None]]) -> LoadStats:
    params = scope_params(STAGING_EVENTS, window, run_id)
    with wh.transaction() as s:
        wh.ensure_tables(s, (STAGING_EVENTS, REJECTED_RECORDS))
        load_files(s, files, paths)
        delete_scope(s, STAGING_EVENTS, window, params)
        fast = _insert_fast(s, [f for f in files if f[0].key in fast_keys], paths, params, plain)
        _classify_events(s, [o for o, *_ in files], paths, source, fast, params, wh.read_chunk_bytes)
        _fail_files_without_json(s, source)
        return insert_classified(s, STAGING_EVENTS, params, sum(o.size for o in objects), len(objects), fast)


def _insert_fast(s: DuckSession, files: list[_DayFile], paths: dict[str, Path], params: dict[str, Any],
                 plain: Future[dict[str, int | None]]) -> dict[str, int]:
    """Insert the files' valid records through one typed read_json scan; keep the files it loaded exactly as
    the per-record path would ({source_key: rows}) and take the others out again.

    A file qualifies when its bytes are plain (`plain_line_count`), no rule fails on any record, its rows are
    exactly its lines 1..n (no blank line shifted the numbering), and no record's required values equal
    another's in the load (a possible exact copy)."""
    if not files:
        return {}
    keys = [o.key for o, *_ in files]
    scan: dict[str, Any] = {"columns": duckdb_json.fast_read_columns(STAGING_EVENTS)}
    for n, (o, day, lo, hi) in enumerate(files):
        scan |= {f"path{n}": str(paths[o.key]), f"key{n}": o.key, f"day{n}": day, f"lo{n}": lo, f"hi{n}": hi}
    try:
        s.execute(duckdb_json.insert_fast_sql(STAGING_EVENTS, len(files)), scan)
    except duckdb.Error as exc:
        if is_resource_error(exc):
            raise
        raise _FastReadError(str(exc)) from exc
    lines = plain.result()
    fast = {key: rows for key, rows, first, last, repeated
            in s.fetchall(duckdb_json.fast_files_sql(STAGING_EVENTS), {**params, "keys": keys})
            if rows == lines[key] and first == 1 and last == rows and not repeated}
    s.execute(duckdb_json.delete_files_sql(STAGING_EVENTS), {**params, "keys": [k for k in keys if k not in fast]})
    return fast


def _readable(wh: Store, keys: set[str], paths: dict[str, Path]) -> set[str]:
    """The files read_json reads without error, each tried alone (after a scan of all of them failed)."""
    readable = set()
    with wh.connection() as con:
        for key in sorted(keys):
            try:
                con.execute(duckdb_json.fast_probe_sql(STAGING_EVENTS),
                            {"path": str(paths[key]), "columns": duckdb_json.fast_read_columns(STAGING_EVENTS)})
                readable.add(key)
            except duckdb.Error as exc:
                if is_resource_error(exc):
                    raise
    return readable


def _classify_events(s: DuckSession, objects: list[SourceObject], paths: dict[str, Path], source: RawSource,
                     fast: dict[str, int], params: dict[str, Any], chunk_bytes: int) -> None:
    """`_classified` for every file not in `fast`, record by record; `fast` loses any file holding a record
    whose values equal one of those (only the texts can tell whether it is an exact copy), until none does."""
    s.execute(duckdb_load.CREATE_LINES_SQL)
    slow = [o for o in objects if o.key not in fast]
    while True:
        _load_lines(s, [(o.key, paths[o.key], source.uri(o.key)) for o in slow], chunk_bytes)
        classify(s, duckdb_json.classify_sql(STAGING_EVENTS, duckdb_load.LINE_RECORDS_SQL, "text", True), "text",
                 paths, source)
        moved = sorted(k for (k,) in s.fetchall(duckdb_json.fast_copies_sql(STAGING_EVENTS),
                                                {**params, "keys": list(fast)})) if fast else []
        if not moved:
            break
        s.execute(duckdb_json.delete_files_sql(STAGING_EVENTS), {**params, "keys": moved})
        for key in moved:
            del fast[key]
        s.execute(duckdb_load.drop_sql("_classified"))
        slow = [o for o in objects if o.key in moved]
    s.execute(duckdb_load.drop_sql("_lines"))


def _load_lines(s: DuckSession, files: list[tuple[str, Path, str]], chunk_bytes: int) -> None:
    """Every non-blank line of the files appended to `_lines`, numbered, read chunk by chunk (any file size).

    The table spills to disk beyond the memory limit, so memory stays bounded whatever the size of a file or a
    load."""
    for key, path, uri in files:
        invalid: list[tuple[int, str, str]] = []  # lines that are not UTF-8: quarantined, as COPY does
        for first, text in line_chunks(path, uri, chunk_bytes, invalid):
            s.execute(duckdb_load.INSERT_LINE_CHUNK_SQL, {"key": key, "first": first, "text": text})
        if invalid:
            s.execute(duckdb_load.INSERT_INVALID_LINES_SQL,
                      {"key": key, "n": [n for n, _, _ in invalid], "text": [t for _, _, t in invalid],
                       "reason": [r for _, r, _ in invalid]})


def _fail_files_without_json(s: DuckSession, source: RawSource) -> None:
    """A file with no JSON line at all is not JSON lines: fail it whole rather than quarantine every line."""
    bad = s.fetchall(duckdb_load.FILES_WITHOUT_JSON_SQL)
    if bad:
        detail = "; ".join(f"{source.uri(k)} line {n}: {t!r}" for k, n, t in bad)
        raise SourceDataError(f"not JSON lines (no line parses as JSON): {detail}")
