"""DuckDB's counterpart of Redshift's COPY: raw JSON records in, typed rows or reasons out, all inside DuckDB.

Rows never pass through Python. Every record gets exactly one outcome: a typed row, or the first reason it
cannot be loaded, naming the field. Input is a relation `_records(source_key, partition_key, line_number,
text, day_start_ms, day_end_ms)`.
"""

from __future__ import annotations

from sparkify_assets.sql.dialect import column_list, q
from sparkify_assets.tables import Column, JsonKind, Table

MAX_RECORD_BYTES = 1 << 20  # larger records are quarantined, never loaded: no column could hold them
RAW_TEXT_CHARS = 4000
MAX_EPOCH_MS = 4102444800000  # 2100-01-01: anything later is a corrupt timestamp, not an event


def _value(col: Column, v: str) -> str:
    """Typed value of a field already known to be valid."""
    kind = col.json_kind
    if kind is JsonKind.STRING:
        return f"({v} ->> '$')"
    if kind is JsonKind.NUMERIC_ID:
        return f"CAST(NULLIF(({v} ->> '$'), '') AS {col.type})"
    return f"TRY_CAST({v} AS {col.type})"


def _type_error(col: Column, v: str) -> str:
    """SQL condition true when the field's JSON value cannot be loaded into the column (null/missing allowed)."""
    t = f"json_type({v})"
    present = f"{v} IS NOT NULL AND {t} <> 'NULL'"
    kind = col.json_kind
    if kind is JsonKind.STRING:
        return f"{present} AND {t} <> 'VARCHAR'"
    if kind is JsonKind.NUMBER:
        return f"{present} AND {t} NOT IN ('UBIGINT', 'BIGINT', 'DOUBLE')"
    if kind in (JsonKind.INTEGER, JsonKind.EPOCH_MS):
        return f"{present} AND ({t} NOT IN ('UBIGINT', 'BIGINT') OR TRY_CAST({v} AS {col.type}) IS NULL)"
    if kind is JsonKind.NUMERIC_ID:
        s = f"({v} ->> '$')"
        return (f"{present} AND NOT (({t} = 'VARCHAR' AND ({s} = '' OR regexp_full_match({s}, '[0-9]{{1,9}}')))"
                f" OR ({t} IN ('UBIGINT', 'BIGINT') AND TRY_CAST({v} AS INTEGER) IS NOT NULL))")
    raise ValueError(kind)


def _expected(col: Column) -> str:
    return {
        JsonKind.STRING: "a string",
        JsonKind.NUMBER: "a number",
        JsonKind.INTEGER: "an integer" if col.type == "BIGINT" else "a 32-bit integer",
        JsonKind.NUMERIC_ID: "a numeric id (a string of up to 9 digits, or empty)",
        JsonKind.EPOCH_MS: "an integer of epoch milliseconds",
    }[col.json_kind]  # type: ignore[index]


def _literal(text: str) -> str:
    """A SQL string literal for a message we wrote ourselves (never for data)."""
    return "'" + text.replace("'", "''") + "'"


def _json_kind(v: str) -> str:
    """The JSON type of a value in the words of the reasons users read."""
    return (f"CASE json_type({v}) WHEN 'OBJECT' THEN 'an object' WHEN 'ARRAY' THEN 'an array' "
            f"WHEN 'VARCHAR' THEN 'a string' WHEN 'BOOLEAN' THEN 'a boolean' WHEN 'NULL' THEN 'null' "
            f"WHEN 'DOUBLE' THEN 'a decimal number' ELSE 'an integer' END")


def _found(v: str) -> str:
    return f"' (found ' || {_json_kind(v)} || ': ' || left(CAST({v} AS VARCHAR), 40) || ')'"


