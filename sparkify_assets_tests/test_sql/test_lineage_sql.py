"""The lineage written in tables.py (`derived_from`) is the lineage of the SQL that actually runs: sqlglot traces
each inserted column of every transform back to the staging columns it reads, on both engines' SQL."""

from __future__ import annotations

import pytest
import sqlglot
from sqlglot import exp
from sqlglot.lineage import lineage

from sparkify_assets.assets.dimensions import DIMENSIONS
from sparkify_assets.lineage import column_sources
from sparkify_assets.sql import transforms
from sparkify_assets.sql.dialect import DUCKDB, REDSHIFT
from sparkify_assets.tables import SONGPLAYS, TABLES_BY_NAME, Table

TRANSFORMS = [(SONGPLAYS, transforms.songplays_window), *((s.table, s.statements) for s in DIMENSIONS)]
SQLGLOT_DIALECT = {"duckdb": "duckdb", "redshift": "redshift"}
DIALECTS = {"duckdb": DUCKDB, "redshift": REDSHIFT}


def traced_sources(table: Table, insert_sql: str, dialect: str) -> dict[str, set[tuple[str, str]]]:
    """For each column the INSERT fills (by position), the (table, column) leaves sqlglot traces it to."""
    insert = sqlglot.parse_one(insert_sql, read=dialect)
    assert isinstance(insert, exp.Insert)
    columns = [c.name for c in insert.this.expressions]
    select = insert.expression.copy()
    select.set("expressions", [exp.alias_(e.unalias(), c) for e, c in zip(select.expressions, columns, strict=True)])
    schema = {t.name: {c.name: "VARCHAR" for c in t.columns} for t in TABLES_BY_NAME.values()}
    traced = {}
    for column in columns:
        leaves = [n for n in lineage(column, select, schema=schema, dialect=dialect).walk() if not n.downstream]
        traced[column] = {(n.source.name, n.name.split(".")[-1].strip('"')) for n in leaves
                          if isinstance(n.source, exp.Table)}
    return traced


@pytest.mark.parametrize("engine", ["duckdb", "redshift"])
@pytest.mark.parametrize(("table", "statements"), TRANSFORMS, ids=[t.name for t, _ in TRANSFORMS])
def test_derived_from_is_what_the_transform_reads(table: Table, statements, engine: str) -> None:
    insert_sql = statements(DIALECTS[engine])[-1]
    traced = traced_sources(table, insert_sql, SQLGLOT_DIALECT[engine])
    declared = {c.name: set(column_sources(table, c)) for c in table.columns}
    assert traced == declared
    assert all(declared.values()), f"{table.name}: a column without lineage"
