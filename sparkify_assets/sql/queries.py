"""Read-only SQL over one table, scoped to a partition window where the table has one: counts and previews."""

from __future__ import annotations

from sparkify_assets.sql.dialect import Dialect, column_list, q
from sparkify_assets.tables import Table


def window_predicate(table: Table, d: Dialect, alias: str = "") -> str:
    """Rows of the run's days; staging keeps raw epoch ms, the star schema keeps timestamps."""
    col = table.partition_column
    if col is None:
        return "1 = 1"
    lo, hi = ("start_ms", "end_ms") if table.column(col).type == "BIGINT" else ("start_ts", "end_ts")
    ref = f"{alias}.{q(col)}" if alias else q(col)
    return f"{ref} >= {d.param(lo)} AND {ref} < {d.param(hi)}"


def count_sql(table: Table, d: Dialect, windowed: bool) -> str:
    where = window_predicate(table, d) if windowed else "1 = 1"
    return f"SELECT COUNT(*) FROM {q(table.name)} WHERE {where}"


def preview_sql(table: Table, d: Dialect, windowed: bool, limit: int = 5) -> str:
    where = window_predicate(table, d) if windowed else "1 = 1"
    return (f"SELECT {column_list(table.column_names)} FROM {q(table.name)} WHERE {where} "
            f"ORDER BY {column_list(table.key)} LIMIT {int(limit)}")


def count_with_value_sql(table: Table, column: str, d: Dialect, windowed: bool) -> str:
    """Rows in scope, and how many of them have `column` set (e.g. songplays matched to a song)."""
    where = window_predicate(table, d) if windowed else "1 = 1"
    return f"SELECT COUNT(*), COUNT({q(table.column(column).name)}) FROM {q(table.name)} WHERE {where}"
