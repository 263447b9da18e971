"""The statements over `source_versions` (what each table was loaded or built from), on either engine.

Which rows a statement touches is its scope: every row of a table, the rows of the window's days
(`day_window.key_predicate`), or the one row of a key (the songs' digest). Values are bound parameters; the
`IN` lists are of parameters `$t0..` (tables) and `$k0..` (keys), as many as the caller binds.
"""

from __future__ import annotations

from typing import Literal

from sparkify_assets.day_window import key_predicate
from sparkify_assets.sql.dialect import Dialect, column_list, q
from sparkify_assets.tables import SOURCE_VERSIONS

Scope = Literal["table", "days", "key"]  # all of a table's rows; those of the window's days; the row of `$key`

_V = q(SOURCE_VERSIONS.name)
_COLUMNS = column_list(SOURCE_VERSIONS.column_names)


def _where(d: Dialect, scope: Scope, table_param: str = "target_table") -> str:
    where = f"{q('target_table')} = {d.param(table_param)}"
    if scope == "days":
        where += f" AND {key_predicate(d)}"
    elif scope == "key":
        where += f" AND {q('source_key')} = {d.param('key')}"
    return where


def text_param(d: Dialect, name: str) -> str:
    """A parameter typed as text, so an all-null column of values still binds on every engine."""
    return f"CAST({d.param(name)} AS VARCHAR(10))"


def delete_sql(d: Dialect, scope: Scope) -> str:
    """The rows of `$target_table` in the scope."""
    return f"DELETE FROM {_V} WHERE {_where(d, scope)}"


def insert_values_sql(d: Dialect, rows: int) -> str:
    """`rows` rows of `$target_table`: row i is partition `$p<i>` (NULL for a file of no day), key `$k<i>`,
    version `$v<i>`."""
    def row(i: int) -> str:
        values = {"target_table": d.param("target_table"), "partition_key": text_param(d, f"p{i}"),
                  "source_key": d.param(f"k{i}"), "version": d.param(f"v{i}")}
        return f"({', '.join(values[c] for c in SOURCE_VERSIONS.column_names)})"
    return f"INSERT INTO {_V} ({_COLUMNS}) VALUES {', '.join(row(i) for i in range(rows))}"


def copy_upstream_sql(d: Dialect, scope: Scope) -> str:
    """`$target_table` now holds what `$upstream` holds, in the scope: its rows, copied under the table's name.

    The name is cast: Redshift does not infer a type for a bind parameter in a select list."""
    values = {"target_table": f"CAST({d.param('target_table')} AS VARCHAR(64))"}
    select = ", ".join(values.get(c, q(c)) for c in SOURCE_VERSIONS.column_names)
    return f"INSERT INTO {_V} ({_COLUMNS}) SELECT {select} FROM {_V} WHERE {_where(d, scope, 'upstream')}"


def versions_of_keys_sql(d: Dialect, keys: int) -> str:
    """(source_key, version) of the keys `$k0..`, whichever table recorded them."""
    params = ", ".join(d.param(f"k{i}") for i in range(keys))
    return f"SELECT {q('source_key')}, {q('version')} FROM {_V} WHERE {q('source_key')} IN ({params})"


def _tables(d: Dialect, tables: int) -> str:
    return f"{q('target_table')} IN ({', '.join(d.param(f't{i}') for i in range(tables))})"


def daily_versions_sql(d: Dialect, tables: int, windowed: bool) -> str:
    """Every column (target_table, partition_key, source_key, version) of the daily rows of the tables `$t0..`:
    those of the window's days (`windowed`), or of every day."""
    days = key_predicate(d) if windowed else f"{q('partition_key')} IS NOT NULL"
    return f"SELECT {_COLUMNS} FROM {_V} WHERE {_tables(d, tables)} AND {days}"


def key_versions_sql(d: Dialect, tables: int) -> str:
    """(target_table, version) of the row `$key` of each of the tables `$t0..` (the songs' digest)."""
    return (f"SELECT {q('target_table')}, {q('version')} FROM {_V} "
            f"WHERE {_tables(d, tables)} AND {q('source_key')} = {d.param('key')}")
