"""Materialization metadata: what Dagster shows and plots for every table (counts, schema, preview, timing)."""

from __future__ import annotations

from typing import Any

from dagster import MetadataValue, TableColumn, TableSchema

from sparkify_assets.day_window import DayWindow
from sparkify_assets.lineage import column_lineage
from sparkify_assets.resources.warehouse import LoadStats, Rows, Warehouse
from sparkify_assets.sql import queries
from sparkify_assets.tables import Table


def column_schema(table: Table) -> TableSchema:
    return TableSchema(columns=[TableColumn(c.name, c.type.lower(), description=c.description) for c in table.columns])


def markdown_table(result: Rows) -> str:
    """A small result as a markdown table for the UI (previews, check examples); NULL shows as an empty cell."""
    columns, rows = result

    def cell(value: Any) -> str:
        return "" if value is None else str(value).replace("|", "\\|").replace("\n", " ")

    lines = ["| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
    lines += ["| " + " | ".join(cell(v) for v in row) + " |" for row in rows]
    return "\n".join(lines)


def lineage_metadata(table: Table) -> dict[str, Any]:
    lineage = column_lineage(table)
    return {"dagster/column_lineage": lineage} if lineage else {}


def definition_metadata(table: Table) -> dict[str, Any]:
    """Known before any run: shown on the asset page even when it was never materialized."""
    return {
        "dagster/column_schema": column_schema(table),
        **lineage_metadata(table),
        "dagster/table_name": table.name,
        "key": ", ".join(table.key),
        "redshift_design": f"DISTSTYLE {table.diststyle}"
        + (f" DISTKEY({table.distkey})" if table.distkey else "")
        + (f" SORTKEY({', '.join(table.sortkey)})" if table.sortkey else "")
        + (f" - {table.design_note}" if table.design_note else ""),
    }


def load_description(table: Table) -> MetadataValue:
    """How a staging table is loaded, field by field: the JSONPaths file of the original COPY, as a table."""
    rows = "\n".join(
        f"| {c.name} | `{c.json_field}` | {c.json_kind.value if c.json_kind else ''} | {'' if c.nullable else 'yes'} |"
        for c in table.source_columns
    )
    return MetadataValue.md(
        "Every raw record is validated inside the warehouse (DuckDB: `read_json` plus SQL; Redshift: `COPY`) and "
        "either loaded as one row or quarantined in `rejected_records` with the reason, naming the field. The "
        "load replaces its scope (the run's days, or the whole table) in one transaction.\n\n"
        "| column | JSON field | expected | required |\n|---|---|---|---|\n" + rows
    )


def song_match_metadata(warehouse: Warehouse, table: Table, window: DayWindow | None) -> dict[str, Any]:
    """Share of the song plays in scope matched to a song file; plotted per materialization by the UI."""
    windowed = window is not None and table.partition_column is not None
    sql = queries.count_with_value_sql(table, "song_id", warehouse.dialect, windowed)
    (plays, matched), = warehouse.fetchall(sql, window.params if windowed and window else None)
    meta: dict[str, Any] = {"plays_matched": int(matched)}
    if plays:
        meta["song_match_rate"] = round(int(matched) / int(plays), 4)
    return meta


def table_metadata(warehouse: Warehouse, table: Table, window: DayWindow | None, seconds: float) -> dict[str, Any]:
    """What one load produced. The column schema is not repeated here: it is the definition's (the same
    `column_schema(table)`, which the UI shows on the asset), and a range run copies this metadata into one
    materialization per day, each stored three times by Dagster's SQLite event log."""
    d = warehouse.dialect
    windowed = window is not None and table.partition_column is not None
    params = window.params if windowed and window else None
    (rows,), = warehouse.fetchall(queries.count_sql(table, d, windowed), params)
    (total,), = warehouse.fetchall(queries.count_sql(table, d, False)) if windowed else ((rows,),)
    preview = warehouse.fetch_table(queries.preview_sql(table, d, windowed), params)
    meta: dict[str, Any] = {
        "dagster/row_count": int(rows),
        "table_rows": int(total),
        **lineage_metadata(table),
        "dagster/table_name": table.name,
        "load_seconds": round(seconds, 3),
        "preview": MetadataValue.md(markdown_table(preview)),
    }
    if window is not None:
        meta["days"] = window.label
    return meta


def load_metadata(stats: LoadStats, source_uri: str) -> dict[str, Any]:
    """What a staging load read and what it did with every record."""
    meta: dict[str, Any] = {
        "source": source_uri,
        "files_read": stats.files,
        "bytes_read": stats.bytes,
        "records_read": stats.read,
        "records_loaded": stats.loaded,
        "records_rejected": stats.rejected,
        **stats.detail,
    }
    if stats.fast_files is not None:  # which files needed the per-record checks (a file with a problem does)
        meta["files_fast_path"] = stats.fast_files
        meta["files_checked_per_record"] = stats.files - stats.fast_files
    if stats.sample_rejects:
        meta["sample_rejects"] = MetadataValue.md(
            "| file | line | reason |\n|---|---|---|\n"
            + "\n".join(f"| {k} | {n} | {r.replace('|', '/')} |" for k, n, r in stats.sample_rejects)
        )
    return meta
