"""Data-quality rules as SQL that counts the offending rows and lists a few of them.

Every rule is a pair: the offending rows' key (a SELECT), from which both the count and the examples come.
"""

from __future__ import annotations

from dataclasses import dataclass

from sparkify_assets.sql.dialect import Dialect, column_list, q
from sparkify_assets.tables import Table


@dataclass(frozen=True)
class Rule:
    name: str
    description: str
    offending: str  # SELECT of the offending rows' identifying columns

    def count_sql(self) -> str:
        return f"SELECT COUNT(*) FROM ({self.offending}) offending"

    def examples_sql(self, limit: int = 5) -> str:
        return f"SELECT * FROM ({self.offending}) offending ORDER BY 1 LIMIT {int(limit)}"


def key_not_null(table: Table, d: Dialect) -> Rule:
    nulls = " OR ".join(f"{q(k)} IS NULL" for k in table.key)
    return Rule(
        name="key_not_null",
        description=f"No row of {table.name} has a null {' / '.join(table.key)}.",
        offending=f"SELECT {column_list(table.key)} FROM {q(table.name)} WHERE {nulls}",
    )


def key_unique(table: Table, d: Dialect) -> Rule:
    keys = column_list(table.key)
    return Rule(
        name="key_unique",
        description=f"Every {' / '.join(table.key)} appears once in {table.name}.",
        offending=f"SELECT {keys}, COUNT(*) AS copies FROM {q(table.name)} GROUP BY {keys} HAVING COUNT(*) > 1",
    )


def not_empty(table: Table, d: Dialect) -> Rule:
    return Rule(
        name="not_empty",
        description=f"{table.name} has at least one row (the original pipeline's check).",
        offending=f"SELECT 'empty' AS problem WHERE NOT EXISTS (SELECT 1 FROM {q(table.name)})",
    )
