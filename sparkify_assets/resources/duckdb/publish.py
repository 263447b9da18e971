"""Publishing the embedded warehouse to its readers: loads write a private working file; readers open another.

DuckDB gives a database file to one process at a time once anyone writes it (a read-only reader blocks every
writer), so readers and the pipeline never share a file. The file readers open (`SPARKIFY_DUCKDB_PATH`) holds only
views over immutable Parquet files ("pieces": one per day of a daily table, one per unpartitioned table):

- when a table's blocking checks pass, its check step exports the days it checked (or the whole table) from the
  working file into new pieces (`export`); a load whose checks fail exports nothing, so readers keep that
  table's previous state;
- at the end of the run the new pieces are published together (`publish`): the manifest (which piece is current)
  is replaced atomically, then a new views file is written beside the published one and renamed over it. A reader
  connected before keeps the old file (its inode) and the pieces it names; a new connection sees the new state.

Publishing costs what changed (the days checked, the unpartitioned tables checked) plus a views file of a few
kilobytes, whatever the warehouse's size. Superseded pieces are kept for the retention period (a reader connected
before may still read them), then deleted; so are pieces a killed run exported but never published.
"""

from __future__ import annotations

import fcntl
import json
import os
import time
import uuid
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import duckdb

from sparkify_assets.day_window import DayWindow, time_predicate
from sparkify_assets.sql import duckdb_publish as publish_sql
from sparkify_assets.sql.dialect import DUCKDB
from sparkify_assets.tables import (
    ALL_TABLES,
    REJECTED_RECORDS,
    SOURCE_VERSIONS,
    STAGING_EVENTS,
    STAGING_SONGS,
    TABLES_BY_NAME,
    Table,
)

MANIFEST = "manifest.json"
STORAGE_VERSION = "v1.0.0"
# Quarantine and file versions are published with the load they belong to (their rows for its days): a staging
# load's rejects and file versions; a derived table's record of the versions it was built from (loaded_versions).
_STAGING_COMPANIONS = {STAGING_EVENTS.name: (REJECTED_RECORDS, SOURCE_VERSIONS),
                       STAGING_SONGS.name: (REJECTED_RECORDS, SOURCE_VERSIONS)}


def _companions(table: Table) -> tuple[Table, ...]:
    if table.name in _STAGING_COMPANIONS:
        return _STAGING_COMPANIONS[table.name]
    return () if table in (REJECTED_RECORDS, SOURCE_VERSIONS) else (SOURCE_VERSIONS,)

Pieces = dict[str, dict[str, str]]  # table name -> piece name -> file name (relative to the publication folder)


def _stamp(file_name: str) -> int:
    """The export time (ns) a piece's file name carries: of two pieces of the same name, the later wins."""
    return int(file_name.rsplit(".", 2)[-2].split("-")[0])


