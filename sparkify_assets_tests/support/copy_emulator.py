"""Redshift's COPY from S3, done for PostgreSQL in tests: the one statement of the Redshift path PostgreSQL lacks.

`EmulatedCopyWarehouse` is the real `RedshiftWarehouse` with only `send_copy` replaced: instead of sending
`COPY ... FROM 's3://...'` it reads what that COPY would read (every object under a plain key or prefix, as COPY
does, or exactly the manifest's files, and the JSONPaths file) from the S3 server the test runs (moto), types
every field the way COPY's JSON loader does, inserts the rows into the landing table, and records the rows COPY
would reject in views shaped like Redshift's `stl_load_errors` (provisioned only) and `sys_load_error_detail`
(its `query_id` numbered apart, as on Redshift), each carrying the session and start time; `pg_last_copy_id()`
is kept in the COPY's transaction (a rollback loses it, as documented). It fails at MAXERROR rejects, not after
them. The resource then reads the rejects back with its own Redshift SQL, after the COPY or after its failure.
Every statement it generates is logged to `copy_log`, so tests can see them.

Typing follows Redshift's documentation for COPY (no ACCEPTINVCHARS, TRUNCATECOLUMNS, BLANKSASNULL or
EMPTYASNULL, as our COPY sends none), written here on its own rather than borrowed from our loader, so that a
disagreement between the engines shows as a test failure:
- "COPY attempts to implicitly convert the strings in the source data to the data type of the target column"
  (Data conversion parameters): a numeric column takes a JSON number or a string holding one; an integer column
  only integer text (a decimal point is "Invalid digit, Value '.'", error 1207; so is a leading blank);
- "Blank fields for other data types, such as INT, are always loaded with NULL" (BLANKSASNULL): a string of only
  white space, or empty, loads NULL into a numeric column; into VARCHAR it loads as it is;
- a VARCHAR column takes any JSON value: a string as itself, an object, array, number or boolean as its JSON text
  (written compactly: how Redshift spaces a nested value's text is not documented, see docs/data-quality.md);
- "if the extra characters are all spaces (blanks), the string is truncated to the maximum length" (Character
  types); any other excess is error 1204;
- "The maximum size for a JSON object ... is 4 MB" (Using COPY to load data into SUPER columns): a larger record
  is rejected (the error code is this emulator's choice: the documentation names none);
- a line that is not valid UTF-8 is rejected with error 1220 ("If a line in your load data contains a character
  that is not valid ... COPY returns an error and logs a row in STL_LOAD_ERRORS with error number 1220",
  Multibyte character load errors); the rest of the file loads;
- JSON null or a missing field loads NULL; NaN and Infinity are not JSON.
"""

from __future__ import annotations

import json
import math
import re
from typing import Any, Literal

import boto3
import redshift_connector
from pydantic import PrivateAttr

from sparkify_assets.resources.redshift_warehouse import RedshiftSession, RedshiftWarehouse
from sparkify_assets.sql import redshift as rs
from sparkify_assets.sql.dialect import column_list, q
from sparkify_assets.tables import Column

