"""The embedded warehouse: one DuckDB file, loaded straight from the JSON files by DuckDB itself.

That file is the pipeline's private working copy. Readers open another file, to which loads whose checks passed
are published (`duckdb_publish`): a reader connected to the working file would block every load.
"""

from __future__ import annotations

import random
import time
from collections.abc import Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import closing, contextmanager
from pathlib import Path
from typing import Any

import duckdb
from dagster import InitResourceContext
from pydantic import Field, PrivateAttr

from sparkify_assets.day_window import DayWindow
from sparkify_assets.pools import DUCKDB_WAREHOUSE_POOL
from sparkify_assets.resources.duckdb_publish import Publication
from sparkify_assets.resources.line_chunks import CHUNK_BYTES, line_chunks, plain_line_count, utf8_error
from sparkify_assets.resources.source import SONG_PREFIX, RawSource, SourceDataError, SourceObject, day_of_log_key
from sparkify_assets.resources.warehouse import (
    LoadStats,
    Params,
    Rows,
    Warehouse,
    WarehouseResourceError,
    used_params,
)
from sparkify_assets.sql import duckdb_json, song_files
from sparkify_assets.sql import staging as staging_sql
from sparkify_assets.sql.dialect import DUCKDB, Dialect
from sparkify_assets.tables import REJECTED_RECORDS, SOURCE_VERSIONS, STAGING_EVENTS, STAGING_SONGS, Table

_BOM = "chr(65279)"
MEMORY_LIMIT_VARIABLE = "SPARKIFY_DUCKDB_MEMORY_LIMIT"
SONG_READ_BATCH = 10_000  # song files read per insert: a few MB in memory, whatever the catalogue's size


def _song_records() -> str:
    """Each song file as one record (line 1), from `_files` and the texts in `_song_texts`."""
    return f"""
  SELECT f.source_key, f.partition_key, f.day_start_ms, f.day_end_ms, 1 AS line_number,
         trim(ltrim(t.content, {_BOM}), chr(10) || chr(13) || chr(9) || ' ') AS text, t.encoding_error
  FROM _song_texts t JOIN _files f ON f.path = t.path"""


def _is_resource_error(exc: duckdb.Error) -> bool:
    return isinstance(exc, duckdb.OutOfMemoryException) or (
        isinstance(exc, duckdb.IOException) and "no space left" in str(exc).lower())


_DayFile = tuple[SourceObject, str, int, int]  # a log file, its day, and the day's bounds in epoch ms


