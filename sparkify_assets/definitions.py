"""Everything Dagster loads, assembled in one visible place; resources are chosen from the environment here."""

from __future__ import annotations

from dagster import Definitions, EnvVar
from dagster_aws.s3 import S3Resource

from sparkify_assets import settings
from sparkify_assets.assets import build_assets
from sparkify_assets.checks import build_checks
from sparkify_assets.executor import in_process_or_multiprocess_executor
from sparkify_assets.resources.duckdb_warehouse import DuckDBWarehouse
from sparkify_assets.resources.source import LocalFolderSource, RawSource, S3Source
from sparkify_assets.resources.warehouse import Warehouse
from sparkify_assets.sql.dialect import dialect_for


def build_source(url: str) -> RawSource:
    if url.startswith("s3://"):
        bucket, _, prefix = url.removeprefix("s3://").partition("/")
        return S3Source(
            s3=S3Resource(
                endpoint_url=settings.s3_endpoint_url(),
                region_name=EnvVar("AWS_REGION").get_value("us-west-2"),
            ),
            bucket=bucket,
            prefix=prefix,
        )
    return LocalFolderSource(root=url)


def build_warehouse(kind: str) -> Warehouse:
    if kind == "duckdb":
        return DuckDBWarehouse(path=settings.duckdb_path())
    raise NotImplementedError("SPARKIFY_WAREHOUSE=redshift is not available yet")


def build_definitions(source: RawSource | None = None, warehouse: Warehouse | None = None) -> Definitions:
    """The project's definitions; tests pass their own resources, everyone else gets the environment's."""
    warehouse = warehouse or build_warehouse(settings.warehouse_kind())
    return Definitions(
        assets=build_assets(warehouse.kind),
        asset_checks=build_checks(dialect_for(warehouse.kind)),
        resources={"source": source or build_source(settings.data_url()), "warehouse": warehouse},
        executor=in_process_or_multiprocess_executor,
    )


defs = build_definitions()
