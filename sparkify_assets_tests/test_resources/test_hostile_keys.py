"""Keys are data, never paths (issue 18 item 1): hostile keys in a real S3 API (moto's server) and hostile links in
a local data folder are refused before anything is read with them, quarantined by the load that lists them (or
named in its failure), and never followed by the loads or by the sensor; nothing is written outside a run's folder.
"""

from __future__ import annotations

import os
import tempfile
import uuid
from collections.abc import Iterator
from dataclasses import replace
from datetime import date
from pathlib import Path

import duckdb
import pytest
from dagster import AssetKey, DagsterInstance, Definitions, ExecuteInProcessResult

from sparkify_assets.automation import build_source_sensor
from sparkify_assets.definitions import build_definitions
from sparkify_assets.resources.duckdb_warehouse import DuckDBWarehouse
from sparkify_assets.resources.keys import key_problem, stored
from sparkify_assets.resources.source import LocalFolderSource, SourceDataError, log_key
from sparkify_assets.settings import Settings
from sparkify_assets_tests.conftest import failed_checks
from sparkify_assets_tests.support import redshift as rsup
from sparkify_assets_tests.support.automation import days_requested, tick
from sparkify_assets_tests.support.postgres import PgServer
from sparkify_assets_tests.support.s3 import client, running_moto, s3_source, upload_tree

DAY = date(2018, 11, 5)
UP = "../" * 6  # from <run folder>/song_data/A/A/A/ (or log_data/2018/11/) out of the run's folder and its parent

SAFE = ["song_data/A/A/A/TRAAAAW128F429D538.json", "log_data/2018/11/2018-11-05-events.json",
        "log_data/2018/11/2018-11-05-events-2.json", "log_data/README.md", "song_data/notes.txt"]
HOSTILE = [
    "song_data/A/A/A/../../../../x.json", "song_data//x.json", "song_data/A/./x.json", "/song_data/x.json",
    "song_data/A/x\n.json", "song_data/A/x\u202e.json", "song_data/A/" + "a" * 600 + ".json",
    "song_data/A/..", "song_data/A/x y.json", "song_data\\..\\x.json",
    "log_data/2018/11/../2018-11-05-events.json", "log_data/2018/12/2018-11-05-events.json",
    "log_data/2018/11/2018-11-31-events.json", "log_data/2018/11/events.json",
]


@pytest.mark.parametrize("key", SAFE)
def test_the_layouts_keys_pass(key: str) -> None:
    assert key_problem(key) is None


@pytest.mark.parametrize("key", HOSTILE)
def test_hostile_keys_are_refused_with_a_reason(key: str) -> None:
    assert key_problem(key)
    assert "\n" not in stored(key) and len(stored(key)) <= 1024


@pytest.fixture(scope="module")
def endpoint() -> Iterator[str]:
    with running_moto() as url:
        yield url


def rejects(db: Path) -> dict[str, tuple[str, str | None, int, str]]:
    with duckdb.connect(str(db), read_only=True) as con:
        rows = con.execute("SELECT source_key, target_table, partition_key, line_number, reason "
                           "FROM rejected_records WHERE line_number = 0").fetchall()
    return {key: (table, day, line, reason) for key, table, day, line, reason in rows}


def load_staging(defs: Definitions, instance: DagsterInstance) -> ExecuteInProcessResult:
    """The two staging loads of the day, with their checks (the refusals happen there; the rest is as usual)."""
    return defs.resolve_implicit_global_asset_job_def().execute_in_process(
        instance=instance, partition_key=DAY.isoformat(), raise_on_error=False,
        asset_selection=[AssetKey("staging_events"), AssetKey("staging_songs")])


def files_under(folder: Path) -> set[str]:
    return {p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file()}


