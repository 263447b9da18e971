"""The temp tables a DuckDB staging load works in, and the statements around them.

A load lists its files in `_files` (path, key, day and the day's bounds), reads log lines into `_lines`, and
leaves one row per record in `_classified` (sql/duckdb_json.py); these are the statements that fill, read and drop
them. Values are always bound parameters (`$name`); the table names are our own.
"""

from __future__ import annotations

from sparkify_assets.sql.dialect import q

BOM = "chr(65279)"

BEGIN_SQL = "BEGIN TRANSACTION"
COMMIT_SQL = "COMMIT"
ROLLBACK_SQL = "ROLLBACK"


def drop_sql(temp: str) -> str:
    return f"DROP TABLE {temp}"


def create_files_sql() -> str:
    """The files' lineage from lists bound as `$path`, `$key`, `$pk`, `$lo`, `$hi` in one statement (a row-by-row
    insert of 50,000 song files takes a minute)."""
    return """CREATE TEMP TABLE _files AS SELECT
  CAST(unnest($path) AS VARCHAR) AS path, CAST(unnest($key) AS VARCHAR) AS source_key,
  CAST(unnest($pk) AS VARCHAR) AS partition_key, CAST(unnest($lo) AS BIGINT) AS day_start_ms,
  CAST(unnest($hi) AS BIGINT) AS day_end_ms"""


# -- log lines ---------------------------------------------------------------------------------------------------

CREATE_LINES_SQL = ("CREATE TEMP TABLE _lines (source_key VARCHAR, line_number INTEGER, text VARCHAR, "
                    "encoding_error VARCHAR)")

# `_lines` as classify_sql's records: each line with its file's day.
LINE_RECORDS_SQL = """
  SELECT l.source_key, f.partition_key, f.day_start_ms, f.day_end_ms, l.line_number, l.text, l.encoding_error
  FROM _lines l JOIN _files f ON f.source_key = l.source_key"""

# One chunk `$text` of the file `$key`, its first line numbered `$first`: every non-blank line appended to `_lines`.
# DuckDB splits the chunk; trimming is done only where there is something to trim (a BOM on line 1, a CR, a leading
# blank): trim functions cost microseconds per line.
INSERT_LINE_CHUNK_SQL = f"""INSERT INTO _lines
SELECT $key, line_number, text, NULL FROM (
  SELECT line_number, CASE WHEN ends_with(line, chr(13)) THEN rtrim(line, chr(13)) ELSE line END AS text
  FROM (
    SELECT CAST($first + n - 1 AS INTEGER) AS line_number,
           CASE WHEN $first + n = 2 AND starts_with(line, {BOM}) THEN ltrim(line, {BOM}) ELSE line END AS line
    FROM (SELECT unnest(lines) AS line, generate_subscripts(lines, 1) AS n
          FROM (SELECT string_split($text, chr(10)) AS lines))))
WHERE CASE WHEN text = '' THEN false WHEN NOT (starts_with(text, ' ') OR starts_with(text, chr(9))) THEN true
           ELSE trim(text, chr(9) || ' ') <> '' END"""

# Lines of `$key` that are not UTF-8 (numbers `$n`, repaired texts `$text`, reasons `$reason`): quarantined.
INSERT_INVALID_LINES_SQL = "INSERT INTO _lines SELECT $key, unnest($n), unnest($text), unnest($reason)"

# Up to 3 files with no JSON line at all: (source_key, first line number, its first 80 characters).
FILES_WITHOUT_JSON_SQL = """
SELECT source_key, arg_min(line_number, line_number), arg_min(left(text, 80), line_number) FROM _classified
GROUP BY source_key HAVING NOT bool_or(is_json) ORDER BY source_key LIMIT 3"""


# -- what `_classified` holds ------------------------------------------------------------------------------------

CLASSIFIED_COUNTS_SQL = ("SELECT count(*), count(*) FILTER (WHERE reason IS NULL), count(*) FILTER (WHERE reason "
                         "IS NOT NULL) FROM _classified")
CLASSIFIED_SAMPLE_SQL = ("SELECT source_key, line_number, reason FROM _classified WHERE reason IS NOT NULL "
                         "ORDER BY source_key, line_number LIMIT 10")


def source_keys_sql(temp: str) -> str:
    """The source keys a temp table of the load holds."""
    return f"SELECT {q('source_key')} FROM {temp}"
