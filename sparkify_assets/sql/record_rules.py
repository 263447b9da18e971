"""One set of record rules, the same on DuckDB and on Redshift: what a valid event or song record is, as SQL
conditions on its JSON fields, shared by both of DuckDB's paths (written out in docs/data-quality.md).

Redshift's COPY decides what loads there, and nothing after COPY can tell a converted value from one that was
written that way (`"3"` and `3` land as the same INTEGER). So DuckDB applies COPY's conversions rather than
Redshift re-checking DuckDB's stricter ones:
- a numeric field takes a JSON number or a string holding one (`"sessionId": "3"`); a blank string (`""`,
  `"  "`) is NULL; an integer column takes only integer text (`-?[0-9]+`: no decimal point, sign `+` or
  surrounding blanks), a number column a decimal or exponent form too; booleans, objects and arrays are rejected;
- a text field takes any value: a string as itself, anything else as its JSON text (`{"a":1}`, `true`);
- text over its VARCHAR's bytes only by trailing blanks is cut to the width; any other excess is rejected;
- a record over 4 MiB is rejected, as is a line that is not valid UTF-8 (the row, not the file);
- our own rules follow COPY on both engines: required fields, plausible and in-day `ts`, duplicates.
"""

from __future__ import annotations

from sparkify_assets.tables import Column, JsonKind

_INTEGER_KINDS = (JsonKind.INTEGER, JsonKind.EPOCH_MS, JsonKind.NUMERIC_ID)
INTEGER_TEXT = "-?[0-9]+"  # what a string in an integer field may hold
NUMBER_TEXT = "-?([0-9]+([.][0-9]*)?|[.][0-9]+)([eE][-+]?[0-9]+)?"  # ... and in a number field
_BLANKS = "' ' || chr(9) || chr(10) || chr(13)"  # a string of only these is a blank field: NULL in a number

MAX_RECORD_BYTES = 4 << 20  # COPY's limit for one JSON object ("4 MB"); larger records are quarantined
MAX_EPOCH_MS = 4102444800000  # 2100-01-01: anything later is a corrupt timestamp, not an event


def fields(col: Column, i: int, with_type: bool = True) -> list[str]:
    """Per-field values computed once per record (DuckDB does not share them between the rules' conditions):
    its JSON type `t` (from its JSON `j{i}`), its text `s` (a string's content, any other value's JSON text) and,
    for numeric columns, its typed value `x` (NULL if invalid). Both paths compute the typed values with these
    same expressions from the same JSON text (the module's docstring says what converts)."""
    j = f"j{i}"
    out = [f"json_type({j}) AS t{i}"] if with_type else []
    if col.json_kind is JsonKind.STRING:
        out.append(f"({j} ->> '$') AS s{i}")
    else:  # only a string's content is ever read: extracted for strings alone (the fast path's cost)
        out.append(f"CASE WHEN starts_with({j}, '\"') THEN ({j} ->> '$') END AS s{i}")
        out.append(f"CASE WHEN starts_with({j}, '\"') THEN TRY_CAST(NULLIF(trim({j} ->> '$', {_BLANKS}), '') "
                   f"AS {col.type}) "
                   f"ELSE TRY_CAST({j} AS {col.type}) END AS x{i}")
    return out


def value(col: Column, i: int) -> str:
    """Typed value of the field (meaningful once the field is known to be valid). Text over its column's width
    by trailing blanks only is cut to the width, as Redshift stores it."""
    if col.json_kind is not JsonKind.STRING:
        return f"x{i}"
    s = f"s{i}"
    if not col.max_bytes:
        return s
    return f"CASE WHEN strlen({s}) > {col.max_bytes} THEN left({s}, length({s}) - (strlen({s}) - {col.max_bytes})) " \
           f"ELSE {s} END"


def _numeric_text(col: Column) -> str:
    return INTEGER_TEXT if col.json_kind in _INTEGER_KINDS else NUMBER_TEXT


def _string_ok(col: Column, i: int) -> str:
    """A JSON string in a numeric field: blank (NULL), or a number's text that fits the column."""
    s = f"s{i}"
    return f"({_blank(i)} OR (regexp_full_match({s}, '{_numeric_text(col)}') AND {_finite(col, i)}))"


def _finite(col: Column, i: int) -> str:
    """The typed value exists and is a real number: NaN and Infinity (which DuckDB's JSON reader accepts) are not
    JSON to COPY, and 1e400 overflows a DOUBLE."""
    return f"coalesce(isfinite(x{i}), false)" if col.json_kind is JsonKind.NUMBER else f"x{i} IS NOT NULL"


def _blank(i: int) -> str:
    return f"trim(s{i}, {_BLANKS}) = ''"