def test_hostile_s3_keys_are_quarantined_never_followed(real_sample: Path, endpoint: str, tmp_path: Path,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    """The real sample's day and songs plus hostile keys of several shapes: the loads succeed, every hostile key
    is in rejected_records with its reason, the reconciliation checks pass, and the only files written are the
    warehouse's (the downloads' folder is gone, nothing landed where a key pointed); a rerun adds no row and drops a
    key removed meanwhile; the sensor requests only the real day, once."""
    bucket = f"sparkify-{uuid.uuid4().hex[:12]}"
    upload_tree(endpoint, bucket, real_sample, (log_key(DAY), "song_data/A/A/**/*.json"))
    tag = uuid.uuid4().hex[:8]
    hostile = {
        f"song_data/A/A/A/{UP}escaped-{tag}.json": "'..' segment",
        f"song_data//..//escaped2-{tag}.json": "empty segment",
        f"song_data/A/A/A/tab\tx\u202e-{tag}.json": "control",
        "song_data/A/A/A/" + "b" * 700 + ".json": "longer than",
        f"log_data/2018/11/{UP}2018-11-05-events.json": "'..' segment",
        f"log_data/2018/11/{UP}escaped3-{tag}.json": "'..' segment",
        f"log_data//..//..//escaped4-{tag}.json": "empty segment",  # outside every month folder
    }
    s3 = client(endpoint)
    for key in hostile:
        s3.put_object(Bucket=bucket, Key=key, Body=b'{"song_id": "EVIL", "artist_id": "EVIL"}\n')
    runs = tmp_path / "runs"  # tempfile's folder for this test: every download folder is made in it
    runs.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(runs))
    db = tmp_path / "s3.duckdb"
    defs = build_definitions(source=s3_source(endpoint, bucket), warehouse=DuckDBWarehouse(path=str(db)))

    with DagsterInstance.ephemeral() as instance:
        # The sensor (before any load, so the day is new) requests the real day only, and once: no loop.
        sensor = build_source_sensor(replace(Settings.from_env(), sensor_max_runs=100))
        first = tick(sensor, defs, instance, None)
        assert days_requested(first) == [DAY.isoformat()]
        assert all(tag not in (r.run_key or "") and ".." not in (r.run_key or "") for r in first.run_requests)
        assert tick(sensor, defs, instance, first.cursor).run_requests == []

        result = load_staging(defs, instance)
        assert result.success and failed_checks(result) == set(), failed_checks(result)
        found = rejects(db)
        assert set(found) == {stored(k) for k in hostile}
        for key, why in hostile.items():
            table, day, line, reason = found[stored(key)]
            assert why in reason and reason.startswith("key refused, not read")
            assert table == ("staging_songs" if key.startswith("song_data/") else "staging_events")
        assert found[stored(f"log_data/2018/11/{UP}2018-11-05-events.json")][1] == "2018-11-05"
        assert found[stored(f"log_data/2018/11/{UP}escaped3-{tag}.json")][1] is None
        assert found[stored(f"log_data//..//..//escaped4-{tag}.json")][1] is None
        with duckdb.connect(str(db), read_only=True) as con:
            assert con.execute("SELECT count(*) FROM staging_songs WHERE song_id = 'EVIL'").fetchone() == (0,)

        # Idempotent: one row per refused key, still balanced; a refused key removed from the bucket leaves.
        gone = f"log_data//..//..//escaped4-{tag}.json"
        s3.delete_object(Bucket=bucket, Key=gone)
        again = load_staging(defs, instance)
        assert again.success and failed_checks(again) == set()
        assert set(rejects(db)) == set(found) - {stored(gone)}

    assert files_under(runs) == set()  # every download folder removed, nothing written beside them
    assert not [p for p in tmp_path.parent.rglob(f"*{tag}*")], "a hostile key was written as a path"
    written = files_under(tmp_path)
    assert written and all(name.startswith("s3.duckdb") for name in written), written  # the warehouse's files only


def test_a_day_with_only_a_refused_key_fails_naming_it(endpoint: str) -> None:
    bucket = f"sparkify-{uuid.uuid4().hex[:12]}"
    s3 = client(endpoint)
    s3.create_bucket(Bucket=bucket)
    s3.put_object(Bucket=bucket, Key="log_data/2018/11/x/../2018-11-05-events.json", Body=b"{}\n")
    with pytest.raises(SourceDataError, match=r"refused, not read: 'log_data/2018/11/x/\.\./2018-11-05-events\.json'"):
        s3_source(endpoint, bucket).log_objects([DAY])


