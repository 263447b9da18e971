"""The production warehouse: Amazon Redshift through `redshift_connector`, loaded from S3 with COPY.

Over 300 lines because the ~30 settings users configure are this resource's fields, and `from_settings` builds them.

One connection per run (opened in setup_for_execution), autocommit off: every `transaction()` ends in COMMIT or
ROLLBACK, so each staging replace (COPY into a landing table, record rules, delete the window, insert) and each
transform is atomic. No secret (password) is ever put in a message, metadata or `repr`.

This module is the resource: its settings, the connection and its session, the table locks that make concurrent
runs take turns, and what a COPY is allowed (role, region, MAXERROR). Loading is the jobs' in `resources/redshift/`
(events, songs, the COPY load itself, manifests), which take the resource.
"""

from __future__ import annotations

import random
import re
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager, suppress
from typing import Any, Literal

import redshift_connector
from dagster import EnvVar, InitResourceContext
from pydantic import Field, PrivateAttr

from sparkify_assets.day_window import DayWindow
from sparkify_assets.resources.redshift import events, manifests, songs
from sparkify_assets.resources.redshift.session import (
    RedshiftConnectionError,
    RedshiftSession,
    retry_serialization,
    statement_socket_timeout,
)
from sparkify_assets.resources.s3_source import S3Source
from sparkify_assets.resources.source import RawSource, SourceDataError, SourceObject
from sparkify_assets.resources.warehouse import (
    LoadStats,
    Params,
    Rows,
    Session,
    Warehouse,
)
from sparkify_assets.settings import RedshiftSettings
from sparkify_assets.sql import redshift as rs
from sparkify_assets.sql.dialect import REDSHIFT, Dialect
from sparkify_assets.tables import Table

__all__ = ["RedshiftConnectionError", "RedshiftSession", "RedshiftWarehouse", "from_settings"]

_SCHEMA = re.compile(r"[A-Za-z_][A-Za-z0-9_$]{0,126}")


