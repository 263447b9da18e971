"""The concurrency pool of the steps that use the warehouse, named once for the assets and the checks.

An embedded DuckDB file takes one writing process at a time, so its steps share a pool the instance limits to 1
(dagster_instance.yaml, dagster_service.yaml: `concurrency: pools: default_limit`). Redshift takes many writers,
so its steps are in no pool and its runs are not held back.
"""

from __future__ import annotations

DUCKDB_WAREHOUSE_POOL = "duckdb_warehouse"


def warehouse_pool(engine: str) -> str | None:
    """The pool for steps on this warehouse engine ('duckdb', 'redshift', 'postgres'), or None for no limit."""
    return DUCKDB_WAREHOUSE_POOL if engine == "duckdb" else None
