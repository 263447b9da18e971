"""The embedded warehouse: one DuckDB file, loaded straight from the JSON files by DuckDB itself."""

from __future__ import annotations

import random
import time
from collections.abc import Iterator, Sequence
from contextlib import closing, contextmanager
from datetime import date
from pathlib import Path
from typing import Any

import duckdb
from dagster import InitResourceContext
from pydantic import Field, PrivateAttr

from sparkify_assets.resources.day_batches import BATCH_BYTES, day_batches
from sparkify_assets.resources.line_chunks import CHUNK_BYTES, line_chunks
from sparkify_assets.resources.source import RawSource, SourceDataError, SourceObject, day_of_log_key
from sparkify_assets.resources.warehouse import (
    DayWindow,
    LoadStats,
    Params,
    Rows,
    Warehouse,
    WarehouseResourceError,
    used_params,
)
from sparkify_assets.sql import duckdb_json
from sparkify_assets.sql import staging as staging_sql
from sparkify_assets.sql.dialect import DUCKDB, Dialect
from sparkify_assets.tables import REJECTED_RECORDS, STAGING_EVENTS, STAGING_SONGS, Table

_BOM = "chr(65279)"
MEMORY_LIMIT_VARIABLE = "SPARKIFY_DUCKDB_MEMORY_LIMIT"


def _is_resource_error(exc: duckdb.Error) -> bool:
    return isinstance(exc, duckdb.OutOfMemoryException) or (
        isinstance(exc, duckdb.IOException) and "no space left" in str(exc).lower())


class DuckSession:
    def __init__(self, con: duckdb.DuckDBPyConnection) -> None:
        self.con = con

    def execute(self, sql: str, params: Params = None) -> None:
        self.con.execute(sql, used_params(sql, params))

    def fetchall(self, sql: str, params: Params = None) -> list[tuple[Any, ...]]:
        return self.con.execute(sql, used_params(sql, params)).fetchall()