# Redshift's load-error views are logs, outside every transaction's snapshot: a session at SERIALIZABLE sees its
# COPY's rejects at once, and they survive the COPY's rollback. PostgreSQL tables cannot be both, so each view is
# the UNION of a log written on a side connection (survives rollback; invisible to an older snapshot) and the same
# rows written in the COPY's own transaction (visible to it at once; gone on rollback). UNION removes the copy.
STL_DDL = (  # provisioned clusters only; the columns the load path reads
    "CREATE TABLE IF NOT EXISTS _stl_load_errors_log (query INTEGER, session INTEGER, starttime TIMESTAMP, "
    "filename CHAR(256), line_number BIGINT, colname CHAR(127), err_code INTEGER, err_reason CHAR(100), "
    "raw_line CHAR(1024))",
    "CREATE TABLE IF NOT EXISTS _stl_load_errors_tx (LIKE _stl_load_errors_log)",
    "CREATE OR REPLACE VIEW stl_load_errors AS SELECT * FROM _stl_load_errors_log UNION "
    "SELECT * FROM _stl_load_errors_tx",
)
SYS_DDL = (  # provisioned and Serverless; its query_id is not STL's query (nor pg_last_copy_id()): its own sequence
    "CREATE TABLE IF NOT EXISTS _sys_load_error_detail_log (query_id BIGINT, session_id INTEGER, "
    "start_time TIMESTAMP, file_name CHAR(256), line_number BIGINT, column_name CHAR(127), error_code INTEGER, "
    "error_message CHAR(512))",
    "CREATE TABLE IF NOT EXISTS _sys_load_error_detail_tx (LIKE _sys_load_error_detail_log)",
    "CREATE OR REPLACE VIEW sys_load_error_detail AS SELECT * FROM _sys_load_error_detail_log UNION "
    "SELECT * FROM _sys_load_error_detail_tx",
    "CREATE SEQUENCE IF NOT EXISTS sys_query_ids START 900001",
)
EMULATION_DDL = (
    "CREATE SEQUENCE IF NOT EXISTS copy_ids",
    "CREATE TABLE IF NOT EXISTS copy_log (id INTEGER, statement VARCHAR(65535), inputs VARCHAR(1000000))",
    "CREATE TABLE IF NOT EXISTS copy_state (pid INTEGER PRIMARY KEY, last_copy_id INTEGER)",
    "CREATE OR REPLACE FUNCTION pg_last_copy_id() RETURNS INTEGER LANGUAGE SQL AS "
    "$$ SELECT COALESCE((SELECT last_copy_id FROM copy_state WHERE pid = pg_backend_pid()), -1) $$",
)
_INT_RANGE = {"SMALLINT": 2**15, "INTEGER": 2**31, "BIGINT": 2**63}
_INTEGER = re.compile(r"-?[0-9]+")
_NUMERIC = re.compile(r"-?([0-9]+\.?[0-9]*|\.[0-9]+)([eE][-+]?[0-9]+)?")
_BLANK = " \t\r\n"
MAX_OBJECT_BYTES = 4 * 1024 * 1024


class CopyRejected(Exception):
    def __init__(self, column: str, code: int, reason: str) -> None:
        super().__init__(reason)
        self.column, self.code, self.reason = column, code, reason


Flavour = Literal["provisioned", "serverless"]


def install(cursor: redshift_connector.Cursor, flavour: Flavour = "provisioned") -> None:
    """The Redshift system objects the load path reads, in the current schema: Serverless has no STL views."""
    for ddl in (*EMULATION_DDL, *SYS_DDL, *(STL_DDL if flavour == "provisioned" else ())):
        cursor.execute(ddl)


def copy_fails(rejected: int, maxerror: int) -> bool:
    """"If the load returns the error_count number of errors or greater, the load fails" (MAXERROR; 0 and 1 both
    fail at the first error)."""
    return rejected > 0 and rejected >= maxerror


def _typed(col: Column, value: Any) -> Any:
    """A JSON value as COPY would load it into `col`, or CopyRejected."""
    if value is None:
        return None
    if col.max_bytes is not None:
        text = value if isinstance(value, str) else json.dumps(value, separators=(",", ":"), ensure_ascii=False)
        try:
            data = text.encode("utf-8")
        except UnicodeEncodeError:  # a lone surrogate escape ("\udcff"): no character (not documented for COPY)
            raise CopyRejected(col.name, 1220, "String contains invalid or unsupported UTF8 codepoints") from None
        if len(data) > col.max_bytes:
            if len(text.rstrip(" ").encode("utf-8")) > col.max_bytes:
                raise CopyRejected(col.name, 1204, "String length exceeds DDL length")
            text = data[:col.max_bytes].decode("utf-8")  # only blanks are cut: never inside a character
        return text
    integer = col.type in _INT_RANGE
    if isinstance(value, (dict, list, bool)):
        raise CopyRejected(col.name, 1216, f"Invalid {col.type.lower()} value: not a scalar")
    if isinstance(value, str):
        if value.strip(_BLANK) == "":
            return None
        if not (_INTEGER if integer else _NUMERIC).fullmatch(value):
            bad = next((ch for ch in value if not ch.isdigit() and ch != "-"), value[:1])
            raise CopyRejected(col.name, 1207, f"Invalid digit, Value '{bad}', Type: {col.type.title()}")
        value = int(value) if integer else float(value)
    if integer:
        if isinstance(value, float):
            raise CopyRejected(col.name, 1207, f"Invalid digit, Value '.', Type: {col.type.title()}")
        if not -_INT_RANGE[col.type] <= value < _INT_RANGE[col.type]:
            raise CopyRejected(col.name, 1216, f"Overflow for {col.type.title()}")
        return int(value)
    if not math.isfinite(float(value)):
        raise CopyRejected(col.name, 1216, f"Overflow for {col.type.title()}")
    return float(value)


