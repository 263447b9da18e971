"""The statements that publish the embedded warehouse to readers (resources/duckdb/publish.py): pieces exported as
Parquet, a views file over them, and adopting a warehouse from before readers had their own file.

COPY, ATTACH and DDL take no bind parameters: paths are our own, written as literals (`literal`); a piece's values
are set as session variables and read back with getvariable().
"""

from __future__ import annotations

from sparkify_assets.sql.dialect import column_list, q
from sparkify_assets.tables import Table

CHECKPOINT_SQL = "CHECKPOINT"
OLD_TABLES_SQL = "SELECT table_name FROM duckdb_tables() WHERE database_name = 'old'"
COPY_OLD_SQL = "COPY FROM DATABASE old TO adopted"
DETACH_ADOPTED_SQL = "DETACH adopted"


def literal(text: str) -> str:
    """A SQL string literal of one of our own paths (DDL and COPY targets take no bind parameters)."""
    return "'" + text.replace("'", "''") + "'"


def by_target() -> str:
    """A companion's rows (quarantine, versions) of the load of `$target_table`."""
    return f"{q('target_table')} = $target_table"


def by_target_day() -> str:
    """A companion's rows of the load of `$target_table` recorded for the day `$day`."""
    return f"{by_target()} AND {q('partition_key')} = $day"


def set_variable_sql(name: str) -> str:
    return f"SET VARIABLE {q(name)} = ?"


def export_sql(table: Table, where: str, names: list[str], path: str) -> str:
    """COPY of `table`'s rows where `where` holds to a Parquet file; its parameters `names` are read from the
    session variables of the same names (set_variable_sql), since COPY itself takes no parameters."""
    select = f"SELECT {column_list(table.column_names)} FROM {q(table.name)} WHERE {where}"
    for name in names:
        select = select.replace(f"${name}", f"getvariable({literal(name)})")
    return f"COPY ({select}) TO {literal(path)} (FORMAT parquet)"


def view_sql(table: Table, paths: list[str]) -> str:
    """The readers' view of `table`: the union of its pieces, or (nothing published yet) its typed columns, no rows."""
    if not paths:
        typed = ", ".join(f"CAST(NULL AS {c.type}) AS {q(c.name)}" for c in table.columns)
        return f"CREATE VIEW {q(table.name)} AS SELECT {typed} WHERE false"
    files = ", ".join(literal(p) for p in paths)
    return (f"CREATE VIEW {q(table.name)} AS SELECT {column_list(table.column_names)} "
            f"FROM read_parquet([{files}], union_by_name = true)")


def comment_view_sql(table: Table) -> str:
    return f"COMMENT ON VIEW {q(table.name)} IS {literal(table.description)}"


def attach_sql(path: str, alias: str, read_only: bool = False) -> str:
    return f"ATTACH {literal(path)} AS {alias}" + (" (READ_ONLY)" if read_only else "")


def days_held_sql(table: Table) -> str:
    """The UTC days a daily table holds rows of, in order."""
    col = q(table.partition_column or "")
    day = f"make_timestamp_ms({col})" if table.column(table.partition_column or "").type == "BIGINT" else col
    return f"SELECT DISTINCT CAST({day} AS DATE) FROM {q(table.name)} ORDER BY 1"
