"""Secrets never leave (issue 18 item 2), through the real service: one `python -m sparkify_service` start with a
distinctive secret, full of awkward characters, in every secret variable: DAGSTER_POSTGRES_URL (its password
not percent-encoded, holding '/', '#', '?', '@', ':', '%', quotes and a backslash), REDSHIFT_PASSWORD, the AWS
keys (used: the data is in a real S3 API, moto's server, which the run lists) and the webhook URL. A run fails
(its day's file is missing) and its alert is delivered; then no process's command line, no file under
DAGSTER_HOME (compute logs included), the warehouse, the service's output, PostgreSQL's data and log folder or
any text in its tables, and no alert received holds any of the secrets. Each secret carries a unique core of
letters and digits, which every encoding (percent, JSON, repr) keeps as it is: the search is for the cores.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import psycopg2
import pytest
from psycopg2 import sql

from sparkify_assets.resources.source import log_key
from sparkify_assets_tests.support.postgres import running_postgres
from sparkify_assets_tests.support.s3 import running_moto, upload_tree
from sparkify_assets_tests.support.service import Service, poll, processes_of, running_service
from sparkify_assets_tests.support.webhook_receiver import running_receiver
from sparkify_assets_tests.support.webserver import LAUNCH_RUN, REPOSITORY_QUERY, free_port
from sparkify_service import pg_url

pytestmark = pytest.mark.slow

TAG = uuid.uuid4().hex[:12]
CORES = {name: f"k18{short}{TAG}" for name, short in (
    ("pg", "pg"), ("redshift", "rs"), ("aws_id", "AKID"), ("aws_secret", "aws"), ("webhook", "hook"))}
PG_PASSWORD = f"pg/{CORES['pg']}#x?y@z:w%zz 'q\"\\e"
PRESENT, MISSING = "2018-11-05", "2018-11-06"  # the bucket holds the first
LIMIT_S = 300.0  # guards against a hang only


def launch_day(service: Service, day: str) -> str:
    (repo,) = service.graphql(REPOSITORY_QUERY)["repositoriesOrError"]["nodes"]
    params = {"selector": {"repositoryLocationName": repo["location"]["name"], "repositoryName": repo["name"],
                           "pipelineName": "daily_logs"},
              "mode": "default", "runConfigData": {},
              "executionMetadata": {"tags": [{"key": "dagster/partition", "value": day}]}}
    result = service.graphql(LAUNCH_RUN, {"params": params})["launchRun"]
    assert result["__typename"] == "LaunchRunSuccess", result
    return result["run"]["runId"]


def leaks(data: bytes) -> list[str]:
    return [name for name, core in CORES.items() if core.encode() in data]


def leaking_files(folder: Path, skip: tuple[str, ...] = ()) -> dict[str, list[str]]:
    found = {}
    for path in folder.rglob("*"):
        if path.is_file() and not path.is_symlink() and path.name not in skip:
            if hits := leaks(path.read_bytes()):
                found[str(path)] = hits
    return found


def leaking_rows(url: str) -> dict[str, list[str]]:
    """Every text column of every table of Dagster's storage, searched (TOAST may compress them on disk)."""
    found: dict[str, list[str]] = {}
    with psycopg2.connect(url) as con, con.cursor() as cur:
        cur.execute("SELECT table_schema, table_name, column_name FROM information_schema.columns "
                    "WHERE table_schema NOT IN ('pg_catalog', 'information_schema') "
                    "AND data_type IN ('text', 'character varying', 'json', 'jsonb', 'bytea')")
        for schema, table, column in cur.fetchall():
            cur.execute(sql.SQL("SELECT {c}::text FROM {s}.{t}").format(
                c=sql.Identifier(column), s=sql.Identifier(schema), t=sql.Identifier(table)))
            text = "\n".join(value for (value,) in cur.fetchall() if value)
            if hits := leaks(text.encode()):
                found[f"{table}.{column}"] = hits
    return found


def command_lines() -> dict[str, list[str]]:
    found = {}
    for entry in Path("/proc").glob("[0-9]*"):
        try:
            cmdline = (entry / "cmdline").read_bytes()
        except OSError:
            continue
        if hits := leaks(cmdline):
            found[entry.name] = hits
    return found


