"""Asset checks: generic rules generated from the table definitions, plus reconciliations and the song-match
rate. Error-level checks block downstream assets; on daily tables a check looks at the days just loaded.

The checks of one asset run as one step (a `@multi_asset_check`): a step costs Dagster far more bookkeeping than
our queries cost, so 30 checks as 30 steps were most of a small run. Each check keeps its own name, description,
blocking flag, severity and result in the UI, and can still be executed alone (the step can be subset).
"""

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from dagster import (
    AssetCheckExecutionContext,
    AssetCheckResult,
    AssetChecksDefinition,
    AssetCheckSeverity,
    AssetCheckSpec,
    AssetKey,
    AssetRecordsFilter,
    MetadataValue,
    PartitionsDefinition,
    multi_asset_check,
)

from sparkify_assets import day_window
from sparkify_assets.day_window import DayWindow
from sparkify_assets.partitions import daily_partitions
from sparkify_assets.reporting import markdown_table
from sparkify_assets.resources.warehouse import Warehouse
from sparkify_assets.settings import Settings
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


@dataclass(frozen=True)
class Outcome:
    passed: bool
    metadata: dict[str, Any]
    severity: AssetCheckSeverity = AssetCheckSeverity.ERROR


class CheckError(Exception):
    """A check's query failed (not: the check found a problem); names every check of the step that failed."""


Evaluate = Callable[[AssetCheckExecutionContext, Warehouse, DayWindow | None], Outcome]


@dataclass(frozen=True)
class Check:
    """One check: what the UI shows of it (name, description, blocking, metadata) and how it is evaluated."""

    table: Table
    name: str
    description: str
    blocking: bool
    evaluate: Evaluate
    also_reads: tuple[str, ...] = ()  # other tables it reads, which must be loaded first
    metadata: dict[str, Any] | None = None

    def spec(self, partitions: PartitionsDefinition | None = None) -> AssetCheckSpec:
        """`partitions`: the daily partitions, which a check of a daily table is evaluated on."""
        return AssetCheckSpec(
            self.name, asset=self.table.name, description=self.description, blocking=self.blocking,
            additional_deps=list(self.also_reads), metadata=self.metadata,
            partitions_def=partitions if self.table.partition_column else None)


def _params(win: DayWindow | None) -> dict[str, Any]:
    return win.params if win else {}


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


def rule_check(rule: rules.Rule) -> Check:
    def evaluate(context: AssetCheckExecutionContext, warehouse: Warehouse, win: DayWindow | None) -> Outcome:
        params = _params(win)
        (count,), = warehouse.fetchall(rule.count_sql(), params)
        meta: dict[str, Any] = {"offending_rows": int(count), **_scope_metadata(win)}
        if count:
            meta["examples"] = MetadataValue.md(markdown_table(warehouse.fetch_table(rule.examples_sql(), params)))
        severity = AssetCheckSeverity.WARN if rule.warn_only else AssetCheckSeverity.ERROR
        return Outcome(passed=count == 0, metadata=meta, severity=severity)

    return Check(rule.table, rule.name, rule.description, blocking=True, evaluate=evaluate,
                 also_reads=rule.also_reads, metadata={"sql": MetadataValue.md(f"```sql\n{rule.offending}\n```")})


def staging_reconciliation(table: Table, d: Dialect) -> Check:
    """Records read by the last load == rows now staged + rows now quarantined, for the same days."""

    def evaluate(context: AssetCheckExecutionContext, warehouse: Warehouse, win: DayWindow | None) -> Outcome:
        # The latest load that covered these days: for a daily table, the newest one of the window's last day.
        records = context.instance.fetch_materializations(
            AssetRecordsFilter(AssetKey(table.name), asset_partitions=[win.partition_keys[-1]] if win else None),
            limit=1,
        ).records
        load = records[0].asset_materialization.metadata if records and records[0].asset_materialization else {}
        if "records_read" not in load or (win and load["days"].value != _scope_metadata(win)["days"]):
            return Outcome(passed=False, metadata={
                "problem": "no load of these days recorded: materialize the asset first", **_scope_metadata(win)})
        read = int(load["records_read"].value)
        (staged, rejected), = warehouse.fetchall(rules.staged_counts_sql(table, d),
                                                 {**_params(win), "target_table": table.name})
        return Outcome(passed=staged + rejected == read, metadata={
            "records_read": read, "rows_staged": int(staged), "rows_rejected": int(rejected),
            "difference": int(staged + rejected - read), **_scope_metadata(win)})

    return Check(table, "loaded_plus_rejected_equals_read",
                 f"Every record the last load of {table.name} read is either in {table.name} or in "
                 "rejected_records: nothing lost, nothing doubled.", blocking=True, evaluate=evaluate)


