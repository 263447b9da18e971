"""One DuckDB transaction, and telling the machine's limits (memory, disk) from errors in the input."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import duckdb

from sparkify_assets.resources.warehouse import Params, used_params
from sparkify_assets.sql import duckdb_load


class DuckSession:
    """A connection inside one transaction, taking only the parameters each statement names."""

    def __init__(self, con: duckdb.DuckDBPyConnection) -> None:
        self.con = con

    def execute(self, sql: str, params: Params = None) -> None:
        self.con.execute(sql, used_params(sql, params))

    def fetchall(self, sql: str, params: Params = None) -> list[tuple[Any, ...]]:
        return self.con.execute(sql, used_params(sql, params)).fetchall()


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
