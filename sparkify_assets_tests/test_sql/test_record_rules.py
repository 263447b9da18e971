"""One set of record rules and one meaning of text comparison on both engines (docs/data-quality.md).

The bad-input corpus of COPY's conversions (the cases of test_bad_input.py that COPY types differently from a
strict reader, each a line of one day file, and a few song files) is staged by DuckDB and by the Redshift path
(real PostgreSQL, the COPY emulator reading moto's S3), and the staging tables and the quarantine must be equal
row for row. Then the real sample's song titles that end in a space are played against song files without it:
a full run on each engine matches them alike, as Redshift compares text, and the star schemas are equal.
"""

from __future__ import annotations

import json
import re
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest
from dagster import DagsterInstance

from sparkify_assets.day_window import DayWindow
from sparkify_assets.definitions import build_definitions
from sparkify_assets.resources.duckdb_warehouse import DuckDBWarehouse
from sparkify_assets.resources.source import LocalFolderSource, log_key
from sparkify_assets.resources.warehouse import LoadStats
from sparkify_assets.run import materialize_days
from sparkify_assets.tables import REJECTED_RECORDS, STAGING_EVENTS, STAGING_SONGS
from sparkify_assets_tests.conftest import failed_checks
from sparkify_assets_tests.support import redshift as rsup
from sparkify_assets_tests.support import s3 as s3_support
from sparkify_assets_tests.support.postgres import PgServer
from sparkify_assets_tests.test_assets.test_bad_input import DAY, TS, event, line

BUCKET = "record-rules"
BLANKS_BUCKET = "trailing-blanks"
EVENT_FIELDS = (*(c.name for c in STAGING_EVENTS.source_columns), "source_key")
SONG_FIELDS = tuple(c.name for c in STAGING_SONGS.source_columns)  # source_key: the prefix on Redshift
QUARANTINE = ("target_table", "partition_key", "source_key", "line_number", "reason")


def _big(n_bytes: int, item: int) -> str:
    return json.dumps({**event(itemInSession=item), "payload": "x" * n_bytes})


# (line, loads?) — each case its own itemInSession, so no two records are copies.
EVENT_CASES: list[tuple[str | bytes, bool]] = [
    (line(), True),
    (line(itemInSession=2, sessionId="3", status="200", userId="-7"), True),  # numeric strings
    (line(itemInSession=3, length="", status=" ", registration=""), True),  # blank strings are NULL in numbers
    (line(itemInSession=4, userId="0012", length="1.5e2"), True),
    (line(itemInSession=5, ts=str(TS + 5)), True),  # ts as a string of digits
    (line(itemInSession=6, location={"city": "Paris", "n": [1, 2]}, firstName=["A", "B"]), True),  # JSON text
    (line(itemInSession=7, gender=True, lastName=12.5), True),
    (line(itemInSession=8, level="paid" + " " * 20, song="s" * 500 + " " * 30), True),  # blank excess cut
    (_big(2 << 20, 9), True),  # a 2 MiB record
    (line(itemInSession=10).replace("Ada", "A\udcffda").encode("utf-8", "surrogateescape"), False),  # not UTF-8
    (line(itemInSession=11, sessionId="3.0"), False),
    (line(itemInSession=12, sessionId=" 3"), False),
    (line(itemInSession=13, status=True), False),
    (line(itemInSession=14, length=[1]), False),
    (line(itemInSession=15, level="x" * 17), False),
    (line(itemInSession=16, userId="99999999999"), False),
    (_big(5 << 20, 17), False),  # over COPY's 4 MB
    (line(itemInSession=18).replace('"length":246.30812', '"length":NaN'), False),
    (line(itemInSession=19).replace('"itemInSession":19,', '"itemInSession":19.0,'), False),
    (line(itemInSession=20, registration="1e400"), False),
]


def _song(song_id: str, **changes: Any) -> dict[str, Any]:
    return {"num_songs": 1, "artist_id": "AR1", "artist_latitude": None, "artist_longitude": None,
            "artist_location": "", "artist_name": "Band", "song_id": song_id, "title": "Tune", "duration": 200.5,
            "year": 0, **changes}


