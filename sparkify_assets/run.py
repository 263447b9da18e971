"""`make run`: materialize the whole asset graph for every day the source holds, then print what was built.

One run covers every day (the assets' single-run backfill policy), and is recorded in DAGSTER_HOME so it shows
up later in the UI.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from datetime import date

from dagster import AssetCheckSeverity, DagsterInstance, Definitions, ExecuteInProcessResult

from sparkify_assets.dagster_internals import ASSET_PARTITION_RANGE_END_TAG, ASSET_PARTITION_RANGE_START_TAG
from sparkify_assets.definitions import build_definitions
from sparkify_assets.settings import Settings
from sparkify_assets.sql import queries
from sparkify_assets.tables import ALL_TABLES


def materialize_days(definitions: Definitions, days: Sequence[date], instance: DagsterInstance,
                     raise_on_error: bool = False, log_level: str = "DEBUG") -> ExecuteInProcessResult:
    """Every asset and check for a contiguous range of days, in one run (as the CLI's --partition-range)."""
    job = definitions.resolve_implicit_global_asset_job_def()
    return job.execute_in_process(
        run_config={"loggers": {"console": {"config": {"log_level": log_level}}}},
        instance=instance,
        tags={ASSET_PARTITION_RANGE_START_TAG: min(days).isoformat(),
              ASSET_PARTITION_RANGE_END_TAG: max(days).isoformat()},
        raise_on_error=raise_on_error,
    )


def main() -> int:
    settings = Settings.from_env()
    defs = build_definitions(settings)
    source = defs.resources["source"]
    warehouse = defs.resources["warehouse"]
    days = source.log_days()
    if not days:
        print(f"no log files under {source.uri('log_data/')}: nothing to load", file=sys.stderr)
        return 1
    instance = DagsterInstance.get() if settings.service.dagster_home else DagsterInstance.ephemeral()
    print(f"materializing every asset for {days[0]}..{days[-1]} from {source.uri()}", flush=True)
    result = materialize_days(defs, days, instance, log_level="INFO")
    evaluations = result.get_asset_check_evaluations()
    print(f"\nrun {result.run_id}: {'succeeded' if result.success else 'FAILED'}")
    print(f"{'table':<18}{'rows':>10}  checks passed")
    for table in ALL_TABLES:
        (rows,), = warehouse.fetchall(queries.count_sql(table, warehouse.dialect, False))
        mine = [e for e in evaluations if e.asset_key.to_user_string() == table.name]
        failed = ", ".join(f"{e.check_name} ({e.severity.value.lower()})" for e in mine if not e.passed)
        print(f"{table.name:<18}{rows:>10}  {sum(e.passed for e in mine)}/{len(mine)}"
              + (f"  failed: {failed}" if failed else ""))
    publish_path = getattr(warehouse, "publish_path", None)
    if publish_path:
        print(f"\nanalysts read {publish_path} (docs/analysts.md): every table above whose blocking checks passed")
    errors = [e for e in evaluations if not e.passed and e.severity == AssetCheckSeverity.ERROR]
    return 0 if result.success and not errors else 1

if __name__ == "__main__":
    sys.exit(main())
