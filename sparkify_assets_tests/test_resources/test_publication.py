"""Publishing on its own, on real DuckDB files: a held reader keeps its state while newer ones are published, only
what changed is exported, and clean-up keeps what readers may still read for the retention and deletes the rest."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from datetime import date
from pathlib import Path

import duckdb
import pytest

from sparkify_assets.day_window import DayWindow
from sparkify_assets.resources.duckdb.publish import Publication
from sparkify_assets.resources.duckdb_warehouse import DuckDBWarehouse
from sparkify_assets.sql.dialect import DUCKDB
from sparkify_assets.tables import REJECTED_RECORDS, SOURCE_VERSIONS, STAGING_EVENTS, USERS

DAY1, DAY2 = date(2018, 11, 1), date(2018, 11, 2)


def add_events(con: duckdb.DuckDBPyConnection, day: date, n: int) -> None:
    start = DayWindow((day,)).params["start_ms"]
    for i in range(n):
        con.execute("INSERT INTO staging_events (item_in_session, page, session_id, ts, source_key, line_number) "
                    "VALUES (?, 'NextSong', 1, ?, ?, ?)", [i, start + i * 1000, f"log_data/{day}.json", i + 1])


@pytest.fixture
def working(tmp_path: Path) -> duckdb.DuckDBPyConnection:
    con = duckdb.connect(str(tmp_path / "warehouse.working.duckdb"))
    for table in (STAGING_EVENTS, USERS, REJECTED_RECORDS, SOURCE_VERSIONS):
        con.execute(DUCKDB.create_table(table))
    add_events(con, DAY1, 3)
    add_events(con, DAY2, 4)
    con.execute("INSERT INTO users (user_id, level) VALUES (1, 'free')")
    yield con
    con.close()


def count(db: Path, table: str = "staging_events") -> int:
    with duckdb.connect(str(db), read_only=True) as con:
        return con.execute(f"SELECT count(*) FROM {table}").fetchone()[0]


def count_elsewhere(db: Path) -> int:
    """The count a new reader process sees."""
    code = "import duckdb, sys; print(duckdb.connect(sys.argv[1], read_only=True).execute(" \
           "'SELECT count(*) FROM staging_events').fetchone()[0])"
    return int(subprocess.run([sys.executable, "-c", code, str(db)], capture_output=True, text=True,
                              check=True, timeout=120).stdout)


def test_a_held_reader_keeps_its_state_and_a_new_one_sees_the_latest(working: duckdb.DuckDBPyConnection,
                                                                     tmp_path: Path) -> None:
    db = tmp_path / "warehouse.duckdb"
    publication = Publication.beside(db, retention_seconds=3600)
    publication.export(working, STAGING_EVENTS, DayWindow((DAY1, DAY2)))
    publication.export(working, USERS, None)
    publication.publish()
    assert count(db) == 7 and count(db, "users") == 1 and count(db, "songplays") == 0  # unpublished: empty

    held = duckdb.connect(str(db), read_only=True)
    working.execute("DELETE FROM staging_events WHERE line_number > 1 AND source_key LIKE '%11-01%'")
    add_events(working, DAY2, 6)  # unchecked change of day 2: not exported, so not published
    publication.export(working, STAGING_EVENTS, DayWindow((DAY1,)))
    publication.publish()
    assert held.execute("SELECT count(*) FROM staging_events").fetchone()[0] == 7
    # In one process DuckDB shares an open database among connections to one path: a connection opened while
    # another is open gets its state (docs/analysts.md: close, then reconnect). Another process sees the latest.
    assert count(db) == 7
    assert count_elsewhere(db) == 1 + 4  # the new day 1, the old day 2
    manifest = json.loads((publication.folder / "manifest.json").read_text())
    # Only day 1 was exported again (with its quarantine and file versions); its old pieces are retired.
    assert sorted(p.split("/")[0] for p in manifest["retired"]) == [
        "rejected_records", "source_versions", "staging_events"]

    # Past the retention, a replaced piece is deleted: a reader connected that long loses it (the docs say so).
    publication.retention_seconds = 0
    publication.export(working, USERS, None)
    publication.publish()
    assert json.loads((publication.folder / "manifest.json").read_text())["retired"] == {}
    with pytest.raises(duckdb.IOException):
        held.execute("SELECT count(*) FROM staging_events").fetchall()
    held.close()
    assert count(db) == 5  # a new connection reads the current pieces


def test_clean_up_deletes_unnamed_files_only_once_they_are_old(working: duckdb.DuckDBPyConnection,
                                                                tmp_path: Path) -> None:
    db = tmp_path / "warehouse.duckdb"
    publication = Publication.beside(db, retention_seconds=3600)
    folder = publication.folder / "staging_events"
    folder.mkdir(parents=True)
    old_orphan, new_orphan = folder / "2018-11-01.1-dead.parquet", folder / "2018-11-01.2-live.parquet"
    old_orphan.write_bytes(b"a killed run's export")
    new_orphan.write_bytes(b"a running export")
    stale_views = db.with_name(f"{db.name}.tmp-1-dead")
    stale_views.write_bytes(b"a killed publish's views file")
    for path in (old_orphan, stale_views):
        os.utime(path, (time.time() - 7200, time.time() - 7200))
    db.with_name(db.name + ".wal").write_bytes(b"the WAL of a warehouse file from before")
    publication.export(working, STAGING_EVENTS, DayWindow((DAY1,)))
    publication.publish()
    assert not old_orphan.exists() and not stale_views.exists() and new_orphan.exists()
    assert not db.with_name(db.name + ".wal").exists()
    assert count(db) == 3


def test_readers_can_connect_before_the_first_load(tmp_path: Path) -> None:
    db = tmp_path / "warehouse.duckdb"
    warehouse = DuckDBWarehouse(path=str(tmp_path / "warehouse.working.duckdb"), publish_path=str(db))
    warehouse.run([], ensure=[STAGING_EVENTS])  # the pipeline's first connection, before anything is loaded
    assert count(db) == 0 and count(db, "songplays") == 0
