"""RedshiftWarehouse on a real PostgreSQL through redshift_connector: configuration from the environment, secrets
kept out of everything, bad input quarantined as on DuckDB, and reloads that change nothing."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

import pytest
import redshift_connector
from dagster import AssetKey, DagsterInstance, Definitions, EnvVar, build_init_resource_context

from sparkify_assets.dagster_internals import ASSET_PARTITION_RANGE_END_TAG, ASSET_PARTITION_RANGE_START_TAG
from sparkify_assets.day_window import DayWindow
from sparkify_assets.definitions import build_definitions, build_warehouse
from sparkify_assets.resources.duckdb_warehouse import DuckDBWarehouse
from sparkify_assets.resources.redshift_warehouse import RedshiftConnectionError, RedshiftWarehouse
from sparkify_assets.resources.source import LocalFolderSource, SourceDataError
from sparkify_assets.settings import Settings
from sparkify_assets.sql.dialect import REDSHIFT
from sparkify_assets.tables import REJECTED_RECORDS, STAGING_EVENTS, STAGING_SONGS
from sparkify_assets_tests.support import redshift as rsup
from sparkify_assets_tests.support import s3 as s3_support
from sparkify_assets_tests.support.postgres import PgServer

BUCKET = "bad-input"
DAY1, DAY2 = "2018-11-01", "2018-11-02"
KEY1, KEY2 = "log_data/2018/11/2018-11-01-events.json", "log_data/2018/11/2018-11-02-events.json"
T1 = 1541030400000  # 2018-11-01T00:00:00Z
T2 = T1 + 86_400_000


def event(ts: int | None, user: str = "7", item: int = 0, **extra: Any) -> str:
    record = {"artist": "Band", "auth": "Logged In", "firstName": "Ann", "gender": "F", "itemInSession": item,
              "lastName": "Lee", "length": 200.5, "level": "free", "location": "Town", "method": "PUT",
              "page": "NextSong", "registration": 1.5e12, "sessionId": 3, "song": "Tune", "status": 200,
              "ts": ts, "userAgent": "agent", "userId": user}
    return json.dumps({**record, **extra})


def song(song_id: str | None, title: str = "Tune") -> str:
    return json.dumps({"num_songs": 1, "artist_id": "AR1", "artist_name": "Band", "artist_latitude": None,
                       "artist_longitude": None, "artist_location": "", "song_id": song_id, "title": title,
                       "duration": 200.5, "year": 0})


def write_bad_input(root: Path, jsonpaths: Path) -> None:
    lines = [
        event(T1 + 1000),  # 1 valid
        '{"artist": oops',  # 2 invalid JSON            (COPY rejects)
        event(T1 + 2000, item=1),  # 3 valid
        event(T1 + 1000),  # 4 duplicate of line 1      (record rule)
        event(T2 + 5000, item=2),  # 5 ts on the next day    (record rule)
        event(None, item=3),  # 6 missing required ts          (record rule)
        event(T1 + 3000, user="abc", item=4),  # 7 userId not numeric   (COPY rejects)
        event(T1 + 4000, item=5, auth="x" * 40),  # 8 longer than VARCHAR(32) (COPY rejects)
        "[1, 2, 3]",  # 9 not an object                  (COPY rejects)
    ]
    (root / "log_data/2018/11").mkdir(parents=True)
    (root / KEY1).write_text("\n".join(lines) + "\n")
    (root / KEY2).write_text(event(T2 + 10, item=9) + "\n" + event(T2 + 20, user="8", item=10) + "\n")
    (root / "log_json_path.json").write_bytes(jsonpaths.read_bytes())
    for key, body in {"A/A/A/TR1.json": song("SO1"), "A/A/B/TR2.json": song("SO2", "Other"),
                      "A/A/C/TR3.json": song(None), "A/B/A/TR4.json": song("SO1")}.items():
        (root / "song_data" / key).parent.mkdir(parents=True, exist_ok=True)
        (root / "song_data" / key).write_text(body)


@pytest.fixture(scope="module")
def bad_bucket(real_sample: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Path]]:
    root = tmp_path_factory.mktemp("bad")
    write_bad_input(root, real_sample / "log_json_path.json")
    with s3_support.running_moto() as endpoint:
        s3_support.upload_tree(endpoint, BUCKET, root)
        yield endpoint, root


@pytest.fixture
def schema(pg_server: PgServer) -> Iterator[tuple[str, str]]:
    with rsup.schema_owned_by_secret_user(pg_server) as owned:
        yield owned


_INSTANCE = DagsterInstance.ephemeral()


def staging_run(defs: Definitions, partitions: list[str]) -> Any:
    job = defs.resolve_implicit_global_asset_job_def()
    return job.execute_in_process(
        instance=_INSTANCE,
        asset_selection=[AssetKey(STAGING_EVENTS.name), AssetKey(STAGING_SONGS.name)],
        tags={ASSET_PARTITION_RANGE_START_TAG: partitions[0], ASSET_PARTITION_RANGE_END_TAG: partitions[-1]},
        raise_on_error=False,
    )


def rejects(rows: list[tuple]) -> list[tuple]:
    """(table, partition, file, reason) with ordinals dropped from 'duplicate of file:line' (see sql/redshift.py)."""
    return sorted((t, p, k, r.rsplit(":", 1)[0] if r.startswith("duplicate of") else r) for t, p, k, _n, r in rows)


REJECT_COLUMNS = ("target_table", "partition_key", "source_key", "line_number", "reason")
EVENT_FIELDS = (*(c.name for c in STAGING_EVENTS.source_columns), "source_key")
SONG_FIELDS = tuple(c.name for c in STAGING_SONGS.source_columns)


def test_bad_input_is_quarantined_as_on_duckdb(bad_bucket: tuple[str, Path], pg_server: PgServer,
                                                schema: tuple[str, str], tmp_path: Path) -> None:
    endpoint, _root = bad_bucket
    source = s3_support.s3_source(endpoint, BUCKET)
    wh = rsup.warehouse(pg_server, *schema, endpoint)
    pg = staging_run(build_definitions(source=source, warehouse=wh), [DAY1])
    db = tmp_path / "w.duckdb"
    duck = staging_run(build_definitions(source=source, warehouse=DuckDBWarehouse(path=str(db))), [DAY1])
    assert pg.success and duck.success

    name = schema[0]
    assert rsup.table_rows_pg(pg_server, name, "staging_events", EVENT_FIELDS) == \
        rsup.table_rows_duckdb(db, "staging_events", EVENT_FIELDS)
    assert len(rsup.table_rows_pg(pg_server, name, "staging_events", EVENT_FIELDS)) == 2
    assert rsup.table_rows_pg(pg_server, name, "staging_songs", SONG_FIELDS) == \
        rsup.table_rows_duckdb(db, "staging_songs", SONG_FIELDS)

    on_pg = rsup.table_rows_pg(pg_server, name, REJECTED_RECORDS.name, REJECT_COLUMNS)
    on_duck = rsup.table_rows_duckdb(db, REJECTED_RECORDS.name, REJECT_COLUMNS)
    assert len(on_pg) == len(on_duck) == 9  # 7 events + 2 songs
    # The same records are rejected: the same file and line where COPY reports them, the same reason text
    # where our own rules judge them (COPY words its own reasons).
    copy_rejected = {(KEY1, n) for n in (2, 7, 8, 9)}
    assert {(k, n) for _t, _p, k, n, _r in on_pg if (k, n) in copy_rejected} == copy_rejected
    assert {(k, n) for _t, _p, k, n, _r in on_duck if (k, n) in copy_rejected} == copy_rejected
    ours = [r for r in rejects(on_pg) if "COPY error" not in r[3] and r[0] == STAGING_EVENTS.name]
    assert ours == [r for r in rejects(on_duck) if r[3] in {x[3] for x in ours}]
    assert [r[3] for r in ours] == [f"duplicate of {KEY1}", f"field ts: {T2 + 5000} is outside the file's day {DAY1}",
                                    "missing required field ts"]
    for on in (on_pg, on_duck):  # songs: the same reasons; the file is the prefix on Redshift (see sql/redshift.py)
        assert sorted(r[3].split(" of ")[0] for r in rejects(on) if r[0] == STAGING_SONGS.name) == [
            "duplicate", "missing required field song_id"]
    reasons = {n: r for _t, _p, k, n, r in on_pg if k == KEY1}
    assert "field userId" in reasons[7] and "field auth" in reasons[8]
    assert all(r[:2] == (STAGING_EVENTS.name, DAY1) for r in on_pg if r[2] == KEY1)

    meta = {e.asset_key.path[-1]: e.step_materialization_data.materialization.metadata
            for e in pg.get_asset_materialization_events()}
    assert meta["staging_events"]["records_rejected"].value == 7
    assert meta["staging_events"]["records_loaded"].value == 2


def test_reloads_change_nothing_and_a_range_is_one_copy(bad_bucket: tuple[str, Path], pg_server: PgServer,
                                                        schema: tuple[str, str]) -> None:
    endpoint, _root = bad_bucket
    name = schema[0]
    defs = build_definitions(source=s3_support.s3_source(endpoint, BUCKET),
                             warehouse=rsup.warehouse(pg_server, *schema, endpoint))

    def snapshot() -> dict[str, list[tuple]]:
        return {t: rsup.table_rows_pg(pg_server, name, t) for t in ("staging_events", "staging_songs")} | {
            "rejected": rsup.table_rows_pg(pg_server, name, REJECTED_RECORDS.name, REJECT_COLUMNS)}

    ts_col = STAGING_EVENTS.column_names.index("ts")
    misfiled = T2 + 5000  # line 5 of the 2018-11-01 file holds an event of 2018-11-02

    assert staging_run(defs, [DAY1, DAY2]).success
    as_range = snapshot()
    assert staging_run(defs, [DAY1, DAY2]).success
    assert snapshot() == as_range
    copies = rsup.pg_rows(pg_server, name, "SELECT statement FROM copy_log WHERE statement LIKE '%events%'")
    assert ["MANIFEST" in s for (s,) in copies] == [True, True]  # two days, one COPY each time

    assert staging_run(defs, [DAY2]).success and staging_run(defs, [DAY1]).success
    by_day = snapshot()
    assert staging_run(defs, [DAY1]).success
    assert snapshot() == by_day
    # Documented difference (sql/redshift.py): one COPY over several files cannot say which file a loaded row came
    # from, so in a range load the misfiled event is filed under its own day; one-day loads reject it, as DuckDB
    # does. Everything else is identical.
    assert [r[ts_col] for r in as_range["staging_events"]].count(misfiled) == 1
    assert [r[ts_col] for r in by_day["staging_events"]].count(misfiled) == 0
    assert len(as_range["staging_events"]) == len(by_day["staging_events"]) + 1 == 5
    assert as_range["staging_songs"] == by_day["staging_songs"]


def test_password_never_shown(pg_server: PgServer) -> None:
    wh = RedshiftWarehouse(host=pg_server.host, port=pg_server.port, database=pg_server.database, user="sparkify",
                           password=rsup.SECRET_PASSWORD, ssl=False, timeout=60)
    assert rsup.SECRET_PASSWORD not in repr(wh) and rsup.SECRET_PASSWORD not in str(wh)
    with pytest.raises(RedshiftConnectionError) as err:
        wh.fetchall("SELECT 1")  # wrong password for that user: the login fails
    message = str(err.value)
    assert "password authentication failed" in message and "sparkify@127.0.0.1" in message
    assert rsup.SECRET_PASSWORD not in message
    assert err.value.__cause__ is None and err.value.__suppress_context__


def test_redshift_from_the_environment_runs_transforms(pg_server: PgServer, schema: tuple[str, str],
                                                       monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """SPARKIFY_WAREHOUSE=redshift: EnvVar settings, kinds 'redshift', and a real run of the songs table."""
    name, user = schema
    env = {"SPARKIFY_WAREHOUSE": "redshift", "REDSHIFT_HOST": pg_server.host, "REDSHIFT_PORT": str(pg_server.port),
           "REDSHIFT_DATABASE": pg_server.database, "REDSHIFT_USER": user, "REDSHIFT_PASSWORD": rsup.SECRET_PASSWORD,
           "REDSHIFT_SSL": "false", "REDSHIFT_SCHEMA": name, "REDSHIFT_IAM_ROLE_ARN": rsup.ROLE_ARN}
    for k, v in env.items():
        monkeypatch.setenv(k, v)
    wh = build_warehouse(Settings.from_env())
    assert isinstance(wh, RedshiftWarehouse) and wh.password == EnvVar("REDSHIFT_PASSWORD")
    assert wh.dialect == REDSHIFT
    fields = {f: getattr(wh, f) for f in type(wh).model_fields if f in wh.model_fields_set}
    wh = rsup.PostgresStandIn(**fields)  # the same settings, the SQL PostgreSQL takes (no DIST/SORT keys)
    defs = build_definitions(source=LocalFolderSource(root=str(tmp_path)), warehouse=wh)
    result = defs.resolve_implicit_global_asset_job_def().execute_in_process(
        instance=DagsterInstance.ephemeral(), asset_selection=[AssetKey("songs")])
    assert result.success
    assert rsup.pg_rows(pg_server, name, 'SELECT COUNT(*) FROM "songs"') == [(0,)]
    assert rsup.SECRET_PASSWORD not in "\n".join(repr(e) for e in result.all_events)
    kinds = {k for node in defs.resolve_asset_graph().asset_nodes for k in node.kinds}
    assert "redshift" in kinds and "duckdb" not in kinds


def test_copy_needs_an_s3_source(pg_server: PgServer, schema: tuple[str, str], tmp_path: Path) -> None:
    wh = rsup.warehouse(pg_server, *schema, "http://127.0.0.1:9")
    with pytest.raises(SourceDataError, match="s3://"):
        wh.stage_songs(LocalFolderSource(root=str(tmp_path)), [], "run")


def test_manifests_can_live_outside_a_read_only_data_bucket(bad_bucket: tuple[str, Path], pg_server: PgServer,
                                                            schema: tuple[str, str]) -> None:
    """s3://udacity-dend is not writable: REDSHIFT_MANIFEST_URL puts the manifests in a bucket of our own."""
    endpoint, _root = bad_bucket
    client = s3_support.client(endpoint)
    client.create_bucket(Bucket="ours")
    for o in client.list_objects_v2(Bucket=BUCKET, Prefix="_manifests/").get("Contents", []):  # other tests' loads
        client.delete_object(Bucket=BUCKET, Key=o["Key"])
    wh = rsup.warehouse(pg_server, *schema, endpoint, manifest_url="s3://ours/sparkify/manifests/")
    assert staging_run(build_definitions(source=s3_support.s3_source(endpoint, BUCKET), warehouse=wh),
                       [DAY1, DAY2]).success
    (statement,) = rsup.pg_rows(pg_server, schema[0], "SELECT statement FROM copy_log WHERE statement LIKE '%events%'")
    assert "FROM 's3://ours/sparkify/manifests/staging_events/2018-11-01_2018-11-02.manifest'\n" in statement[0]
    assert [o["Key"] for o in client.list_objects_v2(Bucket="ours")["Contents"]] == [
        "sparkify/manifests/staging_events/2018-11-01_2018-11-02.manifest",
        "sparkify/manifests/staging_songs/song_data.manifest"]  # exact keys for the songs too
    assert client.list_objects_v2(Bucket=BUCKET, Prefix="_manifests/").get("KeyCount", 0) == 0