class RedshiftWarehouse(Warehouse):
    """A Redshift cluster or Serverless workgroup; data is COPYed from the S3 source's bucket."""

    host: str | None = Field(default=None, description="Endpoint host (optional with IAM: looked up).")
    port: int = Field(default=5439, description="Endpoint port.")
    database: str = Field(default="dev", description="Database name.")
    user: str | None = Field(default=None, description="Database user (password authentication).")
    password: str | None = Field(default=None, repr=False, description="Password; never logged or shown.")
    iam: bool = Field(default=False, description="Authenticate with IAM (temporary credentials) instead.")
    cluster_identifier: str | None = Field(default=None, description="Provisioned cluster, for IAM.")
    serverless_work_group: str | None = Field(default=None, description="Serverless workgroup: for IAM "
                                                       "login; with a password it marks the endpoint as Serverless.")
    db_user: str | None = Field(default=None, description="Database user IAM credentials are issued for.")
    region: str | None = Field(default=None, description="The cluster's AWS region (IAM authentication).")
    ssl: bool = Field(default=True, description="TLS to the endpoint (Redshift requires it by default).")
    timeout: int = Field(default=30, description="Connect timeout, seconds: limits connecting (and logging in) "
                         "only; a statement may run longer (see statement_timeout).")
    statement_timeout: int = Field(default=0, description="Seconds any one statement may run before Redshift "
                                   "cancels it (its statement_timeout); 0 = no limit, Redshift's default.")
    schema_name: str = Field(default="public", description="Schema every table lives in (search_path).")
    iam_role_arn: str | None = Field(default=None, description="Role COPY assumes to read the bucket.")
    s3_region: str | None = Field(default=None, description="The bucket's region when not the cluster's "
                                  "(COPY ... REGION); s3://udacity-dend is in us-west-2.")
    max_errors: int = Field(default=rs.DEFAULT_MAX_ERRORS - 1, description="Records COPY may reject per load "
                            "and the load still succeed; sent as MAXERROR max_errors + 1 (COPY fails when the count "
                            "of rejects reaches MAXERROR).")
    manifest_prefix: str = Field(default="_manifests/", description="Where multi-day COPY manifests are written, "
                                 "relative to the data root (needs s3:PutObject there).")
    manifest_url: str | None = Field(default=None, description="s3://bucket/prefix/ for the manifests instead, "
                                     "when the data bucket is read-only (e.g. s3://udacity-dend).")
    load_errors_view: Literal["auto", "stl_load_errors", "sys_load_error_detail"] = Field(
        default="auto", description="Where COPY rejects are read from; auto = sys_load_error_detail on Serverless "
        "(a workgroup, a redshift-serverless host, or no stl_load_errors to read), else stl_load_errors.")
    _con: redshift_connector.Connection | None = PrivateAttr(default=None)
    _view: str | None = PrivateAttr(default=None)  # the load-error view 'auto' settled on

    # -- connection ------------------------------------------------------------------------------------------

    def setup_for_execution(self, context: InitResourceContext) -> None:
        """One connection for the run: a Redshift login costs more than most of our statements."""
        self._con = self._open()

    def teardown_after_execution(self, context: InitResourceContext) -> None:
        if self._con is not None:
            with suppress(Exception):
                self._con.close()
            self._con = None

    @property
    def dialect(self) -> Dialect:
        return REDSHIFT

    @property
    def kind(self) -> str:
        return "redshift"

    @property
    def pool(self) -> str | None:
        """Redshift takes many writers: its steps are in no pool."""
        return None

    def endpoint(self) -> str:
        """Where we connect, for messages (no secret in it)."""
        where = self.host or self.serverless_work_group or self.cluster_identifier or "?"
        who = self.db_user if self.iam else self.user
        return f"{who}@{where}:{self.port}/{self.database}" + (" (IAM)" if self.iam else "")

    def _connect_kwargs(self) -> dict[str, Any]:
        kwargs: dict[str, Any] = {"database": self.database, "port": self.port, "ssl": self.ssl,
                                  "timeout": self.timeout, "application_name": "sparkify_assets"}
        if self.host:
            kwargs["host"] = self.host
        if self.iam:
            kwargs |= {"iam": True, "db_user": self.db_user, "region": self.region,
                       "cluster_identifier": self.cluster_identifier}
            if self.serverless_work_group:
                kwargs |= {"is_serverless": True, "serverless_work_group": self.serverless_work_group}
        else:
            kwargs |= {"user": self.user, "password": self.password}
        return {k: v for k, v in kwargs.items() if v is not None}

    def _scrub(self, text: str) -> str:
        return text.replace(self.password, "***") if self.password else text

    def _open(self) -> redshift_connector.Connection:
        if not _SCHEMA.fullmatch(self.schema_name):
            raise ValueError("schema_name must be a plain identifier")
        try:
            con = redshift_connector.connect(**self._connect_kwargs())
        except Exception as exc:  # the driver's message may quote its arguments: scrub, and drop the chain
            raise RedshiftConnectionError(
                f"cannot connect to Redshift {self.endpoint()}: {type(exc).__name__}: {self._scrub(str(exc))}"
            ) from None
        try:
            statement_socket_timeout(con, self.statement_timeout)
            con.autocommit = False
            cursor = con.cursor()
            for sql in rs.session_settings_sql(self.schema_name, self.statement_timeout):
                cursor.execute(sql)
            con.commit()
            if self._view is None:
                self._view = self._settle_load_errors_view(con)
        except BaseException:
            with suppress(Exception):
                con.close()
            raise
        return con

    def _settle_load_errors_view(self, con: redshift_connector.Connection) -> str:
        """The view rejects are read from: Serverless has only sys_load_error_detail; a provisioned cluster also
        keeps stl_load_errors, which alone holds the rejected line's text (for the quarantine's raw_text)."""
        if self.load_errors_view != "auto":
            return self.load_errors_view
        if self.serverless_work_group or ".redshift-serverless." in (self.host or ""):
            return "sys_load_error_detail"
        cursor = con.cursor()
        try:  # a Serverless endpoint reached by a custom host name: it has no STL views to read
            cursor.execute(rs.PROBE_STL_SQL)
            cursor.fetchall()
            return "stl_load_errors"
        except redshift_connector.ProgrammingError:
            return "sys_load_error_detail"
        finally:
            con.rollback()

    @contextmanager
    def _connection(self) -> Iterator[redshift_connector.Connection]:
        if self._con is not None:
            yield self._con
            return
        con = self._open()
        try:
            yield con
        finally:
            with suppress(Exception):
                con.close()

    @contextmanager
    def transaction(self) -> Iterator[RedshiftSession]:
        with self._connection() as con:
            cursor = con.cursor()
            cursor.paramstyle = "pyformat"
            try:
                yield RedshiftSession(con, cursor)
            except BaseException:
                with suppress(Exception):
                    con.rollback()
                raise
            con.commit()

    def fetch_table(self, sql: str, params: Params = None) -> Rows:
        with self.transaction() as session:
            return session.fetch_table(sql, params)

    # -- concurrent runs -------------------------------------------------------------------------------------

    def ensure_tables(self, session: Session, tables: Sequence[Table]) -> None:
        """Create the missing tables in a transaction of their own, then LOCK every table the transaction reads or
        writes as its first statement.

        Redshift runs are not pooled: two runs may load the same days at once. The lock makes them take turns
        (the later one sees the earlier one's commit, so both orders end with the same rows), as Redshift's
        documentation prescribes against serializable isolation errors; it must come first, before the
        transaction's snapshot. Called later in a transaction, it only creates (nothing can be locked first).
        """
        assert isinstance(session, RedshiftSession)
        if not tables:
            return
        if not session.fresh:
            super().ensure_tables(session, tables)
            return
        self._create_missing(session, tables)
        session.execute(rs.lock_sql([t.name for t in tables]))

    def _create_missing(self, s: RedshiftSession, tables: Sequence[Table]) -> None:
        """Two runs creating one table at once: the slower one's CREATE fails once the other commits, and the
        retry finds the table there."""
        for attempt in range(3):
            try:
                existing = {name for (name,) in s.fetchall(rs.existing_tables_sql())}
                for t in tables:
                    if t.name not in existing:
                        s.execute(self.dialect.create_table(t))
                s.con.commit()
                return
            except redshift_connector.Error:
                s.con.rollback()
                if attempt == 2:
                    raise
                time.sleep(0.5 + random.random())

    def read_if_available(self, sql: str, params: Params, table: Table) -> list[tuple[Any, ...]] | None:
        """A sensor's read: created if missing, never locked (it waits only while a writer holds `table`)."""
        with self.transaction() as s:
            super().ensure_tables(s, (table,))
            return s.fetchall(sql, params)

    def run(self, statements: Sequence[str], params: Params = None, ensure: Sequence[Table] = ()) -> None:
        retry_serialization(lambda: super(RedshiftWarehouse, self).run(statements, params, ensure))

    @property
    def rejects_view(self) -> str:
        """The load-error view COPY rejects are read from (settled when the connection opened)."""
        return self._view or self.load_errors_view

    # -- staging: each a job of its own module -------------------------------------------------------------------

    def stage_events(self, source: RawSource, objects: Sequence[SourceObject], window: DayWindow,
                     run_id: str) -> LoadStats:
        return retry_serialization(lambda: events.stage_events(self, _s3_source(source), objects, window, run_id))

    def stage_songs(self, source: RawSource, objects: Sequence[SourceObject], run_id: str) -> LoadStats:
        return retry_serialization(lambda: songs.stage_songs(self, _s3_source(source), objects, run_id))

    def s3_copy(self, landing: Table, manifest: str, json: str) -> rs.S3Copy:
        """The COPY of the files a manifest names into `landing`, as this warehouse's role, region and MAXERROR."""
        return rs.S3Copy(table=landing, source_uri=manifest, json=json, iam_role_arn=self._role(),
                         region=self.s3_region, manifest=True, max_errors=self._maxerror())

    def send_copy(self, s: RedshiftSession, copy: rs.S3Copy) -> None:
        """The COPY itself: the one statement PostgreSQL cannot run, so the only thing tests replace."""
        s.execute(rs.copy_sql(copy))

    def _maxerror(self) -> int:
        """COPY fails once its rejects reach MAXERROR ("If the load returns the error_count number of errors or
        greater, the load fails"), so tolerating max_errors rejects takes MAXERROR max_errors + 1."""
        if not 0 <= self.max_errors < 100_000:
            raise ValueError("max_errors must be between 0 and 99999 (COPY's MAXERROR is at most 100000)")
        return self.max_errors + 1

    def _role(self) -> str:
        if not self.iam_role_arn:
            raise ValueError("COPY needs iam_role_arn (REDSHIFT_IAM_ROLE_ARN): the role Redshift assumes to read S3")
        return self.iam_role_arn

    def manifest_uri(self, s3: S3Source, name: str) -> str:
        """Where the manifest `name` goes, after checking its bucket's region against the data's."""
        return manifests.manifest_uri(s3, name, self.manifest_url, self.manifest_prefix)


