"""The Redshift path as a real cluster behaves, through the test PostgreSQL: a statement may outlast the connect
timeout; rejects are read back on a provisioned cluster and on Serverless (password login) alike, also after the
COPY's rollback; two loads at once end as one after the other; only exact keys are read; MAXERROR as documented.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

import pytest
import redshift_connector

from sparkify_assets import redshift_preflight
from sparkify_assets.day_window import DayWindow
from sparkify_assets.redshift_preflight import _deferred
from sparkify_assets.resources.redshift_warehouse import RedshiftWarehouse, from_settings
from sparkify_assets.resources.source import SourceDataError
from sparkify_assets.retries import is_serialization_failure, is_transient
from sparkify_assets.settings import Settings
from sparkify_assets.tables import REJECTED_RECORDS
from sparkify_assets_tests.support import redshift as rsup
from sparkify_assets_tests.support import s3 as s3_support
from sparkify_assets_tests.support.copy_emulator import copy_fails
from sparkify_assets_tests.support.postgres import PgServer
from sparkify_assets_tests.test_resources.test_redshift_warehouse import (
    BUCKET,
    KEY1,
    REJECT_COLUMNS,
    event,
    write_bad_input,
)

DAY1, DAY2 = date(2018, 11, 1), date(2018, 11, 2)
T1 = 1541030400000
BAK_EVENTS = KEY1 + ".bak"  # an editor's or a tool's copy beside the day's file: never to be loaded
BAK_SONG = "song_data/A/A/A/TR1.json.bak"
COPY_REJECTS = {2, 7, 8, 9}  # lines of KEY1 that COPY itself rejects (see write_bad_input)


@pytest.fixture(scope="module")
def bucket(real_sample: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The bad-input bucket of test_redshift_warehouse, plus stray `.bak` objects that share the real keys'
    prefixes."""
    root = tmp_path_factory.mktemp("traps")
    write_bad_input(root, real_sample / "log_json_path.json")
    (root / BAK_EVENTS).write_text(event(T1 + 7000, user="99", item=77) + "\n")
    (root / BAK_SONG).write_text('{"song_id": "SOBAK", "title": "stray", "num_songs": 1}')
    with s3_support.running_moto() as endpoint:
        s3_support.upload_tree(endpoint, BUCKET, root)
        yield endpoint


@pytest.fixture
def schema(pg_server: PgServer) -> Iterator[tuple[str, str]]:
    with rsup.schema_owned_by_secret_user(pg_server) as owned:
        yield owned


def _load(wh: RedshiftWarehouse, endpoint: str, days: tuple[date, ...], run_id: str) -> None:
    source = s3_support.s3_source(endpoint, BUCKET)
    window = DayWindow(days)
    wh.stage_events(source, source.log_objects(window.days), window, run_id)


def _state(pg: PgServer, schema: str) -> dict[str, list[tuple]]:
    return {"staging_events": rsup.table_rows_pg(pg, schema, "staging_events"),
            "rejected": rsup.table_rows_pg(pg, schema, REJECTED_RECORDS.name, REJECT_COLUMNS)}


# -- 1. timeouts -----------------------------------------------------------------------------------------------


def test_a_statement_longer_than_the_connect_timeout_succeeds(pg_server: PgServer, schema: tuple[str, str]) -> None:
    raw = redshift_connector.connect(**{**pg_server.connect_kwargs(), "timeout": 2})
    try:  # what the driver does with its timeout alone: the socket keeps it, every statement is cut at 2 s
        with pytest.raises(Exception) as cut:
            raw.cursor().execute("SELECT pg_sleep(3)")
        assert is_transient(cut.value)  # and retries.py would have retried it, to die again
    finally:
        raw.close()

    wh = rsup.warehouse(pg_server, *schema, "http://127.0.0.1:9", timeout=2)
    started = time.monotonic()
    assert wh.fetchall("SELECT 7 FROM (SELECT pg_sleep(3)) s") == [(7,)]
    assert time.monotonic() - started >= 3


