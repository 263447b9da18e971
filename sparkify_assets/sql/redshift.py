"""Redshift's load path as SQL: COPY from S3 into a landing table, then the same record rules as DuckDB's loader.

About 300 lines on purpose: COPY and everything after it, read together against the differences listed below.

COPY is Redshift's bulk loader and the only statement here that PostgreSQL cannot run. It fills a temp landing
table whose columns are the staging table's source columns (so COPY itself types every field, and rejects what
it cannot type into `stl_load_errors` / `sys_load_error_detail`). Everything after COPY is portable SQL
generated from tables.py: attribution of rows to their file and day, the rules COPY does not know (required
fields, plausible and in-day `ts`, duplicates), and the replace of the window.

Differences from DuckDB's loader (sql/duckdb_json.py), forced by what COPY reports about a row:
- COPY does not say which file or line a *loaded* row came from. Events are attributed to their file by `ts`
  (one file per UTC day); in a one-day load every row belongs to that day's file, so an event outside its
  file's day is rejected exactly as on DuckDB. In a multi-day load (one COPY over a manifest) an event in the
  wrong file but inside the window is filed under the day its `ts` says; one outside the whole window is
  rejected and attributed to the manifest. Songs are attributed to the `song_data/` prefix they were copied from.
- `line_number` of a loaded row is its ordinal within its file in a deterministic order (ts, then every
  field), not its physical line. Rows COPY rejects keep the real file and line that Redshift reports.
- A duplicate is a row equal to an earlier one in every field (DuckDB: an identical line of text).
- Post-COPY rejects carry no raw text (COPY keeps none for rows it loaded); COPY's own rejects keep `raw_line`.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass, replace

from sparkify_assets.sql.dialect import Dialect, column_list, q
from sparkify_assets.sql.duckdb_json import MAX_EPOCH_MS, RAW_TEXT_CHARS
from sparkify_assets.sql.staging import CLASSIFIED_TABLE
from sparkify_assets.tables import REJECTED_RECORDS, STAGING_EVENTS, Table

LANDING_PREFIX = "_landing_"
FILES_TABLE = "_files"
DEFAULT_MAX_ERRORS = 1000  # COPY's MAXERROR (Redshift allows up to 100,000)
JSON_AUTO = "auto"

_IAM_ROLE = re.compile(r"arn:aws[a-z-]*:iam::\d{12}:role/[\w+=,.@/-]{1,512}")
_REGION = re.compile(r"[a-z]{2}(-[a-z]+)+-\d{1,2}")
_S3_URI = re.compile(r"s3://[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]/[^'\\\x00-\x1f\x7f]*")


def literal(value: str, pattern: re.Pattern[str], what: str) -> str:
    """A string literal for the few COPY options Redshift takes only as literals (never bind parameters).

    Only values matching a strict pattern (no quotes, no backslashes, no control characters) are accepted, so a
    literal can never end early; what fails is named, but the value is never echoed.
    """
    if not pattern.fullmatch(value):
        raise ValueError(f"not a valid {what}")
    return f"'{value}'"


def s3_literal(uri: str) -> str:
    return literal(uri, _S3_URI, "S3 URI (s3://bucket/key without quotes, backslashes or control characters)")


def landing_table(table: Table) -> Table:
    """What COPY loads into: the table's source columns, all nullable (required fields are judged after)."""
    return Table(
        name=LANDING_PREFIX + table.name,
        description=f"Temporary: {table.name} rows as COPY typed them, before the record rules.",
        columns=tuple(replace(c, nullable=True) for c in table.source_columns),
        key=(),
        diststyle="EVEN",
    )


def create_temp_table(d: Dialect, table: Table) -> str:
    return d.create_table(table).replace("CREATE TABLE IF NOT EXISTS", "CREATE TEMP TABLE", 1)