class _FastReadError(Exception):
    """read_json could not read one of the files of a fast scan (which aborts the transaction)."""


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
    fast_path: bool = Field(default=True, description="Load log files that are entirely valid through one typed "
                            "read_json scan; a file where that scan finds any problem (or cannot prove it has none) "
                            "is checked record by record. False checks every file record by record (same tables).")
    publish_path: str | None = Field(default=None, description="The file readers open (SPARKIFY_DUCKDB_PATH): "
                                     "views over the checked loads, published at the end of each run. None: "
                                     "nothing is published (readers would have to share `path`).")
    publish_retention_hours: float = Field(default=24.0, description="How long a superseded published piece is "
                                           "kept for readers still connected to an earlier state.")
    _con: duckdb.DuckDBPyConnection | None = PrivateAttr(default=None)
    _shared: bool = PrivateAttr(default=False)
    _publication: Publication | None = PrivateAttr(default=None)

    def setup_for_execution(self, context: InitResourceContext) -> None:
        """One connection for the whole run in this process (opening the file costs more than most queries),
        opened at first use: a sensor given this resource that only peeks (read_if_available) takes no lock."""
        self._shared = True

    def teardown_after_execution(self, context: InitResourceContext) -> None:
        """The end of the run (of the step, under the multiprocess executor): its checked loads go to readers."""
        self._shared = False
        try:
            if self._publication is not None:
                self._publication.publish()
        finally:
            if self._con is not None:
                self._con.close()
                self._con = None

    @property
    def publication(self) -> Publication | None:
        if self.publish_path is None:
            return None
        if self._publication is None:
            self._publication = Publication.beside(Path(self.publish_path).expanduser(),
                                                   self.publish_retention_hours * 3600)
        return self._publication

    def checks_passed(self, table: Table, window: DayWindow | None) -> None:
        """Export the checked scope for readers; published at the end of the run (at once outside a run)."""
        publication = self.publication
        if publication is None:
            return
        con = self._connect()
        with closing(con), self._resource_errors():
            publication.export(con, table, window)
        if not self._shared:
            publication.publish()

    @property
    def dialect(self) -> Dialect:
        return DUCKDB

    @property
    def kind(self) -> str:
        return "duckdb"

    @property
    def pool(self) -> str | None:
        """The file takes one writing process at a time: its steps share a pool limited to 1."""
        return DUCKDB_WAREHOUSE_POOL

    def _connect(self) -> duckdb.DuckDBPyConnection:
        """A cursor on the run's connection (own transaction, own temp tables), or a fresh connection."""
        if self._shared and self._con is None:
            self._con = self._open()
        return self._con.cursor() if self._con is not None else self._open()

    def _open(self) -> duckdb.DuckDBPyConnection:
        Path(self.path).expanduser().parent.mkdir(parents=True, exist_ok=True)
        if self.publication is not None:
            if not Path(self.path).expanduser().exists():
                self.publication.adopt(Path(self.path).expanduser())
            self.publication.ensure_published()
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
        with closing(con), self._resource_errors(), self._begin(con) as session:
            yield session

    @staticmethod
    @contextmanager
    def _begin(con: duckdb.DuckDBPyConnection) -> Iterator[DuckSession]:
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
            fast_keys = {o.key for o, *_ in files} if self.fast_path else set()
            plain = pool.submit(lambda keys: {k: plain_line_count(paths[k]) for k in keys}, frozenset(fast_keys))
            for attempt in range(3):
                try:
                    return self._stage_events(source, objects, files, paths, window, run_id, fast_keys, plain)
                except _FastReadError:  # find the files the scan reads alone; if those fail together, none
                    fast_keys = self._readable(fast_keys, paths) if attempt == 0 else set()
            raise AssertionError("unreachable: the last attempt has no fast scan")

    def _stage_events(self, source: RawSource, objects: Sequence[SourceObject], files: list[_DayFile],
                      paths: dict[str, Path], window: DayWindow, run_id: str, fast_keys: set[str],
                      plain: Future[dict[str, int | None]]) -> LoadStats:
        params = self._scope_params(STAGING_EVENTS, window, run_id)
        with self.transaction() as s:
            self.ensure_tables(s, (STAGING_EVENTS, REJECTED_RECORDS))
            self._load_files(s, files, paths)
            self._delete_scope(s, STAGING_EVENTS, window, params)
            fast = self._insert_fast(s, [f for f in files if f[0].key in fast_keys], paths, params, plain)
            self._classify_events(s, [o for o, *_ in files], paths, source, fast, params)
            self._fail_files_without_json(s, source)
            return self._insert_classified(s, STAGING_EVENTS, params, sum(o.size for o in objects), len(objects),
                                           fast)

    def _insert_fast(self, s: DuckSession, files: list[_DayFile], paths: dict[str, Path], params: dict[str, Any],
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
            if _is_resource_error(exc):
                raise
            raise _FastReadError(str(exc)) from exc
        lines = plain.result()
        fast = {key: rows for key, rows, first, last, repeated
                in s.fetchall(duckdb_json.fast_files_sql(STAGING_EVENTS), {**params, "keys": keys})
                if rows == lines[key] and first == 1 and last == rows and not repeated}
        s.execute(duckdb_json.delete_files_sql(STAGING_EVENTS), {**params, "keys": [k for k in keys if k not in fast]})
        return fast

    def _readable(self, keys: set[str], paths: dict[str, Path]) -> set[str]:
        """The files read_json reads without error, each tried alone (after a scan of all of them failed)."""
        readable = set()
        with closing(self._connect()) as con, self._resource_errors():
            for key in sorted(keys):
                try:
                    con.execute(duckdb_json.fast_probe_sql(STAGING_EVENTS),
                                {"path": str(paths[key]), "columns": duckdb_json.fast_read_columns(STAGING_EVENTS)})
                    readable.add(key)
                except duckdb.Error as exc:
                    if _is_resource_error(exc):
                        raise
        return readable

    def _classify_events(self, s: DuckSession, objects: list[SourceObject], paths: dict[str, Path],
                         source: RawSource, fast: dict[str, int], params: dict[str, Any]) -> None:
        """`_classified` for every file not in `fast`, record by record; `fast` loses any file holding a record
        whose values equal one of those (only the texts can tell whether it is an exact copy), until none does."""
        records = """
  SELECT l.source_key, f.partition_key, f.day_start_ms, f.day_end_ms, l.line_number, l.text, l.encoding_error
  FROM _lines l JOIN _files f ON f.source_key = l.source_key"""
        s.execute("CREATE TEMP TABLE _lines (source_key VARCHAR, line_number INTEGER, text VARCHAR, "
                  "encoding_error VARCHAR)")
        slow = [o for o in objects if o.key not in fast]
        while True:
            self._load_lines(s, [(o.key, paths[o.key], source.uri(o.key)) for o in slow])
            self._classify(s, duckdb_json.classify_sql(STAGING_EVENTS, records, "text", True), "text", paths,
                           source)
            moved = sorted(k for (k,) in s.fetchall(duckdb_json.fast_copies_sql(STAGING_EVENTS),
                                                    {**params, "keys": list(fast)})) if fast else []
            if not moved:
                break
            s.execute(duckdb_json.delete_files_sql(STAGING_EVENTS), {**params, "keys": moved})
            for key in moved:
                del fast[key]
            s.execute("DROP TABLE _classified")
            slow = [o for o in objects if o.key in moved]
        s.execute("DROP TABLE _lines")

    def stage_songs(self, source: RawSource, objects: Sequence[SourceObject], run_id: str) -> LoadStats:
        """Read only the song files that are new or changed since the last load (and the unchanged ones competing
        with them for a song_id); a full reload when the recorded per-file versions do not describe the tables."""
        params = {"target_table": STAGING_SONGS.name, "digest_key": SONG_PREFIX, "run_id": run_id}
        with self.transaction() as s:
            self.ensure_tables(s, (STAGING_SONGS, REJECTED_RECORDS, SOURCE_VERSIONS))
            s.execute(song_files.create_listing_sql(),
                      {"key": [o.key for o in objects], "version": [o.version for o in objects]})
            ((recorded, staged, rejected),) = s.fetchall(song_files.counts_sql(), params)
            if recorded == 0 or recorded != staged + rejected:
                stats = self._songs_full(s, source, objects, params)
            else:
                stats = self._songs_changed(s, source, objects, params, recorded)
            s.execute("DROP TABLE _song_listing")
            return stats

    def _songs_full(self, s: DuckSession, source: RawSource, objects: Sequence[SourceObject],
                    params: dict[str, Any]) -> LoadStats:
        with source.local_files(objects) as paths:
            self._classify_songs(s, objects, paths, source)
        stats = self._replace(s, STAGING_SONGS, None, params["run_id"], sum(o.size for o in objects), len(objects))
        for sql in song_files.record_versions_sql(whole=True):
            s.execute(sql, params)
        stats.detail = {"load_mode": "full", "files_listed": len(objects)}
        return stats

    def _songs_changed(self, s: DuckSession, source: RawSource, objects: Sequence[SourceObject],
                       params: dict[str, Any], recorded: int) -> LoadStats:
        s.execute(song_files.create_gone_sql(), params)
        gone = {k for (k,) in s.fetchall("SELECT source_key FROM _song_gone")}
        by_key = {o.key: o for o in objects}
        changed = [by_key[k] for k in sorted(gone) if k in by_key]
        classified = loaded = rejected = 0
        sample: list[tuple[str, int, str]] = []
        with source.local_files(changed) as changed_paths:
            if changed:
                self._load_files(s, [(o, None, None, None) for o in changed], changed_paths)
                new_ids = (f"SELECT CASE WHEN json_valid(text) THEN json_extract_string(text, '$.song_id') END "
                           f"AS song_id FROM ({_song_records()})")
                self._load_song_texts(s, changed_paths, source)
                s.execute("CREATE TEMP TABLE _song_new_ids AS " + new_ids)
                s.execute("DROP TABLE _files")
                s.execute("DROP TABLE _song_texts")
            else:
                s.execute("CREATE TEMP TABLE _song_new_ids (song_id VARCHAR)")
            s.execute(song_files.create_scope_sql("SELECT song_id FROM _song_new_ids"), params)
            scope = {k for (k,) in s.fetchall("SELECT source_key FROM _song_scope")}
            reread = [by_key[k] for k in sorted(scope - gone) if k in by_key]
            read = [*changed, *reread]
            for sql in song_files.delete_scope_sql():
                s.execute(sql, params)
            if read:
                with source.local_files(reread) as reread_paths:
                    self._classify_songs(s, read, {**changed_paths, **reread_paths}, source)
                now = self._insert_classified(s, STAGING_SONGS, params, 0, 0, None)
                classified, loaded, rejected, sample = now.read, now.loaded, now.rejected, now.sample_rejects
        for sql in song_files.record_versions_sql(whole=False):
            s.execute(sql, params)
        ((_, total_loaded, total_rejected),) = s.fetchall(song_files.counts_sql(), params)
        for temp in ("_song_gone", "_song_new_ids", "_song_scope"):
            s.execute(f"DROP TABLE {temp}")
        # Every listed file is one record: those read now, and those kept as earlier loads left them.
        return LoadStats(files=len(read), bytes=sum(o.size for o in read), read=classified + len(objects) - len(read),
                         loaded=total_loaded, rejected=total_rejected,
                         sample_rejects=sample,
                         detail={"load_mode": "incremental", "files_listed": len(objects),
                                 "files_new_or_changed": len(changed), "files_removed": len(gone) - len(changed),
                                 "files_reread_for_song_id": len(reread), "rows_loaded_now": loaded,
                                 "rows_rejected_now": rejected})

    def _classify_songs(self, s: DuckSession, objects: Sequence[SourceObject], paths: dict[str, Path],
                        source: RawSource) -> None:
        self._load_files(s, [(o, None, None, None) for o in objects], paths)
        self._load_song_texts(s, paths, source)
        classify = duckdb_json.classify_sql(STAGING_SONGS, _song_records(), "song_id", False, reread=False)
        self._classify(s, classify, "song_id", paths, source)
        s.execute("DROP TABLE _song_texts")

    @staticmethod
    def _load_song_texts(s: DuckSession, paths: dict[str, Path], source: RawSource) -> None:
        """The song files' texts into `_song_texts`, read here a batch at a time: a catalogue is many small files,
        which DuckDB's read_text opens about four times slower than Python (10.5 s against 2.4 s for 50,000)."""
        s.execute("CREATE TEMP TABLE _song_texts (path VARCHAR, content VARCHAR, encoding_error VARCHAR)")
        items = sorted((key, str(path)) for key, path in paths.items())
        for i in range(0, len(items), SONG_READ_BATCH):
            batch = items[i:i + SONG_READ_BATCH]
            texts, errors = [], []
            for key, path in batch:
                try:
                    with open(path, "rb") as f:
                        data = f.read()
                except OSError as exc:
                    raise SourceDataError(f"cannot read {source.uri(key)}: {exc.strerror}") from None
                try:
                    texts.append(data.decode("utf-8"))
                    errors.append(None)
                except UnicodeDecodeError:  # the record is quarantined, as COPY rejects it
                    texts.append(data.decode("utf-8", "replace"))
                    errors.append(utf8_error(data))
            s.execute("INSERT INTO _song_texts SELECT unnest($path), unnest($content), unnest($error)",
                      {"path": [p for _, p in batch], "content": texts, "error": errors})

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
        """Every non-blank line of the files appended to `_lines`, numbered, read chunk by chunk (any file size).

        DuckDB splits each chunk; trimming is done only where there is something to trim (a BOM on line 1, a CR,
        a leading blank): trim functions cost microseconds per line. The table spills to disk beyond the memory
        limit, so memory stays bounded whatever the size of a file or a load."""
        insert = f"""INSERT INTO _lines
SELECT $key, line_number, text, NULL FROM (
  SELECT line_number, CASE WHEN ends_with(line, chr(13)) THEN rtrim(line, chr(13)) ELSE line END AS text
  FROM (
    SELECT CAST($first + n - 1 AS INTEGER) AS line_number,
           CASE WHEN $first + n = 2 AND starts_with(line, {_BOM}) THEN ltrim(line, {_BOM}) ELSE line END AS line
    FROM (SELECT unnest(lines) AS line, generate_subscripts(lines, 1) AS n
          FROM (SELECT string_split($text, chr(10)) AS lines))))
WHERE CASE WHEN text = '' THEN false WHEN NOT (starts_with(text, ' ') OR starts_with(text, chr(9))) THEN true
           ELSE trim(text, chr(9) || ' ') <> '' END"""
        for key, path, uri in files:
            invalid: list[tuple[int, str, str]] = []  # lines that are not UTF-8: quarantined, as COPY does
            for first, text in line_chunks(path, uri, self.read_chunk_bytes, invalid):
                s.execute(insert, {"key": key, "first": first, "text": text})
            if invalid:
                s.execute("INSERT INTO _lines SELECT $key, unnest($n), unnest($text), unnest($reason)",
                          {"key": key, "n": [n for n, _, _ in invalid], "text": [t for _, _, t in invalid],
                           "reason": [r for _, r, _ in invalid]})

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
    def _fail_files_without_json(s: DuckSession, source: RawSource) -> None:
        """A file with no JSON line at all is not JSON lines: fail it whole rather than quarantine every line."""
        bad = s.fetchall("""
SELECT source_key, arg_min(line_number, line_number), arg_min(left(text, 80), line_number) FROM _classified
GROUP BY source_key HAVING NOT bool_or(is_json) ORDER BY source_key LIMIT 3""")
        if bad:
            detail = "; ".join(f"{source.uri(k)} line {n}: {t!r}" for k, n, t in bad)
            raise SourceDataError(f"not JSON lines (no line parses as JSON): {detail}")

    @staticmethod
    def _scope_params(table: Table, window: DayWindow | None, run_id: str) -> dict[str, Any]:
        return {"target_table": table.name, "run_id": run_id, **(window.params if window else {})}

    @staticmethod
    def _delete_scope(s: DuckSession, table: Table, window: DayWindow | None, params: dict[str, Any]) -> None:
        """The load's scope out of the table and out of quarantine (its days, or all of an unpartitioned table)."""
        s.execute(staging_sql.delete_scope_sql(DUCKDB, table), params)
        s.execute(staging_sql.delete_rejected_sql(DUCKDB, partitioned=window is not None), params)

    def _replace(self, s: DuckSession, table: Table, window: DayWindow | None, run_id: str,
                 nbytes: int, nfiles: int) -> LoadStats:
        params = self._scope_params(table, window, run_id)
        self._delete_scope(s, table, window, params)
        return self._insert_classified(s, table, params, nbytes, nfiles, None)

    @staticmethod
    def _insert_classified(s: DuckSession, table: Table, params: dict[str, Any], nbytes: int, nfiles: int,
                           fast: dict[str, int] | None) -> LoadStats:
        """`_classified`'s loadable rows into the table, its rejected ones into quarantine; the stats add the rows
        the fast path loaded (`fast`: rows per file; None where there is no fast path)."""
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
        fast_rows = sum(fast.values()) if fast else 0
        return LoadStats(files=nfiles, bytes=nbytes, read=read + fast_rows, loaded=loaded + fast_rows,
                         rejected=rejected, sample_rejects=[(k, n, r) for k, n, r in sample],
                         fast_files=None if fast is None else len(fast))
