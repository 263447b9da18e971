"""Bad input through real Dagster runs on corrupted copies of the real logs: valid lines all load once, bad ones
are quarantined line by line, unreadable files fail the run by name, and failing checks block downstream."""

from __future__ import annotations

import json
import shutil
from datetime import date
from pathlib import Path

import pytest
from dagster import DagsterInstance

from sparkify_assets.resources.source import log_key
from sparkify_assets.run import materialize_days
from sparkify_assets_tests.conftest import failed_checks, local_defs
from sparkify_assets_tests.support import warehouse_snapshot

DAYS = [date(2018, 11, d) for d in (13, 14, 15)]


@pytest.fixture
def data(real_sample: Path, tmp_path: Path) -> Path:
    root = tmp_path / "data"
    shutil.copytree(real_sample / "song_data", root / "song_data")
    for day in DAYS:
        (root / log_key(day)).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(real_sample / log_key(day), root / log_key(day))
    return root


def corrupt(path: Path) -> dict[int, str]:
    """Damage some lines of a real log file in place; returns the line numbers and the reason each must get."""
    lines = path.read_text().split("\n")
    lines[2] = lines[2][: len(lines[2]) // 2]
    lines[4] = json.dumps({**json.loads(lines[4]), "ts": f"{json.loads(lines[4])['ts']}Z"})  # "123" would load
    lines[6] = json.dumps({k: v for k, v in json.loads(lines[6]).items() if k != "page"})
    lines.insert(8, lines[0])
    lines.insert(9, "[]")
    reasons = {
        3: "invalid JSON",
        5: "field ts: expected an integer of epoch milliseconds",
        7: "missing required field page",
        9: f"duplicate of {path.relative_to(path.parents[3]).as_posix()}:1",
        10: "not a JSON object (found an array)",
    }
    path.write_text("\n".join(lines))
    return reasons


def test_corrupted_real_logs_load_every_valid_line_once(data: Path, tmp_path: Path, instance: DagsterInstance) -> None:
    reasons = corrupt(data / log_key(DAYS[1]))
    db = tmp_path / "warehouse.duckdb"
    result = materialize_days(local_defs(data, db), DAYS, instance)
    assert result.success
    assert failed_checks(result) <= {("songplays", "song_match_rate")}

    staged = warehouse_snapshot.table(db, "staging_events")
    rejects = warehouse_snapshot.table(db, "rejected_records")
    key = log_key(DAYS[1])
    got = {int(r.line_number): r.reason for r in rejects.itertuples() if r.source_key == key}
    assert set(got) == set(reasons)
    assert all(got[n].startswith(reasons[n]) for n in reasons)
    assert set(rejects.source_key) == {key} and set(rejects.partition_key) == {"2018-11-14"}
    assert (rejects.run_id == result.run_id).all()
    total_lines = sum(1 for d in DAYS for x in (data / log_key(d)).read_text().split("\n") if x.strip())
    assert len(staged) + len(rejects) == total_lines
    assert not staged.duplicated(["source_key", "line_number"]).any()
    assert set(staged[staged.source_key == key].line_number).isdisjoint(reasons)

    meta = result.asset_materializations_for_node("staging_events")[0].metadata
    assert meta["records_rejected"].value == len(reasons)
    assert meta["records_read"].value == total_lines


def test_unreadable_file_fails_the_run_by_name_and_changes_nothing(data: Path, tmp_path: Path,
                                                                   instance: DagsterInstance) -> None:
    db = tmp_path / "warehouse.duckdb"
    defs = local_defs(data, db)
    assert materialize_days(defs, DAYS, instance).success
    before = warehouse_snapshot.snapshot(db)
    path = data / log_key(DAYS[2])
    path.write_bytes(b"artist,auth,firstName\nDes'ree,Logged In,Ada\n")  # not JSON lines at all
    result = materialize_days(defs, DAYS, instance)
    assert not result.success
    failure = next(e for e in result.all_events if e.event_type_value == "STEP_FAILURE")
    message = str(failure.event_specific_data.error)
    assert log_key(DAYS[2]) in message and "not JSON lines" in message
    assert warehouse_snapshot.snapshot(db) == before


def test_a_failing_error_check_blocks_downstream_assets(data: Path, tmp_path: Path, instance: DagsterInstance) -> None:
    path = data / log_key(DAYS[0])
    lines = path.read_text().split("\n")
    n = next(i for i, x in enumerate(lines) if x and json.loads(x)["page"] == "NextSong")
    lines[n] = json.dumps({**json.loads(lines[n]), "level": "premium"})
    path.write_text("\n".join(lines))
    result = materialize_days(local_defs(data, tmp_path / "warehouse.duckdb"), DAYS, instance)
    assert ("songplays", "level_accepted") in failed_checks(result)
    materialized = {m.asset_key.to_user_string() for m in result.get_asset_materialization_events()}
    # Downstream of songplays is time: blocked; the rest were materialized.
    assert "songplays" in materialized and "time" not in materialized
    assert {"staging_events", "staging_songs", "users", "songs", "artists"} <= materialized
