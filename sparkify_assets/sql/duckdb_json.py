"""DuckDB's counterpart of Redshift's COPY: raw JSON records in, typed rows or reasons out, all inside DuckDB.

Rows never pass through Python. Every record gets exactly one outcome: a typed row, or the first reason it
cannot be loaded, naming the field. Input is a SELECT of (source_key, partition_key, line_number, text,
encoding_error, day_start_ms, day_end_ms); the outcome is the temp table `_classified`.

The fast path (`insert_fast_sql`, for log files) applies the same rules to records read by read_json itself and
inserts the loadable ones directly; a file where any record fails goes through `classify_sql` instead.

What a valid record is, and how each field converts, is `sql/record_rules.py` (the same rules as Redshift's COPY).
"""

from __future__ import annotations

from sparkify_assets.day_window import time_predicate
from sparkify_assets.sql import record_rules
from sparkify_assets.sql.dialect import DUCKDB, column_list, q
from sparkify_assets.sql.record_rules import MAX_EPOCH_MS, MAX_RECORD_BYTES
from sparkify_assets.tables import REJECTED_RECORDS, Table

RAW_TEXT_CHARS = 4000

__all__ = ["MAX_EPOCH_MS", "RAW_TEXT_CHARS"]  # re-exported: the Redshift path quarantines by the same limits


def classify_sql(table: Table, records: str, dedupe_on: str, check_day: bool, reread: bool = True) -> str:
    """CREATE of `_classified`: every record of `records` with its typed columns and a `reason` (NULL if loadable).

    `records` is a SELECT of (source_key, partition_key, line_number, text, encoding_error, day_start_ms,
    day_end_ms), where `encoding_error` says why a line is not UTF-8 (its text then is a repaired copy); it is read
    twice rather than materialised (cheap when it scans a table of lines, as the log load's `_lines`);
    `reread=False` materialises it instead (many small files, where opening each file is the cost). The raw text is
    kept only where it may be needed: rejected records, and duplicate candidates. `dedupe_on` is 'text' (an exact
    copy of an earlier line is a duplicate) or a column name (a later record with the same key is a duplicate);
    duplicates are marked afterwards by `mark_duplicates_sql`, looking only at the few records whose key hash occurs
    more than once. `check_day` rejects events whose ts is outside their file's day, which keeps every partition's
    rows exactly the rows of its own files.
    """
    cols = table.source_columns
    paths = ", ".join(record_rules.literal(f"$.{c.json_field}") for c in cols)
    idx = {c.name: i for i, c in enumerate(cols, start=1)}
    jsons = ", ".join(f"v[{i}] AS j{i}" for i in idx.values())
    fields = ",\n         ".join(e for c in cols for e in record_rules.fields(c, idx[c.name]))
    rules: list[tuple[str, str]] = [
        ("encoding_error IS NOT NULL", "encoding_error"),
        (f"strlen(text) > {MAX_RECORD_BYTES}",
         f"'record is ' || strlen(text) || ' bytes, over the {MAX_RECORD_BYTES}-byte limit'"),
        ("NOT is_json", "'invalid JSON'"),
        # v is NULL exactly for valid JSON that is not an object, once invalid JSON is ruled out.
        ("v IS NULL",
         f"'not a JSON object (found ' || {record_rules.json_kind('text')} || ')'"),
        *record_rules.field_rules(cols, idx, check_day, fast=False),
    ]
    # The first rule that holds gives the reason. The conditions are plain expressions, not CASE branches, so
    # DuckDB computes each field once (it does not share subexpressions inside a CASE); only rejected records
    # evaluate a message. Typed values of rejected records are never loaded. Each condition sets one bit (a
    # list of booleans per record costs more than the rules themselves); the lowest set bit is the first rule.
    if len(rules) > 62:
        raise ValueError("too many rules for one BIGINT bit mask")
    bits = " |\n      ".join(f"(CAST(coalesce({cond}, false) AS BIGINT) << {n})" for n, (cond, _) in enumerate(rules))
    whens = "\n".join(f"      WHEN {n} THEN {msg}" for n, (_, msg) in enumerate(rules, start=1))
    reason = f"CASE rule_no\n{whens}\n    END"
    typed = ",\n    ".join(f"{record_rules.value(c, idx[c.name])} AS {q(c.name)}" for c in cols)
    if dedupe_on == "text":
        raw_key = "text"
    else:
        field = next(c.json_field for c in cols if c.name == dedupe_on)
        # A superset of the typed key's values: a valid record's key is exactly this string. A key compares
        # without trailing blanks (Dialect.text_key), as on Redshift.
        raw_key = DUCKDB.text_key(
            f"CASE WHEN json_valid(text) THEN json_extract_string(text, {record_rules.literal('$.' + field)}) END")
    return f"""CREATE TEMP TABLE _classified AS
WITH records AS {"NOT MATERIALIZED" if reread else "MATERIALIZED"} ({records}
), repeated AS (
  SELECT hash({raw_key}) AS h FROM records GROUP BY 1 HAVING count(*) > 1
), checked AS (
  SELECT *, json_valid(text) AS is_json FROM records
), parsed AS (
  -- valid JSON starting with a brace is an object; only other texts pay for json_type.
  SELECT *, CASE WHEN is_json AND (starts_with(text, '{{') OR json_type(text) = 'OBJECT')
                 THEN json_extract(text, [{paths}]) END AS v
  FROM checked
), jsons AS (
  SELECT *, {jsons} FROM parsed
), fields AS (
  SELECT *, {fields} FROM jsons
), judged AS (
  SELECT *, CASE WHEN failed <> 0 THEN CAST(log2(failed & -failed) AS INTEGER) + 1 END AS rule_no
  FROM (SELECT *, (
      {bits}) AS failed FROM fields)
)
SELECT source_key, partition_key, line_number, is_json, {reason} AS reason, dup_candidate,
       CASE WHEN rule_no IS NOT NULL OR dup_candidate THEN text END AS text,
    {typed}
FROM (SELECT *, rule_no IS NULL AND hash({raw_key}) IN (SELECT h FROM repeated) AS dup_candidate FROM judged)"""


