"""The staging fast path (one typed read_json scan for entirely valid log files) loads exactly what the per-record
path loads: every case below is staged twice, with `fast_path` on and off, into fresh DuckDB files, and the tables,
the quarantine and the counts must be identical. Clean files must really take the fast path (the load says how
many did), and a file with any problem must not.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

import pytest
from dagster import DagsterInstance

from sparkify_assets.day_window import DayWindow
from sparkify_assets.resources import line_chunks
from sparkify_assets.resources.duckdb_warehouse import DuckDBWarehouse
from sparkify_assets.resources.line_chunks import plain_line_count
from sparkify_assets.resources.source import LocalFolderSource, log_key
from sparkify_assets.resources.warehouse import LoadStats
from sparkify_assets.run import materialize_days
from sparkify_assets_tests.conftest import NOVEMBER, local_defs
from sparkify_assets_tests.test_assets.test_bad_input import DAY, DAY_START_MS, TS, event, line
from sparkify_assets_tests.test_resources.test_large_files import CORPUS, snapshot

NEXT_DAY = DAY + timedelta(days=1)


def raw(obj: object) -> bytes:
    return json.dumps(obj, separators=(",", ":")).encode()


def clean(n: int, day: date = DAY, start: int = 0) -> list[bytes]:
    """n valid, distinct events of `day`."""
    offset = (day - DAY).days * 86_400_000
    return [line(itemInSession=start + i, ts=TS + offset + i).encode() for i in range(n)]


# Every kind of line either path could get wrong, each a file of its own among clean lines (name: lines).
CASES: dict[str, list[bytes]] = {
    "clean": clean(5),
    "clean, no final newline": clean(3),
    "large-files corpus": CORPUS,
    "truncated JSON": [*clean(2), line(itemInSession=9)[:57].encode()],
    "array, scalar, string, null lines": [*clean(2), b"[1, 2, 3]", b"42", b'"text"', b"null"],
    "empty object": [*clean(2), b"{}"],
    "missing ts": [*clean(2), line(ts=...).encode()],
    "ts as a string": [*clean(2), line(ts=str(TS)).encode()],
    "ts as a decimal": [*clean(2), line(ts=float(TS)).encode(), line(ts=1.5e12).encode()],
    "ts negative, absurd, huge": [*clean(1), line(ts=-5).encode(), line(ts=10**15).encode(), line(ts=10**20).encode()],
    "ts outside the day": [*clean(1), line(ts=DAY_START_MS - 1).encode(), line(ts=DAY_START_MS + 86_400_000).encode()],
    "user ids": [line(userId="abc").encode(), line(userId="", itemInSession=2).encode(),
                 line(userId=8, itemInSession=3).encode(), line(userId="08", itemInSession=4).encode(),
                 line(userId="1234567890", itemInSession=5).encode(), line(userId=1234567890, itemInSession=6).encode(),
                 line(userId="-5", itemInSession=7).encode(), line(userId=" 5", itemInSession=8).encode(),
                 line(userId=5.0, itemInSession=10).encode(), line(userId=True, itemInSession=11).encode()],
    "numbers as strings and strings as numbers": [
        line(length="long").encode(), line(length="1.5", itemInSession=2).encode(),
        line(artist=5, itemInSession=3).encode(), line(level=True, itemInSession=4).encode(),
        line(song={"x": 1}, itemInSession=5).encode(), line(auth=[1], itemInSession=6).encode()],
    "integers as decimals and out of range": [
        line(itemInSession=5.0).encode(), line(itemInSession=2**31, ts=TS + 1).encode(),
        line(status=1e3, ts=TS + 2).encode(), line(sessionId="7", ts=TS + 3).encode(),
        line(itemInSession=-0, ts=TS + 4).encode(), line(status=-1, ts=TS + 5).encode()],
    "non-finite and edge numbers": [
        line(ts=TS + 1).encode().replace(b'"length":246.30812', b'"length":NaN'),
        line(ts=TS + 2).encode().replace(b'"length":246.30812', b'"length":-Infinity'),
        line(ts=TS + 3).encode().replace(b'"length":246.30812', b'"length":1e400'),
        line(ts=TS + 4).encode().replace(b'"length":246.30812', b'"length":-0.0'),
        line(ts=TS + 5).encode().replace(b'"length":246.30812', b'"length":1E2')],
    "strings with escapes and raw UTF-8": [
        raw(event(artist='Des\'ree "live"', userAgent="Mozilla\\/5.0 \u00e9")),
        line(itemInSession=2, artist="Bj\u00f6rk \u2019").encode(),
        raw(event(itemInSession=3, song="caf\u00e9")).replace(b"caf\\u00e9", "caf\u00e9".encode()),
        raw(event(itemInSession=4, song="tab\there"))],
    "string longer than its column": [*clean(1), line(level="x" * 17, itemInSession=7).encode()],
    "record over 1 MiB": [*clean(1), line(song="x" * (1 << 20), itemInSession=7).encode()],
    "long record under the limit": [*clean(1), raw({**event(itemInSession=7), "blob": "x" * 400_000})],
    "record between 1 and 4 MiB": [*clean(1), raw({**event(itemInSession=7), "blob": "x" * (2 << 20)})],
    "COPY's conversions": [
        line(sessionId="3", status="", length="1.5e2", registration="").encode(),
        line(itemInSession=2, level="paid" + " " * 30, location={"a": [1, "b"]}).encode(),
        line(itemInSession=3, sessionId="3.0").encode(), line(itemInSession=4, sessionId="").encode(),
        line(itemInSession=5, ts=str(TS + 5)).encode(), line(itemInSession=6, ts="").encode()],
    "a line not UTF-8": [*clean(2), b'{"artist":"\xff"}', *clean(1, start=5)],
    "extra fields, nested values, reordered keys": [
        raw({**event(), "experiment": "b", "nested": {"x": [1]}}),
        raw(dict(reversed(list(event(itemInSession=2).items()))))],
    "duplicate key in an object": [*clean(2), line(itemInSession=7).encode().replace(b'{"a', b'{"ts":1,"a')],
    "escaped key": [*clean(1), line(itemInSession=7).encode().replace(b'"page"', b'"p\\u0061ge"')],
    "key in another case": [*clean(1), line(itemInSession=7).encode().replace(b'"ts"', b'"TS"')],
    "trailing comma": [*clean(1), line(itemInSession=7).encode()[:-1] + b",}"],
    "two objects on a line": [*clean(1), line(itemInSession=7).encode() + line(itemInSession=8).encode()],
    "blank and whitespace lines": [*clean(2), b"", b"  \t ", *clean(2, start=5)],
    "leading and trailing blanks": [b"  " + line().encode(), b"\t" + line(itemInSession=2).encode(),
                                    line(itemInSession=3).encode() + b"  "],
    "CRLF": [x + b"\r" for x in clean(3)],
    "BOM on the first line": [b"\xef\xbb\xbf" + clean(1)[0], *clean(2, start=1)],
    "BOM on a later line": [*clean(1), b"\xef\xbb\xbf" + clean(1, start=1)[0]],
    "exact duplicate": [*clean(2), clean(1)[0]],
    "same values, other text": [clean(1)[0], raw(dict(reversed(list(event(itemInSession=0, ts=TS).items()))))],
}
# Files with nothing wrong, which must take the fast path; and files whose records all load but which the fast path
# cannot vouch for (it must leave them to the per-record path).
FAST = {"clean", "clean, no final newline", "strings with escapes and raw UTF-8", "long record under the limit",
        "extra fields, nested values, reordered keys", "escaped key", "CRLF", "leading and trailing blanks",
        "trailing comma"}
NOT_PROVABLE = {"blank and whitespace lines", "BOM on the first line", "duplicate key in an object",
                "same values, other text"}


@dataclass
class Both:
    """The same data root staged by each path, each into its own fresh DuckDB file."""

    root: Path

    def write(self, key: str, lines: list[bytes], final_newline: bool = True) -> None:
        path = self.root / "data" / key
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(b"\n".join(lines) + (b"\n" if final_newline else b""))

    def stage(self, days: list[date]) -> dict[bool, tuple[LoadStats, tuple[list[tuple], list[tuple]]]]:
        source = LocalFolderSource(root=str(self.root / "data"))
        out = {}
        for fast in (True, False):
            db = self.root / f"fast-{fast}.duckdb"
            db.unlink(missing_ok=True)
            stats = DuckDBWarehouse(path=str(db), fast_path=fast).stage_events(
                source, source.log_objects(days), DayWindow(tuple(days)), "run")
            out[fast] = (stats, snapshot(db))
        return out


def comparable(tables: tuple[list[tuple], list[tuple]]) -> tuple[list[tuple], ...]:
    """The rows with NaN made equal to itself (a loaded NaN length is a value like any other)."""
    return tuple([tuple("NaN" if isinstance(v, float) and math.isnan(v) else v for v in row) for row in rows]
                 for rows in tables)


def assert_same(result: dict[bool, tuple[LoadStats, tuple[list[tuple], list[tuple]]]]) -> LoadStats:
    (fast_stats, fast_tables), (slow_stats, slow_tables) = result[True], result[False]
    assert comparable(fast_tables) == comparable(slow_tables)
    assert (fast_stats.read, fast_stats.loaded, fast_stats.rejected) == \
        (slow_stats.read, slow_stats.loaded, slow_stats.rejected)
    assert fast_stats.sample_rejects == slow_stats.sample_rejects
    assert slow_stats.fast_files == 0
    return fast_stats


@pytest.mark.parametrize("name", list(CASES))
def test_each_case_alone_loads_the_same_on_both_paths(tmp_path: Path, name: str) -> None:
    both = Both(tmp_path)
    both.write(log_key(DAY), CASES[name], final_newline=name != "clean, no final newline")
    stats = assert_same(both.stage([DAY]))
    if name in FAST:
        assert (stats.fast_files, stats.rejected) == (1, 0), "a file with nothing wrong takes the fast path"
    if stats.rejected or name in NOT_PROVABLE:
        assert stats.fast_files == 0, "a file with a problem is checked record by record"


def test_all_cases_in_one_load_beside_clean_files(tmp_path: Path) -> None:
    """Every case as one file of a multi-day load, beside clean days: a file the scan cannot read (which aborts
    the first attempt) or that has a problem leaves the other files on the fast path."""
    both = Both(tmp_path)
    days = [DAY + timedelta(days=i) for i in range(len(CASES) + 1)]
    for day, (name, lines) in zip(days[1:], CASES.items(), strict=True):
        both.write(log_key(day), lines, final_newline=name != "clean, no final newline")  # ts of DAY: quarantined
    both.write(log_key(DAY), clean(4, start=1000))  # values of its own: no possible copy of a case's records
    stats = assert_same(both.stage(days))
    assert stats.fast_files == 1 and stats.loaded == 4 and stats.rejected == stats.read - 4


def test_clean_days_with_problem_days_in_one_load(tmp_path: Path) -> None:
    both = Both(tmp_path)
    days = [DAY + timedelta(days=i) for i in range(4)]
    for day in days:
        both.write(log_key(day), clean(5, day))
    both.write(log_key(days[1]), [*clean(2, days[1]), *CASES["duplicate key in an object"][2:], b"[]"])
    both.write(log_key(days[2]), [*clean(2, days[2]), clean(1, days[2])[0]])
    stats = assert_same(both.stage(days))
    assert stats.fast_files == 2 and stats.rejected == 3  # the duplicate key's ts is 1; [], and the copy


def test_file_larger_than_the_json_readers_buffers_keeps_its_line_numbers(tmp_path: Path) -> None:
    """read_json reads a file in buffers of 32 MB: ~40 MB of lines, each with its own values, numbered alike."""
    both = Both(tmp_path)
    both.write(log_key(DAY), [line(itemInSession=i, ts=TS + i, song=f"song {i} " + "x" * 400).encode()
                              for i in range(80_000)])
    stats = assert_same(both.stage([DAY]))
    assert (stats.fast_files, stats.loaded) == (1, 80_000)


def test_a_line_not_utf8_is_quarantined_the_same_way_on_both_paths(tmp_path: Path) -> None:
    both = Both(tmp_path)
    both.write(log_key(DAY), CASES["a line not UTF-8"])
    result = both.stage([DAY])
    stats = assert_same(result)
    assert (stats.loaded, stats.rejected, stats.fast_files) == (3, 1, 0)
    assert stats.sample_rejects == [(log_key(DAY), 3, "not valid UTF-8 (invalid start byte at byte 12: ff)")]


def test_real_sample_takes_the_fast_path_with_the_same_tables(real_sample: Path, tmp_path: Path) -> None:
    source = LocalFolderSource(root=str(real_sample))
    results = {}
    for fast in (True, False):
        db = tmp_path / f"{fast}.duckdb"
        stats = DuckDBWarehouse(path=str(db), fast_path=fast).stage_events(
            source, source.log_objects(NOVEMBER), DayWindow(tuple(NOVEMBER)), "run")
        results[fast] = (stats, snapshot(db))
    stats = assert_same(results)
    assert stats.fast_files == len(NOVEMBER) and stats.loaded == stats.read > 8000


def test_run_metadata_says_how_many_files_took_the_fast_path(real_sample: Path, tmp_path: Path,
                                                            instance: DagsterInstance) -> None:
    days = NOVEMBER[:2]
    data = tmp_path / "data"
    for day in days:
        (data / log_key(day)).parent.mkdir(parents=True, exist_ok=True)
        lines = (real_sample / log_key(day)).read_bytes().split(b"\n")
        if day == days[1]:
            lines.insert(3, b"[]")
        (data / log_key(day)).write_bytes(b"\n".join(lines))
    (data / "song_data").symlink_to(real_sample / "song_data")
    result = materialize_days(local_defs(data, tmp_path / "w.duckdb"), days, instance)
    meta = result.asset_materializations_for_node("staging_events")[0].metadata
    assert (meta["files_fast_path"].value, meta["files_checked_per_record"].value) == (1, 1)
    assert meta["records_rejected"].value == 1


@pytest.mark.parametrize("final_newline", [True, False])
def test_plain_line_count_counts_lines_and_refuses_what_it_cannot_vouch_for(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, final_newline: bool) -> None:
    # Windows of 8 bytes read 16 at a time: every case crosses reads and windows.
    monkeypatch.setattr(line_chunks, "SCAN_WINDOW", 8)
    monkeypatch.setattr(line_chunks, "SCAN_BYTES", 16)
    path = tmp_path / "f.json"

    def count(*lines: bytes) -> int | None:
        path.write_bytes(b"\n".join(lines) + (b"\n" if final_newline else b""))
        return plain_line_count(path)

    assert count(b"{}", b"{ }", b"{  }", b"", b"{}") == 5
    assert count(*["{\u00e9\u00e9}".encode()] * 4) == 4  # the read of bytes 0-15 ends inside a character
    assert count(b"{12345678901234}") is None  # longer than two windows: cannot vouch it is under the limit
    assert count(b"\xef\xbb\xbf{}") is None and count(b"{}", b"{\xef\xbb\xbf}") is None
    assert count(b"{}", b"{\xff}") is None and count(b"{\xc3") is None
    path.write_bytes(b"")
    assert plain_line_count(path) == 0
