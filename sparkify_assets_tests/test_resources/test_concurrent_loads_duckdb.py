"""Two overlapping loads at once on the embedded warehouse (issue 21 item 3, the DuckDB side): two shell backfills
with instances of their own (so no pool orders them) start together on one warehouse. DuckDB gives the working file
to one process at a time and each load waits for it, so both succeed, and the tables (the pipeline's and what
readers see) equal those of the same two loads one after the other. The Redshift side, at SERIALIZABLE isolation, is
in test_redshift_production_traps.py."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import date, timedelta
from pathlib import Path

import pytest
from dagster import DagsterInstance

from sparkify_assets.run import materialize_days
from sparkify_assets_tests.conftest import local_defs
from sparkify_assets_tests.support import warehouse_snapshot
from sparkify_assets_tests.test_automation.test_automation_local import copy_sample

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
DAYS = [date(2018, 11, 1) + timedelta(days=i) for i in range(9)]
FIRST, SECOND = DAYS[:6], DAYS[3:]  # overlapping on three days


def cli_backfill(data: Path, db: Path, home: Path, days: list[date]) -> subprocess.Popen[str]:
    home.mkdir(parents=True)
    env = {**os.environ, "SPARKIFY_DATA_URL": str(data), "SPARKIFY_DUCKDB_PATH": str(db), "DAGSTER_HOME": str(home),
           "SPARKIFY_WAREHOUSE": "duckdb", "SPARKIFY_END_DATE": DAYS[-1].isoformat()}
    return subprocess.Popen([str(BIN / "dagster"), "asset", "materialize", "-m", "sparkify_assets", "--select", "*",
                             "--partition-range", f"{days[0]}...{days[-1]}"], cwd=ROOT, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def test_two_overlapping_backfills_at_once_equal_the_same_two_one_after_the_other(
        real_sample: Path, tmp_path: Path) -> None:
    data = copy_sample(real_sample, tmp_path / "data", DAYS)
    db = tmp_path / "together" / "warehouse.duckdb"
    runs = [cli_backfill(data, db, tmp_path / f"home-{i}", days) for i, days in enumerate((FIRST, SECOND))]
    try:
        outputs = [run.communicate(timeout=900)[0] for run in runs]  # a hang guard only
    finally:
        for run in runs:
            if run.poll() is None:
                run.kill()
                run.wait()
    for run, output in zip(runs, outputs, strict=True):
        assert run.returncode == 0, output[-3000:]

    one_after_the_other = tmp_path / "serial" / "warehouse.duckdb"
    working = one_after_the_other.with_name("warehouse.working.duckdb")
    with DagsterInstance.ephemeral() as scratch:
        for days in (FIRST, SECOND):
            assert materialize_days(local_defs(data, working), days, scratch).success
    expected = warehouse_snapshot.snapshot(working)
    assert warehouse_snapshot.snapshot(db.with_name("warehouse.working.duckdb")) == expected
    assert warehouse_snapshot.snapshot(db) == expected  # what readers see: both loads, whole
    plays = warehouse_snapshot.table(db, "songplays")
    assert set(plays.start_time.dt.date) == set(DAYS)  # every day of both loads, not only one load's
