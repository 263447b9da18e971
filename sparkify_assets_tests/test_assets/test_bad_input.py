"""A corpus of bad input: each case loads exactly the valid records, and quarantines exactly the bad ones with
a reason naming the field; files that cannot be read at all fail with the file named and commit nothing.

These call the warehouse's staging load directly (real DuckDB, real files): one Dagster run per case would
multiply the suite's time without exercising anything more. test_quarantine_in_runs.py covers the runs.
"""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path
from typing import Any

import duckdb
import pytest

from sparkify_assets.day_window import DayWindow
from sparkify_assets.resources.duckdb_warehouse import DuckDBWarehouse
from sparkify_assets.resources.source import LocalFolderSource, SourceDataError, log_key
from sparkify_assets.resources.warehouse import LoadStats

DAY = date(2018, 11, 5)
KEY = log_key(DAY)
DAY_START_MS = 1541376000000  # 2018-11-05T00:00:00Z
TS = DAY_START_MS + 10 * 3600 * 1000


def event(**changes: Any) -> dict[str, Any]:
    """A valid NextSong event; a test changes or drops (value ...) the fields it is about."""
    base: dict[str, Any] = {
        "artist": "Des'ree", "auth": "Logged In", "firstName": "Ada", "gender": "F", "itemInSession": 1,
        "lastName": "Lovelace", "length": 246.30812, "level": "free", "location": "Phoenix-Mesa-Scottsdale, AZ",
        "method": "PUT", "page": "NextSong", "registration": 1540344794796.0, "sessionId": 139,
        "song": "You Gotta Be", "status": 200, "ts": TS, "userAgent": '"Mozilla/5.0"', "userId": "8",
    }
    base.update(changes)
    return {k: v for k, v in base.items() if v is not ...}


def line(**changes: Any) -> str:
    return json.dumps(event(**changes), separators=(",", ":"))