@dataclass(frozen=True)
class S3Copy:
    """One COPY: a file, a prefix or a manifest of files, into a landing table."""

    table: Table  # the landing table
    source_uri: str  # s3://bucket/key, s3://bucket/prefix/ or the manifest's s3:// URI
    json: str  # 'auto' or the s3:// URI of a JSONPaths file
    iam_role_arn: str
    region: str | None = None  # the bucket's region, when it differs from the cluster's
    manifest: bool = False
    max_errors: int = DEFAULT_MAX_ERRORS

    @property
    def timeformat(self) -> str | None:
        """'epochmillisecs' tells COPY to read a number as a TIMESTAMP; only needed if a target column is one.

        staging_events.ts is BIGINT (epoch ms kept exact, converted in the transforms), so ours never need it.
        """
        return "epochmillisecs" if any(c.type == "TIMESTAMP" for c in self.table.columns) else None


def copy_sql(c: S3Copy) -> str:
    if not 0 <= c.max_errors <= 100_000:
        raise ValueError("MAXERROR must be between 0 and 100000")
    json_option = "'auto'" if c.json == JSON_AUTO else s3_literal(c.json)
    lines = [
        f"COPY {q(c.table.name)} ({column_list(c.table.column_names)})",
        f"FROM {s3_literal(c.source_uri)}",
        f"IAM_ROLE {literal(c.iam_role_arn, _IAM_ROLE, 'IAM role ARN (arn:aws:iam::<account>:role/<name>)')}",
    ]
    if c.region:
        lines.append(f"REGION {literal(c.region, _REGION, 'AWS region name')}")
    lines.append(f"FORMAT AS JSON {json_option}")
    if c.manifest:
        lines.append("MANIFEST")
    if c.timeformat:
        lines.append(f"TIMEFORMAT '{c.timeformat}'")
    lines += [f"MAXERROR {int(c.max_errors)}", "COMPUPDATE OFF", "STATUPDATE OFF"]
    return "\n".join(lines)


def manifest_json(uris: Sequence[str]) -> str:
    """A COPY manifest: exactly these files, each mandatory (a missing one fails the load instead of skipping)."""
    return json.dumps({"entries": [{"url": u, "mandatory": True} for u in uris]}, indent=1)


# -- what COPY rejected ----------------------------------------------------------------------------------------

LOAD_ERROR_VIEWS = ("stl_load_errors", "sys_load_error_detail")
LAST_COPY_ID_SQL = "SELECT pg_last_copy_id()"
PROBE_STL_SQL = "SELECT 1 FROM stl_load_errors WHERE 1 = 0"


def session_settings_sql(schema: str, statement_timeout_s: int) -> list[str]:
    """Set on every connection: our schema, UTC (so the clock compared with the load-error views' UTC start times
    is UTC too), and the statement timeout in milliseconds (0 = none). SET takes no bind parameters: the values
    are a checked identifier and an int from our own settings."""
    if not 0 <= statement_timeout_s <= 86_400 * 7:
        raise ValueError("statement_timeout must be between 0 and 604800 seconds")
    return [f"SET search_path TO {q(schema)}", "SET timezone TO 'UTC'",
            f"SET statement_timeout TO {int(statement_timeout_s) * 1000}"]


def copy_scope_sql(d: Dialect) -> str:
    """This session's id and the clock, read just before a COPY: its rejects are the rows of this session that
    started at or after that moment (one COPY at a time per session)."""
    return f"SELECT pg_backend_pid(), {d.clock_now()}"


def load_errors_sql(view: str) -> str:
    """The rejects of the COPY in a scope (see copy_scope_sql): (file URI, line, column, error code, reason, raw).

    stl_load_errors' `query` and sys_load_error_detail's `query_id` are different identifiers, and
    pg_last_copy_id() returns the former; both views have the session and the load's start time (UTC).
    """
    if view == "stl_load_errors":  # provisioned clusters
        return ("SELECT TRIM(filename), line_number, TRIM(colname), err_code, TRIM(err_reason), TRIM(raw_line)\n"
                "FROM stl_load_errors WHERE session = %(copy_session)s AND starttime >= %(copy_since)s "
                "ORDER BY 1, 2")
    if view == "sys_load_error_detail":  # Serverless (no STL views there) and provisioned; it keeps no raw line
        return ("SELECT TRIM(file_name), line_number, TRIM(column_name), error_code, TRIM(error_message), NULL\n"
                "FROM sys_load_error_detail WHERE session_id = %(copy_session)s AND start_time >= %(copy_since)s "
                "ORDER BY 1, 2")
    raise ValueError(f"load error view must be one of {LOAD_ERROR_VIEWS}")