def test_the_statement_timeout_cancels_on_the_server_and_is_not_retried(pg_server: PgServer,
                                                                         schema: tuple[str, str]) -> None:
    wh = rsup.warehouse(pg_server, *schema, "http://127.0.0.1:9", timeout=2, statement_timeout=1)
    assert wh.fetchall("SHOW statement_timeout") == [("1s",)]
    with pytest.raises(redshift_connector.ProgrammingError, match="statement timeout") as err:
        wh.fetchall("SELECT pg_sleep(3)")
    assert not is_transient(err.value)  # a statement that outgrew its budget fails at once, with the server's words
    assert rsup.warehouse(pg_server, *schema, "http://127.0.0.1:9").fetchall("SHOW statement_timeout") == [("0",)]


# -- 2. load errors on every flavour ------------------------------------------------------------------------------


@pytest.mark.parametrize("flavour", ["provisioned", "serverless"])
def test_rejects_are_read_back_on_each_flavour_with_a_password(bucket: str, pg_server: PgServer,
                                                               flavour: Any) -> None:
    """Serverless has no stl_load_errors and its sys_load_error_detail numbers queries apart from
    pg_last_copy_id(): a password login to a workgroup endpoint (no workgroup setting, a plain host) must still
    quarantine exactly COPY's rejects, with file and line, on success and after a failed COPY's rollback."""
    with rsup.schema_owned_by_secret_user(pg_server, flavour) as (name, user):
        wh = rsup.warehouse(pg_server, name, user, bucket)
        _load(wh, bucket, (DAY1,), "run-1")
        assert wh._view == {"provisioned": "stl_load_errors", "serverless": "sys_load_error_detail"}[flavour]
        rejected = _state(pg_server, name)["rejected"]
        assert {n for _t, _p, k, n, r in rejected if k == KEY1 and "COPY error" in r} == COPY_REJECTS
        assert sum(k == KEY1 for _t, _p, k, _n, _r in rejected) == 7
        before = _state(pg_server, name)

        strict = rsup.warehouse(pg_server, name, user, bucket, max_errors=1)
        with pytest.raises(SourceDataError, match=f"s3://{BUCKET}/{KEY1} line 2: Invalid JSON"):
            _load(strict, bucket, (DAY1,), "run-2")
        assert _state(pg_server, name) == before


def test_serverless_with_a_password_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for k, v in {"REDSHIFT_HOST": "wg.123456789012.us-west-2.redshift-serverless.amazonaws.com",
                 "REDSHIFT_DATABASE": "dev", "REDSHIFT_USER": "loader", "REDSHIFT_PASSWORD": rsup.SECRET_PASSWORD,
                 "REDSHIFT_WORKGROUP": "wg", "REDSHIFT_IAM_ROLE_ARN": rsup.ROLE_ARN,
                 "REDSHIFT_STATEMENT_TIMEOUT": "7200", "REDSHIFT_CONNECT_TIMEOUT": "15"}.items():
        monkeypatch.setenv(k, v)
    monkeypatch.delenv("REDSHIFT_IAM", raising=False)
    wh = from_settings(Settings.from_env().redshift)
    resolved = RedshiftWarehouse(**{f: v.get_value() if _deferred(v) else v  # as a run resolves them
                                    for f in wh.model_fields_set if (v := getattr(wh, f)) is not None})
    assert resolved.serverless_work_group == "wg" and not resolved.iam
    kwargs = resolved._connect_kwargs()
    assert kwargs["user"] == "loader" and "is_serverless" not in kwargs and kwargs["timeout"] == 15
    assert kwargs["password"] == rsup.SECRET_PASSWORD and rsup.SECRET_PASSWORD not in repr(resolved)
    assert resolved.statement_timeout == 7200
    assert resolved._settle_load_errors_view(None) == "sys_load_error_detail"  # type: ignore[arg-type]
    monkeypatch.setenv("REDSHIFT_STATEMENT_TIMEOUT", "2h")
    with pytest.raises(ValueError, match="^REDSHIFT_STATEMENT_TIMEOUT must be a whole number of seconds$"):
        from_settings(Settings.from_env().redshift)


