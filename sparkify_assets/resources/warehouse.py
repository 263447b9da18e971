"""What the assets and checks need from a warehouse, whichever engine it is.

DuckDB (embedded) and Redshift (production) implement it; assets and checks never branch on the engine.
Everything that writes goes through `transaction()`, so a failure part-way leaves the previous state.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, Protocol

from dagster import ConfigurableResource

from sparkify_assets.day_window import DayWindow
from sparkify_assets.resources.source import RawSource, SourceObject
from sparkify_assets.sql.dialect import Dialect
from sparkify_assets.tables import Table

Params = Mapping[str, Any] | None
Rows = tuple[list[str], list[tuple[Any, ...]]]  # column names, and the rows


class Session(Protocol):
    """One open transaction."""

    def execute(self, sql: str, params: Params = None) -> None: ...

    def fetchall(self, sql: str, params: Params = None) -> list[tuple[Any, ...]]: ...


class WarehouseResourceError(Exception):
    """The warehouse ran out of memory or disk during a load: not bad input, so nothing is quarantined; the
    message names the setting that governs the limit."""


@dataclass
class LoadStats:
    """What a staging load read and did with it; reported as materialization metadata."""

    files: int = 0
    bytes: int = 0
    read: int = 0
    loaded: int = 0
    rejected: int = 0
    sample_rejects: list[tuple[str, int, str]] = field(default_factory=list)  # (key, line, reason)
    fast_files: int | None = None  # files loaded by one typed scan, without per-record checks (None: no such path)
    detail: dict[str, Any] = field(default_factory=dict)  # how the load went (e.g. incremental): more metadata


class Warehouse(ConfigurableResource, ABC):
    """The engine is chosen once, by choosing the resource: the assets and checks are built from it (its dialect,
    the kind they show, the pool their steps take) and never name an engine themselves."""

    @property
    @abstractmethod
    def dialect(self) -> Dialect:
        """The SQL every asset and check runs on this warehouse."""

    @property
    @abstractmethod
    def kind(self) -> str:
        """The Dagster kind shown on the assets ('duckdb', 'redshift')."""

    @property
    @abstractmethod
    def pool(self) -> str | None:
        """The concurrency pool of every step that uses this warehouse (pools.py); None: no limit."""

    @abstractmethod
    @contextmanager
    def transaction(self) -> Iterator[Session]:
        """Commit on success, roll back on any exception."""

    @abstractmethod
    def fetch_table(self, sql: str, params: Params = None) -> Rows:
        """A small result with its column names (previews, check examples); never for moving rows."""

    @abstractmethod
    def stage_events(self, source: RawSource, objects: Sequence[SourceObject], window: DayWindow,
                     run_id: str) -> LoadStats:
        """Replace the window's staging_events rows with the valid lines of `objects`; quarantine the rest."""

    @abstractmethod
    def stage_songs(self, source: RawSource, objects: Sequence[SourceObject], run_id: str) -> LoadStats:
        """Replace staging_songs with the valid song files; quarantine the rest."""

    def fetchall(self, sql: str, params: Params = None) -> list[tuple[Any, ...]]:
        with self.transaction() as session:
            return session.fetchall(sql, params)

    def read_if_available(self, sql: str, params: Params, table: Table) -> list[tuple[Any, ...]] | None:
        """A small read for a sensor, which must not wait on the warehouse: None when it cannot be read right now.

        `table` is created when missing (nothing loaded yet reads as no rows).
        """
        with self.transaction() as session:
            self.ensure_tables(session, (table,))
            return session.fetchall(sql, params)

    def checks_passed(self, table: Table, window: DayWindow | None) -> None:
        """Every blocking check of `table` passed on `window` (its days, or all of it): readers may see it now.

        Nothing to do where readers share the warehouse (Redshift: they see each load when it commits)."""

    def ensure_tables(self, session: Session, tables: Sequence[Table]) -> None:
        for table in tables:
            session.execute(self.dialect.create_table(table))

    def run(self, statements: Sequence[str], params: Params = None, ensure: Sequence[Table] = ()) -> None:
        """Statements in one transaction, after idempotent DDL for the tables they touch."""
        with self.transaction() as session:
            self.ensure_tables(session, ensure)
            for sql in statements:
                session.execute(sql, params)


def used_params(sql: str, params: Params) -> dict[str, Any] | None:
    """Only the parameters a statement names: drivers reject unused named parameters."""
    if not params:
        return None
    used = {k: v for k, v in params.items() if f"${k}" in sql or f"%({k})s" in sql}
    return used or None