def classify_sql(table: Table, dedupe_on: str, check_day: bool) -> str:
    """SELECT over `_records` giving every record its typed columns and a `reason` (NULL when loadable).

    `dedupe_on` is 'text' (an exact copy of an earlier line is a duplicate) or a column name (a later record
    with the same key is a duplicate). `check_day` rejects events whose ts is outside their file's day, which
    keeps every partition's rows exactly the rows of its own files.
    """
    cols = table.source_columns
    paths = ", ".join(_literal(f"$.{c.json_field}") for c in cols)
    v = {c.name: f"v[{i}]" for i, c in enumerate(cols, start=1)}
    rules: list[tuple[str, str]] = [
        (f"octet_length(encode(text)) > {MAX_RECORD_BYTES}",
         f"'record is ' || octet_length(encode(text)) || ' bytes, over the {MAX_RECORD_BYTES}-byte limit'"),
        ("NOT is_json", "'invalid JSON'"),
        ("json_type(text) <> 'OBJECT'", f"'not a JSON object (found ' || {_json_kind('text')} || ')'"),
    ]
    for c in cols:
        if not c.nullable:
            rules.append((f"{v[c.name]} IS NULL OR json_type({v[c.name]}) = 'NULL'",
                          _literal(f"missing required field {c.json_field}")))
    for c in cols:
        rules.append((_type_error(c, v[c.name]),
                      _literal(f"field {c.json_field}: expected {_expected(c)}") + " || " + _found(v[c.name])))
        if c.max_bytes:
            rules.append((f"octet_length(encode({_value(c, v[c.name])})) > {c.max_bytes}",
                          _literal(f"field {c.json_field}: longer than {c.max_bytes} bytes")))
        if c.json_kind is JsonKind.EPOCH_MS:
            val = _value(c, v[c.name])
            rules.append((f"{val} < 0 OR {val} >= {MAX_EPOCH_MS}",
                          _literal(f"field {c.json_field}: ") + f" || {val} || ' is not a plausible epoch-ms time'"))
            if check_day:
                rules.append((f"{val} < day_start_ms OR {val} >= day_end_ms",
                              _literal(f"field {c.json_field}: ") + f" || {val} || ' is outside the file''s day ' "
                              "|| partition_key"))
    reason = "CASE\n" + "\n".join(f"      WHEN {cond} THEN {msg}" for cond, msg in rules) + "\n    END"
    typed = ",\n    ".join(f"CASE WHEN reason IS NULL THEN {_value(c, v[c.name])} END AS {q(c.name)}" for c in cols)
    dedupe_expr = "text" if dedupe_on == "text" else q(dedupe_on)
    return f"""
WITH parsed AS (
  SELECT *, json_valid(text) AS is_json,
         CASE WHEN json_valid(text) AND json_type(text) = 'OBJECT' THEN json_extract(text, [{paths}]) END AS v
  FROM _records
), judged AS (
  SELECT *, {reason} AS reason FROM parsed
), typed AS (
  SELECT source_key, partition_key, line_number, text, is_json, reason,
    {typed}
  FROM judged
), ranked AS (
  SELECT *, first_value(source_key || ':' || line_number) OVER w AS first_seen, row_number() OVER w AS copy_no
  FROM typed
  WINDOW w AS (PARTITION BY CASE WHEN reason IS NULL THEN {dedupe_expr} END ORDER BY source_key, line_number)
)
SELECT * REPLACE (CASE WHEN reason IS NULL AND copy_no > 1
                       THEN 'duplicate of ' || first_seen ELSE reason END AS reason)
FROM ranked"""


def insert_loaded_sql(table: Table) -> str:
    cols = column_list(table.column_names)
    return f"INSERT INTO {q(table.name)} ({cols}) SELECT {cols} FROM _classified WHERE reason IS NULL"


def insert_rejected_sql() -> str:
    return f"""INSERT INTO {q("rejected_records")}
  ({column_list(("target_table", "partition_key", "source_key", "line_number", "reason", "raw_text", "run_id"))})
SELECT $target_table, partition_key, source_key, line_number, reason, left(text, {RAW_TEXT_CHARS}), $run_id
FROM _classified WHERE reason IS NOT NULL"""
