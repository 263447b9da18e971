"""Running the Redshift warehouse on the test PostgreSQL: the Redshift SQL as PostgreSQL takes it, a schema per
test, read-back helpers, and value normalisation so DuckDB's and PostgreSQL's rows compare exactly."""

from __future__ import annotations

import contextlib
import math
import uuid
from collections.abc import Iterator
from dataclasses import replace
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pandas as pd
import redshift_connector

from sparkify_assets.resources.redshift_warehouse import RedshiftWarehouse
from sparkify_assets.sql.dialect import REDSHIFT, Dialect, column_list, q
from sparkify_assets.tables import TABLES_BY_NAME
from sparkify_assets_tests.support import copy_emulator
from sparkify_assets_tests.support.copy_emulator import EmulatedCopyWarehouse
from sparkify_assets_tests.support.postgres import PgServer

ROLE_ARN = "arn:aws:iam::123456789012:role/sparkify-copy"
SECRET_PASSWORD = "Zq9-not-in-any-log-7Yx"

# The Redshift SQL as PostgreSQL runs it: without the physical design (DISTSTYLE / DISTKEY / SORTKEY) it cannot
# parse, and with the clock of the statement (PostgreSQL's now() is the transaction's, Redshift's GETDATE() is not).
POSTGRES = replace(REDSHIFT, name="postgres", physical_design=False, now="CAST(clock_timestamp() AS TIMESTAMP)")


class PostgresStandIn(RedshiftWarehouse):
    """The real RedshiftWarehouse with PostgreSQL's variant of its SQL: the assets built from it run the Redshift
    path on the test PostgreSQL. Its kind and pool are Redshift's."""

    @property
    def dialect(self) -> Dialect:
        return POSTGRES


class EmulatedCopyStandIn(PostgresStandIn, EmulatedCopyWarehouse):
    """PostgresStandIn with COPY performed from the test's S3 server (support/copy_emulator.py)."""


@contextlib.contextmanager
def schema_owned_by_secret_user(pg: PgServer, flavour: copy_emulator.Flavour = "provisioned",
                                isolation: str | None = None) -> Iterator[tuple[str, str]]:
    """A fresh schema (with the emulated Redshift system objects of a provisioned cluster or Serverless) owned by
    a user with a distinctive password, so a test can search everything Dagster recorded for it; `isolation`
    sets the user's default transaction isolation (e.g. 'serializable'). Yields (schema, user)."""
    name = f"t_{uuid.uuid4().hex[:10]}"
    admin = redshift_connector.connect(**pg.connect_kwargs())
    admin.autocommit = True
    cur = admin.cursor()
    cur.execute("SET password_encryption = 'md5'")  # redshift_connector cannot log in with SCRAM
    cur.execute(f"CREATE ROLE {name} LOGIN PASSWORD '{SECRET_PASSWORD}'")
    cur.execute(f"CREATE SCHEMA {name} AUTHORIZATION {name}")
    if isolation:
        cur.execute(f"ALTER ROLE {name} SET default_transaction_isolation = '{isolation}'")
    try:
        con = redshift_connector.connect(**{**pg.connect_kwargs(), "user": name, "password": SECRET_PASSWORD})
        try:
            cursor = con.cursor()
            cursor.execute(f"SET search_path TO {name}")
            copy_emulator.install(cursor, flavour)
            con.commit()
        finally:
            con.close()
        yield name, name
    finally:
        cur.execute(f"DROP SCHEMA {name} CASCADE")
        cur.execute(f"DROP ROLE {name}")
        admin.close()


def warehouse(pg: PgServer, schema: str, user: str, s3_endpoint: str, **kwargs: Any) -> EmulatedCopyStandIn:
    return EmulatedCopyStandIn(**{
        "host": pg.host, "port": pg.port, "database": pg.database, "user": user, "password": SECRET_PASSWORD,
        "ssl": False, "timeout": 60, "schema_name": schema, "iam_role_arn": ROLE_ARN, "s3_region": "us-west-2",
        "s3_endpoint_url": s3_endpoint, **kwargs,
    })


def pg_rows(pg: PgServer, schema: str, sql: str) -> list[tuple[Any, ...]]:
    con = redshift_connector.connect(**pg.connect_kwargs())
    try:
        cursor = con.cursor()
        cursor.execute(f"SET search_path TO {schema}")
        cursor.execute(sql)
        return [tuple(r) for r in cursor.fetchall()]
    finally:
        con.close()


def norm(value: Any) -> Any:
    """One representation per value, whichever engine and driver produced it."""
    if value is None or (isinstance(value, float) and math.isnan(value)) or value is pd.NaT:
        return None
    if isinstance(value, (pd.Timestamp, datetime)):
        return pd.Timestamp(value).isoformat()
    if isinstance(value, Decimal):
        return float(value)
    if hasattr(value, "item"):  # numpy scalars
        return norm(value.item())
    return value


def select(table: str, columns: tuple[str, ...] | None = None) -> str:
    cols = columns or TABLES_BY_NAME[table].column_names
    return f"SELECT {column_list(cols)} FROM {q(table)}"


def table_rows_pg(pg: PgServer, schema: str, table: str, columns: tuple[str, ...] | None = None) -> list[tuple]:
    return sorted((tuple(norm(v) for v in r) for r in pg_rows(pg, schema, select(table, columns))), key=repr)


def table_rows_duckdb(db: Path, table: str, columns: tuple[str, ...] | None = None) -> list[tuple]:
    import duckdb

    with duckdb.connect(str(db), read_only=True) as con:
        rows = con.execute(select(table, columns)).fetchall()
    return sorted((tuple(norm(v) for v in r) for r in rows), key=repr)


__all__ = ["POSTGRES", "ROLE_ARN", "SECRET_PASSWORD", "EmulatedCopyStandIn", "PostgresStandIn", "norm", "pg_rows",
           "schema_owned_by_secret_user", "table_rows_duckdb", "table_rows_pg", "warehouse"]