def match_rate_check(d: Dialect, threshold: float) -> Check:

    def evaluate(context: AssetCheckExecutionContext, warehouse: Warehouse, win: DayWindow | None) -> Outcome:
        (plays, matched), = warehouse.fetchall(rules.match_rate_sql(d), _params(win))
        rate = matched / plays if plays else 0.0
        return Outcome(passed=rate >= threshold, severity=AssetCheckSeverity.WARN,
                       metadata={"match_rate": round(rate, 6), "songplays": int(plays), "matched": int(matched),
                                 "threshold": threshold, **_scope_metadata(win)})

    return Check(SONGPLAYS, "song_match_rate",
                 f"Share of song plays matched to a song file; warns below {threshold:.0%} "
                 "(SPARKIFY_MIN_SONG_MATCH_RATE). Plotted per load in the UI.", blocking=False, evaluate=evaluate)


def all_checks(d: Dialect, settings: Settings) -> list[Check]:
    return [
        *(rule_check(rule) for rule in all_rules(d)),
        staging_reconciliation(STAGING_EVENTS, d),
        staging_reconciliation(STAGING_SONGS, d),
        match_rate_check(d, settings.min_song_match_rate),
    ]


def build_asset_checks(table: Table, checks: Sequence[Check], pool: str | None, *,
                       partitions: PartitionsDefinition | None = None) -> AssetChecksDefinition:
    """Every check of one table in one step, in the warehouse's `pool`; the UI can still run any one of them
    alone."""
    by_key = {c.spec(partitions).key: c for c in checks}

    @multi_asset_check(
        name=f"{table.name}_checks",
        specs=[c.spec(partitions) for c in checks],
        description=f"The checks of {table.name}, evaluated in one step.",
        can_subset=True,
        pool=pool,
    )
    def _checks(context: AssetCheckExecutionContext, warehouse: Warehouse) -> Iterator[AssetCheckResult]:
        selected = [c for key, c in by_key.items() if key in context.selected_asset_check_keys]
        win = day_window.of_context(context, table)
        # A table another job has not built yet is empty, not an error: songplays can reference no song
        # before the song catalogue is loaded.
        reads = sorted({name for c in selected for name in c.also_reads})
        warehouse.run([], ensure=[table, *(TABLES_BY_NAME[name] for name in reads)])
        errors: list[tuple[str, Exception]] = []
        blocked = False
        for c in selected:
            try:
                outcome = c.evaluate(context, warehouse, win)
            except Exception as exc:  # the other checks still report; the step fails below
                errors.append((c.name, exc))
                continue
            blocked |= c.blocking and not outcome.passed and outcome.severity == AssetCheckSeverity.ERROR
            yield AssetCheckResult(asset_key=table.name, check_name=c.name, passed=outcome.passed,
                                   severity=outcome.severity, metadata=outcome.metadata)
        # Readers see a load only once every blocking check of its table ran on it and passed (docs/analysts.md).
        if not errors and not blocked and all(c in selected for c in checks if c.blocking):
            warehouse.checks_passed(table, win)
        if errors:
            raise CheckError(f"{table.name}: {len(errors)} check(s) could not be evaluated: "
                             + ", ".join(name for name, _ in errors)) from errors[0][1]

    return _checks


def build_checks(warehouse: Warehouse, *, settings: Settings) -> Sequence[AssetChecksDefinition]:
    """The checks as they run on `warehouse`: its SQL, its pool on each step."""
    checks, partitions = all_checks(warehouse.dialect, settings), daily_partitions(settings)
    tables = [t for t in WAREHOUSE_TABLES if any(c.table == t for c in checks)]
    return [build_asset_checks(t, [c for c in checks if c.table == t], warehouse.pool, partitions=partitions)
            for t in tables]
