"""What every warehouse asset shares: its attributes from the table definition, and how a transform runs."""

from __future__ import annotations

import functools
import hashlib
import time
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

from dagster import AssetExecutionContext, BackfillPolicy, Failure, MaterializeResult, MetadataValue

from sparkify_assets import day_window, reporting
from sparkify_assets.day_window import DayWindow
from sparkify_assets.partitions import daily_partitions
from sparkify_assets.resources.warehouse import Warehouse
from sparkify_assets.retries import is_transient, retry_policy
from sparkify_assets.settings import Settings
from sparkify_assets.sql.dialect import Dialect
from sparkify_assets.tables import Table

OWNERS = ["team:data-engineering"]


F = TypeVar("F", bound=Callable[..., Any])


def fail_permanent_errors_at_once(fn: F) -> F:
    """Under each asset's RetryPolicy: let transient errors through to be retried, fail at once on the rest.

    Dagster retries every exception a step raises; a permanent one (missing file, bad credentials, SQL error)
    becomes a Failure that forbids retries, so the run fails now with the original message.
    """

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except Failure:
            raise
        except Exception as exc:
            if is_transient(exc):
                raise
            raise Failure(description=f"{type(exc).__name__}: {exc}", allow_retries=False) from exc

    return wrapper  # type: ignore[return-value]


def code_version(table: Table, sql: Sequence[str]) -> str:
    """Changes exactly when the table's definition or its SQL does, so the UI flags stale tables."""
    return hashlib.sha1((repr(table) + "\n".join(sql)).encode()).hexdigest()[:12]


def asset_metadata(table: Table, sql: Sequence[str], dialect: Dialect) -> dict[str, Any]:
    meta = reporting.definition_metadata(table)
    if sql:
        meta["sql"] = MetadataValue.md(f"```sql\n-- {dialect.name}\n" + ";\n\n".join(sql) + ";\n```")
    if table.source_columns:
        meta["load"] = reporting.load_description(table)
    return meta


def table_asset(table: Table, *, sql: Sequence[str], warehouse: Warehouse, deps: Sequence[Any],
                group: str, settings: Settings) -> dict[str, Any]:
    """The @asset arguments every table shares, all derived from its definition, the warehouse it runs on, and
    the settings' days and retry delay."""
    return {
        "name": table.name,
        "description": table.description,
        "deps": list(deps),
        "partitions_def": daily_partitions(settings) if table.partition_column else None,
        "backfill_policy": BackfillPolicy.single_run(),
        "retry_policy": retry_policy(settings),
        "group_name": group,
        "kinds": {warehouse.kind},
        "owners": OWNERS,
        "code_version": code_version(table, sql),
        "metadata": asset_metadata(table, sql, warehouse.dialect),
        "pool": warehouse.pool,
    }


ExtraMetadata = Callable[[Warehouse, Table, DayWindow | None], dict[str, Any]]


def run_transform(context: AssetExecutionContext, warehouse: Warehouse, table: Table, statements: Sequence[str],
                  reads: Sequence[Table], extra_metadata: ExtraMetadata | None = None) -> MaterializeResult:
    """Replace the table's scope (its days, or all of it) in one transaction, then report on it.

    The report is the materialization's metadata (its days, rows, seconds); no log line repeats it, since each
    one is a further event the run's storage commits."""
    win = day_window.of_context(context, table)
    started = time.perf_counter()
    warehouse.run(statements, win.params if win else None, ensure=(*reads, table))
    seconds = time.perf_counter() - started
    meta = {**reporting.table_metadata(warehouse, table, win, seconds), "reads": ", ".join(t.name for t in reads)}
    if extra_metadata is not None:
        meta.update(extra_metadata(warehouse, table, win))
    return MaterializeResult(metadata=meta)
