"""What every warehouse asset shares: its attributes from the table definition, and how a transform runs."""

from __future__ import annotations

import hashlib
import time
from collections.abc import Sequence
from typing import Any

from dagster import AssetExecutionContext, MaterializeResult, MetadataValue

from sparkify_assets import reporting
from sparkify_assets.partitions import window_of
from sparkify_assets.resources.warehouse import DayWindow, Warehouse
from sparkify_assets.sql.dialect import Dialect
from sparkify_assets.tables import Table

OWNERS = ["team:data-engineering"]


def code_version(table: Table, sql: Sequence[str]) -> str:
    """Changes exactly when the table's definition or its SQL does, so the UI flags stale tables."""
    return hashlib.sha1((repr(table) + "\n".join(sql)).encode()).hexdigest()[:12]


def asset_metadata(table: Table, sql: Sequence[str], dialect: Dialect) -> dict[str, Any]:
    meta = reporting.definition_metadata(table)
    if sql:
        meta["sql"] = MetadataValue.md(f"```sql\n-- {dialect.name}\n" + ";\n\n".join(sql) + ";\n```")
    return meta


def window(context: AssetExecutionContext) -> DayWindow | None:
    return window_of(context.partition_keys) if context.has_partition_key_range else None


def run_transform(context: AssetExecutionContext, warehouse: Warehouse, table: Table, statements: Sequence[str],
                  reads: Sequence[Table]) -> MaterializeResult:
    """Replace the table's scope (its days, or all of it) in one transaction, then report on it."""
    win = window(context) if table.partition_column else None
    started = time.perf_counter()
    warehouse.run(statements, win.params if win else None, ensure=(*reads, table))
    seconds = time.perf_counter() - started
    context.log.info(f"{table.name}: loaded {win.days[0]}..{win.days[-1]}" if win else f"{table.name}: rebuilt")
    reads_meta = {"reads": ", ".join(t.name for t in reads)}
    return MaterializeResult(metadata={**reporting.table_metadata(warehouse, table, win, seconds), **reads_meta})