def type_error(col: Column, i: int) -> str:
    """SQL condition true when the field's JSON value cannot be loaded into the column (null/missing allowed)."""
    v, t = f"j{i}", f"t{i}"
    present = f"{v} IS NOT NULL AND {t} <> 'NULL'"
    kind = col.json_kind
    if kind is JsonKind.STRING:
        return "false"  # any value converts: a string as itself, anything else as its JSON text
    numbers = "('UBIGINT', 'BIGINT')" if kind in _INTEGER_KINDS else "('UBIGINT', 'BIGINT', 'DOUBLE')"
    if kind in _INTEGER_KINDS or kind is JsonKind.NUMBER:
        return (f"{present} AND NOT (({t} = 'VARCHAR' AND {_string_ok(col, i)})"
                f" OR ({t} IN {numbers} AND {_finite(col, i)}))")
    raise ValueError(kind)


def fast_type_ok(col: Column, i: int) -> str:
    """SQL condition that implies `type_error` is false, read off the JSON text `j` alone (no json_type parse).

    `j` is the field's JSON as DuckDB serialises it (the same text `json_extract` gives): a string starts with a
    quote, a number with a digit or '-', an integer is exactly the decimal text of its typed value. Where this
    cannot tell, it says no and the file is checked record by record."""
    j, absent = f"j{i}", f"j{i} IS NULL OR j{i} = 'null'"
    kind = col.json_kind
    if kind is JsonKind.STRING:
        return "true"
    string = f"(starts_with({j}, '\"') AND {_string_ok(col, i)})"
    if kind is JsonKind.NUMBER:
        return (f"{absent} OR (left({j}, 1) IN ('-', '0', '1', '2', '3', '4', '5', '6', '7', '8', '9') "
                f"AND {_finite(col, i)}) OR {string}")
    if kind in _INTEGER_KINDS:
        return f"{absent} OR CAST(x{i} AS VARCHAR) = CAST({j} AS VARCHAR) OR {string}"
    raise ValueError(kind)


def expected(col: Column) -> str:
    number = "an integer" if col.type == "BIGINT" else "a 32-bit integer"
    return {
        JsonKind.STRING: "a string",
        JsonKind.NUMBER: "a number (or a string holding one)",
        JsonKind.INTEGER: f"{number} (or a string of digits)",
        JsonKind.NUMERIC_ID: f"{number} (or a string of digits)",
        JsonKind.EPOCH_MS: "an integer of epoch milliseconds (or a string of digits)",
    }[col.json_kind]  # type: ignore[index]


def literal(text: str) -> str:
    """A SQL string literal for a message we wrote ourselves (never for data)."""
    return "'" + text.replace("'", "''") + "'"


def json_kind(v: str) -> str:
    """The JSON type of a value in the words of the reasons users read."""
    return (f"CASE json_type({v}) WHEN 'OBJECT' THEN 'an object' WHEN 'ARRAY' THEN 'an array' "
            f"WHEN 'VARCHAR' THEN 'a string' WHEN 'BOOLEAN' THEN 'a boolean' WHEN 'NULL' THEN 'null' "
            f"WHEN 'DOUBLE' THEN 'a decimal number' ELSE 'an integer' END")


def found(v: str) -> str:
    return f"' (found ' || {json_kind(v)} || ': ' || left(CAST({v} AS VARCHAR), 40) || ')'"


def field_rules(cols: tuple[Column, ...], idx: dict[str, int], check_day: bool,
                 fast: bool) -> list[tuple[str, str]]:
    """The per-field rules, in the order their reasons take precedence: required fields, then each field's type
    and value. `fast` states the type rules on the JSON text (`fast_type_ok`, which may only say no where
    `type_error` would not); the required and value rules are the same conditions on both paths."""
    rules: list[tuple[str, str]] = []
    for c in cols:
        if not c.nullable:
            i = idx[c.name]
            missing = f"j{i} IS NULL OR j{i} = 'null'" if fast else f"j{i} IS NULL OR t{i} = 'NULL'"
            if c.json_kind is not JsonKind.STRING:  # a blank string loads NULL into a number
                missing += f" OR (starts_with(j{i}, '\"') AND {_blank(i)})"
            rules.append((missing, literal(f"missing required field {c.json_field}")))
    for c in cols:
        i = idx[c.name]
        type_rule = f"NOT coalesce({fast_type_ok(c, i)}, false)" if fast else type_error(c, i)
        rules.append((type_rule,
                      literal(f"field {c.json_field}: expected {expected(c)}") + " || " + found(f"j{i}")))
        if c.max_bytes:
            rules.append((f"strlen(rtrim(s{i})) > {c.max_bytes}",
                          literal(f"field {c.json_field}: longer than {c.max_bytes} bytes")))
        if c.json_kind is JsonKind.EPOCH_MS:
            val = value(c, i)
            rules.append((f"{val} < 0 OR {val} >= {MAX_EPOCH_MS}",
                          literal(f"field {c.json_field}: ") + f" || {val} || ' is not a plausible epoch-ms time'"))
            if check_day:
                rules.append((f"{val} < day_start_ms OR {val} >= day_end_ms",
                              literal(f"field {c.json_field}: ") + f" || {val} || ' is outside the file''s day ' "
                              "|| partition_key"))
    return rules
