"""Single rows into quarantine (`rejected_records`), on either engine: the records COPY rejected, and the keys
refused before anything was read (key_quarantine.py), whose rows are told apart by line 0 and their reason."""

from __future__ import annotations

from sparkify_assets.sql.dialect import Dialect, column_list, q
from sparkify_assets.tables import REJECTED_RECORDS

_R = q(REJECTED_RECORDS.name)


def insert_row_sql(d: Dialect) -> str:
    """One row, each column bound as the parameter of its name."""
    cols = REJECTED_RECORDS.column_names
    return f"INSERT INTO {_R} ({column_list(cols)}) VALUES ({', '.join(d.param(c) for c in cols)})"


def _refused(d: Dialect) -> str:
    """Rows of refused keys, and no other (a load's own rejects never carry the reason `$refused_like`)."""
    return (f"{q('target_table')} = {d.param('target_table')} AND {q('line_number')} = {d.param('line_number')} "
            f"AND {q('reason')} LIKE {d.param('refused_like')}")


def delete_refused_sql(d: Dialect) -> str:
    """The refused key `$source_key`'s row."""
    return f"DELETE FROM {_R} WHERE {_refused(d)} AND {q('source_key')} = {d.param('source_key')}"


def delete_refused_undated_sql(d: Dialect) -> str:
    """Every refused key of the table that claims no day: each load lists them all, so it replaces them all."""
    return f"DELETE FROM {_R} WHERE {_refused(d)} AND {q('partition_key')} IS NULL"
