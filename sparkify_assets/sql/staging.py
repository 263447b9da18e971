"""The replace that ends every staging load, on either engine: the load's scope out, its classified rows in.

Each engine fills `_classified` its own way (DuckDB from the raw JSON, Redshift after COPY); from there on the SQL
is the same.
"""

from __future__ import annotations

from sparkify_assets.day_window import key_predicate, time_predicate
from sparkify_assets.sql.dialect import Dialect, column_list, q
from sparkify_assets.tables import REJECTED_RECORDS, Table

CLASSIFIED_TABLE = "_classified"  # one row per input record: the typed columns, and `reason` (NULL when loadable)


def delete_scope_sql(d: Dialect, table: Table) -> str:
    """The scope a load replaces: its days of a partitioned table, or all of an unpartitioned one."""
    if table.partition_column is None:
        return f"DELETE FROM {q(table.name)}"
    return f"DELETE FROM {q(table.name)} WHERE {time_predicate(table, d)}"


def delete_rejected_sql(d: Dialect, partitioned: bool) -> str:
    where = f"{q('target_table')} = {d.param('target_table')}"
    if partitioned:
        where += f" AND {key_predicate(d)}"
    return f"DELETE FROM {q(REJECTED_RECORDS.name)} WHERE {where}"


def insert_loaded_sql(table: Table) -> str:
    cols = column_list(table.column_names)
    return f"INSERT INTO {q(table.name)} ({cols}) SELECT {cols} FROM {q(CLASSIFIED_TABLE)} WHERE reason IS NULL"
