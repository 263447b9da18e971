"""Log files of any size: read as chunks of whole lines, so the chunk size never changes what is loaded or
quarantined, and running out of memory is reported as the warehouse's limit, never as bad input.

The scale itself (a 2M-event, ~1 GB day within the default memory limit) is measured by `make bench`'s
largest-day case, not here: a test of that size would dominate the suite.
"""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest
from dagster import DagsterInstance

from sparkify_assets.day_window import DayWindow
from sparkify_assets.definitions import build_definitions, build_warehouse
from sparkify_assets.resources.duckdb_warehouse import DuckDBWarehouse
from sparkify_assets.resources.line_chunks import line_chunks
from sparkify_assets.resources.source import SourceDataError
from sparkify_assets.resources.warehouse import WarehouseResourceError
from sparkify_assets.retries import is_transient
from sparkify_assets.run import materialize_days
from sparkify_assets.settings import Settings
from sparkify_assets_tests.test_assets.test_bad_input import DAY, DAY_START_MS, KEY, Stage, line

# Every kind of line the chunking could mishandle at a boundary: a BOM, CRLF, blank and whitespace lines, bad
# records of each kind, exact duplicates far apart, a line longer than small chunks, no newline at the end.
CORPUS: list[bytes] = [
    b"\xef\xbb\xbf" + line(itemInSession=1).encode(),
    line(itemInSession=2).encode() + b"\r",
    b"",
    b"   \t ",
    line(itemInSession=3)[:40].encode(),
    b"[1, 2]",
    line(itemInSession=4, ts="soon").encode(),
    line(itemInSession=5, ts=DAY_START_MS - 1).encode(),
    line(itemInSession=6, song="x" * 600).encode(),
    line(itemInSession=2).encode() + b"\r",
    line(itemInSession=7, artist="Bj\u00f6rk \u2019").encode(),
    *[line(itemInSession=10 + i).encode() for i in range(40)],
    line(itemInSession=1).encode(),  # same record as line 1, which carried a BOM: a duplicate once trimmed
    line(itemInSession=99, userId="x").encode(),
]


def corpus_bytes(trailing_newline: bool) -> bytes:
    return b"\n".join(CORPUS) + (b"\n" if trailing_newline else b"")


def snapshot(db: Path) -> tuple[list[tuple], list[tuple]]:
    with duckdb.connect(str(db), read_only=True) as con:
        rows = con.execute("SELECT * FROM staging_events ORDER BY source_key, line_number").fetchall()
        rejects = con.execute("SELECT target_table, source_key, line_number, partition_key, reason, raw_text "
                              "FROM rejected_records ORDER BY source_key, line_number").fetchall()
    return rows, rejects


@pytest.mark.parametrize("chunk_bytes", [1, 7, 333, 4096])
@pytest.mark.parametrize("trailing_newline", [True, False], ids=["newline-at-end", "no-newline-at-end"])
def test_line_chunks_rebuild_the_file_with_each_chunks_first_line(tmp_path: Path, chunk_bytes: int,
                                                                  trailing_newline: bool) -> None:
    path = tmp_path / "f.json"
    path.write_bytes(corpus_bytes(trailing_newline))
    chunks = list(line_chunks(path, "f.json", chunk_bytes))
    assert "\n".join(text for _, text in chunks) == corpus_bytes(False).decode()
    line_no = 1
    for first, text in chunks:
        assert first == line_no
        line_no += text.count("\n") + 1


def test_chunk_size_never_changes_what_is_loaded_or_quarantined(tmp_path: Path) -> None:
    results = []
    for chunk_bytes in (1 << 24, 7, 333):  # the default (whole file in one chunk here), then many boundaries
        stage = Stage(tmp_path / str(chunk_bytes))
        stage.warehouse = DuckDBWarehouse(path=str(stage.db), read_chunk_bytes=chunk_bytes)
        stage.write(KEY, corpus_bytes(trailing_newline=False))
        stage.warehouse.stage_events(stage.source, stage.source.log_objects([DAY]), DayWindow((DAY,)), "r")
        results.append(snapshot(stage.db))
    assert results[1] == results[0] and results[2] == results[0]
    rows, rejects = results[0]
    # Physical line numbers, independent of chunks: blank lines 3-4 are not records; 52 repeats line 1.
    assert [r[1:3] for r in rejects] == [
        (KEY, 5), (KEY, 6), (KEY, 7), (KEY, 8), (KEY, 9), (KEY, 10), (KEY, 52), (KEY, 53)]
    assert [r[4] for r in rejects if r[2] in (10, 52)] == [f"duplicate of {KEY}:2", f"duplicate of {KEY}:1"]
    assert len(rows) == len(CORPUS) - 2 - len(rejects)


