"""The song catalogue loaded incrementally equals the catalogue loaded from scratch, after any sequence of changes.

Engine level, real DuckDB files: one warehouse follows a sequence of catalogue changes (files added, rewritten,
removed; song_id duplicates across old and new files; invalid files; songs whose (title, artist, duration) play
events match) with incremental staging_songs loads and songplays re-matches only; after every change, a second
warehouse is loaded from scratch with the same files, and every table the songs reach must be identical.
"""

from __future__ import annotations

import json
import os
import random
from datetime import date
from pathlib import Path
from typing import Any

import duckdb
import pytest

from sparkify_assets.day_window import DayWindow
from sparkify_assets.resources.duckdb_warehouse import DuckDBWarehouse
from sparkify_assets.resources.source import LocalFolderSource
from sparkify_assets.resources.warehouse import LoadStats
from sparkify_assets.sql import transforms
from sparkify_assets.sql.dialect import DUCKDB
from sparkify_assets.tables import (
    ARTISTS,
    REJECTED_RECORDS,
    SONG_MATCHES,
    SONGPLAYS,
    SONGS,
    SOURCE_VERSIONS,
    STAGING_EVENTS,
    STAGING_SONGS,
    Table,
)
from sparkify_assets_tests.support.s3 import client, running_moto, s3_source, upload_tree

DAYS = (date(2018, 11, 1), date(2018, 11, 2))
WINDOW = DayWindow(DAYS)
TITLES = ["Ten Tonne", "Halo", "Intro", "Yellow"]
ARTISTS_ = [("AR1", "Chase & Status"), ("AR2", "Beyonce"), ("AR3", None)]
DURATIONS = [200.5, 337.68444]
SONG_IDS = [f"SO{i}" for i in range(6)]  # few ids over many files: song_id duplicates are common
KEYS = [f"song_data/{a}/{b}/X/TR{a}{b}{n}.json" for a in "AB" for b in "AB" for n in range(3)]  # 12 file names
TEMPLATE = {"artist": None, "auth": "Logged In", "firstName": "Walter", "gender": "M", "itemInSession": 0,
            "lastName": "Frye", "length": None, "level": "free", "location": "San Francisco, CA", "method": "PUT",
            "page": "NextSong", "registration": 1540919166796.0, "sessionId": 38, "song": None, "status": 200,
            "ts": 0, "userAgent": "\"Mozilla/5.0\"", "userId": "39"}


def write_logs(root: Path, rng: random.Random) -> None:
    """Two days of plays over every (title, artist, duration) of the vocabulary, and some of no song at all."""
    for day in DAYS:
        start = WINDOW.params["start_ms"] + (day - DAYS[0]).days * 86_400_000
        lines = []
        for i in range(120):
            title, (_, artist), duration = rng.choice(TITLES), rng.choice(ARTISTS_), rng.choice(DURATIONS)
            event = TEMPLATE | {"itemInSession": i, "ts": start + 1000 * i, "song": title, "artist": artist,
                                "length": duration, "userId": rng.choice(["39", "40", ""]),
                                "page": "NextSong" if i % 7 else "Home"}
            lines.append(json.dumps(event))
        path = root / f"log_data/{day:%Y}/{day:%m}/{day:%Y-%m-%d}-events.json"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("\n".join(lines) + "\n")


