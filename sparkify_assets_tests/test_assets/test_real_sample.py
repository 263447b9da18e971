"""The whole graph on the real Sparkify sample, every table checked against expectations computed from the
raw files (see expected.py), not against numbers pasted from a run."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from dagster import DagsterInstance

from sparkify_assets.run import materialize_days
from sparkify_assets_tests.conftest import NOVEMBER, failed_checks, local_defs
from sparkify_assets_tests.support import expected, warehouse_snapshot


@pytest.fixture(scope="module")
def loaded(real_sample: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, expected.Expected]:
    db = tmp_path_factory.mktemp("real") / "warehouse.duckdb"
    result = materialize_days(local_defs(real_sample, db), NOVEMBER, DagsterInstance.ephemeral())
    assert result.success
    # The real sample matches almost no songs (1 play in 6,820), so only the match-rate warning may fire.
    assert failed_checks(result) <= {("songplays", "song_match_rate")}
    assert len(result.get_asset_check_evaluations()) >= 30
    return db, expected.compute(real_sample)


def test_staging_holds_every_line_and_song(loaded: tuple[Path, expected.Expected]) -> None:
    db, exp = loaded
    staged = warehouse_snapshot.table(db, "staging_events")
    assert len(staged) == len(exp.events)
    assert sorted(zip(staged.source_key, staged.line_number, strict=True)) == sorted(
        zip(exp.events._key, exp.events._line, strict=True))
    assert len(warehouse_snapshot.table(db, "staging_songs")) == len(exp.songs)
    assert len(warehouse_snapshot.table(db, "rejected_records")) == 0


def test_songplays_are_every_nextsong_event_with_its_match(loaded: tuple[Path, expected.Expected]) -> None:
    db, exp = loaded
    plays = warehouse_snapshot.table(db, "songplays").set_index("songplay_id").sort_index()
    want = exp.songplays.set_index("songplay_id").sort_index()
    assert plays.index.is_unique
    assert list(plays.index) == list(want.index)
    assert plays.song_id.notna().sum() == want.song_id.notna().sum()
    assert (plays.song_id.fillna("") == want.song_id.fillna("")).all()
    assert (plays.artist_id.fillna("") == want.artist_id.fillna("")).all()
    assert (plays.start_time == want.start_time).all()
    assert (plays.level == want.level).all()


def test_users_have_the_level_of_their_latest_event(loaded: tuple[Path, expected.Expected]) -> None:
    db, exp = loaded
    users = warehouse_snapshot.table(db, "users").set_index("user_id").sort_index()
    assert users.index.is_unique
    assert list(users.index) == list(exp.users.index)
    assert (users.level == exp.users.level).all()
    assert (users.first_name == exp.users.firstName).all()
    # Users who changed level during the month exist in the sample, so the rule is really exercised.
    logged_in = exp.events[exp.events.userId != ""]
    assert (logged_in.groupby("userId")["level"].nunique() > 1).any()


def test_dimensions_have_one_row_per_key(loaded: tuple[Path, expected.Expected]) -> None:
    db, exp = loaded
    songs = warehouse_snapshot.table(db, "songs")
    artists = warehouse_snapshot.table(db, "artists")
    assert songs.song_id.is_unique and set(songs.song_id) == set(exp.songs.song_id)
    assert artists.artist_id.is_unique and set(artists.artist_id) == set(exp.songs.artist_id)


def test_time_rows_are_the_distinct_start_times(loaded: tuple[Path, expected.Expected]) -> None:
    db, exp = loaded
    time = warehouse_snapshot.table(db, "time").sort_values("start_time")
    starts = pd.Series(sorted(exp.songplays.start_time.unique()))
    assert list(time.start_time) == list(starts)
    assert list(time.hour) == list(starts.dt.hour)
    assert list(time.weekday) == list(starts.dt.day_of_week + 1)  # ISO: Monday = 1
    assert list(time.week) == list(starts.dt.isocalendar().week)
