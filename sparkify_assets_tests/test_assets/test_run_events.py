"""What a run stores in Dagster's event log beyond what Dagster itself needs: every stored event is a commit (on
SQLite, several), so a run of the real sample costs mostly events. Our steps add no log lines (what a load did is
its materialization's metadata), and a materialization does not copy what the asset's definition already shows."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest
from dagster import AssetKey, DagsterEventType, DagsterInstance

from sparkify_assets.reporting import column_schema
from sparkify_assets.run import materialize_days
from sparkify_assets.tables import STAGING_EVENTS, STAGING_SONGS, WAREHOUSE_TABLES
from sparkify_assets_tests.conftest import local_defs

DAYS = [date(2018, 11, 14), date(2018, 11, 15)]  # a range: one run, one materialization per day


@pytest.fixture(scope="module")
def run(real_sample: Path, tmp_path_factory: pytest.TempPathFactory):
    defs = local_defs(real_sample, tmp_path_factory.mktemp("events") / "warehouse.duckdb")
    with DagsterInstance.ephemeral() as instance:
        result = materialize_days(defs, DAYS, instance)
        assert result.success
        yield defs, instance, result


def test_our_steps_log_no_lines(run) -> None:
    """Each log line is one more stored event: the run's log holds Dagster's events only."""
    _, instance, result = run
    lines = [e for e in instance.all_logs(result.run_id) if e.dagster_event is None]
    assert lines == [], [(e.step_key, e.user_message) for e in lines]


def test_what_the_log_lines_said_is_in_the_metadata(run, real_sample: Path) -> None:
    """Files, bytes, records read / loaded / rejected, seconds and days: on each staging materialization."""
    _, _, result = run
    by_asset: dict[str, list] = {}
    for m in result.asset_materializations_for_node("staging_events") + result.asset_materializations_for_node(
            "staging_songs"):
        by_asset.setdefault(m.asset_key.to_user_string(), []).append(m)
    files = [real_sample / "log_data" / "2018" / "11" / f"{d.isoformat()}-events.json" for d in DAYS]
    lines = sum(len([x for x in f.read_text().splitlines() if x.strip()]) for f in files)
    assert sorted(m.partition for m in by_asset[STAGING_EVENTS.name]) == [d.isoformat() for d in DAYS]
    for m in by_asset[STAGING_EVENTS.name]:
        meta = {k: v.value for k, v in m.metadata.items()}
        assert meta["files_read"] == len(files)
        assert meta["bytes_read"] == sum(f.stat().st_size for f in files)
        assert meta["records_read"] == lines == meta["records_loaded"] + meta["records_rejected"]
        assert meta["load_seconds"] >= 0 and meta["days"] == f"{DAYS[0]}..{DAYS[-1]}"
    (songs,) = by_asset[STAGING_SONGS.name]
    assert songs.metadata["files_read"].value == len(list((real_sample / "song_data").rglob("*.json")))


def test_materializations_do_not_copy_the_column_schema_the_definition_shows(run) -> None:
    defs, instance, result = run
    graph = defs.resolve_asset_graph()
    for table in WAREHOUSE_TABLES:
        key = AssetKey(table.name)
        assert graph.get(key).metadata["dagster/column_schema"] == column_schema(table), table.name
        materializations = [e.materialization for e in result.all_events
                            if e.event_type == DagsterEventType.ASSET_MATERIALIZATION
                            and e.asset_key == key]
        assert materializations, table.name
        for m in materializations:
            assert "dagster/column_schema" not in m.metadata, table.name
            assert {"dagster/row_count", "dagster/column_lineage", "dagster/table_name"} <= set(m.metadata), \
                table.name
