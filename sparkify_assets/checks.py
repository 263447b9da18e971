"""Asset checks, generated from the table definitions: every table's key is present and unique, and the
tables the original pipeline counted are not empty. Error-level checks block downstream assets."""


from collections.abc import Callable

from dagster import AssetCheckExecutionContext, AssetCheckResult, AssetChecksDefinition, MetadataValue, asset_check

from sparkify_assets.resources.warehouse import Warehouse
from sparkify_assets.sql.checks import Rule, key_not_null, key_unique, not_empty
from sparkify_assets.sql.dialect import Dialect
from sparkify_assets.tables import SONGPLAYS, STAGING_EVENTS, STAGING_SONGS, WAREHOUSE_TABLES, Table

RuleFactory = Callable[[Table, Dialect], Rule]


def evaluate(warehouse: Warehouse, rule: Rule) -> AssetCheckResult:
    (count,), = warehouse.fetchall(rule.count_sql())
    meta: dict[str, object] = {"offending_rows": int(count)}
    if count:
        examples = warehouse.frame(rule.examples_sql())
        meta["examples"] = MetadataValue.md(examples.to_markdown(index=False))
    return AssetCheckResult(passed=count == 0, metadata=meta)


def build_check(table: Table, make_rule: RuleFactory, dialect: Dialect) -> AssetChecksDefinition:
    rule = make_rule(table, dialect)

    @asset_check(asset=table.name, name=rule.name, description=rule.description, blocking=True)
    def _check(context: AssetCheckExecutionContext, warehouse: Warehouse) -> AssetCheckResult:
        return evaluate(warehouse, rule)

    return _check


def build_checks(dialect: Dialect) -> list[AssetChecksDefinition]:
    checks = [build_check(t, f, dialect) for t in WAREHOUSE_TABLES for f in (key_not_null, key_unique)]
    checks += [build_check(t, not_empty, dialect) for t in (STAGING_EVENTS, STAGING_SONGS, SONGPLAYS)]
    return checks
