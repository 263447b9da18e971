"""The shell commands a user runs: `dagster definitions validate`, `dagster asset materialize` over a range and
`python -m sparkify_assets.run` (what `make run` calls), each in its own process with the documented env vars."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import date
from pathlib import Path

import pytest
from dagster import DagsterInstance

from sparkify_assets.run import materialize_days
from sparkify_assets.tables import ALL_TABLES
from sparkify_assets_tests.conftest import ROOT, local_defs
from sparkify_assets_tests.support import expected, warehouse_snapshot

BIN = Path(sys.executable).parent
pytestmark = pytest.mark.slow


def run(args: list[str], data: Path, tmp: Path) -> subprocess.CompletedProcess[str]:
    home = tmp / "dagster_home"
    home.mkdir(exist_ok=True)
    env = {**os.environ, "SPARKIFY_DATA_URL": str(data), "SPARKIFY_DUCKDB_PATH": str(tmp / "cli.duckdb"),
           "DAGSTER_HOME": str(home), "SPARKIFY_WAREHOUSE": "duckdb"}
    return subprocess.run(args, cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)  # a hang guard only


def test_definitions_validate(real_sample: Path, tmp_path: Path) -> None:
    proc = run([str(BIN / "dagster"), "definitions", "validate", "-m", "sparkify_assets"], real_sample, tmp_path)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "Validation successful" in proc.stderr + proc.stdout
    assert "DeprecationWarning" not in proc.stderr


def test_cli_partition_range_equals_in_process_run(real_sample: Path, tmp_path: Path) -> None:
    proc = run([str(BIN / "dagster"), "asset", "materialize", "-m", "sparkify_assets", "--select", "*",
                "--partition-range", "2018-11-01...2018-11-03"], real_sample, tmp_path)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert proc.stderr.count("RUN_SUCCESS") == 1  # one run for the whole range
    reference = tmp_path / "reference.duckdb"
    days = [date(2018, 11, d) for d in (1, 2, 3)]
    with DagsterInstance.ephemeral() as instance:
        assert materialize_days(local_defs(real_sample, reference), days, instance).success
    assert warehouse_snapshot.snapshot(tmp_path / "cli.duckdb") == warehouse_snapshot.snapshot(reference)


def test_make_run_entry_point_prints_every_table(real_sample: Path, tmp_path: Path) -> None:
    proc = run([sys.executable, "-m", "sparkify_assets.run"], real_sample, tmp_path)
    assert proc.returncode == 0, proc.stderr[-3000:]
    lines = {line.split()[0]: line.split() for line in proc.stdout.splitlines() if line.strip()}
    assert "2018-11-01..2018-11-30" in proc.stdout
    for table in ALL_TABLES:
        assert table.name in lines, proc.stdout
    events = expected.read_events(real_sample)
    assert int(lines["staging_events"][1]) == len(events)
    assert int(lines["songplays"][1]) == (events.page == "NextSong").sum()
    passed, total = map(int, lines["songplays"][2].split("/"))
    assert total >= 9 and passed >= total - 1  # only the match-rate warning may fail on this sample
    # The run is recorded in DAGSTER_HOME, so it shows in the UI later.
    with DagsterInstance.from_config(str(tmp_path / "dagster_home")) as instance:
        assert len(instance.get_run_records()) == 1