class Catalogue:
    """The song files of a data folder; every write gives the file a new version (modification time)."""

    def __init__(self, root: Path, rng: random.Random) -> None:
        self.root, self.rng, self.clock = root, rng, 1_600_000_000 * 10**9

    def song(self) -> str:
        artist_id, artist_name = self.rng.choice(ARTISTS_)
        record: dict[str, Any] = {
            "num_songs": 1, "artist_id": artist_id, "artist_latitude": self.rng.choice([None, 51.5]),
            "artist_longitude": None, "artist_location": self.rng.choice(["", "London"]),
            "artist_name": artist_name, "song_id": self.rng.choice(SONG_IDS), "title": self.rng.choice(TITLES),
            "duration": self.rng.choice(DURATIONS), "year": self.rng.choice([0, 2005])}
        bad = self.rng.random()
        if bad < 0.08:
            return "{not json"
        if bad < 0.14:
            record["song_id"] = 12345  # a number where a string is expected
        if bad < 0.18:
            del record["title"]
        return json.dumps(record)

    def write(self, key: str, text: str) -> None:
        path = self.root / key
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
        self.clock += 10**9
        os.utime(path, ns=(self.clock, self.clock))

    def remove(self, key: str) -> None:
        (self.root / key).unlink()

    def present(self) -> list[str]:
        return [k for k in KEYS if (self.root / k).exists()]

    def change(self) -> str:
        """One random change: add, rewrite or remove a file (never the last one: no catalogue fails the load)."""
        key = self.rng.choice(KEYS)
        if (self.root / key).exists() and len(self.present()) > 1 and self.rng.random() < 0.3:
            self.remove(key)
            return f"remove {key}"
        self.write(key, self.song())
        return f"write {key}"


def stage_songs(wh: DuckDBWarehouse, source: LocalFolderSource) -> LoadStats:
    return wh.stage_songs(source, source.song_objects(), "run")


def rematch(wh: DuckDBWarehouse) -> int:
    """What a catalogue refresh does to songplays (the asset's re-match only), and songs/artists rebuilt."""
    with wh.transaction() as s:
        wh.ensure_tables(s, (STAGING_EVENTS, STAGING_SONGS, SONGPLAYS, SONG_MATCHES))
        for sql in transforms.songplays_rematch(DUCKDB):
            s.execute(sql)
        plays = sum(int(n) for _, n in s.fetchall(transforms.rematch_summary_sql()))
        s.execute(f"DROP TABLE {transforms.REMATCH_TABLE}")
    wh.run([*transforms.songs_full(DUCKDB), *transforms.artists_full(DUCKDB)], ensure=(STAGING_SONGS, SONGS, ARTISTS))
    return plays


def load_days(wh: DuckDBWarehouse, source: LocalFolderSource) -> None:
    """A run of the days: staging_events, then songplays as its asset loads it (re-match, then the window)."""
    wh.stage_events(source, source.log_objects(DAYS), WINDOW, "run")
    rematch(wh)
    wh.run(transforms.songplays_window(DUCKDB), WINDOW.params, ensure=(STAGING_EVENTS, STAGING_SONGS, SONGPLAYS))


def from_scratch(source: LocalFolderSource, db: Path) -> DuckDBWarehouse:
    db.unlink(missing_ok=True)
    wh = DuckDBWarehouse(path=str(db))
    stats = stage_songs(wh, source)
    assert stats.detail["load_mode"] == "full"
    load_days(wh, source)
    return wh


COMPARED = (STAGING_SONGS, REJECTED_RECORDS, SONGPLAYS, SONGS, ARTISTS, SONG_MATCHES, SOURCE_VERSIONS)