# -- concurrent loads ----------------------------------------------------------------------------------------

def existing_tables_sql() -> str:
    return "SELECT CAST(tablename AS VARCHAR(128)) FROM pg_tables WHERE schemaname = current_schema()"


def lock_sql(tables: Sequence[str]) -> str:
    """LOCK, the first statement of a writing transaction: Redshift's documented remedy for serializable isolation
    errors (1023), and under snapshot isolation what keeps two loads of one day from both committing. Always in
    name order, so two transactions never wait on each other in a cycle."""
    return "LOCK " + ", ".join(q(t) for t in sorted(set(tables)))


# -- after COPY: the record rules, then the replace ------------------------------------------------------------


def create_files_sql() -> str:
    return (f"CREATE TEMP TABLE {q(FILES_TABLE)} ({q('source_key')} VARCHAR(1024), {q('partition_key')} VARCHAR(10),"
            f" {q('day_start_ms')} BIGINT, {q('day_end_ms')} BIGINT)")


def insert_file_sql(d: Dialect) -> str:
    cols = ("source_key", "partition_key", "day_start_ms", "day_end_ms")
    return f"INSERT INTO {q(FILES_TABLE)} ({column_list(cols)}) VALUES ({', '.join(d.param(c) for c in cols)})"


def _text(expr: str) -> str:
    return f"CAST({expr} AS VARCHAR)"


def _attributed(d: Dialect, table: Table, attribution: str) -> str:
    """Landing rows with the file they are credited to (see the module docstring)."""
    landing = q(LANDING_PREFIX + table.name)
    if attribution == "file":  # one file: every row is that file's
        return f"SELECT l.*, f.{q('source_key')}, f.{q('partition_key')} FROM {landing} l CROSS JOIN {q(FILES_TABLE)} f"
    if attribution == "day":  # one file per day: credited to the file of the day its ts falls in
        return (f"SELECT l.*, f.{q('source_key')}, f.{q('partition_key')} FROM {landing} l "
                f"LEFT JOIN {q(FILES_TABLE)} f ON l.{q('ts')} >= f.{q('day_start_ms')} "
                f"AND l.{q('ts')} < f.{q('day_end_ms')}")
    if attribution == "input":  # whatever COPY read (a prefix)
        return (f"SELECT l.*, CAST({d.param('copy_input')} AS VARCHAR(1024)) AS {q('source_key')}, "
                f"CAST(NULL AS VARCHAR(10)) AS {q('partition_key')} FROM {landing} l")
    raise ValueError(attribution)


def _reason(d: Dialect, table: Table, attribution: str) -> str:
    rules: list[tuple[str, str]] = []
    for c in table.source_columns:
        if not c.nullable:
            rules.append((f"{q(c.name)} IS NULL", f"'missing required field {c.json_field}'"))
    if table.partition_column:
        ts = q(table.partition_column)
        field = table.column(table.partition_column).json_field
        rules.append((f"{ts} < 0 OR {ts} >= {MAX_EPOCH_MS}",
                      f"'field {field}: ' || {_text(ts)} || ' is not a plausible epoch-ms time'"))
        if attribution == "file":
            outside = f"'field {field}: ' || {_text(ts)} || ' is outside the file''s day ' || {q('partition_key')}"
            rules.append((f"{ts} < {d.param('start_ms')} OR {ts} >= {d.param('end_ms')}", outside))
        else:
            days = f"CAST({d.param('days')} AS VARCHAR)"
            rules.append((f"{q('source_key')} IS NULL",
                          f"'field {field}: ' || {_text(ts)} || ' is outside the loaded days ' || {days}"))
    return "CASE\n" + "\n".join(f"      WHEN {cond} THEN {msg}" for cond, msg in rules) + "\n    END"