def mark_duplicates_sql(dedupe_on: str) -> str:
    """Mark every later copy among the duplicate candidates, in (source, line) order: an identical text, or a
    key equal without trailing blanks (Dialect.text_key)."""
    key = "text" if dedupe_on == "text" else DUCKDB.text_key(q(dedupe_on))
    return f"""UPDATE _classified c SET reason = 'duplicate of ' || d.first_seen
FROM (
  SELECT source_key, line_number, first_value(source_key || ':' || line_number) OVER w AS first_seen,
         row_number() OVER w AS copy_no
  FROM _classified WHERE dup_candidate
  WINDOW w AS (PARTITION BY {key} ORDER BY source_key, line_number)
) d
WHERE d.copy_no > 1 AND c.source_key = d.source_key AND c.line_number = d.line_number"""


def insert_rejected_sql() -> str:
    """Every rejected record into quarantine; columns not named here are _classified's own of the same name."""
    values = {"target_table": "$target_table", "raw_text": f"left(text, {RAW_TEXT_CHARS})", "run_id": "$run_id"}
    cols = REJECTED_RECORDS.column_names
    return f"""INSERT INTO {q(REJECTED_RECORDS.name)} ({column_list(cols)})
SELECT {", ".join(values.get(c, c) for c in cols)}
FROM _classified WHERE reason IS NOT NULL"""


# -- the fast path: whole files through one typed read_json scan --------------------------------------------------


def fast_read_columns(table: Table) -> dict[str, str]:
    """read_json's `columns`: every source field as JSON text, the same text `json_extract` gives the slow path."""
    return {c.json_field: "JSON" for c in table.source_columns}  # type: ignore[misc]


def values_hash(table: Table) -> str:
    """Hash of a row's required source values: an exact copy of a line has the same values, so a hash that occurs
    once rules out a copy (the required fields are few, and present in every loaded row)."""
    return f"hash({column_list(tuple(c.name for c in table.source_columns if not c.nullable))})"