def test_too_many_rejects_fail_the_load_and_keep_the_previous_rows(bad_bucket: tuple[str, Path],
                                                                   pg_server: PgServer,
                                                                   schema: tuple[str, str]) -> None:
    endpoint, _root = bad_bucket
    source = s3_support.s3_source(endpoint, BUCKET)
    name = schema[0]
    assert staging_run(build_definitions(source=source, warehouse=rsup.warehouse(pg_server, *schema, endpoint)),
                       [DAY1]).success
    before = rsup.table_rows_pg(pg_server, name, "staging_events")
    strict = rsup.warehouse(pg_server, *schema, endpoint, max_errors=3)  # the day's file has 4 COPY rejects
    result = staging_run(build_definitions(source=source, warehouse=strict), [DAY1])
    assert not result.success
    (failure,) = [e for e in result.all_events if e.is_step_failure]
    message = failure.step_failure_data.error.cause.message
    assert "SourceDataError: COPY into _landing_staging_events stopped after more than 3 rejected records" in message
    assert f"s3://{BUCKET}/{KEY1} line 2: Invalid JSON" in message
    assert rsup.table_rows_pg(pg_server, name, "staging_events") == before


def test_a_copy_refused_before_loading_reports_its_own_error(bad_bucket: tuple[str, Path], pg_server: PgServer,
                                                             schema: tuple[str, str]) -> None:
    """In one session (a run's connection), a later COPY that never started loading must not be blamed on the
    rejects of the COPY before it: its own error (here, a missing JSONPaths file) is what the user sees."""
    endpoint, root = bad_bucket
    source = s3_support.s3_source(endpoint, BUCKET)
    wh = rsup.warehouse(pg_server, *schema, endpoint)
    window = DayWindow((date(2018, 11, 1),))
    client = s3_support.client(endpoint)
    wh.setup_for_execution(build_init_resource_context())
    try:
        stats = wh.stage_events(source, source.log_objects(window.days), window, "run-1")
        assert (stats.read, stats.loaded, stats.rejected, stats.files) == (9, 2, 7, 1)
        client.delete_object(Bucket=BUCKET, Key="log_json_path.json")
        with pytest.raises(redshift_connector.ProgrammingError, match="S3ServiceException"):
            wh.stage_events(source, source.log_objects(window.days), window, "run-2")
    finally:
        client.put_object(Bucket=BUCKET, Key="log_json_path.json", Body=(root / "log_json_path.json").read_bytes())
        wh.teardown_after_execution(build_init_resource_context())
    assert len(rsup.table_rows_pg(pg_server, schema[0], "staging_events")) == 2  # the failed load changed nothing


def test_iam_authentication_settings() -> None:
    """IAM needs AWS to run; what can be checked here is what reaches the driver, and that no password does."""
    provisioned = RedshiftWarehouse(iam=True, cluster_identifier="sparkify", db_user="loader", region="us-west-2",
                                    database="dev", password=rsup.SECRET_PASSWORD)
    kwargs = provisioned._connect_kwargs()
    assert {k: kwargs[k] for k in ("iam", "cluster_identifier", "db_user", "region", "ssl", "port")} == {
        "iam": True, "cluster_identifier": "sparkify", "db_user": "loader", "region": "us-west-2", "ssl": True,
        "port": 5439}
    assert "password" not in kwargs and "user" not in kwargs
    assert provisioned.endpoint() == "loader@sparkify:5439/dev (IAM)"
    serverless = RedshiftWarehouse(iam=True, serverless_work_group="wg", db_user="loader", region="us-west-2")
    assert serverless._connect_kwargs()["is_serverless"] is True
    assert serverless._connect_kwargs()["serverless_work_group"] == "wg"
