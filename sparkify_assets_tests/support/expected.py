"""What the warehouse must hold, computed independently from the raw files with plain Python and pandas.

Nothing here uses the project's SQL or table definitions: it re-derives the semantics from the design notes, so
a bug in the project's SQL cannot hide behind the same bug in the expectation.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path

import pandas as pd


@dataclass
class Expected:
    events: pd.DataFrame  # one row per log line, with file and line number
    songs: pd.DataFrame  # one row per song file
    songplays: pd.DataFrame
    users: pd.DataFrame


def read_events(root: Path) -> pd.DataFrame:
    rows = []
    for path in sorted((root / "log_data").rglob("*.json")):
        key = path.relative_to(root).as_posix()
        for n, line in enumerate(path.read_text(encoding="utf-8").split("\n"), start=1):
            if line.strip():
                rows.append({**json.loads(line), "_key": key, "_line": n})
    return pd.DataFrame(rows)


def read_songs(root: Path) -> pd.DataFrame:
    rows = []
    for path in sorted((root / "song_data").rglob("*.json")):
        rows.append({**json.loads(path.read_text(encoding="utf-8")), "_key": path.relative_to(root).as_posix()})
    return pd.DataFrame(rows)


def songplay_id(e: pd.Series) -> str:
    key = "|".join("" if pd.isna(v) or v == "" else str(int(v)) for v in
                   (e["userId"], e["sessionId"], e["itemInSession"], e["ts"]))
    return hashlib.md5(key.encode()).hexdigest()


def compute(root: Path) -> Expected:
    events = read_events(root)
    songs = read_songs(root)
    plays = events[events["page"] == "NextSong"].copy()
    catalogue = {}
    for s in songs.sort_values("song_id").itertuples():
        catalogue.setdefault((s.title, s.artist_name, s.duration), (s.song_id, s.artist_id))
    matches = [catalogue.get((e.song, e.artist, e.length)) for e in plays.itertuples()]
    plays["song_id"] = [m[0] if m else None for m in matches]
    plays["artist_id"] = [m[1] if m else None for m in matches]
    plays["songplay_id"] = plays.apply(songplay_id, axis=1)
    plays["start_time"] = pd.to_datetime(plays["ts"], unit="ms")
    logged_in = events[events["userId"] != ""].copy()
    logged_in["user_id"] = logged_in["userId"].astype(int)
    latest = logged_in.sort_values(["ts", "_key", "_line"]).groupby("user_id").tail(1).set_index("user_id")
    users = latest[["firstName", "lastName", "gender", "level"]].sort_index()
    return Expected(events=events, songs=songs, songplays=plays, users=users)