# -- 3. concurrent loads -------------------------------------------------------------------------------------------


def _at_once(*loads: Any) -> None:
    barrier = threading.Barrier(len(loads))
    errors: list[BaseException] = []

    def run(load: Any) -> None:
        try:
            barrier.wait(timeout=60)
            load()
        except BaseException as exc:  # reported below, after both threads ended
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(load,)) for load in loads]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=300)
    assert not any(t.is_alive() for t in threads) and not errors, errors


def test_two_overlapping_loads_at_once_end_as_one_after_the_other(bucket: str, pg_server: PgServer) -> None:
    """At SERIALIZABLE, the closest local stand-in for Redshift's isolation. The range load files the misfiled
    event under its own day while the one-day load rejects it (see sql/redshift.py), so the two serial orders
    differ: the concurrent result must be one of them, row for row, staging and quarantine."""
    serial = []
    for order in (("range", "day"), ("day", "range")):
        with rsup.schema_owned_by_secret_user(pg_server, isolation="serializable") as (name, user):
            for which in order:
                _load(rsup.warehouse(pg_server, name, user, bucket), bucket,
                      (DAY1, DAY2) if which == "range" else (DAY1,), f"run-{which}")
            serial.append(_state(pg_server, name))
    assert serial[0] != serial[1]
    with rsup.schema_owned_by_secret_user(pg_server, isolation="serializable") as (name, user):
        a, b = (rsup.warehouse(pg_server, name, user, bucket) for _ in range(2))
        _at_once(lambda: _load(a, bucket, (DAY1, DAY2), "run-range"), lambda: _load(b, bucket, (DAY1,), "run-day"))
        assert _state(pg_server, name) in serial
        # The same day twice at once (the tables exist now): one load's rows and rejects, not two.
        _at_once(lambda: _load(a, bucket, (DAY1,), "run-1"), lambda: _load(b, bucket, (DAY1,), "run-1"))
        once = _state(pg_server, name)
    assert len(once["staging_events"]) == 2 + 3  # the day's 2, and day 2's 3 from the range load
    assert len([r for r in once["rejected"] if r[1] == DAY1.isoformat()]) == 7


def test_a_load_takes_its_tables_lock_first_and_waits_for_a_holder(bucket: str, pg_server: PgServer,
                                                                    schema: tuple[str, str]) -> None:
    name, user = schema
    wh = rsup.warehouse(pg_server, name, user, bucket)
    _load(wh, bucket, (DAY1,), "run-0")  # creates the tables
    holder = redshift_connector.connect(**{**pg_server.connect_kwargs(), "user": user,
                                           "password": rsup.SECRET_PASSWORD})
    try:
        cursor = holder.cursor()
        cursor.execute(f'LOCK "{name}"."staging_events"')
        loader = threading.Thread(target=_load, args=(wh, bucket, (DAY1,), "run-1"))
        loader.start()
        waiting: list[tuple] = []
        deadline = time.monotonic() + 60
        while not waiting and time.monotonic() < deadline:
            waiting = rsup.pg_rows(pg_server, name, "SELECT query FROM pg_stat_activity WHERE wait_event_type = "
                                   "'Lock' AND query LIKE 'LOCK %%'")
            time.sleep(0.2)
        assert waiting and waiting[0][0] == 'LOCK "rejected_records", "staging_events"'
        assert loader.is_alive()
    finally:
        holder.rollback()
        holder.close()
    loader.join(timeout=120)
    assert not loader.is_alive()
    assert len(_state(pg_server, name)["staging_events"]) == 2