def _s3_source(source: RawSource) -> S3Source:
    if not isinstance(source, S3Source):
        raise SourceDataError("Redshift loads with COPY from S3: set SPARKIFY_DATA_URL to an s3:// URL "
                              f"(the data is at {source.uri()})")
    return source


def from_settings(redshift: RedshiftSettings) -> RedshiftWarehouse:
    """SPARKIFY_WAREHOUSE=redshift: connection settings from the REDSHIFT_* variables read into `redshift`
    (settings.py); the secrets stay EnvVars, so Dagster shows their names, never their values."""
    common: dict[str, Any] = {
        "database": EnvVar("REDSHIFT_DATABASE"),
        "iam_role_arn": EnvVar("REDSHIFT_IAM_ROLE_ARN"),
        "schema_name": redshift.schema,
        "s3_region": redshift.s3_region,
        "ssl": redshift.ssl,
        "timeout": redshift.connect_timeout,
        "statement_timeout": redshift.statement_timeout,
        "load_errors_view": redshift.load_errors_view,
        "manifest_url": redshift.manifest_url,
    }
    if redshift.port_set:
        common["port"] = EnvVar.int("REDSHIFT_PORT")
    if redshift.host_set:
        common["host"] = EnvVar("REDSHIFT_HOST")
    if redshift.iam:
        return RedshiftWarehouse(iam=True, db_user=EnvVar("REDSHIFT_DB_USER"),
                                 cluster_identifier=redshift.cluster_identifier,
                                 serverless_work_group=redshift.workgroup, region=redshift.region, **common)
    # Password login to a Serverless workgroup: REDSHIFT_WORKGROUP (or its endpoint's host name) says Serverless.
    return RedshiftWarehouse(**{"host": EnvVar("REDSHIFT_HOST"), **common}, user=EnvVar("REDSHIFT_USER"),
                             password=EnvVar("REDSHIFT_PASSWORD"), serverless_work_group=redshift.workgroup)