def test_non_utf8_bytes_quarantine_their_line_whatever_the_chunks(stage: Stage) -> None:
    stage.warehouse = DuckDBWarehouse(path=str(stage.db), read_chunk_bytes=100)
    stage.events(line(), line(itemInSession=2), line(itemInSession=3), b'{"artist":"\xff"}', line(itemInSession=4),
                 b"\xfe" + line(itemInSession=5).encode())
    assert stage.loaded() == [1, 2, 3, 5]
    assert [r[1:] for r in stage.rejects()] == [(4, "not valid UTF-8 (invalid start byte at byte 12: ff)"),
                                                (6, "not valid UTF-8 (invalid start byte at byte 1: fe)")]


def test_out_of_memory_is_a_resource_error_naming_its_setting_not_bad_input(stage: Stage) -> None:
    stage.events(line(), line(itemInSession=2))
    before = snapshot(stage.db)
    # One 40 MB line cannot be held in 16 MB: the input is not at fault, the limit is.
    small = DuckDBWarehouse(path=str(stage.db), memory_limit="16MB")
    stage.write(KEY, (line() + "\n" + line(song="x" * (40 << 20)) + "\n").encode())
    with pytest.raises(WarehouseResourceError) as err:
        small.stage_events(stage.source, stage.source.log_objects([DAY]), DayWindow((DAY,)), "r")
    message = str(err.value)
    assert "out of memory" in message and "SPARKIFY_DUCKDB_MEMORY_LIMIT" in message and "16MB" in message
    assert not isinstance(err.value, SourceDataError) and not is_transient(err.value)
    assert snapshot(stage.db) == before  # nothing replaced, nothing quarantined


def test_memory_limit_comes_from_the_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("SPARKIFY_DUCKDB_PATH", str(tmp_path / "w.duckdb"))
    monkeypatch.setenv("SPARKIFY_DUCKDB_MEMORY_LIMIT", "300MB")
    monkeypatch.setenv("SPARKIFY_WAREHOUSE", "duckdb")
    warehouse = build_warehouse(Settings.from_env())
    assert isinstance(warehouse, DuckDBWarehouse) and warehouse.memory_limit == "300MB"
    with warehouse.transaction() as s:
        ((limit,),) = s.fetchall("SELECT current_setting('memory_limit')")
    assert limit.replace(" ", "").upper().startswith(("286", "300"))  # DuckDB reports it in MiB


@pytest.fixture
def stage(tmp_path: Path) -> Stage:
    return Stage(tmp_path)



def test_a_run_out_of_memory_fails_its_step_once_naming_the_setting(stage: Stage, instance: DagsterInstance) -> None:
    """Through Dagster: the step fails at once (no retries of the same limit) with the resource error, and the
    oversized line is not quarantined as bad input."""
    stage.write(KEY, (line() + "\n" + line(song="x" * (40 << 20)) + "\n").encode())
    defs = build_definitions(source=stage.source, warehouse=DuckDBWarehouse(path=str(stage.db), memory_limit="16MB"))
    result = materialize_days(defs, [DAY], instance)
    assert not result.success
    failures = [e for e in result.all_events
                if e.event_type_value == "STEP_FAILURE" and e.step_key == "staging_events"]
    assert len(failures) == 1
    message = str(failures[0].event_specific_data.error)
    assert "WarehouseResourceError" in message and "SPARKIFY_DUCKDB_MEMORY_LIMIT" in message
    assert not any(e.event_type_value == "STEP_RESTARTED" for e in result.all_events)
    with duckdb.connect(str(stage.db), read_only=True) as con:
        assert con.execute("SELECT count(*) FROM rejected_records").fetchall() == [(0,)]
