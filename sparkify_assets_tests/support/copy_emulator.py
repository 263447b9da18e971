"""Redshift's COPY from S3, done for PostgreSQL in tests: the one statement of the Redshift path PostgreSQL lacks.

`EmulatedCopyWarehouse` is the real `RedshiftWarehouse` with only `_send_copy` replaced: instead of sending
`COPY ... FROM 's3://...'` it reads what that COPY would read (the file, the prefix, or the manifest's files,
and the JSONPaths file) from the S3 server the test runs (moto), types every field the way COPY's JSON loader
does, inserts the rows into the landing table, and records the rows COPY would reject in a table shaped like
Redshift's `stl_load_errors`, behind a `pg_last_copy_id()` function. The resource then reads those rejects back
with its own Redshift SQL, after the COPY or after its failure. Every statement it generates is logged
to `copy_log`, so tests can see them.

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
from typing import Any

import boto3
import redshift_connector
from pydantic import PrivateAttr

from sparkify_assets.resources.redshift_warehouse import RedshiftSession, RedshiftWarehouse
from sparkify_assets.sql import redshift as rs
from sparkify_assets.sql.dialect import column_list, q
from sparkify_assets.tables import Column

EMULATION_DDL = (
    "CREATE TABLE IF NOT EXISTS stl_load_errors (query INTEGER, filename CHAR(256), line_number BIGINT, "
    "colname CHAR(127), err_code INTEGER, err_reason CHAR(100), raw_line CHAR(1024))",
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


def install(cursor: redshift_connector.Cursor) -> None:
    """The Redshift system objects the load path reads, in the current schema."""
    for ddl in EMULATION_DDL:
        cursor.execute(ddl)


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
        if copy.manifest:
            return [e["url"] for e in json.loads(self._read(copy.source_uri))["entries"]]
        if copy.source_uri.endswith("/"):
            bucket, _, prefix = copy.source_uri.removeprefix("s3://").partition("/")
            pages = self._s3().get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix)
            return [f"s3://{bucket}/{o['Key']}" for p in pages for o in p.get("Contents", [])]
        return [copy.source_uri]

    def _fields(self, copy: rs.S3Copy) -> list[str]:
        if copy.json == rs.JSON_AUTO:  # 'auto': JSON keys match column names
            return [c.name for c in copy.table.columns]
        paths = json.loads(self._read(copy.json))["jsonpaths"]
        fields = [re.fullmatch(r"\$\['([^']+)'\]", p).group(1) for p in paths]  # type: ignore[union-attr]
        assert len(fields) == len(copy.table.columns), "JSONPaths must name one field per column"
        return fields

    def _send_copy(self, s: RedshiftSession, copy: rs.S3Copy) -> None:
        statement = rs.copy_sql(copy)  # exactly what Redshift would be sent; logged for the tests
        ((copy_id,),) = s.fetchall("SELECT CAST(nextval('copy_ids') AS INTEGER)")
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
                    errors.append((copy_id, uri, line, exc.column, exc.code, exc.reason[:100], raw[:1024]))
        self._log_outside_transaction(s, copy_id, errors)
        if len(errors) > copy.max_errors:
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

    def _log_outside_transaction(self, s: RedshiftSession, copy_id: int, errors: list[tuple[Any, ...]]) -> None:
        """Redshift writes stl_load_errors and the last COPY id whatever happens to the load's transaction (so a
        COPY that fails can be explained after the rollback): written here on a second, autocommit connection."""
        ((pid,),) = s.fetchall("SELECT pg_backend_pid()")
        con = redshift_connector.connect(**self._connect_kwargs())
        try:
            con.autocommit = True
            cursor = con.cursor()
            cursor.execute(f"SET search_path TO {q(self.schema_name)}")
            if errors:
                cursor.executemany("INSERT INTO stl_load_errors VALUES (%s, %s, %s, %s, %s, %s, %s)", errors)
            cursor.execute("INSERT INTO copy_state VALUES (%s, %s) ON CONFLICT (pid) DO UPDATE "
                           "SET last_copy_id = EXCLUDED.last_copy_id", (pid, copy_id))
        finally:
            con.close()