def tables(db: Path, compared: tuple[Table, ...] = COMPARED) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of the tables a song change reaches; run ids and the songs' digest row (written by the asset,
    not the load) left out."""
    out = {}
    with duckdb.connect(str(db), read_only=True) as con:
        for t in compared:
            cols = ", ".join(f'"{c}"' for c in t.column_names if c != "run_id")
            where = "WHERE source_key <> 'song_data/'" if t is SOURCE_VERSIONS else ""
            out[t.name] = sorted(con.execute(f'SELECT {cols} FROM "{t.name}" {where}').fetchall(), key=repr)
    return out


@pytest.mark.parametrize("seed", [1, 2])
def test_any_sequence_of_catalogue_changes_equals_a_load_from_scratch(tmp_path: Path, seed: int) -> None:
    rng = random.Random(seed)
    data = tmp_path / "data"
    write_logs(data, rng)
    catalogue = Catalogue(data, rng)
    for key in rng.sample(KEYS, 6):
        catalogue.write(key, catalogue.song())
    source = LocalFolderSource(root=str(data))
    inc = DuckDBWarehouse(path=str(tmp_path / "incremental.duckdb"))
    stage_songs(inc, source)
    load_days(inc, source)
    history = []
    rematched = 0
    for step in range(15):
        history.append(catalogue.change())
        if rng.random() < 0.3:
            history.append(catalogue.change())  # two changes in one refresh
        stats = stage_songs(inc, source)
        assert stats.detail["load_mode"] == "incremental", history
        assert stats.files <= 2 + stats.detail["files_reread_for_song_id"], history
        assert stats.read == stats.loaded + stats.rejected == len(catalogue.present()), history
        rematched += rematch(inc)
        if step % 5 == 4:
            load_days(inc, source)  # a daily run in between: re-match, then its days replaced
        from_scratch(source, tmp_path / "scratch.duckdb")
        assert tables(tmp_path / "incremental.duckdb") == tables(tmp_path / "scratch.duckdb"), history
    assert rematched > 0  # the sequence did move plays between songs


def test_a_song_id_moving_between_an_old_and_a_new_file_resolves_as_a_full_reload(tmp_path: Path) -> None:
    """The smallest source key wins a song_id: a new file sorting first takes it from an unchanged file (which is
    then quarantined as its duplicate, though it was not rewritten), and gives it back when removed."""
    data = tmp_path / "data"
    write_logs(data, random.Random(7))
    catalogue = Catalogue(data, random.Random(7))
    song = {"num_songs": 1, "artist_id": "AR1", "artist_latitude": None, "artist_longitude": None,
            "artist_location": "", "artist_name": "Chase & Status", "song_id": "SO1", "title": "Ten Tonne",
            "duration": 337.68444, "year": 2005}
    later, other, first = "song_data/B/B/X/TRBB0.json", "song_data/B/A/X/TRBA0.json", "song_data/A/A/X/TRAA0.json"
    catalogue.write(later, json.dumps(song))
    catalogue.write(other, json.dumps(song | {"song_id": "SO2", "title": "Halo"}))
    source = LocalFolderSource(root=str(data))
    inc = DuckDBWarehouse(path=str(tmp_path / "incremental.duckdb"))
    stage_songs(inc, source)
    load_days(inc, source)
    before = tables(tmp_path / "incremental.duckdb")[SONGPLAYS.name]

    def refresh() -> tuple[LoadStats, int]:
        stats = stage_songs(inc, source)
        plays = rematch(inc)
        from_scratch(source, tmp_path / "scratch.duckdb")
        assert tables(tmp_path / "incremental.duckdb") == tables(tmp_path / "scratch.duckdb")
        return stats, plays

    catalogue.write(first, json.dumps(song | {"title": "Intro", "artist_name": "Beyonce"}))
    stats, plays = refresh()
    assert (stats.files, stats.detail["files_reread_for_song_id"]) == (2, 1)  # the new file and the old winner
    with duckdb.connect(str(tmp_path / "incremental.duckdb"), read_only=True) as con:
        assert con.execute("SELECT source_key, reason FROM rejected_records").fetchall() == [
            (later, f"duplicate of {first}:1")]
        assert con.execute("SELECT source_key FROM staging_songs WHERE song_id = 'SO1'").fetchall() == [(first,)]
    assert plays > 0  # plays of Ten Tonne lost their song; plays of (Intro, Beyonce, 337.68444) found it

    catalogue.remove(first)
    stats, plays = refresh()
    assert (stats.files, stats.detail["files_removed"], stats.detail["files_reread_for_song_id"]) == (1, 1, 1)
    assert tables(tmp_path / "incremental.duckdb")[SONGPLAYS.name] == before

    stats, plays = refresh()  # nothing changed: nothing read, nothing re-matched
    assert (stats.files, plays) == (0, 0)


def test_a_warehouse_without_per_file_versions_is_reloaded_whole(tmp_path: Path) -> None:
    """Versions that do not describe the tables (a warehouse loaded before per-file versions, or a table changed
    by hand) make the next load a full one, never a wrong incremental one."""
    data = tmp_path / "data"
    write_logs(data, random.Random(3))
    catalogue = Catalogue(data, random.Random(3))
    for key in KEYS[:5]:
        catalogue.write(key, catalogue.song())
    source = LocalFolderSource(root=str(data))
    db = tmp_path / "w.duckdb"
    wh = DuckDBWarehouse(path=str(db))
    assert stage_songs(wh, source).detail["load_mode"] == "full"
    assert stage_songs(wh, source).detail["load_mode"] == "incremental"
    with duckdb.connect(str(db)) as con:
        con.execute("DELETE FROM source_versions WHERE source_key = ?", [KEYS[0]])
    stats = stage_songs(wh, source)
    assert stats.detail["load_mode"] == "full" and stats.files == 5
    assert stage_songs(wh, source).detail["load_mode"] == "incremental"


def test_a_warehouse_whose_plays_were_matched_before_song_matches_existed_is_rematched_whole(tmp_path: Path) -> None:
    """songplays matched by an older version (no song_matches rows): the first re-match re-derives every play, so
    plays matched to a song since removed lose it."""
    data = tmp_path / "data"
    write_logs(data, random.Random(5))
    catalogue = Catalogue(data, random.Random(5))
    song = {"num_songs": 1, "artist_id": "AR1", "artist_latitude": None, "artist_longitude": None,
            "artist_location": "", "artist_name": "Chase & Status", "song_id": "SO1", "title": "Ten Tonne",
            "duration": 337.68444, "year": 2005}
    catalogue.write(KEYS[0], json.dumps(song))
    catalogue.write(KEYS[1], json.dumps(song | {"song_id": "SO2", "title": "Halo"}))
    source = LocalFolderSource(root=str(data))
    db = tmp_path / "w.duckdb"
    wh = DuckDBWarehouse(path=str(db))
    stage_songs(wh, source)
    load_days(wh, source)
    with duckdb.connect(str(db)) as con:
        con.execute("DELETE FROM song_matches")  # as a warehouse loaded before the table existed
    catalogue.remove(KEYS[0])
    stage_songs(wh, source)
    assert rematch(wh) > 0
    scratch = tmp_path / "scratch.duckdb"
    from_scratch(source, scratch)
    assert tables(db) == tables(scratch)


def test_on_s3_only_objects_with_a_new_etag_are_fetched(real_sample: Path, tmp_path: Path) -> None:
    """Against a real S3 API (moto's server on loopback): a re-uploaded song object with new content (a new ETag)
    is the only one fetched; the same content re-uploaded (same ETag) is not fetched at all."""
    with running_moto() as endpoint:
        upload_tree(endpoint, "songs", real_sample, ("song_data/**/*.json",))
        source = s3_source(endpoint, "songs")
        inc = DuckDBWarehouse(path=str(tmp_path / "incremental.duckdb"))
        assert stage_songs(inc, source).files == len(source.song_objects())
        s3 = client(endpoint)
        first, second = (o.key for o in source.song_objects()[:2])
        body = json.loads(s3.get_object(Bucket="songs", Key=first)["Body"].read())
        s3.put_object(Bucket="songs", Key=first, Body=json.dumps(body | {"title": "Retitled"}).encode())
        s3.put_object(Bucket="songs", Key=second, Body=s3.get_object(Bucket="songs", Key=second)["Body"].read())
        stats = stage_songs(inc, source)
        assert (stats.detail["load_mode"], stats.files, stats.detail["files_new_or_changed"]) == ("incremental", 1, 1)
        scratch = DuckDBWarehouse(path=str(tmp_path / "scratch.duckdb"))
        stage_songs(scratch, source)
    staged = (STAGING_SONGS, REJECTED_RECORDS, SOURCE_VERSIONS)
    assert tables(tmp_path / "incremental.duckdb", staged) == tables(tmp_path / "scratch.duckdb", staged)
