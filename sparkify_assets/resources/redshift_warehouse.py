"""The production warehouse: Amazon Redshift through `redshift_connector`, loaded from S3 with COPY.

One connection per run (opened in setup_for_execution), autocommit off: every `transaction()` ends in COMMIT or
ROLLBACK, so each staging replace (COPY into a landing table, record rules, delete the window, insert) and each
transform is atomic. No secret (password) is ever put in a message, metadata or `repr`.
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
from sparkify_assets.resources.redshift_session import (
    LoadError,
    RedshiftConnectionError,
    RedshiftSession,
    retry_serialization,
    same_region,
    statement_socket_timeout,
)
from sparkify_assets.resources.s3_source import S3Source
from sparkify_assets.resources.source import (
    JSONPATHS_KEY,
    SONG_PREFIX,
    RawSource,
    SourceDataError,
    SourceObject,
    day_of_log_key,
)
from sparkify_assets.resources.warehouse import (
    LoadStats,
    Params,
    Rows,
    Session,
    Warehouse,
)
from sparkify_assets.settings import RedshiftSettings
from sparkify_assets.sql import redshift as rs
from sparkify_assets.sql import staging as staging_sql
from sparkify_assets.sql.dialect import POSTGRES, REDSHIFT, Dialect
from sparkify_assets.sql.duckdb_json import RAW_TEXT_CHARS
from sparkify_assets.tables import REJECTED_RECORDS, STAGING_EVENTS, STAGING_SONGS, Table

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
    dialect_name: Literal["redshift", "postgres"] = Field(
        default="redshift", description="'postgres' only for tests on PostgreSQL: the same SQL minus DIST/SORT keys.")
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
        return REDSHIFT if self.dialect_name == "redshift" else POSTGRES

    @property
    def kind(self) -> str:
        return "redshift"

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

    # -- staging ---------------------------------------------------------------------------------------------

    def stage_events(self, source: RawSource, objects: Sequence[SourceObject], window: DayWindow,
                     run_id: str) -> LoadStats:
        return retry_serialization(lambda: self._stage_events(source, objects, window, run_id))

    def _stage_events(self, source: RawSource, objects: Sequence[SourceObject], window: DayWindow,
                      run_id: str) -> LoadStats:
        s3 = _s3_source(source)
        files = [(o, day) for o in objects if (day := day_of_log_key(o.key)) is not None]
        attribution = rs.events_attribution(len(files))
        # Rows are credited to the file of their day; should a day have two files, to the first of them.
        credited = {day: o for o, day in reversed(files)}
        first, last = window.first_key, window.last_key
        params = {**window.params, "target_table": STAGING_EVENTS.name, "run_id": run_id,
                  "fallback_partition": first, "days": f"{first}..{last}"}
        uri = self._write_manifest(s3, [o for o, _ in files], f"staging_events/{first}_{last}")
        # What an unattributed reject is credited to: the one file, or the manifest naming several.
        params["copy_input"] = files[0][0].key if len(files) == 1 else _relative(s3, uri)
        copy = rs.S3Copy(table=rs.landing_table(STAGING_EVENTS), source_uri=uri, json=s3.uri(JSONPATHS_KEY),
                         iam_role_arn=self._role(), region=self.s3_region, manifest=True,
                         max_errors=self._maxerror())
        with self.transaction() as s:
            self.ensure_tables(s, (STAGING_EVENTS, REJECTED_RECORDS))
            s.execute(rs.create_files_sql())
            for day, o in sorted(credited.items()):
                bounds = DayWindow.of_day(day).params
                s.execute(rs.insert_file_sql(self.dialect), {"source_key": o.key, "partition_key": day.isoformat(),
                                                              "day_start_ms": bounds["start_ms"],
                                                              "day_end_ms": bounds["end_ms"]})
            return self._load(s, s3, copy, STAGING_EVENTS, attribution, rs.EVENTS_DEDUPE, params,
                              nbytes=sum(o.size for o in objects), nfiles=len(objects))

    def stage_songs(self, source: RawSource, objects: Sequence[SourceObject], run_id: str) -> LoadStats:
        return retry_serialization(lambda: self._stage_songs(source, objects, run_id))

    def _stage_songs(self, source: RawSource, objects: Sequence[SourceObject], run_id: str) -> LoadStats:
        """One COPY of exactly the listed song files, through a manifest: a prefix COPY would also read any other
        object under `song_data/` (a `.bak`, a partial upload) that the DuckDB path never reads."""
        s3 = _s3_source(source)
        params = {"target_table": STAGING_SONGS.name, "run_id": run_id, "copy_input": SONG_PREFIX,
                  "fallback_partition": None}
        uri = self._write_manifest(s3, objects, "staging_songs/song_data")
        copy = rs.S3Copy(table=rs.landing_table(STAGING_SONGS), source_uri=uri, json=rs.JSON_AUTO,
                         iam_role_arn=self._role(), region=self.s3_region, manifest=True,
                         max_errors=self._maxerror())
        with self.transaction() as s:
            self.ensure_tables(s, (STAGING_SONGS, REJECTED_RECORDS))
            return self._load(s, s3, copy, STAGING_SONGS, "input", rs.SONGS_DEDUPE, params,
                              nbytes=sum(o.size for o in objects), nfiles=len(objects))

    def _load(self, s: RedshiftSession, s3: S3Source, copy: rs.S3Copy, table: Table, attribution: str,
              dedupe_on: tuple[str, ...], params: dict[str, Any], nbytes: int, nfiles: int) -> LoadStats:
        """COPY, then the record rules, then replace the scope, all in the caller's transaction."""
        d = self.dialect
        s.execute(rs.create_temp_table(d, copy.table))
        # A manifest without entries is an error to COPY; nothing to read loads nothing (and replaces the scope).
        load_errors = self._copy(s, copy) if nfiles else []
        s.execute(rs.classify_sql(d, table, attribution, dedupe_on), params)
        s.execute(staging_sql.delete_scope_sql(d, table), params)
        s.execute(staging_sql.delete_rejected_sql(d, partitioned=table.partition_column is not None), params)
        s.execute(staging_sql.insert_loaded_sql(table))
        s.execute(rs.insert_classified_rejects_sql(d), params)
        copy_rejects = [self._reject_row(s3, table, e, params) for e in load_errors]
        for row in copy_rejects:
            s.execute(rs.insert_rejected_sql(d), row)
        ((landed, loaded),) = s.fetchall(rs.counts_sql())
        sample = [(k or params["copy_input"], n, r) for k, n, r in s.fetchall(rs.sample_rejects_sql())]
        sample = sorted(sample + [(r["source_key"], r["line_number"], r["reason"]) for r in copy_rejects])[:10]
        for temp in (rs.CLASSIFIED_TABLE, copy.table.name, *([rs.FILES_TABLE] if table is STAGING_EVENTS else [])):
            s.execute(rs.drop_temp_sql(temp))
        landed, loaded = int(landed or 0), int(loaded or 0)
        return LoadStats(files=nfiles, bytes=nbytes, read=landed + len(load_errors), loaded=loaded,
                         rejected=landed - loaded + len(load_errors), sample_rejects=sample)

    def _maxerror(self) -> int:
        """COPY fails once its rejects reach MAXERROR ("If the load returns the error_count number of errors or
        greater, the load fails"), so tolerating max_errors rejects takes MAXERROR max_errors + 1."""
        if not 0 <= self.max_errors < 100_000:
            raise ValueError("max_errors must be between 0 and 99999 (COPY's MAXERROR is at most 100000)")
        return self.max_errors + 1

    def _send_copy(self, s: RedshiftSession, copy: rs.S3Copy) -> None:
        """The COPY itself: the one statement PostgreSQL cannot run, so the only thing tests replace."""
        s.execute(rs.copy_sql(copy))

    def _copy(self, s: RedshiftSession, copy: rs.S3Copy) -> list[LoadError]:
        """Run COPY and read back what it rejected.

        Rejects are found by this session's id and the database's clock just before the COPY, not by
        pg_last_copy_id(): that id is STL's `query`, which SYS views do not share, and Redshift does not keep it
        when the COPY's transaction rolls back, which is exactly when the rejects explain the failure.
        """
        ((pid, since),) = s.fetchall(rs.copy_scope_sql(self.dialect))
        scope = {"copy_session": pid, "copy_since": since}
        try:
            self._send_copy(s, copy)
        except redshift_connector.Error as exc:
            errors = self._errors_after_failure(s, scope)
            if not errors:
                raise
            detail = "; ".join(f"{e.uri} line {e.line_number}: {e.reason}" for e in errors[:3])
            raise SourceDataError(f"COPY into {copy.table.name} stopped after more than {self.max_errors} rejected "
                                  f"records (MAXERROR {copy.max_errors}; {len(errors)} reported), e.g. {detail}"
                                  ) from exc
        return self._load_errors(s, scope)

    def _errors_after_failure(self, s: RedshiftSession, scope: dict[str, Any]) -> list[LoadError]:
        """A failed COPY aborts the transaction; its rejects stay readable in the load-error view after rollback.

        A COPY refused before it loads anything (access denied, bad syntax) rejected no record: nothing is found
        in its scope, and its own error is the one reported.
        """
        try:
            s.con.rollback()
            errors = self._load_errors(s, scope)
            s.con.rollback()
            return errors
        except redshift_connector.Error:
            return []

    def _load_errors(self, s: RedshiftSession, scope: dict[str, Any]) -> list[LoadError]:
        view = self._view or self.load_errors_view  # settled when the connection opened
        return [LoadError(uri=u, line_number=int(n), column=c or "", code=int(code), reason=r, raw_line=raw)
                for u, n, c, code, r, raw in s.fetchall(rs.load_errors_sql(view), scope)]

    @staticmethod
    def _reject_row(s3: S3Source, table: Table, e: LoadError, params: dict[str, Any]) -> dict[str, Any]:
        key = _relative(s3, e.uri)
        day = day_of_log_key(key) if table.partition_column else None
        fields = {c.name: c.json_field for c in table.source_columns}
        where = f"field {fields[e.column]}: " if e.column in fields else ""
        return {"target_table": table.name, "partition_key": day.isoformat() if day else params["fallback_partition"],
                "source_key": key, "line_number": e.line_number,
                "reason": f"{where}{e.reason} (COPY error {e.code})"[:1024],
                "raw_text": e.raw_line[:RAW_TEXT_CHARS] if e.raw_line is not None else None,
                "run_id": params["run_id"]}

    def _role(self) -> str:
        if not self.iam_role_arn:
            raise ValueError("COPY needs iam_role_arn (REDSHIFT_IAM_ROLE_ARN): the role Redshift assumes to read S3")
        return self.iam_role_arn

    def _write_manifest(self, s3: S3Source, objects: Sequence[SourceObject], name: str) -> str:
        """Every COPY reads a manifest of exact keys, even for one file: COPY takes a plain key as a prefix, so
        `...-events.json` would also load a `...-events.json.bak` beside it.

        The manifest's name is the window's, so a reload overwrites it; it is left in place as a record of exactly
        what the last load of that window read. COPY's REGION applies to the manifest too, so a manifest bucket
        other than the data's must be in the same region (checked here, before anything is loaded).
        """
        uri = self.manifest_uri(s3, name)
        bucket, key = _split(uri)
        body = rs.manifest_json([s3.uri(o.key) for o in objects]).encode()
        s3.s3.get_client().put_object(Bucket=bucket, Key=key, Body=body)
        return uri

    def manifest_uri(self, s3: S3Source, name: str) -> str:
        """Where the manifest `name` goes, after checking its bucket's region against the data's."""
        if self.manifest_url:
            uri = f"{self.manifest_url.rstrip('/')}/{name}.manifest"
        else:
            uri = s3.uri(f"{self.manifest_prefix.strip('/')}/{name}.manifest")
        bucket, data_bucket = _split(uri)[0], _split(s3.uri(""))[0]
        if bucket != data_bucket:
            same_region(s3.s3.get_client(), data_bucket, bucket)
        return uri


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


def _s3_source(source: RawSource) -> S3Source:
    if not isinstance(source, S3Source):
        raise SourceDataError("Redshift loads with COPY from S3: set SPARKIFY_DATA_URL to an s3:// URL "
                              f"(the data is at {source.uri()})")
    return source


def _split(uri: str) -> tuple[str, str]:
    bucket, _, key = uri.removeprefix("s3://").partition("/")
    return bucket, key


def _relative(s3: S3Source, uri: str) -> str:
    """A key relative to the data root, as every other message and table names files."""
    root = s3.uri("")
    return uri[len(root):] if uri.startswith(root) else uri
