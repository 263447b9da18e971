"""One DuckDB transaction, and telling the machine's limits (memory, disk) from errors in the input."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager
from typing import Any, Protocol

import duckdb

from sparkify_assets.resources.warehouse import Params, used_params
from sparkify_assets.sql import duckdb_load
from sparkify_assets.tables import Table


class DuckSession:
    """A connection inside one transaction, taking only the parameters each statement names."""

    def __init__(self, con: duckdb.DuckDBPyConnection) -> None:
        self.con = con

    def execute(self, sql: str, params: Params = None) -> None:
        self.con.execute(sql, used_params(sql, params))

    def fetchall(self, sql: str, params: Params = None) -> list[tuple[Any, ...]]:
        return self.con.execute(sql, used_params(sql, params)).fetchall()


class Store(Protocol):
    """What the staging jobs (events.py, songs.py) need of the DuckDB resource that runs them: declared here so
    they do not import the resource that imports them."""

    fast_path: bool
    read_chunk_bytes: int

    def connection(self) -> AbstractContextManager[duckdb.DuckDBPyConnection]: ...

    def transaction(self) -> AbstractContextManager[DuckSession]: ...

    def ensure_tables(self, session: Any, tables: Sequence[Table]) -> None: ...


@contextmanager
def begin(con: duckdb.DuckDBPyConnection) -> Iterator[DuckSession]:
    """Commit on success, roll back on any exception."""
    con.execute(duckdb_load.BEGIN_SQL)
    try:
        yield DuckSession(con)
    except BaseException:
        con.execute(duckdb_load.ROLLBACK_SQL)
        raise
    con.execute(duckdb_load.COMMIT_SQL)


def is_resource_error(exc: duckdb.Error) -> bool:
    """Out of memory or disk: the warehouse's limit, never a reason to blame (or quarantine) the input."""
    return isinstance(exc, duckdb.OutOfMemoryException) or (
        isinstance(exc, duckdb.IOException) and "no space left" in str(exc).lower())
