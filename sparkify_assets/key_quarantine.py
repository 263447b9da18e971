"""Refused keys into quarantine: a key that fails `resources.keys.key_problem` is never read, but it is not lost
either. The staging load that listed it records it in `rejected_records` (the key shown escaped, line 0: nothing
was read) and counts it as one record read and rejected, so the load's reconciliation check still balances.

Written after the load's own transaction (which replaces its scope of the quarantine, and so removes earlier
runs' entries for its days), replacing the refused keys that claim no day, and idempotent by key: a rerun leaves
exactly one row per refused key, and a key removed from the source leaves the quarantine with the next load.
"""

from __future__ import annotations

from collections.abc import Sequence

from sparkify_assets.resources.keys import RejectedKey, stored
from sparkify_assets.resources.warehouse import LoadStats, Warehouse
from sparkify_assets.sql import quarantine as quarantine_sql
from sparkify_assets.tables import REJECTED_RECORDS, Table

REFUSED_LINE = 0  # no line of a refused key is ever read
REASON_PREFIX = "key refused, not read: "


def reason(rejected: RejectedKey) -> str:
    return REASON_PREFIX + rejected.reason


def record(warehouse: Warehouse, table: Table, rejected: Sequence[tuple[RejectedKey, str | None]],
           run_id: str) -> None:
    """Each refused key, with the partition it claims (None: none), into quarantine in one transaction. The
    undated ones replace the table's undated ones (a key gone from the source leaves the quarantine); a dated one
    replaces its own row (the load of its day has already cleared that day's quarantine)."""
    d = warehouse.dialect
    with warehouse.transaction() as s:
        warehouse.ensure_tables(s, (REJECTED_RECORDS,))
        ours = {"target_table": table.name, "line_number": REFUSED_LINE, "refused_like": REASON_PREFIX + "%"}
        s.execute(quarantine_sql.delete_refused_undated_sql(d), ours)
        for key, day in rejected:
            params = {**ours, "partition_key": day, "source_key": stored(key.key), "reason": reason(key),
                      "raw_text": None, "run_id": run_id}
            s.execute(quarantine_sql.delete_refused_sql(d), params)
            s.execute(quarantine_sql.insert_row_sql(d), params)


def count(stats: LoadStats, rejected: Sequence[tuple[RejectedKey, str | None]], whole_table: bool) -> LoadStats:
    """The load's stats with the refused keys in its scope as records read and rejected: all of them for a
    whole-table load, those of its days for a daily one (a key claiming no day is outside every day's count)."""
    scoped = [k for k, day in rejected if whole_table or day is not None]
    stats.read += len(scoped)
    stats.rejected += len(scoped)
    stats.sample_rejects = ([(stored(k.key), REFUSED_LINE, reason(k)) for k, _ in rejected[:5]]
                            + stats.sample_rejects)[:10]
    stats.detail["keys_refused"] = len(rejected)
    return stats
