"""Every difference between the warehouse engines' SQL, in one place.

The transforms are written once against this small interface; DuckDB (embedded) and Redshift (production,
tested on PostgreSQL) each supply an instance.
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

    def param(self, name: str) -> str:
        """A named bind parameter; values are always passed separately, never formatted into SQL."""
        return f"${name}" if self.name == "duckdb" else f"%({name})s"

    def ts_from_epoch_ms(self, expr: str) -> str:
        if self.name == "duckdb":
            return f"make_timestamp_ms({expr})"
        # Redshift and PostgreSQL; keeps milliseconds (integer division would drop them).
        return f"(TIMESTAMP 'epoch' + ({expr}) / 1000.0 * INTERVAL '1 second')"

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


DUCKDB = Dialect(name="duckdb", physical_design=False)
REDSHIFT = Dialect(name="redshift", physical_design=True)
# PostgreSQL runs the Redshift path in tests: same SQL, minus the physical design it cannot parse.
POSTGRES = Dialect(name="postgres", physical_design=False)


def dialect_for(kind: str) -> Dialect:
    return {"duckdb": DUCKDB, "redshift": REDSHIFT, "postgres": POSTGRES}[kind]
