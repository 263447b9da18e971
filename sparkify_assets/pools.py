"""The concurrency pool of the steps that use the warehouse, and making it known to the instance in time.

An embedded DuckDB file takes one writing process at a time, so its steps share a pool the instance limits to 1
(dagster_instance.yaml, dagster_service.yaml: `concurrency: pools: default_limit`). Redshift takes many writers,
so its steps are in no pool and its runs are not held back. Each warehouse resource names its pool
(`Warehouse.pool`); the assets and checks take it from there.
"""

from __future__ import annotations

from dagster import DagsterInstance

DUCKDB_WAREHOUSE_POOL = "duckdb_warehouse"


def ensure_pool_known(instance: DagsterInstance, pool: str | None) -> None:
    """Give the instance the warehouse's pool and its default limit before the first runs that need it are queued.

    Dagster 1.13.27's run queue reads the known pools before it gives a newly seen pool its default limit, so on
    the first dequeue after a pool first appears every queued run goes through at once (seen: two runs writing
    DuckDB together). Called by the sensor before it requests runs, with the warehouse's pool (None: no limit).
    """
    if pool is None or instance.global_op_concurrency_default_limit is None:
        return
    if pool not in instance.event_log_storage.get_concurrency_keys():
        instance.event_log_storage.initialize_concurrency_limit_to_default(pool)
