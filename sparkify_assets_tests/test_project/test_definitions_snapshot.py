"""The definitions of each engine equal their committed snapshot (sparkify_assets_tests/snapshots/<engine>.yaml):
asset keys and deps, partitions, groups, kinds, pools, check names and blocking flags, jobs, schedules, sensors and
resource types, as Dagster resolves them. A structural change fails here with the diff, and is accepted by
regenerating the files (`SPARKIFY_UPDATE_SNAPSHOTS=1 pytest <this file>`, or
`python -m sparkify_assets_tests.support.snapshot`) and committing them, so a reviewer sees it.
"""

from __future__ import annotations

import difflib
import os

import pytest
import yaml

from sparkify_assets_tests.support.snapshot import ENGINES, render_in_fresh_interpreter, snapshot_path

UPDATE = os.environ.get("SPARKIFY_UPDATE_SNAPSHOTS") == "1"


@pytest.mark.parametrize("engine", ENGINES)
def test_definitions_equal_their_snapshot(engine: str) -> None:
    rendered = render_in_fresh_interpreter(engine)
    path = snapshot_path(engine)
    if UPDATE:
        path.parent.mkdir(exist_ok=True)
        path.write_text(rendered)
    committed = path.read_text() if path.exists() else ""
    if rendered != committed:
        diff = "".join(difflib.unified_diff(committed.splitlines(keepends=True), rendered.splitlines(keepends=True),
                                            fromfile=f"{path.name} (committed)", tofile=f"{path.name} (built now)"))
        pytest.fail(f"the {engine} definitions differ from {path}; if the change is meant, regenerate with "
                    f"SPARKIFY_UPDATE_SNAPSHOTS=1 and commit the file:\n{diff}", pytrace=False)


def test_snapshots_hold_what_review_needs() -> None:
    """The snapshot files are not vacuous: every engine lists the star schema, blocking checks, both jobs, the
    schedule, the sensors and both resources; the engines differ only where the engine does."""
    documents = {engine: yaml.safe_load(snapshot_path(engine).read_text()) for engine in ENGINES}
    for engine, doc in documents.items():
        assert {"songplays", "users", "songs", "artists", "time", "staging_events", "staging_songs"} <= set(
            doc["assets"]), engine
        assert any(c["blocking"] for c in doc["checks"].values()), engine
        assert {"daily_logs", "song_catalog"} <= set(doc["jobs"]), engine
        assert doc["schedules"] and doc["sensors"], engine
        assert set(doc["resources"]) == {"source", "warehouse"}, engine
    duckdb, redshift = documents["duckdb"], documents["redshift"]
    assert set(duckdb["assets"]) == set(redshift["assets"])
    assert duckdb["checks"] == redshift["checks"]
    assert duckdb["jobs"] == redshift["jobs"]
    for key, asset in duckdb["assets"].items():
        assert asset["deps"] == redshift["assets"][key]["deps"], key