def test_serialization_failures_are_transient(pg_server: PgServer, schema: tuple[str, str]) -> None:
    """A real one from PostgreSQL (40001), and Redshift's 1023 as redshift_connector raises it."""
    name, user = schema
    cons = [redshift_connector.connect(**{**pg_server.connect_kwargs(), "user": user,
                                          "password": rsup.SECRET_PASSWORD}) for _ in range(2)]
    try:
        c1, c2 = (c.cursor() for c in cons)
        c1.execute(f"CREATE TABLE {name}.t (x INTEGER)")
        cons[0].commit()
        for c in (c1, c2):
            c.execute("SET TRANSACTION ISOLATION LEVEL SERIALIZABLE")
            c.execute(f"SELECT COUNT(*) FROM {name}.t")
        c1.execute(f"INSERT INTO {name}.t VALUES (1)")
        c2.execute(f"INSERT INTO {name}.t VALUES (2)")
        cons[0].commit()
        with pytest.raises(redshift_connector.ProgrammingError) as err:
            cons[1].commit()
        assert is_serialization_failure(err.value) and is_transient(err.value)
    finally:
        for c in cons:
            c.close()
    redshift_1023 = redshift_connector.ProgrammingError(
        {"S": "ERROR", "C": "XX000", "M": "1023", "D": "Serializable isolation violation on table - 100341, "
         "transactions forming the cycle are: 1091, 1093 (pid:8281)"})
    assert is_serialization_failure(redshift_1023) and is_transient(redshift_1023)
    syntax = redshift_connector.ProgrammingError({"S": "ERROR", "C": "42601", "M": 'syntax error at or near "x"'})
    assert not is_serialization_failure(syntax) and not is_transient(syntax)


# -- 6. exact keys, manifest region, MAXERROR ------------------------------------------------------------------


def test_only_exact_keys_are_read_a_bak_beside_a_file_never(bucket: str, pg_server: PgServer,
                                                            schema: tuple[str, str]) -> None:
    name, user = schema
    wh = rsup.warehouse(pg_server, name, user, bucket)
    source = s3_support.s3_source(bucket, BUCKET)
    _load(wh, bucket, (DAY1,), "run-1")
    wh.stage_songs(source, source.song_objects(), "run-1")
    inputs = [i for (i,) in rsup.pg_rows(pg_server, name, "SELECT inputs FROM copy_log ORDER BY id")]
    assert inputs[0] == f'["s3://{BUCKET}/{KEY1}"]'
    assert ".bak" not in "".join(inputs)
    statements = rsup.pg_rows(pg_server, name, "SELECT statement FROM copy_log ORDER BY id")
    assert all("\nMANIFEST\n" in s for (s,) in statements)
    users = {r[-1] for r in rsup.pg_rows(pg_server, name, 'SELECT "user_id" FROM "staging_events"')}
    assert 99 not in users
    assert ("SOBAK",) not in rsup.pg_rows(pg_server, name, 'SELECT "song_id" FROM "staging_songs"')


def test_a_manifest_bucket_in_another_region_fails_before_loading(bucket: str, pg_server: PgServer,
                                                                   schema: tuple[str, str]) -> None:
    client = s3_support.client(bucket)
    client.create_bucket(Bucket="elsewhere", CreateBucketConfiguration={"LocationConstraint": "eu-west-1"})
    wh = rsup.warehouse(pg_server, *schema, bucket, manifest_url="s3://elsewhere/manifests/")
    with pytest.raises(ValueError, match="elsewhere is in eu-west-1 but the data bucket bad-input is in us-east-1"):
        _load(wh, bucket, (DAY1,), "run-1")
    assert rsup.pg_rows(pg_server, schema[0], "SELECT COUNT(*) FROM copy_log") == [(0,)]