def classify_sql(d: Dialect, table: Table, attribution: str, dedupe_on: tuple[str, ...]) -> str:
    """CREATE the temp table `_classified`: every landed row with its file, ordinal and `reason` (NULL = load it).

    `attribution` is 'file' (one file), 'day' (one file per UTC day of ts) or 'input' (the COPY's prefix).
    `dedupe_on` are the columns that make two valid rows the same record; the first by (file, ordinal) is kept.
    All the source columns mean an exact copy (text told apart by trailing blanks too, as DuckDB compares the lines'
    texts); fewer are a key (text compared without trailing blanks, as Redshift compares it): Dialect.exact_text
    and Dialect.text_key, so the duplicates are the same on every engine.
    """
    src = [c.name for c in table.source_columns]
    exact = set(dedupe_on) == set(src)

    def term(name: str) -> str:
        if not table.column(name).type.startswith("VARCHAR"):
            return q(name)
        return d.exact_text(q(name)) if exact else d.text_key(q(name))

    order = ([table.partition_column] if table.partition_column else list(dedupe_on))
    order += [c for c in src if c not in order]
    valid = "CASE WHEN reason IS NULL THEN 0 ELSE 1 END"
    dup_window = (f"PARTITION BY {valid}, {', '.join(term(c) for c in dedupe_on)} "
                  f"ORDER BY {q('source_key')}, {q('line_number')}")
    first_seen = f"{q('source_key')} || ':' || {_text(q('line_number'))}"
    return f"""CREATE TEMP TABLE {q(CLASSIFIED_TABLE)} AS
SELECT {column_list(src)}, {q('source_key')}, {q('partition_key')}, {q('line_number')},
       CASE WHEN reason IS NULL AND copy_no > 1 THEN 'duplicate of ' || first_seen ELSE reason END AS reason
FROM (
  SELECT judged.*,
         ROW_NUMBER() OVER ({dup_window}) AS copy_no,
         FIRST_VALUE({first_seen}) OVER ({dup_window} ROWS BETWEEN UNBOUNDED PRECEDING AND UNBOUNDED FOLLOWING)
           AS first_seen
  FROM (
    SELECT numbered.*, {_reason(d, table, attribution)} AS reason
    FROM (
      SELECT attributed.*, CAST(ROW_NUMBER() OVER (PARTITION BY {q('source_key')} ORDER BY {column_list(order)})
                                AS INTEGER) AS {q('line_number')}
      FROM ({_attributed(d, table, attribution)}) attributed
    ) numbered
  ) judged
) ranked"""


def insert_classified_rejects_sql(d: Dialect) -> str:
    """Rows COPY loaded but the record rules reject; an unattributed row is credited to what COPY read.

    Parameters are cast: Redshift does not infer a type for a bind parameter in a select list."""
    values = {
        "target_table": f"CAST({d.param('target_table')} AS VARCHAR(64))",
        "partition_key": f"COALESCE({q('partition_key')}, CAST({d.param('fallback_partition')} AS VARCHAR(10)))",
        "source_key": f"COALESCE({q('source_key')}, CAST({d.param('copy_input')} AS VARCHAR(1024)))",
        "raw_text": f"CAST(NULL AS VARCHAR({RAW_TEXT_CHARS}))",
        "run_id": f"CAST({d.param('run_id')} AS VARCHAR(64))",
    }  # the others (line_number, reason) are _classified's own
    cols = REJECTED_RECORDS.column_names
    return f"""INSERT INTO {q(REJECTED_RECORDS.name)} ({column_list(cols)})
SELECT {", ".join(values.get(c, q(c)) for c in cols)}
FROM {q(CLASSIFIED_TABLE)} WHERE reason IS NOT NULL"""


def counts_sql() -> str:
    return (f"SELECT COUNT(*), SUM(CASE WHEN reason IS NULL THEN 1 ELSE 0 END) FROM {q(CLASSIFIED_TABLE)}")


def sample_rejects_sql(limit: int = 10) -> str:
    return (f"SELECT {q('source_key')}, {q('line_number')}, reason FROM {q(CLASSIFIED_TABLE)} "
            f"WHERE reason IS NOT NULL ORDER BY 1, 2 LIMIT {int(limit)}")


def drop_temp_sql(table: str) -> str:
    return f"DROP TABLE {q(table)}"


def events_attribution(n_files: int) -> str:
    return "file" if n_files == 1 else "day"


EVENTS_DEDUPE: tuple[str, ...] = tuple(c.name for c in STAGING_EVENTS.source_columns)
SONGS_DEDUPE: tuple[str, ...] = ("song_id",)