@pytest.fixture(scope="module")
def moto() -> Iterator[str]:
    with running_moto() as url:
        yield url


def test_no_secret_reaches_any_output_file_table_process_or_alert(real_sample: Path, moto: str,
                                                                   tmp_path: Path) -> None:
    bucket = f"sparkify-{TAG}"
    upload_tree(moto, bucket, real_sample, (log_key(date.fromisoformat(PRESENT)),))
    home, db, port = tmp_path / "dagster_home", tmp_path / "warehouse.duckdb", free_port()
    with running_postgres(database="dagster", user="dagster", password=PG_PASSWORD) as pg, \
            running_receiver() as receiver:
        raw_url = f"postgresql://dagster:{PG_PASSWORD}@127.0.0.1:{pg.direct_port}/dagster"  # not encoded
        env = {
            "DAGSTER_HOME": str(home), "DAGSTER_POSTGRES_URL": raw_url, "SPARKIFY_PORT": str(port),
            "SPARKIFY_DATA_URL": f"s3://{bucket}", "SPARKIFY_S3_ENDPOINT_URL": moto, "AWS_REGION": "us-east-1",
            "AWS_ACCESS_KEY_ID": f"AK{CORES['aws_id']}",
            "AWS_SECRET_ACCESS_KEY": f"a/{CORES['aws_secret']}+='\"#",
            "REDSHIFT_PASSWORD": f"r'{CORES['redshift']}\"\\ /#?@:%;$(x)",
            "SPARKIFY_ALERT_WEBHOOK_URL": f"{receiver.url}/hooks/{CORES['webhook']}",
            "SPARKIFY_DUCKDB_PATH": str(db), "SPARKIFY_END_DATE": MISSING, "SPARKIFY_WAREHOUSE": "duckdb",
            "SPARKIFY_SENSOR": "off", "SPARKIFY_ALERT_INTERVAL_SECONDS": "3",
            "SPARKIFY_RUN_MONITORING_INTERVAL_SECONDS": "2",
        }
        with running_service(env, home, port, tmp_path / "service.log") as service:
            failed = launch_day(service, MISSING)  # lists S3 with the AWS keys, then fails: no file for the day
            received = receiver.wait_for(lambda ms: any(m["run_id"] == failed for m in ms), "the failure alert",
                                         LIMIT_S)
            (alert,) = [m for m in received if m["run_id"] == failed]
            assert alert["kind"] == "run_failed" and "no log file" in alert["error"], alert
            assert f"s3://{bucket}/log_data/2018/11/{MISSING}-events.json" in alert["error"]  # S3 answered
            poll(lambda: not processes_running_a_run(home), "the run's worker gone", LIMIT_S, service)
            assert processes_of(home), "the service's processes are there to be searched"
            assert command_lines() == {}
        assert all(path == f"/hooks/{CORES['webhook']}" for path in receiver.paths)  # the secret URL was used
        assert leaks(json.dumps(receiver.received()).encode()) == []
        canonical = pg_url.parse(raw_url).url
        with psycopg2.connect(canonical) as con, con.cursor() as cur:
            cur.execute("SELECT status FROM runs WHERE run_id = %s", (failed,))
            assert cur.fetchone() == ("FAILURE",)
            cur.execute("CHECKPOINT")
            cur.execute("SHOW data_directory")
            (pg_data,) = cur.fetchone()
        assert leaking_rows(canonical) == {}
        # PostgreSQL's folder: data, WAL and server log (not the password file the test itself gave initdb).
        assert leaking_files(Path(pg_data).parent, skip=("pwfile",)) == {}
    # DAGSTER_HOME (instance, compute logs), the warehouse and the service's own output.
    assert leaking_files(tmp_path) == {}
    assert (tmp_path / "service.log").stat().st_size > 0


def processes_running_a_run(home: Path) -> bool:
    """Whether a run worker (`dagster api execute_run`) of the service is still alive."""
    for pid in processes_of(home):
        try:
            if b"execute_run" in Path(f"/proc/{pid}/cmdline").read_bytes():
                return True
        except OSError:
            continue
    return False
