"""The Redshift preflight's reads (redshift_preflight.py): whether a load-error view is readable, and a day's
quarantine summed up by table and reason."""

from __future__ import annotations

from sparkify_assets.sql.dialect import REDSHIFT, q
from sparkify_assets.tables import REJECTED_RECORDS


def view_probe_sql(view: str) -> str:
    """Reads nothing, but fails unless this login may read `view` (a checked identifier from our settings)."""
    return f"SELECT COUNT(*) FROM {q(view)} WHERE 1 = 0"


def _of_day() -> str:
    return f"FROM {q(REJECTED_RECORDS.name)} WHERE {q('partition_key')} = {REDSHIFT.param('day')}"


def rejects_by_reason_sql() -> str:
    return (f"SELECT {q('target_table')}, {q('reason')}, COUNT(*) {_of_day()} "
            "GROUP BY 1, 2 ORDER BY 3 DESC, 1, 2")


def first_rejects_sql(sample: int) -> str:
    return f"SELECT {q('source_key')}, {q('line_number')}, {q('reason')} {_of_day()} ORDER BY 1, 2 LIMIT {int(sample)}"