def test_a_local_root_with_links_leaving_it_is_refused_and_never_followed(real_sample: Path, tmp_path: Path) -> None:
    """A song file and a folder linking out of the data root, and a folder linking back to its own parent (a
    loop), are quarantined, not followed."""
    data, outside = tmp_path / "data", tmp_path / "outside"
    (data / "log_data/2018/11").mkdir(parents=True)
    (data / log_key(DAY)).write_bytes((real_sample / log_key(DAY)).read_bytes())
    songs = data / "song_data/A/A/A"
    songs.mkdir(parents=True)
    for path in sorted((real_sample / "song_data/A/A/A").glob("*.json")):
        (songs / path.name).write_bytes(path.read_bytes())
    outside.mkdir()
    secret = outside / "secret.json"
    secret.write_text('{"song_id": "LEAKED", "artist_id": "LEAKED", "title": "x", "num_songs": 1}')
    (songs / "TRLEAK.json").symlink_to(secret)
    (data / "song_data/B").symlink_to(outside, target_is_directory=True)
    (data / "song_data/A/A/loop").symlink_to(data / "song_data/A", target_is_directory=True)
    before = {p: p.stat().st_mtime_ns for p in outside.iterdir()}

    source = LocalFolderSource(root=str(data))
    keys = {o.key for o in source.song_objects()}
    assert "song_data/A/A/A/TRLEAK.json" not in keys and not any(k.startswith("song_data/B/") for k in keys)
    refused = {r.key: r.reason for r in source.rejected_song_keys()}
    assert refused == {"song_data/A/A/A/TRLEAK.json": "a symbolic link leading outside the data root",
                       "song_data/B": "a symbolic link leading outside the data root",
                       "song_data/A/A/loop": "a symbolic link back to a folder holding it (a loop)"}
    assert not any(k.startswith("song_data/A/A/loop/") for k in keys)

    db = tmp_path / "local.duckdb"
    defs = build_definitions(source=source, warehouse=DuckDBWarehouse(path=str(db)))
    with DagsterInstance.ephemeral() as instance:
        result = load_staging(defs, instance)
    assert result.success and failed_checks(result) == set(), failed_checks(result)
    assert set(rejects(db)) == set(refused)
    with duckdb.connect(str(db), read_only=True) as con:
        assert con.execute("SELECT count(*) FROM staging_songs WHERE song_id = 'LEAKED'").fetchone() == (0,)
    assert {p: p.stat().st_mtime_ns for p in outside.iterdir()} == before
    assert os.path.islink(songs / "TRLEAK.json")


def test_on_redshift_refused_keys_are_quarantined_the_same_way(real_sample: Path, endpoint: str,
                                                                pg_server: PgServer) -> None:
    """The Redshift path (PostgreSQL behind the COPY emulator): the same refusals, the same quarantine rows (with
    the dialect's own parameters), and the reconciliation checks pass."""
    bucket = f"sparkify-{uuid.uuid4().hex[:12]}"
    upload_tree(endpoint, bucket, real_sample, (log_key(DAY), "song_data/A/A/**/*.json", "log_json_path.json"))
    hostile = [f"song_data/A/A/A/{UP}escaped-{uuid.uuid4().hex[:6]}.json", "song_data/A//B.json",
               f"log_data/2018/11/{UP}2018-11-05-events.json"]
    s3 = client(endpoint)
    for key in hostile:
        s3.put_object(Bucket=bucket, Key=key, Body=b'{"song_id": "EVIL"}\n')
    with rsup.schema_owned_by_secret_user(pg_server) as (schema, user), DagsterInstance.ephemeral() as instance:
        defs = build_definitions(source=s3_source(endpoint, bucket), warehouse=rsup.warehouse(pg_server, schema,
                                                                                               user, endpoint))
        result = load_staging(defs, instance)
        assert result.success and failed_checks(result) == set(), failed_checks(result)
        rows = rsup.table_rows_pg(pg_server, schema, "rejected_records",
                                  ("source_key", "target_table", "partition_key", "line_number"))
    assert sorted(r for r in rows if r[3] == 0) == sorted([
        (stored(hostile[0]), "staging_songs", None, 0), (stored(hostile[1]), "staging_songs", None, 0),
        (stored(hostile[2]), "staging_events", DAY.isoformat(), 0)])