def insert_fast_sql(table: Table, nfiles: int) -> str:
    """INSERT into `table` of every record of the files `$path0..` (keys `$key0..`, days `$day0..` from `$lo0..`
    to `$hi0..` in epoch ms) on which no rule fails, typed as the slow path would type it, numbered by its file's
    read_json ordinality.

    One read_json per file, so each file's ordinals are its own (a streaming window numbers the rows, which keeps
    the scan of a file in order). A file that loses a record here (a rule failed), or
    whose rows are not exactly its lines 1..n (a blank line is skipped by read_json), is taken out again by the
    caller and checked record by record. The rules are `record_rules.field_rules(fast=True)`: the slow path's,
    with the type rules stated on the JSON text."""
    cols = table.source_columns
    idx = {c.name: i for i, c in enumerate(cols, start=1)}
    jsons = ", ".join(f"{q(c.json_field)} AS j{idx[c.name]}" for c in cols)  # type: ignore[arg-type]
    scans = "\n  UNION ALL\n  ".join(
        f"SELECT $key{n} AS source_key, $day{n} AS partition_key, $lo{n} AS day_start_ms, $hi{n} AS day_end_ms, "
        f"ordinality, {jsons}\n  FROM read_json($path{n}, format='newline_delimited', records=true, columns=$columns) "
        "WITH ORDINALITY" for n in range(nfiles))
    fields = ",\n         ".join(e for c in cols for e in record_rules.fields(c, idx[c.name], with_type=False))
    bad = " OR\n      ".join(f"coalesce({cond}, false)"
                              for cond, _ in record_rules.field_rules(cols, idx, True, fast=True))
    values = {c.name: record_rules.value(c, idx[c.name]) for c in cols} | {"line_number": "CAST(ordinality AS INTEGER)"}
    names = table.column_names
    return f"""INSERT INTO {q(table.name)} ({column_list(names)})
WITH scanned AS (
  {scans}
), fields AS (
  SELECT *, {fields} FROM scanned
)
SELECT {", ".join(values.get(c, c) for c in names)}
FROM fields
WHERE NOT (
      {bad})"""


def fast_probe_sql(table: Table) -> str:
    """Read the file `$path` as `insert_fast_sql` does (every column is used, so every record is transformed)."""
    counts = ", ".join(f"count({q(c.json_field)})" for c in table.source_columns)  # type: ignore[arg-type]
    return f"SELECT {counts} FROM read_json($path, format='newline_delimited', records=true, columns=$columns)"


def fast_files_sql(table: Table) -> str:
    """Per file of `$keys` in the window: its rows, first and last line number, and whether a row's values occur
    more than once in the window (a possible exact copy)."""
    where = f"{time_predicate(table, DUCKDB)} AND list_contains($keys, source_key)"
    return f"""WITH rows AS (
  SELECT source_key, line_number, {values_hash(table)} AS h FROM {q(table.name)} WHERE {where})
SELECT source_key, count(*), min(line_number), max(line_number),
       bool_or(h IN (SELECT h FROM rows GROUP BY h HAVING count(*) > 1))
FROM rows GROUP BY source_key"""


def fast_copies_sql(table: Table) -> str:
    """Files of `$keys` holding a row (in the window) whose values equal a record the slow path classified:
    possibly a copy of it, which only the slow path (with the texts) can tell."""
    return f"""SELECT DISTINCT source_key FROM {q(table.name)}
WHERE {time_predicate(table, DUCKDB)} AND list_contains($keys, source_key)
  AND {values_hash(table)} IN (SELECT {values_hash(table)} FROM _classified)"""


def delete_files_sql(table: Table) -> str:
    """Take the rows of the files `$keys` (in the window) out of `table` again."""
    return f"DELETE FROM {q(table.name)} WHERE {time_predicate(table, DUCKDB)} AND list_contains($keys, source_key)"