class DuckDBWarehouse(Warehouse):
    """A DuckDB file. One process writes at a time, so connecting retries while another holds the lock."""

    path: str = Field(description="The DuckDB database file; created with its folder if missing.")
    lock_timeout_seconds: float = Field(default=120.0, description="How long to wait for another writer.")
    memory_limit: str = Field(default="1GB", description="DuckDB's memory_limit (SPARKIFY_DUCKDB_MEMORY_LIMIT): "
                              "beyond it, large loads spill to disk instead of growing the process (DuckDB's own "
                              "default is 80% of RAM).")
    read_chunk_bytes: int = Field(default=CHUNK_BYTES, description="How much of a log file is read and split at "
                                  "a time: memory per file stays about this, whatever the file's size.")
    batch_bytes: int = Field(default=BATCH_BYTES, description="A log load stages whole days a batch at a time, "
                             "a batch holding at least this much log: DuckDB then holds one batch, not a backfill.")
    _con: duckdb.DuckDBPyConnection | None = PrivateAttr(default=None)
    _shared: bool = PrivateAttr(default=False)

    def setup_for_execution(self, context: InitResourceContext) -> None:
        """One connection for the whole run in this process (opening the file costs more than most queries),
        opened at first use: a sensor given this resource that only peeks (read_if_available) takes no lock."""
        self._shared = True

    def teardown_after_execution(self, context: InitResourceContext) -> None:
        self._shared = False
        if self._con is not None:
            self._con.close()
            self._con = None

    @property
    def dialect(self) -> Dialect:
        return DUCKDB

    @property
    def kind(self) -> str:
        return "duckdb"

    def _connect(self) -> duckdb.DuckDBPyConnection:
        """A cursor on the run's connection (own transaction, own temp tables), or a fresh connection."""
        if self._shared and self._con is None:
            self._con = self._open()
        return self._con.cursor() if self._con is not None else self._open()

    def _open(self) -> duckdb.DuckDBPyConnection:
        Path(self.path).expanduser().parent.mkdir(parents=True, exist_ok=True)
        deadline = time.monotonic() + self.lock_timeout_seconds
        delay = 0.05
        while True:
            try:
                # Row order in a table carries no meaning here: without preserving it, loads stream in parallel.
                return duckdb.connect(str(Path(self.path).expanduser()),
                                      config={"preserve_insertion_order": False, "memory_limit": self.memory_limit})
            except duckdb.IOException as exc:
                if "lock" not in str(exc).lower() or time.monotonic() > deadline:
                    raise
                time.sleep(delay * (1 + random.random()))
                delay = min(delay * 2, 2.0)

    @contextmanager
    def transaction(self) -> Iterator[DuckSession]:
        """One transaction; running out of memory or disk in it fails as a WarehouseResourceError."""
        con = self._connect()
        with closing(con), self._resource_errors():
            con.execute("BEGIN TRANSACTION")
            try:
                yield DuckSession(con)
            except BaseException:
                con.execute("ROLLBACK")
                raise
            con.execute("COMMIT")

    def fetch_table(self, sql: str, params: Params = None) -> Rows:
        con = self._connect()
        with closing(con), self._resource_errors():
            cursor = con.execute(sql, used_params(sql, params))
            return [c[0] for c in cursor.description or []], cursor.fetchall()

    def read_if_available(self, sql: str, params: Params, table: Table) -> list[tuple[Any, ...]] | None:
        """Read-only and without waiting: while a run writes the file, DuckDB refuses any other process (None)."""
        path = Path(self.path).expanduser()
        if self._con is None and not path.exists():
            return []
        try:
            if self._con is not None:  # this process writes the file: read through its own connection
                return self.fetchall(sql, params)
            with duckdb.connect(str(path), read_only=True) as con:
                return con.execute(sql, used_params(sql, params)).fetchall()
        except duckdb.CatalogException:
            return []  # the table is created by the first load
        except duckdb.IOException as exc:
            if "lock" in str(exc).lower():
                return None
            raise

    # -- staging -------------------------------------------------------------------------------------------

    def stage_events(self, source: RawSource, objects: Sequence[SourceObject], window: DayWindow,
                     run_id: str) -> LoadStats:
        """The window's files a batch of whole days at a time (`day_batches`), in one transaction: a 30-day
        backfill holds one batch's lines and records in DuckDB at a time, not the whole window's."""
        bounds = {d: DayWindow((d,)).params for d in window.days}
        files = [
            (o, day.isoformat(), bounds[day]["start_ms"], bounds[day]["end_ms"])
            for o in objects if (day := day_of_log_key(o.key)) is not None
        ]
        records = """
  SELECT l.source_key, f.partition_key, f.day_start_ms, f.day_end_ms, l.line_number, l.text
  FROM _lines l JOIN _files f ON f.source_key = l.source_key"""
        with source.local_files(objects) as paths, self.transaction() as s:
            self.ensure_tables(s, (STAGING_EVENTS, REJECTED_RECORDS))
            params = self._clear_scope(s, STAGING_EVENTS, window, run_id)
            total = LoadStats(files=len(objects), bytes=sum(o.size for o in objects))
            not_json: list[tuple[str, int, str]] = []
            for batch in day_batches(files, lambda f: date.fromisoformat(f[1]), lambda f: f[0].size,
                                     self.batch_bytes):
                self._load_files(s, batch, paths)
                self._load_lines(s, [(o.key, paths[o.key], source.uri(o.key)) for o, *_ in batch])
                self._classify(s, duckdb_json.classify_sql(STAGING_EVENTS, records, "text", True), "text", paths,
                               source)
                s.execute("DROP TABLE _lines")
                not_json += self._files_without_json(s)
                self._add(total, self._insert_classified(s, STAGING_EVENTS, params))
            self._fail_files_without_json(not_json, source)
            total.sample_rejects = sorted(total.sample_rejects)[:10]
            return total

    def stage_songs(self, source: RawSource, objects: Sequence[SourceObject], run_id: str) -> LoadStats:
        files = [(o, None, None, None) for o in objects]
        records = f"""
  SELECT f.source_key, f.partition_key, f.day_start_ms, f.day_end_ms, 1 AS line_number,
         trim(ltrim(t.content, {_BOM}), chr(10) || chr(13) || chr(9) || ' ') AS text
  FROM read_text($paths) t JOIN _files f ON f.path = t.filename"""
        with source.local_files(objects) as paths, self.transaction() as s:
            self.ensure_tables(s, (STAGING_SONGS, REJECTED_RECORDS))
            self._load_files(s, files, paths)
            classify = duckdb_json.classify_sql(STAGING_SONGS, records, "song_id", False, reread=False)
            self._classify(s, classify, "song_id", paths, source)
            return self._replace(s, STAGING_SONGS, None, run_id, sum(o.size for o in objects), len(objects))

    @staticmethod
    def _load_files(s: DuckSession, files: list[tuple[SourceObject, str | None, int | None, int | None]],
                    paths: dict[str, Path]) -> None:
        """The files' lineage in one statement (a row-by-row insert of 50,000 song files takes a minute)."""
        s.execute("""CREATE TEMP TABLE _files AS SELECT
  CAST(unnest($path) AS VARCHAR) AS path, CAST(unnest($key) AS VARCHAR) AS source_key,
  CAST(unnest($pk) AS VARCHAR) AS partition_key, CAST(unnest($lo) AS BIGINT) AS day_start_ms,
  CAST(unnest($hi) AS BIGINT) AS day_end_ms""", {
            "path": [str(paths[o.key]) for o, *_ in files], "key": [o.key for o, *_ in files],
            "pk": [pk for _, pk, _, _ in files], "lo": [lo for _, _, lo, _ in files],
            "hi": [hi for _, _, _, hi in files]})

    def _load_lines(self, s: DuckSession, files: list[tuple[str, Path, str]]) -> None:
        """Every non-blank line of the files into `_lines`, numbered, read chunk by chunk (any file size).

        DuckDB splits each chunk; trimming is done only where there is something to trim (a BOM on line 1, a CR,
        a leading blank): trim functions cost microseconds per line. The table spills to disk beyond the memory
        limit, so memory stays bounded whatever the size of a file or a load."""
        s.execute("CREATE TEMP TABLE _lines (source_key VARCHAR, line_number INTEGER, text VARCHAR)")
        insert = f"""INSERT INTO _lines
SELECT $key, line_number, text FROM (
  SELECT line_number, CASE WHEN ends_with(line, chr(13)) THEN rtrim(line, chr(13)) ELSE line END AS text
  FROM (
    SELECT CAST($first + n - 1 AS INTEGER) AS line_number,
           CASE WHEN $first + n = 2 AND starts_with(line, {_BOM}) THEN ltrim(line, {_BOM}) ELSE line END AS line
    FROM (SELECT unnest(lines) AS line, generate_subscripts(lines, 1) AS n
          FROM (SELECT string_split($text, chr(10)) AS lines))))
WHERE CASE WHEN text = '' THEN false WHEN NOT (starts_with(text, ' ') OR starts_with(text, chr(9))) THEN true
           ELSE trim(text, chr(9) || ' ') <> '' END"""
        for key, path, uri in files:
            for first, text in line_chunks(path, uri, self.read_chunk_bytes):
                s.execute(insert, {"key": key, "first": first, "text": text})

    @contextmanager
    def _resource_errors(self) -> Iterator[None]:
        """Out of memory or disk is the warehouse's limit, not the input's fault: say so, and which setting."""
        try:
            yield
        except duckdb.OutOfMemoryException as exc:
            raise WarehouseResourceError(
                f"DuckDB ran out of memory (memory_limit {self.memory_limit}, set by {MEMORY_LIMIT_VARIABLE}; "
                f"spilled data goes to the temp directory beside {self.path}): {exc}") from exc
        except duckdb.IOException as exc:
            if not _is_resource_error(exc):
                raise
            raise WarehouseResourceError(
                f"DuckDB ran out of disk space (the warehouse {self.path} and its temp directory; "
                f"{MEMORY_LIMIT_VARIABLE} sets how much stays in memory): {exc}") from exc

    @staticmethod
    def _classify(s: DuckSession, create: str, dedupe_on: str, paths: dict[str, Path], source: RawSource) -> None:
        try:
            s.execute(create, {"paths": sorted(str(p) for p in paths.values())})
        except duckdb.Error as exc:
            if _is_resource_error(exc):
                raise
            message = str(exc)
            for key, path in paths.items():
                message = message.replace(str(path), source.uri(key))
            raise SourceDataError(f"cannot read input: {message}") from None
        s.execute(duckdb_json.mark_duplicates_sql(dedupe_on))

    @staticmethod
    def _files_without_json(s: DuckSession) -> list[tuple[str, int, str]]:
        """Files of `_classified` with no JSON line at all: (key, first line, its start), at most 3."""
        return [(k, n, t) for k, n, t in s.fetchall("""
SELECT source_key, arg_min(line_number, line_number), arg_min(left(text, 80), line_number) FROM _classified
GROUP BY source_key HAVING NOT bool_or(is_json) ORDER BY source_key LIMIT 3""")]

    @staticmethod
    def _fail_files_without_json(bad: list[tuple[str, int, str]], source: RawSource) -> None:
        """A file with no JSON line at all is not JSON lines: fail it whole rather than quarantine every line."""
        if bad:
            detail = "; ".join(f"{source.uri(k)} line {n}: {t!r}" for k, n, t in sorted(bad)[:3])
            raise SourceDataError(f"not JSON lines (no line parses as JSON): {detail}")

    def _replace(self, s: DuckSession, table: Table, window: DayWindow | None, run_id: str,
                 nbytes: int, nfiles: int) -> LoadStats:
        params = self._clear_scope(s, table, window, run_id)
        stats = self._insert_classified(s, table, params)
        stats.files, stats.bytes = nfiles, nbytes
        return stats

    @staticmethod
    def _clear_scope(s: DuckSession, table: Table, window: DayWindow | None, run_id: str) -> dict[str, Any]:
        """Delete what the load replaces (its days, or the whole table) and its quarantine; the load's parameters."""
        params = {"target_table": table.name, "run_id": run_id, **(window.params if window else {})}
        if window:
            params |= {"first_day": window.partition_keys[0], "last_day": window.partition_keys[-1]}
        s.execute(staging_sql.delete_scope_sql(DUCKDB, table), params)
        s.execute(staging_sql.delete_rejected_sql(DUCKDB, partitioned=window is not None), params)
        return params

    @staticmethod
    def _insert_classified(s: DuckSession, table: Table, params: dict[str, Any]) -> LoadStats:
        """`_classified` into the table and quarantine; its counts and first rejects; the temp tables dropped."""
        s.execute(staging_sql.insert_loaded_sql(table))
        s.execute(duckdb_json.insert_rejected_sql(), params)
        # `_classified` holds exactly one row per input record (it is never filtered): that is `read`.
        ((read, loaded, rejected),) = s.fetchall(
            "SELECT count(*), count(*) FILTER (WHERE reason IS NULL), count(*) FILTER (WHERE reason IS NOT NULL) "
            "FROM _classified")
        sample = s.fetchall("SELECT source_key, line_number, reason FROM _classified WHERE reason IS NOT NULL "
                            "ORDER BY source_key, line_number LIMIT 10")
        for temp in ("_classified", "_files"):
            s.execute(f"DROP TABLE {temp}")
        return LoadStats(read=read, loaded=loaded, rejected=rejected, sample_rejects=[(k, n, r) for k, n, r in sample])

    @staticmethod
    def _add(total: LoadStats, batch: LoadStats) -> None:
        total.read += batch.read
        total.loaded += batch.loaded
        total.rejected += batch.rejected
        total.sample_rejects += batch.sample_rejects
