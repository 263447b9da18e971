"""Writes a whole data set: song files in parallel threads while the events are simulated."""

from __future__ import annotations

import json
import random
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import date, datetime, timezone
from pathlib import Path

from sparkify_assets.sample_data.events import EventSim, User, plan_switches
from sparkify_assets.sample_data.formats import Song, js, log_json_path_document
from sparkify_assets.sample_data.songs import make_catalog, make_songs


def write_folder(folder: Path, files: Sequence[tuple[str, bytes]]) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for name, data in files:
        with open(folder / name, "wb") as handle:
            handle.write(data)


def check(days: int, events_per_day: int, songs: int, users: int, match_share: float) -> None:
    if days < 1 or events_per_day < 0 or songs < 0 or users < 1:
        raise ValueError("need days >= 1, users >= 1, events_per_day >= 0 and songs >= 0")
    if not 0.0 <= match_share <= 1.0:
        raise ValueError(f"match_share must be within [0, 1], got {match_share}")


def generate(
    out: Path,
    *,
    start: date = date(2018, 11, 1),
    days: int = 30,
    events_per_day: int = 300,
    songs: int = 200,
    users: int = 100,
    match_share: float = 0.5,
    seed: int = 42,
) -> dict[str, int]:
    """Write song_data/, log_data/ and log_json_path.json under ``out``; return counts of what was written.

    Same arguments give byte-identical files.  Songs, users and events use separate seeded streams, so
    e.g. changing ``events_per_day`` leaves song_data unchanged.  Exactly ``days * events_per_day``
    events are written; about ``match_share`` of the NextSong events name a (title, artist, duration)
    present in song_data (none when ``songs`` is 0), the others name songs absent from it.  When more
    listening is asked for than fits in a day, a user's gaps are compressed, so ``ts`` deltas then no
    longer equal song lengths.  Existing files are overwritten but stale ones are not removed (the
    CLI's ``--force`` does that).
    """
    check(days, events_per_day, songs, users, match_share)
    out = Path(out)
    song_rows, n_artists, n_conflicting = make_songs(random.Random(f"sparkify-songs-{seed}"), songs)
    folders: dict[Path, list[tuple[str, bytes]]] = {}
    for track, obj, pretty in song_rows:
        text = json.dumps(obj, indent=2) + "\n" if pretty else json.dumps(obj)
        folder = out / "song_data" / track[2] / track[3] / track[4]
        folders.setdefault(folder, []).append((f"{track}.json", text.encode("ascii")))
    out.mkdir(parents=True, exist_ok=True)
    (out / "log_json_path.json").write_bytes(log_json_path_document().encode("ascii"))

    objects = [obj for _, obj, _ in song_rows]
    matched: list[Song] = [
        (js(str(o["artist_name"])), js(str(o["title"])), repr(o["duration"]), True) for o in objects
    ]
    catalog = make_catalog(random.Random(f"sparkify-catalog-{seed}"), objects, max(500, 2 * songs))
    start_sec = int(datetime(start.year, start.month, start.day, tzinfo=timezone.utc).timestamp())
    user_rng = random.Random(f"sparkify-users-{seed}")
    people = [User(user_rng, i, start_sec) for i in range(users)]
    plan_switches(user_rng, people, days)
    sim = EventSim(random.Random(f"sparkify-events-{seed}"), people, matched, catalog, match_share)
    # Creating tens of thousands of small files is I/O-bound and parallelises well across folders;
    # do it in threads while the main thread simulates events (the bytes are already fixed).
    with ThreadPoolExecutor(max_workers=8) as pool:
        jobs = [pool.submit(write_folder, folder, files) for folder, files in folders.items()]
        events, log_paths = sim.run(out, start, days, events_per_day)
        for job in jobs:
            job.result()
    return {
        "files_written": len(song_rows) + len(log_paths) + 1,
        "song_files": len(song_rows),
        "log_files": len(log_paths),
        "events": events,
        "nextsong_events": sim.nextsong,
        "matched_nextsong_events": sim.matched_plays,
        "songs": len(song_rows),
        "artists": n_artists,
        "conflicting_artists": n_conflicting,
        "users": users,
        "level_switches": sim.switches,
        "days": days,
    }
