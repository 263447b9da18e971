"""Every difference between the warehouse engines' SQL, in one place.

The transforms are written once against this small interface; DuckDB (embedded) and Redshift (production)
each supply an instance, and each warehouse resource names its own (`Warehouse.dialect`). What differs beyond the
engine's name is a field, so the tests can run the Redshift SQL on PostgreSQL with a variant of REDSHIFT of their
own (sparkify_assets_tests/support/redshift.py) that product code knows nothing of.
"""

from __future__ import annotations

from dataclasses import dataclass

from sparkify_assets.tables import Table


def q(identifier: str) -> str:
    """Quote an identifier from our own table definitions (several, like "time" and "year", are reserved)."""
    if '"' in identifier:
        raise ValueError(f"unexpected quote in identifier {identifier!r}")
    return f'"{identifier}"'


def column_list(names: tuple[str, ...] | list[str], prefix: str = "") -> str:
    return ", ".join(prefix + q(n) for n in names)


@dataclass(frozen=True)
class Dialect:
    name: str
    physical_design: bool  # emit Redshift DISTSTYLE / DISTKEY / SORTKEY
    now: str  # the current UTC time as a TIMESTAMP when the statement runs (see clock_now)

    def param(self, name: str) -> str:
        """A named bind parameter; values are always passed separately, never formatted into SQL."""
        return f"${name}" if self.name == "duckdb" else f"%({name})s"

    # -- text comparisons: one meaning on every engine (docs/data-quality.md, "Trailing blanks") -------------

    def text_key(self, expr: str) -> str:
        """Text as a match, a key or an accepted value compares it: without trailing blanks, on every engine.

        Redshift ignores trailing blanks when it compares VARCHARs (=, IN, GROUP BY, PARTITION BY, DISTINCT);
        DuckDB and PostgreSQL do not. Comparing RTRIM'd values gives all three Redshift's answer (RTRIM removes
        only spaces, the blanks Redshift ignores); the values themselves are stored as loaded."""
        return f"RTRIM({expr})"

    def empty_as_null(self, expr: str) -> str:
        """NULLIF(expr, '') as Redshift evaluates it (a value of only blanks equals ''), on every engine."""
        return f"CASE WHEN {self.text_key(expr)} = '' THEN NULL ELSE {expr} END"

    def exact_text(self, expr: str) -> str:
        """A partition or grouping term that tells values apart by their trailing blanks too (an exact copy of a
        record), on every engine: the value and its length, which counts trailing blanks even on Redshift."""
        return f"{expr}, LENGTH({expr})"

    def ts_from_epoch_ms(self, expr: str) -> str:
        if self.name == "duckdb":
            return f"make_timestamp_ms({expr})"
        # Redshift and PostgreSQL; keeps milliseconds (integer division would drop them).
        return f"(TIMESTAMP 'epoch' + ({expr}) / 1000.0 * INTERVAL '1 second')"

    def clock_now(self) -> str:
        """The current UTC time as a TIMESTAMP, when the statement runs (not when its transaction began); the
        Redshift session runs in UTC (sql/redshift.session_settings_sql)."""
        return self.now

    def latest_per_key(self, source: str, key: str, columns: tuple[str, ...], order: tuple[str, ...],
                       where: str) -> str:
        """SELECT of `key` and `columns` from the row of `source` that sorts last by `order`, per key.

        `order` must be unique per row, so the winner never depends on scan order. DuckDB finds each key's greatest
        `order` with one aggregate over a row value and joins back to its row (5x a window's speed on 1M events);
        the window is what Redshift and PostgreSQL have."""
        cols = column_list(columns)
        if self.name == "duckdb":
            row = ", ".join(f"e.{q(c)}" for c in order)
            return f"""SELECT e.{q(key)}, {column_list(columns, "e.")} FROM {q(source)} e JOIN (
  SELECT {q(key)}, max(({column_list(order)})) AS latest FROM {q(source)} WHERE {where} GROUP BY {q(key)}
) w ON e.{q(key)} = w.{q(key)} AND ({row}) = w.latest"""
        ordering = ", ".join(f"{q(c)} DESC" for c in order)
        return f"""SELECT {q(key)}, {cols} FROM (
  SELECT {q(key)}, {cols}, ROW_NUMBER() OVER (PARTITION BY {q(key)} ORDER BY {ordering}) AS rn
  FROM {q(source)} WHERE {where}
) latest WHERE rn = 1"""

    def create_table(self, table: Table) -> str:
        cols = ",\n  ".join(
            f"{q(c.name)} {c.type}{'' if c.nullable else ' NOT NULL'}" for c in table.columns
        )
        ddl = f"CREATE TABLE IF NOT EXISTS {q(table.name)} (\n  {cols}\n)"
        if self.physical_design:
            ddl += f"\nDISTSTYLE {table.diststyle}"
            if table.distkey:
                ddl += f"\nDISTKEY ({q(table.distkey)})"
            if table.sortkey:
                ddl += f"\nSORTKEY ({column_list(table.sortkey)})"
        return ddl


DUCKDB = Dialect(name="duckdb", physical_design=False, now="CAST(now() AS TIMESTAMP)")
REDSHIFT = Dialect(name="redshift", physical_design=True, now="GETDATE()")
