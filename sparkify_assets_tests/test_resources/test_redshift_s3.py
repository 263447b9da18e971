"""The Redshift path end to end on real servers: the real sample in moto's S3, the whole graph materialized for
November through RedshiftWarehouse and redshift_connector on PostgreSQL (COPY performed by the emulator from the
same S3), and the same files through S3Source + DuckDB. Both warehouses must hold the same rows."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from dagster import DagsterInstance

from sparkify_assets.definitions import build_definitions
from sparkify_assets.resources.duckdb_warehouse import DuckDBWarehouse
from sparkify_assets.run import materialize_days
from sparkify_assets.tables import STAGING_EVENTS, STAGING_SONGS
from sparkify_assets_tests.conftest import NOVEMBER, failed_checks
from sparkify_assets_tests.support import redshift as rsup
from sparkify_assets_tests.support import s3 as s3_support
from sparkify_assets_tests.support.postgres import PgServer

BUCKET = "sparkify-data"
PREFIX = "raw/"  # a data root below the bucket's top, as in production buckets


class Runs:
    def __init__(self, endpoint: str, schema: str, duckdb_path: Path, pg_result: Any, duck_result: Any) -> None:
        self.endpoint, self.schema, self.duckdb_path = endpoint, schema, duckdb_path
        self.pg_result, self.duck_result = pg_result, duck_result


@pytest.fixture(scope="module")
def runs(real_sample: Path, pg_server: PgServer, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Runs]:
    with s3_support.running_moto() as endpoint, rsup.schema_owned_by_secret_user(pg_server) as (schema, user):
        s3_support.upload_tree(endpoint, BUCKET, real_sample, prefix=PREFIX)
        source = s3_support.s3_source(endpoint, BUCKET, prefix=PREFIX)
        wh = rsup.warehouse(pg_server, schema, user, endpoint)
        pg_result = materialize_days(build_definitions(source=source, warehouse=wh), NOVEMBER,
                                     DagsterInstance.ephemeral())
        db = tmp_path_factory.mktemp("duck") / "warehouse.duckdb"
        duck_result = materialize_days(build_definitions(source=source, warehouse=DuckDBWarehouse(path=str(db))),
                                       NOVEMBER, DagsterInstance.ephemeral())
        yield Runs(endpoint, schema, db, pg_result, duck_result)


def test_both_runs_succeed_with_every_error_check_passing(runs: Runs) -> None:
    for result in (runs.pg_result, runs.duck_result):
        assert result.success
        assert len(result.get_asset_check_evaluations()) >= 30
        # The real sample matches 1 play in 6,820 to a song file: only the match-rate warning may fire.
        assert failed_checks(result) <= {("songplays", "song_match_rate")}
    assert failed_checks(runs.pg_result) == failed_checks(runs.duck_result)
    kinds = {k for spec in runs.pg_result.job_def.asset_layer.asset_graph.asset_nodes for k in spec.kinds}
    assert "redshift" in kinds and "duckdb" not in kinds


@pytest.mark.parametrize("table", ["songplays", "users", "songs", "artists", "time"])
def test_star_schema_equals_duckdb_row_by_row(runs: Runs, pg_server: PgServer, table: str) -> None:
    on_pg = rsup.table_rows_pg(pg_server, runs.schema, table)
    on_duckdb = rsup.table_rows_duckdb(runs.duckdb_path, table)
    assert on_pg, f"{table} is empty"
    assert on_pg == on_duckdb


def test_staging_holds_the_same_records(runs: Runs, pg_server: PgServer) -> None:
    """Equal in every loaded field and file; line_number is an ordinal on Redshift (COPY does not report it)."""
    events = (*(c.name for c in STAGING_EVENTS.source_columns), "source_key")
    assert rsup.table_rows_pg(pg_server, runs.schema, "staging_events", events) == \
        rsup.table_rows_duckdb(runs.duckdb_path, "staging_events", events)
    songs = tuple(c.name for c in STAGING_SONGS.source_columns)
    assert rsup.table_rows_pg(pg_server, runs.schema, "staging_songs", songs) == \
        rsup.table_rows_duckdb(runs.duckdb_path, "staging_songs", songs)
    assert rsup.pg_rows(pg_server, runs.schema, "SELECT COUNT(*) FROM rejected_records") == [(0,)]


def test_one_copy_per_table_over_the_real_keys(runs: Runs, pg_server: PgServer) -> None:
    """A month is ONE COPY over a manifest of exactly the keys listed in S3; songs one COPY over theirs."""
    copies = rsup.pg_rows(pg_server, runs.schema, "SELECT statement, inputs FROM copy_log ORDER BY id")
    assert len(copies) == 2
    (events_sql, events_inputs), (songs_sql, songs_inputs) = sorted(copies, key=lambda c: "song" in c[0])
    root = f"s3://{BUCKET}/{PREFIX}"
    listed = s3_support.s3_source(runs.endpoint, BUCKET, prefix=PREFIX).log_objects(NOVEMBER)
    assert json.loads(events_inputs) == [root + o.key for o in listed] and len(listed) == 30
    manifest = f"{root}_manifests/staging_events/2018-11-01_2018-11-30.manifest"
    assert f"FROM '{manifest}'\n" in events_sql
    assert "\nMANIFEST\n" in events_sql and f"FORMAT AS JSON '{root}log_json_path.json'" in events_sql
    # Songs too read a manifest of exactly the listed files (a prefix COPY would read any other object there).
    assert f"FROM '{root}_manifests/staging_songs/song_data.manifest'" in songs_sql
    assert "FORMAT AS JSON 'auto'" in songs_sql
    assert len(json.loads(songs_inputs)) == 71
    body = s3_support.client(runs.endpoint).get_object(Bucket=BUCKET, Key=manifest.removeprefix(f"s3://{BUCKET}/"))
    entries = json.loads(body["Body"].read())["entries"]  # kept as the record of what the load read
    assert entries == [{"url": root + o.key, "mandatory": True} for o in listed]


def test_no_secret_in_anything_dagster_recorded(runs: Runs) -> None:
    records = runs.pg_result.all_events
    text = "\n".join(repr(e) for e in records)
    assert len(records) > 50
    assert rsup.SECRET_PASSWORD not in text
