"""Read-only SQL over one table, scoped to a partition window where the table has one: counts and previews."""

from __future__ import annotations

from sparkify_assets.day_window import time_predicate
from sparkify_assets.sql.dialect import Dialect, column_list, q
from sparkify_assets.tables import Table


def count_sql(table: Table, d: Dialect, windowed: bool) -> str:
    where = time_predicate(table, d) if windowed else "1 = 1"
    return f"SELECT COUNT(*) FROM {q(table.name)} WHERE {where}"


def preview_sql(table: Table, d: Dialect, windowed: bool, limit: int = 5) -> str:
    where = time_predicate(table, d) if windowed else "1 = 1"
    return (f"SELECT {column_list(table.column_names)} FROM {q(table.name)} WHERE {where} "
            f"ORDER BY {column_list(table.key)} LIMIT {int(limit)}")


def count_with_value_sql(table: Table, column: str, d: Dialect, windowed: bool) -> str:
    """Rows in scope, and how many of them have `column` set (e.g. songplays matched to a song)."""
    where = time_predicate(table, d) if windowed else "1 = 1"
    return f"SELECT COUNT(*), COUNT({q(table.column(column).name)}) FROM {q(table.name)} WHERE {where}"
