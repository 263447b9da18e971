"""One Redshift connection's parts that are not the warehouse's job: the session a transaction runs in, the
socket's timeout after connecting, retrying a transaction that lost a serialization conflict, and the manifest
bucket's region check (COPY reads manifest and data with one REGION)."""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol, TypeVar

import redshift_connector

from sparkify_assets.resources.warehouse import Params, Rows, used_params
from sparkify_assets.retries import is_serialization_failure
from sparkify_assets.sql.dialect import Dialect
from sparkify_assets.tables import Table

if TYPE_CHECKING:
    from sparkify_assets.resources.s3_source import S3Source
    from sparkify_assets.sql.redshift import S3Copy

SERIALIZATION_RETRIES = 4
T = TypeVar("T")


class RedshiftConnectionError(Exception):
    """Could not connect; the message names the endpoint and user, never the password."""


@dataclass(frozen=True)
class LoadError:
    """One record COPY rejected, as Redshift's load-error view reports it."""

    uri: str
    line_number: int
    column: str
    code: int
    reason: str
    raw_line: str | None


class RedshiftSession:
    def __init__(self, con: redshift_connector.Connection, cursor: redshift_connector.Cursor) -> None:
        self.con, self.cursor = con, cursor
        self.fresh = True  # nothing sent yet in this transaction (LOCK must come first)

    def execute(self, sql: str, params: Params = None) -> None:
        self.fresh = False
        self.cursor.execute(sql, used_params(sql, params))

    def fetchall(self, sql: str, params: Params = None) -> list[tuple[Any, ...]]:
        self.execute(sql, params)
        return [tuple(row) for row in self.cursor.fetchall()]

    def fetch_table(self, sql: str, params: Params = None) -> Rows:
        self.execute(sql, params)
        columns = [c[0] for c in self.cursor.description or []]
        return columns, [tuple(r) for r in self.cursor.fetchall()]


def retry_serialization(attempt: Callable[[], T]) -> T:
    """Run a whole transaction again after a serializable isolation error (Redshift's 1023, PostgreSQL's 40001)
    or a deadlock, with exponential backoff and jitter; the locks make these rare. Any other error, or the last
    attempt's, is raised (the step's RetryPolicy then treats these as transient too, see retries.py)."""
    for n in range(SERIALIZATION_RETRIES):
        try:
            return attempt()
        except redshift_connector.ProgrammingError as exc:
            if n == SERIALIZATION_RETRIES - 1 or not is_serialization_failure(exc):
                raise
            time.sleep((2 ** n) * (0.5 + random.random()))
    raise AssertionError("unreachable")


def statement_socket_timeout(con: redshift_connector.Connection, statement_timeout: int) -> None:
    """The driver applies its `timeout` to the socket for the connection's whole life, so any statement longer
    than the connect timeout would die with a socket timeout (and be retried as transient). Once connected, the
    socket waits as long as a statement may run: without limit, or a minute past statement_timeout, so Redshift's
    own cancellation arrives first and a silent dead connection still ends (TCP keepalive is on as well)."""
    sock = getattr(con, "_usock", None)  # redshift_connector 2.x keeps its socket here
    if sock is None:
        raise RuntimeError("redshift_connector changed: cannot lift the connect timeout from its socket")
    sock.settimeout(statement_timeout + 60 if statement_timeout > 0 else None)


def same_region(client: Any, data_bucket: str, manifest_bucket: str) -> None:
    """COPY reads the manifest and the data with one REGION: buckets in two regions fail on Redshift only, after
    the run started; here they fail at once, naming both. Unknowable regions (no s3:GetBucketLocation) pass."""
    regions = {}
    for bucket in (data_bucket, manifest_bucket):
        try:
            regions[bucket] = client.get_bucket_location(Bucket=bucket).get("LocationConstraint") or "us-east-1"
        except Exception:  # permission or endpoint: leave the check to COPY itself
            return
    if regions[data_bucket] != regions[manifest_bucket]:
        raise ValueError(f"the manifest bucket {manifest_bucket} is in {regions[manifest_bucket]} but the data "
                         f"bucket {data_bucket} is in {regions[data_bucket]}: COPY reads both with one REGION, so "
                         "REDSHIFT_MANIFEST_URL must name a bucket in the data's region")


class Store(Protocol):
    """What the staging jobs (events.py, songs.py, copy_load.py) need of the Redshift resource that runs them:
    declared here so they do not import the resource that imports them."""

    max_errors: int

    @property
    def dialect(self) -> Dialect: ...

    @property
    def rejects_view(self) -> str: ...

    def transaction(self) -> AbstractContextManager[RedshiftSession]: ...

    def ensure_tables(self, session: Any, tables: Sequence[Table]) -> None: ...

    def manifest_uri(self, s3: S3Source, name: str) -> str: ...

    def s3_copy(self, landing: Table, manifest: str, json: str) -> S3Copy: ...

    def send_copy(self, s: RedshiftSession, copy: S3Copy) -> None: ...