SONG_CASES: dict[str, tuple[bytes, bool]] = {
    "A/A/A/TRA.json": (json.dumps(_song("SOA", year="2001", artist_latitude="", duration="200.5")).encode(), True),
    "A/A/B/TRB.json": (json.dumps(_song("SOB", artist_location={"city": "Oslo"}, title="Tune" + " " * 600)).encode(),
                       True),
    "A/A/C/TRC.json": (json.dumps(_song("SOC")).encode().replace(b'"Tune"', b'"T\xfeune"'), False),
    "A/A/D/TRD.json": (json.dumps(_song("SOD", year="2001.5")).encode(), False),
    "A/A/E/TRE.json": (json.dumps(_song("SOE", duration=True)).encode(), False),
}


@dataclass
class Staged:
    schema: str
    db: Path
    pg: dict[str, LoadStats]
    duck: dict[str, LoadStats]


@pytest.fixture(scope="module")
def staged(real_sample: Path, pg_server: PgServer, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Staged]:
    root = tmp_path_factory.mktemp("rules")
    (root / log_key(DAY)).parent.mkdir(parents=True)
    (root / log_key(DAY)).write_bytes(b"\n".join(x if isinstance(x, bytes) else x.encode() for x, _ in EVENT_CASES)
                                      + b"\n")
    for key, (body, _) in SONG_CASES.items():
        (root / "song_data" / key).parent.mkdir(parents=True, exist_ok=True)
        (root / "song_data" / key).write_bytes(body)
    shutil.copy(real_sample / "log_json_path.json", root / "log_json_path.json")
    db = root / "warehouse.duckdb"
    with s3_support.running_moto() as endpoint, rsup.schema_owned_by_secret_user(pg_server) as (schema, user):
        s3_support.upload_tree(endpoint, BUCKET, root, ("log_data/**/*", "song_data/**/*", "*.json"))
        results = {}
        for engine, source, wh in (
                ("pg", s3_support.s3_source(endpoint, BUCKET), rsup.warehouse(pg_server, schema, user, endpoint)),
                ("duck", LocalFolderSource(root=str(root)), DuckDBWarehouse(path=str(db)))):
            results[engine] = {
                "events": wh.stage_events(source, source.log_objects([DAY]), DayWindow((DAY,)), "run"),
                "songs": wh.stage_songs(source, source.song_objects(), "run")}
        yield Staged(schema, db, results["pg"], results["duck"])


def _field(reason: str) -> str | None:
    match = re.match(r"field (\w+):", reason)
    return match.group(1) if match else None


def test_the_corpus_loads_the_same_rows_on_both_engines(staged: Staged, pg_server: PgServer) -> None:
    events = rsup.table_rows_pg(pg_server, staged.schema, STAGING_EVENTS.name, EVENT_FIELDS)
    assert events == rsup.table_rows_duckdb(staged.db, STAGING_EVENTS.name, EVENT_FIELDS)
    assert len(events) == sum(loads for _, loads in EVENT_CASES)
    songs = rsup.table_rows_pg(pg_server, staged.schema, STAGING_SONGS.name, SONG_FIELDS)
    assert songs == rsup.table_rows_duckdb(staged.db, STAGING_SONGS.name, SONG_FIELDS)
    assert [s[SONG_FIELDS.index("song_id")] for s in songs] == ["SOA", "SOB"]
    for engine in (staged.pg, staged.duck):
        assert (engine["events"].read, engine["events"].loaded) == (len(EVENT_CASES), len(events))
        assert (engine["songs"].read, engine["songs"].loaded) == (len(SONG_CASES), 2)


