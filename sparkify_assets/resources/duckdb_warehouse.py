"""The embedded warehouse: one DuckDB file, loaded straight from the JSON files by DuckDB itself.

That file is the pipeline's private working copy. Readers open another file, to which loads whose checks passed
are published (`resources/duckdb/publish.py`): a reader connected to the working file would block every load.

This module is the resource: its settings, the connection and the file lock, transactions, and running out of
memory or disk. Loading is the jobs' in `resources/duckdb/` (events, songs), which take the resource.
"""

from __future__ import annotations

import random
import time
from collections.abc import Iterator, Sequence
from contextlib import closing, contextmanager
from pathlib import Path
from typing import Any

import duckdb
from dagster import InitResourceContext
from pydantic import Field, PrivateAttr

from sparkify_assets.day_window import DayWindow
from sparkify_assets.pools import DUCKDB_WAREHOUSE_POOL
from sparkify_assets.resources.duckdb import events, songs
from sparkify_assets.resources.duckdb.publish import Publication
from sparkify_assets.resources.duckdb.session import DuckSession, begin, is_resource_error
from sparkify_assets.resources.line_chunks import CHUNK_BYTES
from sparkify_assets.resources.source import RawSource, SourceObject
from sparkify_assets.resources.warehouse import (
    LoadStats,
    Params,
    Rows,
    Warehouse,
    WarehouseResourceError,
    used_params,
)
from sparkify_assets.sql.dialect import DUCKDB, Dialect
from sparkify_assets.tables import Table

MEMORY_LIMIT_VARIABLE = "SPARKIFY_DUCKDB_MEMORY_LIMIT"


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
        with self.connection() as con:
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
    def connection(self) -> Iterator[duckdb.DuckDBPyConnection]:
        """A connection outside any transaction; running out of memory or disk fails as a WarehouseResourceError."""
        con = self._connect()
        with closing(con), self._resource_errors():
            yield con

    @contextmanager
    def transaction(self) -> Iterator[DuckSession]:
        """One transaction; running out of memory or disk in it fails as a WarehouseResourceError."""
        with self.connection() as con, begin(con) as session:
            yield session

    def fetch_table(self, sql: str, params: Params = None) -> Rows:
        with self.connection() as con:
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

    # -- staging: each a job of its own module ---------------------------------------------------------------

    def stage_events(self, source: RawSource, objects: Sequence[SourceObject], window: DayWindow,
                     run_id: str) -> LoadStats:
        return events.stage_events(self, source, objects, window, run_id)

    def stage_songs(self, source: RawSource, objects: Sequence[SourceObject], run_id: str) -> LoadStats:
        return songs.stage_songs(self, source, objects, run_id)

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
            if not is_resource_error(exc):
                raise
            raise WarehouseResourceError(
                f"DuckDB ran out of disk space (the warehouse {self.path} and its temp directory; "
                f"{MEMORY_LIMIT_VARIABLE} sets how much stays in memory): {exc}") from exc
