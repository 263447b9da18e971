"""The checks of one asset run as one step (a step costs Dagster more than our queries do), yet every check keeps
its own result, can run alone as the UI's "Execute" does, and a failing one shows the rows that offend it."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import duckdb
import pytest
from dagster import (
    AssetCheckKey,
    AssetKey,
    AssetSelection,
    DagsterEventType,
    DagsterInstance,
    Definitions,
    ExecuteInProcessResult,
    define_asset_job,
)

from sparkify_assets import day_complete
from sparkify_assets.run import materialize_days
from sparkify_assets_tests.conftest import local_defs

DAY = date(2018, 11, 15)
USER_CHECK = AssetCheckKey(AssetKey("songplays"), "user_id_in_users")


@dataclass
class Loaded:
    defs: Definitions
    db: Path
    instance: DagsterInstance
    result: ExecuteInProcessResult


@pytest.fixture(scope="module")
def loaded(real_sample: Path, tmp_path_factory: pytest.TempPathFactory) -> Loaded:
    """One real-sample day, every asset and check, in one run."""
    db = tmp_path_factory.mktemp("checks") / "warehouse.duckdb"
    defs = local_defs(real_sample, db)
    with DagsterInstance.ephemeral() as instance:
        yield Loaded(defs, db, instance, materialize_days(defs, [DAY], instance))


def test_each_asset_checks_in_one_step_and_every_check_reports(loaded: Loaded) -> None:
    assert loaded.result.success
    steps_by_asset: dict[str, set[str]] = defaultdict(set)
    evaluated, day_complete_steps = set(), set()
    for event in loaded.result.all_events:
        if event.event_type == DagsterEventType.ASSET_CHECK_EVALUATION:
            evaluation = event.event_specific_data
            evaluated.add(AssetCheckKey(evaluation.asset_key, evaluation.check_name))
            if evaluation.check_name == day_complete.CHECK_NAME:  # one step judges the day for the daily tables
                assert evaluation.passed, evaluation.description
                day_complete_steps.add(event.step_key)
                continue
            steps_by_asset[evaluation.asset_key.to_user_string()].add(event.step_key)
    defined = set(loaded.defs.resolve_asset_graph().asset_check_keys)
    assert evaluated == defined  # every check, with its own name and result
    assert day_complete_steps == {"daily_tables_day_complete"}
    assert all(len(steps) == 1 for steps in steps_by_asset.values()), steps_by_asset
    check_steps = set().union(*steps_by_asset.values())
    assert len(check_steps) == len(steps_by_asset) == 7  # one step per checked table, not one per check


def test_one_check_runs_alone_and_shows_its_offending_rows(loaded: Loaded) -> None:
    """As the UI's "Execute" on one check: only that check runs. A user removed from `users` makes the songplays
    of that user offend `user_id_in_users`, and the examples name them."""
    with duckdb.connect(str(loaded.db)) as con:
        (user, plays), = con.execute(
            "SELECT user_id, count(*) FROM songplays WHERE CAST(start_time AS DATE) = $day "
            "GROUP BY user_id ORDER BY count(*) DESC, user_id LIMIT 1", {"day": DAY}).fetchall()
        con.execute("DELETE FROM users WHERE user_id = $user", {"user": user})
    job = define_asset_job("one_check", selection=AssetSelection.checks(USER_CHECK))
    defs = Definitions.merge(loaded.defs, Definitions(jobs=[job]))

    result = defs.resolve_job_def("one_check").execute_in_process(
        instance=loaded.instance, tags={"dagster/partition": DAY.isoformat()}, raise_on_error=False)

    evaluations = result.get_asset_check_evaluations()
    assert [(e.asset_key, e.check_name) for e in evaluations] == [(USER_CHECK.asset_key, USER_CHECK.name)]
    evaluation = evaluations[0]
    assert not evaluation.passed and evaluation.blocking
    assert evaluation.metadata["offending_rows"].value == plays
    examples = evaluation.metadata["examples"].value.splitlines()
    assert examples[:2] == ["| songplay_id | user_id |", "|---|---|"]
    assert len(examples) == 2 + min(plays, 5)
    assert all(line.endswith(f"| {user} |") for line in examples[2:])
    assert not result.success  # a failed blocking (error) check fails its step
