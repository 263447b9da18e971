"""Analysts read the warehouse while it loads (issue 19): real reader processes hold SPARKIFY_DUCKDB_PATH open
while real `dagster asset materialize` processes load twenty more days, then a load whose blocking check fails."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import duckdb
import pytest
from dagster import DagsterInstance

from sparkify_assets.resources.duckdb_warehouse import DuckDBWarehouse
from sparkify_assets.run import materialize_days
from sparkify_assets.tables import ALL_TABLES
from sparkify_assets_tests.conftest import NOVEMBER, ROOT, local_defs
from sparkify_assets_tests.support import expected, warehouse_snapshot
from sparkify_assets_tests.support.processes import die_with_parent
from sparkify_assets_tests.test_assets import test_real_sample

BIN = Path(sys.executable).parent
pytestmark = pytest.mark.slow


def copy_days(real: Path, data: Path, days: list[Any]) -> None:
    """The sample's files for `days` appear in the source folder (copies in the test's own folder: a link leaving
    the data root is refused, docs/untrusted-input.md)."""
    for d in days:
        rel = Path("log_data") / f"{d:%Y}" / f"{d:%m}" / f"{d:%Y-%m-%d}-events.json"
        (data / rel).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(real / rel, data / rel)


def materialize(data: Path, work: Path, select: str, days: str | None) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "SPARKIFY_DATA_URL": str(data), "SPARKIFY_DUCKDB_PATH": str(work / "warehouse.duckdb"),
           "DAGSTER_HOME": str(work / "home"), "SPARKIFY_WAREHOUSE": "duckdb"}
    args = [str(BIN / "dagster"), "asset", "materialize", "-m", "sparkify_assets", "--select", select]
    if days:
        args += ["--partition-range", days]
    return subprocess.run(args, cwd=ROOT, env=env, capture_output=True, text=True, timeout=900)  # a hang guard only


@contextlib.contextmanager
def reader(db: Path, work: Path, mode: str) -> Iterator[Path]:
    """A reader process on `db`; yields its log, and stops it (killing it if it will not stop) on the way out."""
    log, stop = work / f"reader-{mode}.jsonl", work / f"stop-{mode}"
    proc = subprocess.Popen([sys.executable, "-m", "sparkify_assets_tests.support.reader_process", str(db), str(log),
                             str(stop), mode], cwd=ROOT, preexec_fn=die_with_parent())
    try:
        deadline = time.monotonic() + 120
        while not (log.exists() and log.read_text().strip()):  # connected and read once
            assert proc.poll() is None and time.monotonic() < deadline, "the reader did not start"
            time.sleep(0.2)
        yield log
    finally:
        stop.touch()
        try:
            proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def observations(log: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in log.read_text().splitlines()]


@pytest.fixture(scope="module")
def scenario(real_sample: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """Ten days loaded; two readers connect; twenty more days load; then a song catalogue that fails its blocking
    check loads, readers still watching. Returns what each step left."""
    work = tmp_path_factory.mktemp("readers")
    (work / "home").mkdir()
    data = work / "data"
    copy_days(real_sample, data, NOVEMBER[:10])
    shutil.copytree(real_sample / "song_data", data / "song_data")
    db = work / "warehouse.duckdb"
    first = materialize(data, work, "*", "2018-11-01...2018-11-10")
    assert first.returncode == 0, first.stderr[-3000:]
    out: dict[str, Any] = {"db": db, "work": work}
    with reader(db, work, "hold") as held, reader(db, work, "reconnect") as fresh:
        copy_days(real_sample, data, NOVEMBER[10:])
        started = time.monotonic()
        more = materialize(data, work, "*", "2018-11-11...2018-11-30")
        out["load_seconds"] = time.monotonic() - started
        assert more.returncode == 0, more.stderr[-3000:]
        out["after_load"] = warehouse_snapshot.snapshot(db)
        # A catalogue whose only song file is not JSON: staging_songs loads empty, its blocking not-empty check fails.
        shutil.rmtree(data / "song_data")
        (data / "song_data" / "A").mkdir(parents=True)
        (data / "song_data" / "A" / "TRBROKEN.json").write_text("this is not json\n")
        bad = materialize(data, work, "staging_songs", None)
        out["bad"] = bad
        time.sleep(2)  # both readers observe at least once more after the failed load
    out["held"], out["fresh"] = observations(held), observations(fresh)
    return out


def test_readers_never_block_nor_see_an_error(scenario: dict[str, Any]) -> None:
    for mode in ("held", "fresh"):
        rows = scenario[mode]
        errors = [r for r in rows if "error" in r]
        assert not errors, errors[:3]
        assert len(rows) >= 5, rows  # they read all along, about once a second
    # The loads neither failed on nor waited for the readers' lock (20 days run in well under the 200 s a blocked
    # load used to wait; the bound is a hang guard, not a timing assertion).
    assert scenario["load_seconds"] < 600


def test_readers_see_whole_loads_only(scenario: dict[str, Any]) -> None:
    held, fresh = scenario["held"], scenario["fresh"]
    # The held connection keeps the state it opened on, whatever is published meanwhile.
    assert {(r["staging_days"], r["songplays"]) for r in held} == {(held[0]["staging_days"], held[0]["songplays"])}
    assert held[0]["staging_days"] == 10
    # A reader that reconnects sees ten days, then thirty: every table of one load, never half a run.
    states = [(r["staging_days"], r["songplay_days"], r["time_days"]) for r in fresh]
    assert set(states) <= {(10, 10, 10), (30, 30, 30)}, set(states)
    assert states[0] == (10, 10, 10) and states[-1] == (30, 30, 30)


def test_failed_blocking_check_is_not_published(scenario: dict[str, Any], real_sample: Path) -> None:
    bad = scenario["bad"]
    assert bad.returncode != 0 or "staging_songs_not_empty" in bad.stderr, bad.stderr[-3000:]
    assert "not_empty" in bad.stderr
    work_db = scenario["db"].with_name("warehouse.working.duckdb")
    # The pipeline's own copy holds the failed load (and quarantined the broken file) ...
    working = warehouse_snapshot.snapshot(work_db, ["staging_songs", "rejected_records"])
    assert working["staging_songs"] == []
    assert [r[2] for r in working["rejected_records"]] == ["song_data/A/TRBROKEN.json"]
    # ... readers keep the catalogue as it was before it, and see no quarantine of a load they do not see.
    published = warehouse_snapshot.snapshot(scenario["db"])
    assert published == scenario["after_load"]
    assert len(published["staging_songs"]) == len(expected.read_songs(real_sample)) == 71
    assert scenario["fresh"][-1]["staging_songs"] == 71


def test_a_new_connection_sees_all_thirty_days_as_computed(scenario: dict[str, Any], real_sample: Path) -> None:
    loaded = (scenario["db"], expected.compute(real_sample))
    # The independent computation (expected.py) the whole-graph test checks a fresh load against.
    test_real_sample.test_staging_holds_every_line_and_song(loaded)
    test_real_sample.test_songplays_are_every_nextsong_event_with_its_match(loaded)
    test_real_sample.test_users_have_the_level_of_their_latest_event(loaded)
    test_real_sample.test_dimensions_have_one_row_per_key(loaded)
    test_real_sample.test_time_rows_are_the_distinct_start_times(loaded)
    # It is one file to open: views over the published pieces, nothing else.
    with duckdb.connect(str(scenario["db"]), read_only=True) as con:
        kinds = dict(con.execute("SELECT table_name, table_type FROM information_schema.tables").fetchall())
    assert set(kinds.values()) == {"VIEW"}


def test_publication_folder_holds_one_piece_per_day(scenario: dict[str, Any]) -> None:
    folder = scenario["db"].with_name("warehouse.published")
    manifest = json.loads((folder / "manifest.json").read_text())
    assert sorted(manifest["tables"]["songplays"]) == [d.isoformat() for d in NOVEMBER]
    assert sorted(manifest["tables"]["users"]) == ["all"]
    # Every file the manifest names exists; nothing is retired yet within the retention (24 h).
    named = [rel for pieces in manifest["tables"].values() for rel in pieces.values()]
    assert all((folder / rel).is_file() for rel in named)
    assert all((folder / rel).is_file() for rel in manifest["retired"])


def test_a_warehouse_from_before_is_adopted_whole(real_sample: Path, tmp_path: Path) -> None:
    """Upgrading: SPARKIFY_DUCKDB_PATH was the warehouse itself. Its tables become the working file and are
    published as they were, so readers lose nothing and nothing is loaded again."""
    db = tmp_path / "warehouse.duckdb"
    with DagsterInstance.ephemeral() as instance:
        assert materialize_days(local_defs(real_sample, db), NOVEMBER[:1], instance).success
    before = warehouse_snapshot.snapshot(db, [t.name for t in ALL_TABLES])
    with duckdb.connect(str(db), read_only=True):  # an analyst connected to the old file all along
        upgraded = DuckDBWarehouse(path=str(tmp_path / "warehouse.working.duckdb"), publish_path=str(db))
        (loaded,), = upgraded.fetchall("SELECT count(*) FROM staging_events")
    assert loaded == len(before["staging_events"]) > 0
    assert warehouse_snapshot.snapshot(tmp_path / "warehouse.working.duckdb", list(before)) == before
    published = warehouse_snapshot.snapshot(db, list(before))
    assert published == before