def _no_constant(name: str) -> Any:
    raise json.JSONDecodeError(f"{name} is not JSON", name, 0)


def _objects(data: bytes) -> list[tuple[int, Any | None, str, CopyRejected | None]]:
    """(last line, value or None, raw text, error) for each JSON value of a COPY JSON file.

    A value may span lines (some song files are pretty-printed); a value that is malformed before its text runs
    out is an error on its line, and reading resumes on the next line. A line that is not UTF-8, or a value over
    4 MB, is an error of its own.
    """
    out: list[tuple[int, Any | None, str, CopyRejected | None]] = []
    buffer = ""
    lines = data.removeprefix(b"\xef\xbb\xbf").split(b"\n")
    for n, raw in enumerate(lines, start=1):
        try:
            line = raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            bad = raw[exc.start:exc.end].hex()
            out.append((n, None, raw.decode("utf-8", "replace"), CopyRejected(
                "", 1220, f"String contains invalid or unsupported UTF8 codepoints. Bad UTF8 hex sequence: {bad}")))
            buffer = ""
            continue
        if not buffer and not line.strip():
            continue
        buffer = f"{buffer}\n{line}" if buffer else line
        if len(buffer.encode("utf-8")) > MAX_OBJECT_BYTES:
            out.append((n, None, buffer[:1024], CopyRejected("", 1224, "JSON object exceeds the 4 MB limit")))
            buffer = ""
            continue
        try:
            out.append((n, json.loads(buffer, parse_constant=_no_constant), buffer, None))
        except json.JSONDecodeError as exc:
            if exc.pos < len(buffer.rstrip()):
                out.append((n, None, buffer, CopyRejected("", 1224, "Invalid JSON: malformed value")))
            else:
                continue  # the value goes on on the next line
        buffer = ""
    if buffer:
        out.append((len(lines), None, buffer, CopyRejected("", 1224, "Invalid JSON: unexpected end of file")))
    return out


