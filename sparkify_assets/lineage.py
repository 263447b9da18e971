"""Column-level lineage for the UI, read off the table definitions: `derived_from` of the warehouse columns, and
for staging columns the raw JSON field they are loaded from (`json_field` of the table's `raw_source`)."""

from __future__ import annotations

from dagster import TableColumnDep, TableColumnLineage

from sparkify_assets.tables import Column, Table


def column_sources(table: Table, column: Column) -> list[tuple[str, str]]:
    """(asset, column) pairs the column is computed from; empty for lineage columns such as source_key."""
    if column.derived_from:
        return [(source.partition(".")[0], source.partition(".")[2]) for source in column.derived_from]
    if column.json_field is not None and table.raw_source is not None:
        return [(table.raw_source, column.json_field)]
    return []


def column_lineage(table: Table) -> TableColumnLineage | None:
    """`dagster/column_lineage` of a table, or None when none of its columns has a known source."""
    deps = {
        column.name: [TableColumnDep(asset_key=asset, column_name=name) for asset, name in sources]
        for column in table.columns
        if (sources := column_sources(table, column))
    }
    return TableColumnLineage(deps_by_column=deps) if deps else None