def test_the_conversions_are_copys(staged: Staged, pg_server: PgServer) -> None:
    """What the rows hold, read on PostgreSQL (equal to DuckDB's by the test above)."""
    cols = ("item_in_session", "session_id", "status", "length", "registration", "user_id", "ts", "location",
            "first_name", "gender", "last_name", "level", "song")
    rows = {r[0]: dict(zip(cols, r, strict=True))
            for r in rsup.table_rows_pg(pg_server, staged.schema, STAGING_EVENTS.name, cols)}
    assert (rows[2]["session_id"], rows[2]["status"], rows[2]["user_id"]) == (3, 200, -7)
    assert (rows[3]["length"], rows[3]["status"], rows[3]["registration"]) == (None, None, None)
    assert (rows[4]["user_id"], rows[4]["length"], rows[5]["ts"]) == (12, 150.0, TS + 5)
    assert (rows[6]["location"], rows[6]["first_name"]) == ('{"city":"Paris","n":[1,2]}', '["A","B"]')
    assert (rows[7]["gender"], rows[7]["last_name"]) == ("true", "12.5")
    assert (rows[8]["level"], rows[8]["song"]) == ("paid" + " " * 12, "s" * 500 + " " * 12)
    songs = {r[0]: r[1:] for r in rsup.table_rows_pg(pg_server, staged.schema, STAGING_SONGS.name,
                                                       ("song_id", "year", "artist_latitude", "artist_location",
                                                        "title"))}
    assert songs == {"SOA": (2001, None, "", "Tune"), "SOB": (0, None, '{"city":"Oslo"}', "Tune" + " " * 508)}


def test_the_quarantine_is_the_same_records_for_the_same_fields(staged: Staged, pg_server: PgServer) -> None:
    on_pg = rsup.table_rows_pg(pg_server, staged.schema, REJECTED_RECORDS.name, QUARANTINE)
    on_duck = rsup.table_rows_duckdb(staged.db, REJECTED_RECORDS.name, QUARANTINE)
    assert [r[:4] for r in on_pg] == [r[:4] for r in on_duck]
    rejected_lines = [n for n, (_, loads) in enumerate(EVENT_CASES, start=1) if not loads]
    assert sorted(r[3] for r in on_pg if r[0] == STAGING_EVENTS.name) == rejected_lines
    assert sorted(r[2] for r in on_pg if r[0] == STAGING_SONGS.name) == [
        f"song_data/{k}" for k, (_, loads) in sorted(SONG_CASES.items()) if not loads]
    # Where COPY names the column it rejected, DuckDB's reason names the same field.
    duck_reasons = {r[:4]: r[4] for r in on_duck}
    named = [(r[4], duck_reasons[r[:4]]) for r in on_pg if _field(r[4])]
    assert len(named) >= 8 and all(_field(pg) == _field(duck) for pg, duck in named), named


# -- trailing blanks: the real sample's titles ending in a space ---------------------------------------------------

DAYS = [date(2018, 11, 24) + timedelta(days=i) for i in range(4)]  # 24th and 27th: three such plays


@dataclass
class Runs:
    schema: str
    db: Path
    results: dict[str, Any]
    plays: list[tuple[str, str, float]]  # (song, artist, length) of the plays whose title ends in a space


