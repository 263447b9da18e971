"""Asset checks: generic rules generated from the table definitions, plus reconciliations and the song-match
rate. Error-level checks block downstream assets; on daily tables a check looks at the days just loaded."""

from collections.abc import Sequence
from typing import Any

from dagster import (
    AssetCheckExecutionContext,
    AssetCheckResult,
    AssetChecksDefinition,
    AssetCheckSeverity,
    AssetKey,
    AssetRecordsFilter,
    MetadataValue,
    asset_check,
)

from sparkify_assets import settings
from sparkify_assets.partitions import daily_partitions, window_of
from sparkify_assets.pools import warehouse_pool
from sparkify_assets.resources.warehouse import DayWindow, Warehouse
from sparkify_assets.sql import checks as rules
from sparkify_assets.sql.dialect import Dialect
from sparkify_assets.tables import (
    SONGPLAYS,
    STAGING_EVENTS,
    STAGING_SONGS,
    TABLES_BY_NAME,
    WAREHOUSE_TABLES,
    Table,
)


def _window(context: AssetCheckExecutionContext, table: Table) -> DayWindow | None:
    return window_of(context.partition_keys) if table.partition_column else None


def _params(win: DayWindow | None) -> dict[str, Any]:
    if win is None:
        return {}
    return {**win.params, "first_day": win.partition_keys[0], "last_day": win.partition_keys[-1]}


def _scope_metadata(win: DayWindow | None) -> dict[str, Any]:
    return {"days": win.label} if win else {}


def all_rules(d: Dialect) -> list[rules.Rule]:
    generic = [r for t in WAREHOUSE_TABLES for r in (*rules.key_rules(t, d), *rules.column_rules(t, d))]
    return [
        *generic,
        rules.not_empty(STAGING_EVENTS, d, warn_only=True),  # a quiet day is odd, not wrong
        rules.not_empty(STAGING_SONGS, d, warn_only=False),  # no catalogue: nothing can match
        rules.not_empty(SONGPLAYS, d, warn_only=True),
        rules.songplays_reconcile(d),
        rules.time_covers_songplays(d),
    ]


def build_rule_check(rule: rules.Rule, d: Dialect) -> AssetChecksDefinition:
    reads = (rule.table, *(TABLES_BY_NAME[name] for name in rule.also_reads))

    @asset_check(
        asset=rule.table.name,
        name=rule.name,
        description=rule.description,
        blocking=True,
        pool=warehouse_pool(d.name),
        additional_deps=list(rule.also_reads),
        partitions_def=daily_partitions if rule.windowed else None,
        metadata={"sql": MetadataValue.md(f"```sql\n{rule.offending}\n```")},
    )
    def _check(context: AssetCheckExecutionContext, warehouse: Warehouse) -> AssetCheckResult:
        win = _window(context, rule.table)
        params = _params(win)
        # A table another job has not built yet is empty, not an error: songplays can reference no song
        # before the song catalogue is loaded.
        warehouse.run([], ensure=reads)
        (count,), = warehouse.fetchall(rule.count_sql(), params)
        meta: dict[str, Any] = {"offending_rows": int(count), **_scope_metadata(win)}
        if count:
            meta["examples"] = MetadataValue.md(warehouse.frame(rule.examples_sql(), params).to_markdown(index=False))
        severity = AssetCheckSeverity.WARN if rule.warn_only else AssetCheckSeverity.ERROR
        return AssetCheckResult(passed=count == 0, severity=severity, metadata=meta)

    return _check


def build_staging_reconciliation(table: Table, d: Dialect) -> AssetChecksDefinition:
    """Records read by the last load == rows now staged + rows now quarantined, for the same days."""

    @asset_check(
        asset=table.name,
        name="loaded_plus_rejected_equals_read",
        description=f"Every record the last load of {table.name} read is either in {table.name} or in "
        "rejected_records: nothing lost, nothing doubled.",
        blocking=True,
        pool=warehouse_pool(d.name),
        partitions_def=daily_partitions if table.partition_column else None,
    )
    def _check(context: AssetCheckExecutionContext, warehouse: Warehouse) -> AssetCheckResult:
        win = _window(context, table)
        # The latest load that covered these days: for a daily table, the newest one of the window's last day.
        records = context.instance.fetch_materializations(
            AssetRecordsFilter(AssetKey(table.name), asset_partitions=[win.partition_keys[-1]] if win else None),
            limit=1,
        ).records
        load = records[0].asset_materialization.metadata if records and records[0].asset_materialization else {}
        if "records_read" not in load or (win and load["days"].value != _scope_metadata(win)["days"]):
            return AssetCheckResult(passed=False, metadata={
                "problem": "no load of these days recorded: materialize the asset first", **_scope_metadata(win)})
        read = int(load["records_read"].value)
        (staged, rejected), = warehouse.fetchall(rules.staged_counts_sql(table, d),
                                                 {**_params(win), "target_table": table.name})
        return AssetCheckResult(passed=staged + rejected == read, metadata={
            "records_read": read, "rows_staged": int(staged), "rows_rejected": int(rejected),
            "difference": int(staged + rejected - read), **_scope_metadata(win)})

    return _check


def build_match_rate_check(d: Dialect) -> AssetChecksDefinition:
    threshold = settings.min_song_match_rate()

    @asset_check(
        asset=SONGPLAYS.name,
        name="song_match_rate",
        description=f"Share of song plays matched to a song file; warns below {threshold:.0%} "
        "(SPARKIFY_MIN_SONG_MATCH_RATE). Plotted per load in the UI.",
        blocking=False,
        pool=warehouse_pool(d.name),
        partitions_def=daily_partitions,
    )
    def _check(context: AssetCheckExecutionContext, warehouse: Warehouse) -> AssetCheckResult:
        win = _window(context, SONGPLAYS)
        (plays, matched), = warehouse.fetchall(rules.match_rate_sql(d), _params(win))
        rate = matched / plays if plays else 0.0
        return AssetCheckResult(
            passed=rate >= threshold, severity=AssetCheckSeverity.WARN,
            metadata={"match_rate": round(rate, 6), "songplays": int(plays), "matched": int(matched),
                      "threshold": threshold, **_scope_metadata(win)},
        )

    return _check


def build_checks(d: Dialect) -> Sequence[AssetChecksDefinition]:
    return [
        *(build_rule_check(rule, d) for rule in all_rules(d)),
        build_staging_reconciliation(STAGING_EVENTS, d),
        build_staging_reconciliation(STAGING_SONGS, d),
        build_match_rate_check(d),
    ]