@dataclass
class Publication:
    """Where the readers' file and its pieces live, and how long superseded pieces are kept."""

    published: Path  # the views file readers open
    folder: Path  # pieces, manifest and lock
    retention_seconds: float = 24 * 3600.0
    pending: Pieces = field(default_factory=dict)  # exported by this process, not yet published

    @classmethod
    def beside(cls, published: Path, retention_seconds: float) -> Publication:
        """The pieces in a folder beside the published file: data/warehouse.duckdb -> data/warehouse.published/."""
        return cls(published, published.with_name(published.stem + ".published"), retention_seconds)

    # -- export (in a check step, through the working file's connection) ---------------------------------------

    def export(self, con: duckdb.DuckDBPyConnection, table: Table, window: DayWindow | None) -> None:
        """The checked scope of `table` (and its companions' rows for the same load) into new pieces, pending
        once all of them are written (a failed export leaves files no manifest names, cleaned up later)."""
        written: list[tuple[str, str, str]] = []
        for target, piece, where, params in self._scopes(table, window):
            rel = f"{target.name}/{piece}.{time.time_ns()}-{uuid.uuid4().hex[:8]}.parquet"
            (self.folder / rel).parent.mkdir(parents=True, exist_ok=True)
            self._copy(con, target, where, params, self.folder / rel)
            written.append((target.name, piece, rel))
        for name, piece, rel in written:
            self.pending.setdefault(name, {})[piece] = rel

    @staticmethod
    def _copy(con: duckdb.DuckDBPyConnection, table: Table, where: str, params: dict[str, Any], path: Path) -> None:
        for name, value in params.items():  # values set as session variables: COPY itself takes no parameters
            con.execute(publish_sql.set_variable_sql(name), [value])
        con.execute(publish_sql.export_sql(table, where, list(params), str(path)))

    @staticmethod
    def _scopes(table: Table, window: DayWindow | None) -> Iterator[tuple[Table, str, str, dict[str, Any]]]:
        """(table, piece name, predicate, its values) for every piece a checked load of `table` replaces."""
        days = [DayWindow.of_day(d) for d in window.days] if window and table.partition_column else [None]
        for day in days:
            if day is None:
                yield table, "all", "1 = 1", {}
            else:
                yield table, day.partition_keys[0], time_predicate(table, DUCKDB), day.params
        for companion in _companions(table):
            for day in days:
                if day is None:
                    yield companion, table.name, publish_sql.by_target(), {"target_table": table.name}
                else:
                    key = day.partition_keys[0]
                    yield (companion, f"{table.name}.{key}", publish_sql.by_target_day(),
                           {"target_table": table.name, "day": key})

    # -- publish (at the end of the run) ------------------------------------------------------------------

    def publish(self) -> None:
        """Make the pending pieces what readers see, all at once; then delete what no reader can still need."""
        if not self.pending:
            return
        with self._locked():
            manifest = self._read_manifest()
            current: Pieces = manifest.setdefault("tables", {})
            retired: dict[str, float] = manifest.setdefault("retired", {})
            now = time.time()
            for name, pieces in self.pending.items():
                mine = current.setdefault(name, {})
                for piece, rel in pieces.items():
                    old = mine.get(piece)
                    if old is not None and _stamp(old) > _stamp(rel):
                        retired[rel] = now  # a later export of the same piece was published first: it stays
                        continue
                    if old is not None:
                        retired[old] = now
                    mine[piece] = rel
            # The manifest first: if the process dies before the rename, readers keep the previous whole state and
            # the next publish writes the views for this manifest (the other order could orphan named pieces).
            self._write_atomically(self.folder / MANIFEST, json.dumps(manifest, indent=1, sort_keys=True))
            self.write_views(current)
            self.pending = {}
            self._clean(manifest)

    def write_views(self, current: Mapping[str, Mapping[str, str]]) -> None:
        """A new views file for `current`, renamed over the published one (readers connected keep theirs)."""
        tmp = self.published.with_name(f"{self.published.name}.tmp-{os.getpid()}-{uuid.uuid4().hex[:8]}")
        try:
            # In the oldest storage format DuckDB still writes: the file holds only views, and any DuckDB since
            # 1.0 (the CLI on PyPI, an analyst's older Python package) can open it; the pieces are plain Parquet.
            with duckdb.connect(str(tmp), config={"storage_compatibility_version": STORAGE_VERSION}) as con:
                for table in ALL_TABLES:
                    con.execute(self.view_sql(table, sorted(current.get(table.name, {}).values())))
                    con.execute(publish_sql.comment_view_sql(table))
                con.execute(publish_sql.CHECKPOINT_SQL)
            # A WAL beside the published path belongs to another database (a warehouse file from before readers
            # had their own): DuckDB would replay it into the views file.
            self.published.with_name(self.published.name + ".wal").unlink(missing_ok=True)
            os.replace(tmp, self.published)
        finally:
            for leftover in (tmp, tmp.with_name(tmp.name + ".wal")):
                leftover.unlink(missing_ok=True)

    def view_sql(self, table: Table, files: list[str]) -> str:
        return publish_sql.view_sql(table, [str(self.folder / rel) for rel in files])

    def ensure_published(self) -> None:
        """Readers may connect before the first load is published: they find empty tables, not a missing file."""
        if self.published.exists():
            return
        with self._locked():
            if not self.published.exists():
                self.write_views(self._read_manifest().get("tables", {}))

    # -- upgrading from one shared file ----------------------------------------------------------------------

    def adopt(self, working: Path) -> None:
        """Before readers had their own file, the warehouse was the published path itself. Copy such a warehouse
        to the working path, and publish all of it, so readers lose nothing and no day needs loading again."""
        if not self.published.exists():
            return
        tmp = working.with_name(f"{working.name}.adopt-{os.getpid()}")
        with self._locked(), duckdb.connect() as con:
            con.execute(publish_sql.attach_sql(str(self.published), "old", read_only=True))
            tables = {n for (n,) in con.execute(publish_sql.OLD_TABLES_SQL).fetchall()}
            if not tables or working.exists():
                return  # already a views file (or another process adopted it meanwhile)
            con.execute(publish_sql.attach_sql(str(tmp), "adopted"))
            con.execute(publish_sql.COPY_OLD_SQL)
            con.execute(publish_sql.DETACH_ADOPTED_SQL)
            os.replace(tmp, working)
        with duckdb.connect(str(working), read_only=True) as con:
            for table in ALL_TABLES:
                if table.name in tables and table not in (REJECTED_RECORDS, SOURCE_VERSIONS):
                    self.export(con, table, self._days_held(con, table))
        self.publish()

    @staticmethod
    def _days_held(con: duckdb.DuckDBPyConnection, table: Table) -> DayWindow | None:
        if table.partition_column is None:
            return None
        days = [d for (d,) in con.execute(publish_sql.days_held_sql(table)).fetchall()]
        return DayWindow(tuple(days)) if days else None

    # -- bookkeeping ------------------------------------------------------------------------------------

    @contextmanager
    def _locked(self) -> Iterator[None]:
        """One publisher at a time (two runs may end together); readers never take this lock."""
        self.folder.mkdir(parents=True, exist_ok=True)
        with open(self.folder / "publish.lock", "w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(lock, fcntl.LOCK_UN)

    def _read_manifest(self) -> dict[str, Any]:
        path = self.folder / MANIFEST
        return json.loads(path.read_text()) if path.exists() else {}

    @staticmethod
    def _write_atomically(path: Path, text: str) -> None:
        tmp = path.with_name(f"{path.name}.tmp-{os.getpid()}")
        with open(tmp, "w") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)

    def _clean(self, manifest: dict[str, Any]) -> None:
        """Delete superseded pieces older than the retention, and files no manifest names (a killed run's
        exports, a killed publish's temp files) once they are as old; a reader connected longer than the
        retention to a state since replaced loses those pieces (docs/analysts.md says to reconnect daily)."""
        cutoff = time.time() - self.retention_seconds
        retired: dict[str, float] = manifest["retired"]
        gone = [rel for rel, at in retired.items() if at < cutoff]
        for rel in gone:
            (self.folder / rel).unlink(missing_ok=True)
            del retired[rel]
        named = {rel for pieces in manifest["tables"].values() for rel in pieces.values()} | set(retired)
        for name in TABLES_BY_NAME:
            for path in (self.folder / name).glob("*.parquet") if (self.folder / name).is_dir() else ():
                rel = f"{name}/{path.name}"
                if rel not in named and path.stat().st_mtime < cutoff:
                    path.unlink(missing_ok=True)
        for path in self.published.parent.glob(f"{self.published.name}.tmp-*"):
            if path.stat().st_mtime < cutoff:
                path.unlink(missing_ok=True)
        if gone:
            self._write_atomically(self.folder / MANIFEST, json.dumps(manifest, indent=1, sort_keys=True))