class Stage:
    """A data root with one day's log file and one song file, staged into a fresh DuckDB file."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.db = root / "warehouse.duckdb"
        self.warehouse = DuckDBWarehouse(path=str(self.db))
        self.source = LocalFolderSource(root=str(root / "data"))
        self.song({"num_songs": 1, "artist_id": "ARJIE2Y1187B994AB7", "artist_latitude": None,
                   "artist_longitude": None, "artist_location": "", "artist_name": "Des'ree",
                   "song_id": "SOUPIRU12A6D4FA1E1", "title": "You Gotta Be", "duration": 246.30812, "year": 0})

    def write(self, key: str, content: bytes | str) -> None:
        path = self.root / "data" / key
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(content.encode() if isinstance(content, str) else content)

    def song(self, obj: Any, name: str = "TRAAAAW128F429D538.json") -> None:
        self.write(f"song_data/A/A/A/{name}", json.dumps(obj))

    def events(self, *lines: str | bytes) -> LoadStats:
        self.write(KEY, b"\n".join(x.encode() if isinstance(x, str) else x for x in lines) + b"\n")
        return self.warehouse.stage_events(self.source, self.source.log_objects([DAY]), DayWindow((DAY,)), "test-run")

    def songs(self) -> LoadStats:
        return self.warehouse.stage_songs(self.source, self.source.song_objects(), "test-run")

    def loaded(self) -> list[int]:
        with duckdb.connect(str(self.db), read_only=True) as con:
            return [n for (n,) in con.execute("SELECT line_number FROM staging_events ORDER BY 1").fetchall()]

    def song_ids(self) -> list[str]:
        with duckdb.connect(str(self.db), read_only=True) as con:
            return [n for (n,) in con.execute("SELECT song_id FROM staging_songs ORDER BY 1").fetchall()]

    def rejects(self) -> list[tuple[str, int, str]]:
        with duckdb.connect(str(self.db), read_only=True) as con:
            return con.execute("SELECT source_key, line_number, reason FROM rejected_records ORDER BY 2").fetchall()


@pytest.fixture
def stage(tmp_path: Path) -> Stage:
    return Stage(tmp_path)


def assert_accounted(stats: LoadStats) -> None:
    assert stats.loaded + stats.rejected == stats.read


def test_truncated_json_line_is_quarantined(stage: Stage) -> None:
    stats = stage.events(line(), line(itemInSession=2)[:57], line(itemInSession=3))
    assert stage.loaded() == [1, 3]
    assert stage.rejects() == [(KEY, 2, "invalid JSON")]
    assert (stats.read, stats.loaded, stats.rejected) == (3, 2, 1)


def test_array_and_scalar_lines_are_quarantined(stage: Stage) -> None:
    assert_accounted(stage.events(line(), "[1, 2, 3]", "42", '"text"'))
    assert stage.loaded() == [1]
    assert stage.rejects() == [
        (KEY, 2, "not a JSON object (found an array)"),
        (KEY, 3, "not a JSON object (found an integer)"),
        (KEY, 4, "not a JSON object (found a string)"),
    ]


def test_missing_ts_names_the_field(stage: Stage) -> None:
    stage.events(line(ts=...), line())
    assert stage.loaded() == [2]
    assert stage.rejects() == [(KEY, 1, "missing required field ts")]


def test_ts_as_a_string_of_digits_loads_and_other_strings_name_the_field_and_value(stage: Stage) -> None:
    stage.events(line(ts=str(TS)), line(ts=f"{TS}.0", itemInSession=2), line(ts="soon", itemInSession=3))
    assert stage.loaded() == [1]  # COPY converts a numeric string (docs/data-quality.md, "Record rules")
    expected = "field ts: expected an integer of epoch milliseconds (or a string of digits)"
    assert stage.rejects() == [(KEY, 2, f'{expected} (found a string: "{TS}.0")'),
                               (KEY, 3, f'{expected} (found a string: "soon")')]


def test_negative_and_absurd_ts_are_quarantined(stage: Stage) -> None:
    stage.events(line(ts=-5), line(ts=10**15), line(ts=10**20), line())
    assert stage.loaded() == [4]
    assert stage.rejects() == [
        (KEY, 1, "field ts: -5 is not a plausible epoch-ms time"),
        (KEY, 2, f"field ts: {10**15} is not a plausible epoch-ms time"),
        (KEY, 3, "field ts: expected an integer of epoch milliseconds (or a string of digits) "
                 "(found a decimal number: 100000000000000000000)"),
    ]


def test_ts_outside_the_files_day_is_quarantined(stage: Stage) -> None:
    stage.events(line(ts=DAY_START_MS - 1), line(ts=DAY_START_MS), line(ts=DAY_START_MS + 86_400_000))
    assert stage.loaded() == [2]
    assert [r[2] for r in stage.rejects()] == [
        f"field ts: {DAY_START_MS - 1} is outside the file's day 2018-11-05",
        f"field ts: {DAY_START_MS + 86_400_000} is outside the file's day 2018-11-05",
    ]


def test_non_numeric_user_id_is_quarantined_and_empty_means_logged_out(stage: Stage) -> None:
    stage.events(line(userId="abc"), line(userId="", page="Home", length=None, song=None, artist=None), line())
    assert stage.loaded() == [2, 3]
    assert stage.rejects() == [
        (KEY, 1, 'field userId: expected a 32-bit integer (or a string of digits) (found a string: "abc")')]
    with duckdb.connect(str(stage.db), read_only=True) as con:
        assert con.execute("SELECT user_id FROM staging_events ORDER BY line_number").fetchall() == [(None,), (8,)]


def test_length_not_a_number_is_quarantined(stage: Stage) -> None:
    stage.events(line(length="long"), line(length=None), line())
    assert stage.loaded() == [2, 3]
    assert stage.rejects() == [
        (KEY, 1, 'field length: expected a number (or a string holding one) (found a string: "long")')]


def test_extra_unknown_fields_still_load(stage: Stage) -> None:
    stats = stage.events(json.dumps({**event(), "experiment": "b", "nested": {"x": [1]}}))
    assert stage.loaded() == [1] and stage.rejects() == [] and stats.loaded == 1


def test_exact_duplicate_loads_once_and_names_the_first_line(stage: Stage) -> None:
    stage.events(line(), line(itemInSession=2), line())
    assert stage.loaded() == [1, 2]
    assert stage.rejects() == [(KEY, 3, f"duplicate of {KEY}:1")]


@pytest.mark.parametrize("content", [b"", b"   \n\t\n  \n"], ids=["empty", "whitespace"])
def test_empty_and_whitespace_files_load_nothing_and_fail_nothing(stage: Stage, content: bytes) -> None:
    stage.write(KEY, content)
    stats = stage.warehouse.stage_events(stage.source, stage.source.log_objects([DAY]), DayWindow((DAY,)), "r")
    assert (stats.read, stats.loaded, stats.rejected) == (0, 0, 0)
    assert stage.loaded() == [] and stage.rejects() == []


def test_utf8_bom_is_ignored(stage: Stage) -> None:
    stage.events(b"\xef\xbb\xbf" + line().encode(), line(itemInSession=2))
    assert stage.loaded() == [1, 2] and stage.rejects() == []


def test_crlf_line_endings_load(stage: Stage) -> None:
    stage.events(line() + "\r", line(itemInSession=2) + "\r")
    assert stage.loaded() == [1, 2] and stage.rejects() == []


def test_a_line_that_is_not_utf8_is_quarantined_and_the_rest_of_its_file_loads(stage: Stage) -> None:
    """COPY rejects the row (error 1220), not the file: so does DuckDB."""
    bad = line(itemInSession=2).replace("Ada", "A\udcffda").encode("utf-8", "surrogateescape")
    stats = stage.events(line(), bad, line(itemInSession=3))
    assert stage.loaded() == [1, 3]
    at = bad.find(b"\xff") + 1
    assert stage.rejects() == [(KEY, 2, f"not valid UTF-8 (invalid start byte at byte {at}: ff)")]
    assert (stats.read, stats.loaded, stats.rejected) == (3, 2, 1)
    with duckdb.connect(str(stage.db), read_only=True) as con:
        (raw,) = con.execute("SELECT raw_text FROM rejected_records").fetchone()
    assert "A\ufffdda" in raw  # kept, its bad byte replaced


def test_file_that_is_not_json_lines_fails_naming_it(stage: Stage) -> None:
    stage.events(line())
    with pytest.raises(SourceDataError) as err:
        stage.events("artist,auth,firstName", "Des'ree,Logged In,Ada")
    assert f"{KEY} line 1" in str(err.value) and "not JSON lines" in str(err.value)
    assert stage.loaded() == [1]


def test_ten_megabyte_line_is_quarantined_not_loaded(stage: Stage) -> None:
    huge = line(song="x" * (10 * 1024 * 1024))
    stage.events(line(), huge, line(itemInSession=3))
    assert stage.loaded() == [1, 3]
    ((key, n, reason),) = stage.rejects()
    assert (key, n) == (KEY, 2)
    assert reason == f"record is {len(huge)} bytes, over the 4194304-byte limit"


def test_string_longer_than_its_column_is_quarantined(stage: Stage) -> None:
    stage.events(line(level="x" * 17), line())
    assert stage.rejects() == [(KEY, 1, "field level: longer than 16 bytes")]


def test_song_file_holding_an_array_is_quarantined(stage: Stage) -> None:
    song = json.loads((stage.root / "data/song_data/A/A/A/TRAAAAW128F429D538.json").read_text())
    stage.song([song, {**song, "song_id": "SOB"}], name="TRAAAAB.json")
    stats = stage.songs()
    assert stage.song_ids() == ["SOUPIRU12A6D4FA1E1"]
    assert stage.rejects() == [("song_data/A/A/A/TRAAAAB.json", 1, "not a JSON object (found an array)")]
    assert (stats.read, stats.loaded, stats.rejected) == (2, 1, 1)


def test_song_file_missing_song_id_is_quarantined(stage: Stage) -> None:
    stage.song({"num_songs": 1, "artist_id": "AR1", "title": "No Id", "duration": 1.0, "year": 0}, name="TRB.json")
    stage.songs()
    assert stage.rejects() == [("song_data/A/A/A/TRB.json", 1, "missing required field song_id")]


def test_duplicate_song_id_keeps_the_first_file(stage: Stage) -> None:
    song = json.loads((stage.root / "data/song_data/A/A/A/TRAAAAW128F429D538.json").read_text())
    stage.song({**song, "title": "Other"}, name="TRZZZ.json")
    stage.songs()
    assert stage.rejects() == [
        ("song_data/A/A/A/TRZZZ.json", 1, "duplicate of song_data/A/A/A/TRAAAAW128F429D538.json:1")]


def test_non_utf8_song_file_is_quarantined(stage: Stage) -> None:
    stage.songs()
    bad = b'{"song_id": "SOBAD", "artist_id": "AR1", "title": "\xff\xfe"}'
    stage.write("song_data/A/A/B/TRBAD.json", bad)
    stage.songs()
    assert stage.song_ids() == ["SOUPIRU12A6D4FA1E1"]
    at = bad.find(b"\xff") + 1
    assert stage.rejects() == [
        ("song_data/A/A/B/TRBAD.json", 1, f"not valid UTF-8 (invalid start byte at byte {at}: ff)")]


def test_missing_day_file_names_the_key(stage: Stage) -> None:
    with pytest.raises(SourceDataError) as err:
        stage.source.log_objects([date(2018, 11, 6)])
    assert "log_data/2018/11/2018-11-06-events.json" in str(err.value)


# -- COPY's conversions, applied on DuckDB too (docs/data-quality.md, "Record rules") ----------------------------


def staged(stage: Stage, *columns: str) -> list[tuple[Any, ...]]:
    with duckdb.connect(str(stage.db), read_only=True) as con:
        return con.execute(f"SELECT {', '.join(columns)} FROM staging_events ORDER BY line_number").fetchall()


def test_numeric_strings_and_empty_strings_convert_as_copy_converts_them(stage: Stage) -> None:
    stage.events(line(sessionId="3", status="200", length="246.5", registration="1.5e12", userId="-7"),
                 line(itemInSession=2, length="", status=" ", registration=""),
                 line(itemInSession=3, userId="0012"))
    assert stage.rejects() == []
    assert staged(stage, "session_id", "status", "length", "registration", "user_id") == [
        (3, 200, 246.5, 1.5e12, -7), (139, None, None, None, 8), (139, 200, 246.30812, 1540344794796.0, 12)]


def test_what_copy_cannot_convert_into_a_number_is_quarantined(stage: Stage) -> None:
    stage.events(line(sessionId="3.0"), line(itemInSession=2, sessionId=" 3"), line(itemInSession=3, status=True),
                 line(itemInSession=4, length=[1]), line(itemInSession=5, sessionId=""),
                 line(itemInSession=6, userId="99999999999"), line(itemInSession=7, length="NaN"),
                 line(itemInSession=8, ts=" \t"))
    assert stage.loaded() == []
    assert [(n, r.split(" (found")[0]) for _k, n, r in stage.rejects()] == [
        (1, "field sessionId: expected a 32-bit integer (or a string of digits)"),
        (2, "field sessionId: expected a 32-bit integer (or a string of digits)"),
        (3, "field status: expected a 32-bit integer (or a string of digits)"),
        (4, "field length: expected a number (or a string holding one)"),
        (5, "missing required field sessionId"),  # "" is NULL, and sessionId is required
        (6, "field userId: expected a 32-bit integer (or a string of digits)"),
        (7, "field length: expected a number (or a string holding one)"),
        (8, "missing required field ts"),  # a blank string is NULL too
    ]


def test_an_object_array_or_scalar_in_a_text_field_loads_as_its_json_text(stage: Stage) -> None:
    stage.events(line(location={"city": "Paris", "n": [1, 2]}), line(itemInSession=2, firstName=["A", "B"]),
                 line(itemInSession=3, gender=True), line(itemInSession=4, lastName=12.5))
    assert stage.rejects() == []
    assert staged(stage, "location", "first_name", "gender", "last_name") == [
        ('{"city":"Paris","n":[1,2]}', "Ada", "F", "Lovelace"), ("Phoenix-Mesa-Scottsdale, AZ", '["A","B"]', "F",
                                                                 "Lovelace"),
        ("Phoenix-Mesa-Scottsdale, AZ", "Ada", "true", "Lovelace"), ("Phoenix-Mesa-Scottsdale, AZ", "Ada", "F", "12.5")]


def test_text_over_its_width_only_by_trailing_blanks_is_cut_to_the_width(stage: Stage) -> None:
    stage.events(line(level="paid" + " " * 20), line(itemInSession=2, level="é" * 8 + "   "),
                 line(itemInSession=3, level="x" * 16 + " y"))
    assert stage.loaded() == [1, 2]
    assert staged(stage, "level") == [("paid" + " " * 12,), ("é" * 8,)]
    assert stage.rejects() == [(KEY, 3, "field level: longer than 16 bytes")]


def test_records_up_to_four_megabytes_load(stage: Stage) -> None:
    big = json.dumps({**event(), "payload": "x" * (3 * 1024 * 1024)})
    stage.events(line(), big)
    assert stage.loaded() == [1, 2] and stage.rejects() == []