class EmulatedCopyWarehouse(RedshiftWarehouse):
    """RedshiftWarehouse on PostgreSQL, with COPY performed from the test's S3 server."""

    s3_endpoint_url: str
    _client: Any = PrivateAttr(default=None)

    def _s3(self) -> Any:
        if self._client is None:
            self._client = boto3.client("s3", endpoint_url=self.s3_endpoint_url, region_name="us-east-1",
                                        aws_access_key_id="testing", aws_secret_access_key="testing")
        return self._client

    def _read(self, uri: str) -> str:
        """An object's text (a manifest, a JSONPaths file); see _read_bytes."""
        return self._read_bytes(uri).decode("utf-8")

    def _read_bytes(self, uri: str) -> bytes:
        """An object's bytes; a missing one fails the COPY before it loads anything, as on Redshift."""
        bucket, _, key = uri.removeprefix("s3://").partition("/")
        try:
            return self._s3().get_object(Bucket=bucket, Key=key)["Body"].read()
        except self._s3().exceptions.NoSuchKey:
            raise redshift_connector.ProgrammingError(
                f"S3ServiceException:The specified key does not exist.,Status 404 ({uri})") from None

    def _inputs(self, copy: rs.S3Copy) -> list[str]:
        """A manifest's entries; otherwise every object whose key starts with the URI's, as COPY reads a plain
        key as a prefix (`...-events.json` also reads `...-events.json.bak`)."""
        if copy.manifest:
            return [e["url"] for e in json.loads(self._read(copy.source_uri))["entries"]]
        bucket, _, prefix = copy.source_uri.removeprefix("s3://").partition("/")
        pages = self._s3().get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix)
        return [f"s3://{bucket}/{o['Key']}" for p in pages for o in p.get("Contents", [])]

    def _fields(self, copy: rs.S3Copy) -> list[str]:
        if copy.json == rs.JSON_AUTO:  # 'auto': JSON keys match column names
            return [c.name for c in copy.table.columns]
        paths = json.loads(self._read(copy.json))["jsonpaths"]
        fields = [re.fullmatch(r"\$\['([^']+)'\]", p).group(1) for p in paths]  # type: ignore[union-attr]
        assert len(fields) == len(copy.table.columns), "JSONPaths must name one field per column"
        return fields

    def send_copy(self, s: RedshiftSession, copy: rs.S3Copy) -> None:
        statement = rs.copy_sql(copy)  # exactly what Redshift would be sent; logged for the tests
        ((copy_id, pid, started),) = s.fetchall("SELECT CAST(nextval('copy_ids') AS INTEGER), pg_backend_pid(), "
                                                "CAST(clock_timestamp() AS TIMESTAMP)")
        inputs = self._inputs(copy)
        s.execute("INSERT INTO copy_log (id, statement, inputs) VALUES (%(id)s, %(statement)s, %(inputs)s)",
                  {"id": copy_id, "statement": statement, "inputs": json.dumps(inputs)})
        fields, cols = self._fields(copy), copy.table.columns
        rows: list[tuple[Any, ...]] = []
        errors: list[tuple[Any, ...]] = []
        for uri in inputs:
            for line, value, raw, error in _objects(self._read_bytes(uri)):
                try:
                    if error:
                        raise error
                    if not isinstance(value, dict):
                        raise CopyRejected("", 1216, "Invalid JSONPath format: Member is not an object.")
                    lookup = value if copy.json != rs.JSON_AUTO else {k.lower(): v for k, v in value.items()}
                    rows.append(tuple(_typed(c, lookup.get(f)) for c, f in zip(cols, fields, strict=True)))
                except CopyRejected as exc:
                    errors.append((uri, line, exc.column, exc.code, exc.reason, raw))
        self._log_errors(s, copy_id, pid, started, errors)
        # pg_last_copy_id(): "If the COPY transaction is rolled back, the COPY ID is not updated" (so it is written
        # in the COPY's own transaction here).
        s.execute("INSERT INTO copy_state VALUES (%(pid)s, %(id)s) ON CONFLICT (pid) DO UPDATE "
                  "SET last_copy_id = EXCLUDED.last_copy_id", {"pid": pid, "id": copy_id})
        if copy_fails(len(errors), copy.max_errors):
            raise redshift_connector.ProgrammingError(
                f"Load into table '{copy.table.name}' failed. Check 'stl_load_errors' system table for details.")
        if rows:
            self._insert(s, copy, rows)

    @staticmethod
    def _insert(s: RedshiftSession, copy: rs.S3Copy, rows: list[tuple[Any, ...]]) -> None:
        cols = copy.table.columns
        for start in range(0, len(rows), 500):
            chunk = rows[start:start + 500]
            values = ", ".join("(" + ", ".join(["%s"] * len(cols)) + ")" for _ in chunk)
            s.cursor.execute(f"INSERT INTO {q(copy.table.name)} ({column_list(copy.table.column_names)}) "
                             f"VALUES {values}", [v for row in chunk for v in row])

    def _log_errors(self, s: RedshiftSession, copy_id: int, pid: int, started: Any,
                    errors: list[tuple[Any, ...]]) -> None:
        """Each load-error view this flavour has gets the rejects twice (see STL_DDL): on a second, autocommit
        connection, and in the COPY's own transaction."""
        if not errors:
            return
        ((has_stl, query_id),) = s.fetchall("SELECT to_regclass('stl_load_errors') IS NOT NULL, "
                                            "nextval('sys_query_ids')")
        rows = {"_sys_load_error_detail": [(query_id, pid, started, u, n, c, code, r[:512])
                                           for u, n, c, code, r, _ in errors]}
        if has_stl:
            rows["_stl_load_errors"] = [(copy_id, pid, started, u, n, c, code, r[:100], raw[:1024])
                                        for u, n, c, code, r, raw in errors]
        con = redshift_connector.connect(**self._connect_kwargs())
        try:
            con.autocommit = True
            cursor = con.cursor()
            cursor.execute(f"SET search_path TO {q(self.schema_name)}")
            for table, values in rows.items():
                marks = ", ".join(["%s"] * len(values[0]))
                cursor.executemany(f"INSERT INTO {table}_log VALUES ({marks})", values)
                s.cursor.executemany(f"INSERT INTO {table}_tx VALUES ({marks})", values)
        finally:
            con.close()