def test_maxerror_fails_at_the_count_itself(bucket: str, pg_server: PgServer, schema: tuple[str, str]) -> None:
    """"If the load returns the error_count number of errors or greater, the load fails": tolerating the day's 4
    COPY rejects takes MAXERROR 5."""
    assert copy_fails(4, 4) and not copy_fails(4, 5) and copy_fails(1, 0) and copy_fails(1, 1)
    assert not copy_fails(0, 0)
    name, user = schema
    _load(rsup.warehouse(pg_server, name, user, bucket, max_errors=4), bucket, (DAY1,), "run-1")
    ((statement,),) = rsup.pg_rows(pg_server, name, "SELECT statement FROM copy_log")
    assert "\nMAXERROR 5\n" in statement
    with pytest.raises(SourceDataError, match=r"stopped after more than 3 rejected records \(MAXERROR 4; 4 reported"):
        _load(rsup.warehouse(pg_server, name, user, bucket, max_errors=3), bucket, (DAY1,), "run-2")


# -- 7. the operator's first run -----------------------------------------------------------------------------------


def test_preflight_dry_run_creates_nothing_then_the_error_summary(bucket: str, pg_server: PgServer,
                                                                  schema: tuple[str, str],
                                                                  monkeypatch: pytest.MonkeyPatch,
                                                                  capsys: pytest.CaptureFixture[str]) -> None:
    """The documented checklist, as the operator types it: dry run, load one day, print its load-error summary."""
    name, user = schema
    env = {"SPARKIFY_DATA_URL": f"s3://{BUCKET}", "SPARKIFY_S3_ENDPOINT_URL": bucket, "AWS_ACCESS_KEY_ID": "testing",
           "AWS_SECRET_ACCESS_KEY": "testing", "REDSHIFT_HOST": pg_server.host, "REDSHIFT_PORT": str(pg_server.port),
           "REDSHIFT_DATABASE": pg_server.database, "REDSHIFT_USER": user, "REDSHIFT_PASSWORD": rsup.SECRET_PASSWORD,
           "REDSHIFT_SSL": "false", "REDSHIFT_SCHEMA": name, "REDSHIFT_IAM_ROLE_ARN": rsup.ROLE_ARN,
           "REDSHIFT_S3_REGION": "us-west-2"}
    for k, v in env.items():
        monkeypatch.setenv(k, v)
    client = s3_support.client(bucket)
    manifests = f"_manifests/staging_events/{DAY1}_{DAY1}.manifest"
    client.delete_object(Bucket=BUCKET, Key=manifests)  # left by other tests' loads
    tables = "SELECT COUNT(*) FROM pg_tables WHERE schemaname = current_schema()"
    before = rsup.pg_rows(pg_server, name, tables)

    assert redshift_preflight.main(["--day", DAY1.isoformat()]) == 0
    out = capsys.readouterr().out
    assert rsup.pg_rows(pg_server, name, tables) == before
    assert client.list_objects_v2(Bucket=BUCKET, Prefix=manifests).get("KeyCount", 0) == 0
    assert f"{user}@127.0.0.1:{pg_server.port}/{pg_server.database}" in out and rsup.SECRET_PASSWORD not in out
    assert "rejects will be read from: stl_load_errors" in out and "statement_timeout: 0" in out
    assert f"s3://{BUCKET}/{KEY1} (" in out and ".bak" not in out
    assert f"FROM 's3://{BUCKET}/{manifests}'\n" in out and "\nMAXERROR 1000\n" in out
    assert "created on first load: " in out and "dry run: nothing was written" in out

    _load(rsup.warehouse(pg_server, name, user, bucket), bucket, (DAY1,), "run-1")
    assert redshift_preflight.main(["--day", DAY1.isoformat(), "--errors"]) == 0
    out = capsys.readouterr().out
    assert out.startswith(f"{DAY1}: 7 rejected record(s)")
    assert f"{KEY1} line 2: field" not in out and f"{KEY1} line 2: Invalid JSON" in out
