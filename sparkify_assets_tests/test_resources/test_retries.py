"""Which errors are retried: real exceptions from the libraries we talk to, classified in one place."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import duckdb
import pytest
import redshift_connector
from botocore.exceptions import ClientError, ConnectionClosedError, EndpointConnectionError, NoCredentialsError
from dagster import Backoff, Jitter

from sparkify_assets.resources.duckdb_warehouse import DuckDBWarehouse
from sparkify_assets.resources.source import SourceDataError
from sparkify_assets.retries import MAX_RETRIES, is_transient, retry_policy
from sparkify_assets.settings import Settings


def client_error(code: str, status: int) -> ClientError:
    return ClientError({"Error": {"Code": code, "Message": code}, "ResponseMetadata": {"HTTPStatusCode": status}},
                       "GetObject")


def raised_from(cause: BaseException, outer: BaseException) -> BaseException:
    try:
        try:
            raise cause
        except BaseException as exc:
            raise outer from exc
    except BaseException as exc:
        return exc


@pytest.mark.parametrize("exc, transient", [
    (client_error("SlowDown", 503), True),
    (client_error("ThrottlingException", 400), True),
    (client_error("InternalError", 500), True),
    (EndpointConnectionError(endpoint_url="http://127.0.0.1:1"), True),
    (ConnectionClosedError(endpoint_url="http://127.0.0.1:1"), True),
    (redshift_connector.InterfaceError("connection lost"), True),
    (ConnectionResetError(), True),
    (client_error("AccessDenied", 403), False),
    (client_error("InvalidAccessKeyId", 403), False),
    (client_error("NoSuchKey", 404), False),
    (NoCredentialsError(), False),
    (redshift_connector.ProgrammingError("syntax error at or near"), False),
    (duckdb.CatalogException("Table with name nope does not exist"), False),
    (SourceDataError("no log file"), False),
    (raised_from(client_error("SlowDown", 503), RuntimeError("wrapped")), True),
    (raised_from(client_error("SlowDown", 503), SourceDataError("bad input")), False),
], ids=lambda v: type(v).__name__ if isinstance(v, BaseException) else str(v))
def test_classification(exc: BaseException, transient: bool) -> None:
    assert is_transient(exc) is transient


def test_a_real_duckdb_lock_conflict_is_transient(tmp_path: Path) -> None:
    db = tmp_path / "locked.duckdb"
    holder = subprocess.Popen([sys.executable, "-c", textwrap.dedent(f"""
        import duckdb, sys
        con = duckdb.connect({str(db)!r})
        print("locked", flush=True)
        sys.stdin.readline()
    """)], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "locked"
        with pytest.raises(duckdb.IOException) as info:
            DuckDBWarehouse(path=str(db), lock_timeout_seconds=0)._open()
        assert is_transient(info.value)
    finally:
        holder.stdin.close()
        holder.wait(timeout=30)


def test_the_policy_is_three_retries_with_exponential_backoff(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SPARKIFY_RETRY_DELAY_SECONDS", "2")
    policy = retry_policy(Settings.from_env())
    assert (policy.max_retries, policy.delay, policy.backoff, policy.jitter) == (
        MAX_RETRIES, 2, Backoff.EXPONENTIAL, Jitter.PLUS_MINUS)
    assert MAX_RETRIES == 3