@pytest.fixture(scope="module")
def runs(real_sample: Path, pg_server: PgServer, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Runs]:
    root = tmp_path_factory.mktemp("blanks")
    plays = []
    for day in DAYS:
        (root / log_key(day)).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(real_sample / log_key(day), root / log_key(day))
        for text in (real_sample / log_key(day)).read_text().splitlines():
            e = json.loads(text)
            if e["page"] == "NextSong" and e["song"] != e["song"].rstrip(" "):
                plays.append((e["song"], e["artist"], e["length"]))
    shutil.copytree(real_sample / "song_data", root / "song_data")
    shutil.copy(real_sample / "log_json_path.json", root / "log_json_path.json")
    for n, (song, artist, length) in enumerate(plays):  # the same song, its title without the space
        path = root / f"song_data/Z/Z/Z/TRTRAIL{n}.json"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(_song(f"SOTRAIL{n}", title=song.rstrip(" "), artist_name=artist, duration=length,
                                         artist_id=f"ARTRAIL{n}", artist_location="   ")))
    # A later file whose song_id differs only by a trailing blank: the same song id, so a duplicate.
    (root / "song_data/Z/Z/Z/TRTRAILX.json").write_text(json.dumps(_song("SOTRAIL0 ", title="Other")))
    # A level with a trailing blank is the accepted 'paid' / 'free', as Redshift compares it.
    first = root / log_key(DAYS[0])
    lines = first.read_text().split("\n")
    n = next(i for i, x in enumerate(lines) if x and json.loads(x)["page"] == "NextSong")
    lines[n] = json.dumps({**json.loads(lines[n]), "level": json.loads(lines[n])["level"] + " "})
    first.write_text("\n".join(lines))
    db = root / "warehouse.duckdb"
    with s3_support.running_moto() as endpoint, rsup.schema_owned_by_secret_user(pg_server) as (schema, user):
        # A bucket of its own: moto's servers in one process share their buckets.
        s3_support.upload_tree(endpoint, BLANKS_BUCKET, root, ("log_data/**/*", "song_data/**/*", "*.json"))
        source = s3_support.s3_source(endpoint, BLANKS_BUCKET)
        results = {engine: materialize_days(build_definitions(source=source, warehouse=wh), DAYS,
                                            DagsterInstance.ephemeral())
                   for engine, wh in (("pg", rsup.warehouse(pg_server, schema, user, endpoint)),
                                      ("duck", DuckDBWarehouse(path=str(db))))}
        yield Runs(schema, db, results, plays)


def test_plays_of_titles_ending_in_a_space_match_alike_on_both_engines(runs: Runs, pg_server: PgServer) -> None:
    assert len(runs.plays) == 3
    for result in runs.results.values():
        assert result.success
        assert failed_checks(result) <= {("songplays", "song_match_rate")}  # level 'paid ' is accepted
    cols = ("song_id", "artist_id", "user_id", "session_id")
    matched = [r for r in rsup.table_rows_pg(pg_server, runs.schema, "songplays", cols)
               if r[0] and r[0].startswith("SOTRAIL")]
    assert sorted(r[0] for r in matched) == [f"SOTRAIL{n}" for n in range(3)]
    assert matched == [r for r in rsup.table_rows_duckdb(runs.db, "songplays", cols)
                       if r[0] and r[0].startswith("SOTRAIL")]


@pytest.mark.parametrize("table", ["songplays", "songs", "artists", "users"])
def test_star_schema_equal_row_by_row(runs: Runs, pg_server: PgServer, table: str) -> None:
    on_pg = rsup.table_rows_pg(pg_server, runs.schema, table)
    assert on_pg and on_pg == rsup.table_rows_duckdb(runs.db, table)


def test_a_song_id_differing_by_a_trailing_blank_is_a_duplicate_on_both_engines(runs: Runs,
                                                                                pg_server: PgServer) -> None:
    sql = "SELECT target_table, reason FROM rejected_records WHERE target_table = 'staging_songs'"
    on_pg = rsup.pg_rows(pg_server, runs.schema, sql)
    on_duck = rsup.table_rows_duckdb(runs.db, "rejected_records", ("target_table", "reason"))
    assert [r[1].split(" of ")[0] for r in on_pg] == [r[1].split(" of ")[0] for r in on_duck] == ["duplicate"]
    songs = [r for r in rsup.table_rows_pg(pg_server, runs.schema, "songs", ("song_id", "title"))
             if r[0].startswith("SOTRAIL0")]
    assert songs == [("SOTRAIL0", runs.plays[0][0].rstrip(" "))]


def test_a_blank_location_is_null_on_both_engines(runs: Runs, pg_server: PgServer) -> None:
    """NULLIF(location, '') as Redshift means it: '   ' equals '' there, so it is NULL everywhere."""
    sql = "SELECT artist_id, location FROM artists WHERE artist_id LIKE 'ARTRAIL%' ORDER BY 1"
    assert rsup.pg_rows(pg_server, runs.schema, sql) == [(f"ARTRAIL{n}", None) for n in range(3)]
    assert [r for r in rsup.table_rows_duckdb(runs.db, "artists", ("artist_id", "location"))
            if r[0].startswith("ARTRAIL")] == [(f"ARTRAIL{n}", None) for n in range(3)]
