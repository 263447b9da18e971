"""docs/analysts.md cannot rot: every documented query runs as written on the published DuckDB warehouse (from
Python and from the DuckDB CLI) and on PostgreSQL standing in for Redshift, and returns the answer the page shows;
the simplest answers are also recomputed from the raw files."""

from __future__ import annotations

import shutil
import subprocess
import sys
from collections.abc import Iterator
from contextlib import closing
from pathlib import Path

import duckdb
import psycopg2
import pytest
from dagster import DagsterInstance
from psycopg2.extras import execute_values

from sparkify_assets.definitions import build_definitions
from sparkify_assets.resources.duckdb_warehouse import DuckDBWarehouse
from sparkify_assets.resources.source import LocalFolderSource
from sparkify_assets.run import materialize_days
from sparkify_assets.sql.dialect import column_list, q
from sparkify_assets.tables import TABLES_BY_NAME
from sparkify_assets_tests.conftest import NOVEMBER, failed_checks
from sparkify_assets_tests.support import expected
from sparkify_assets_tests.support.analyst_page import PAGE, Query, cell, queries
from sparkify_assets_tests.support.postgres import PgServer
from sparkify_assets_tests.support.redshift import POSTGRES, pg_rows, schema_owned_by_secret_user

QUERIES = queries()
READ_TABLES = ("staging_events", "songplays", "users", "songs", "artists", "time")


@pytest.fixture(scope="module")
def published(real_sample: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The real sample's 30 days, loaded and published as `make run` does (working file, then the readers' file)."""
    folder = tmp_path_factory.mktemp("analysts")
    db = folder / "warehouse.duckdb"
    warehouse = DuckDBWarehouse(path=str(folder / "warehouse.working.duckdb"), publish_path=str(db))
    defs = build_definitions(source=LocalFolderSource(root=str(real_sample)), warehouse=warehouse)
    with DagsterInstance.ephemeral() as instance:
        result = materialize_days(defs, NOVEMBER, instance)
    assert result.success and failed_checks(result) <= {("songplays", "song_match_rate")}
    return db


@pytest.fixture(scope="module")
def pg_schema(pg_server: PgServer, published: Path) -> Iterator[str]:
    """The published tables copied into a fresh PostgreSQL schema, created from the same table definitions."""
    with schema_owned_by_secret_user(pg_server) as (schema, _user), \
            duckdb.connect(str(published), read_only=True) as duck:
        # Loaded straight into PostgreSQL (psycopg2, pages of rows): only the queries go through redshift_connector.
        con = psycopg2.connect(host=pg_server.host, port=pg_server.direct_port, dbname=pg_server.database,
                               user=pg_server.user, password=pg_server.password)
        with closing(con), con, con.cursor() as cur:  # commits, then closes
            cur.execute(f"SET search_path TO {schema}")
            for name in READ_TABLES:
                table = TABLES_BY_NAME[name]
                cur.execute(POSTGRES.create_table(table))
                rows = duck.execute(f"SELECT {column_list(table.column_names)} FROM {q(name)}").fetchall()
                execute_values(cur, f"INSERT INTO {q(name)} ({column_list(table.column_names)}) VALUES %s", rows,
                               page_size=2000)
        yield schema


def test_the_page_documents_every_question_and_is_linked_from_the_readme() -> None:
    titles = {query.title for query in QUERIES}
    assert {"Plays per hour of day (UTC)", "Most played songs", "Most played artists", "Users who upgraded",
            "Free versus paid: users and plays", "Busiest locations", "Daily active users"} <= titles
    assert all(query.rows for query in QUERIES), [query.title for query in QUERIES if not query.rows]
    assert "(docs/analysts.md)" in (PAGE.parents[1] / "README.md").read_text()


def answer(query: Query) -> list[list[str]]:
    """The answer table the page shows under the query, cell by cell as written."""
    return query.rows


@pytest.mark.parametrize("query", QUERIES, ids=[f"{n}-{x.title}" for n, x in enumerate(QUERIES)])
def test_query_on_duckdb_as_written(published: Path, query: Query) -> None:
    with duckdb.connect(str(published), read_only=True) as con:
        cursor = con.execute(query.sql)
        columns = [d[0] for d in cursor.description]
        rows = [[cell(v) for v in row] for row in cursor.fetchall()]
    assert columns == query.header
    assert rows == answer(query)


@pytest.mark.parametrize("query", QUERIES, ids=[f"{n}-{x.title}" for n, x in enumerate(QUERIES)])
def test_query_on_postgres_as_written(pg_server: PgServer, pg_schema: str, query: Query) -> None:
    rows = [[cell(v) for v in row] for row in pg_rows(pg_server, pg_schema, query.sql)]
    assert rows == answer(query)


def test_queries_through_the_duckdb_cli(published: Path) -> None:
    """The shell route the page gives (the `duckdb-cli` package, an older DuckDB than the pipeline's)."""
    cli = shutil.which("duckdb", path=str(Path(sys.executable).parent))
    assert cli, "the DuckDB CLI is installed with the dev and analysts extras (setup.py)"
    for query in QUERIES:
        proc = subprocess.run([cli, "-readonly", "-csv", "-noheader", str(published), "-c", query.sql],
                              capture_output=True, text=True, timeout=120)
        assert proc.returncode == 0, proc.stderr
        assert len(proc.stdout.splitlines()) == len(query.rows), (query.title, proc.stdout)


def by_title(title: str) -> Query:
    return next(x for x in QUERIES if x.title == title)


def test_answers_agree_with_the_raw_files(real_sample: Path) -> None:
    """Recomputed with pandas from the logs (expected.py), not from the warehouse."""
    plays = expected.compute(real_sample).songplays
    hours = plays.start_time.dt.hour.value_counts().sort_index()
    assert answer(by_title("Plays per hour of day (UTC)")) == [[str(h), str(n)] for h, n in hours.items()]
    daily = plays.groupby(plays.start_time.dt.date).agg(users=("userId", "nunique"), plays=("ts", "size"))
    assert answer(by_title("Daily active users")) == [[str(d), str(r.users), str(r.plays)]
                                                      for d, r in daily.iterrows()]
    levels = plays.groupby("level").agg(users=("userId", "nunique"), plays=("ts", "size"))
    assert answer(by_title("Free versus paid: users and plays"))[:2] == [
        [lvl, str(r.users), str(r.plays)] for lvl, r in levels.iterrows()]
