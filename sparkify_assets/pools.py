"""The concurrency pool of the steps that use the warehouse, named once for the assets and the checks.

An embedded DuckDB file takes one writing process at a time, so its steps share a pool the instance limits to 1
(dagster_instance.yaml, dagster_service.yaml: `concurrency: pools: default_limit`). Redshift takes many writers,
so its steps are in no pool and its runs are not held back.
"""

from __future__ import annotations

from dagster import DagsterInstance

DUCKDB_WAREHOUSE_POOL = "duckdb_warehouse"


def warehouse_pool(engine: str) -> str | None:
    """The pool for steps on this warehouse engine ('duckdb', 'redshift', 'postgres'), or None for no limit."""
    return DUCKDB_WAREHOUSE_POOL if engine == "duckdb" else None


def ensure_pool_known(instance: DagsterInstance, engine: str) -> None:
    """Give the instance the warehouse pool and its default limit before the first runs that need it are queued.

    Dagster 1.13.27's run queue reads the known pools before it gives a newly seen pool its default limit, so on
    the first dequeue after a pool first appears every queued run goes through at once (seen: two runs writing
    DuckDB together). Called by the sensor before it requests runs.
    """
    pool = warehouse_pool(engine)
    if pool is None or instance.global_op_concurrency_default_limit is None:
        return
    if pool not in instance.event_log_storage.get_concurrency_keys():
        instance.event_log_storage.initialize_concurrency_limit_to_default(pool)
