"""The sample-data generator against the real Udacity sample: same layout, key order, JSON types and
formatting, plus determinism, the requested join share, level switches and the CLI. Real files, no mocks."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from collections import Counter, defaultdict
from datetime import date, datetime, timedelta, timezone
from itertools import pairwise
from pathlib import Path

import pytest

from sparkify_assets.sample_data import EVENT_FIELDS, SONG_FIELDS, generate, main

REPO = Path(__file__).resolve().parents[2]
REAL = Path(os.environ.get("SPARKIFY_REAL_SAMPLE", REPO.parent / "shared" / "data" / "sparkify"))
SONG_PATH = re.compile(r"song_data/([A-Z])/([A-Z])/([A-Z])/(TR[A-Z0-9]{16})\.json")
LOG_PATH = re.compile(r"log_data/(\d{4})/(\d{2})/(\d{4})-(\d{2})-(\d{2})-events\.json")
SMALL = {"start": date(2018, 11, 1), "days": 4, "events_per_day": 1500, "songs": 90, "users": 20, "seed": 7}

Song = tuple[str, str, dict]  # (path relative to the root, raw text, parsed object)
Event = tuple[str, str, dict]  # (path relative to the root, raw line, parsed object)


def _kind(value: object) -> str:
    return "null" if value is None else type(value).__name__


def read_songs(root: Path) -> list[Song]:
    songs = []
    for path in sorted((root / "song_data").rglob("*.json")):
        raw = path.read_text(encoding="utf-8")
        songs.append((path.relative_to(root).as_posix(), raw, json.loads(raw)))
    return songs


def read_events(root: Path) -> list[Event]:
    """Every event in file order (files sorted by name = by day), as loaders see them."""
    events = []
    for path in sorted((root / "log_data").rglob("*.json")):
        raw = path.read_text(encoding="utf-8")
        rel = path.relative_to(root).as_posix()
        events.extend((rel, line, json.loads(line)) for line in raw.split("\n") if line)
    return events


def snapshot(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def kinds_by(events: list[Event], key: str) -> dict[tuple[str, str], set[str]]:
    """JSON types seen per (value of ``key``, field): captures nullability patterns, e.g. per auth."""
    seen: dict[tuple[str, str], set[str]] = defaultdict(set)
    for _, _, event in events:
        for field in EVENT_FIELDS:
            seen[event[key], field].add(_kind(event[field]))
    return dict(seen)


@pytest.fixture(scope="module")
def real() -> Path:
    if not (REAL / "log_data").is_dir() or not (REAL / "song_data").is_dir():
        pytest.skip(f"the real Sparkify sample is not at {REAL} (set SPARKIFY_REAL_SAMPLE to its folder)")
    return REAL


@pytest.fixture(scope="module")
def real_events(real: Path) -> list[Event]:
    return read_events(real)


@pytest.fixture(scope="module")
def generated(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict]:
    root = tmp_path_factory.mktemp("generated")
    return root, generate(root, match_share=0.5, **SMALL)


@pytest.fixture(scope="module")
def gen_events(generated: tuple[Path, dict]) -> list[Event]:
    return read_events(generated[0])


def test_song_files_have_the_real_shape(real: Path, generated: tuple[Path, dict]) -> None:
    real_songs, gen_songs = read_songs(real), read_songs(generated[0])
    assert len(gen_songs) == SMALL["songs"] == generated[1]["songs"]
    kinds: dict[str, dict[str, set[str]]] = {}
    for name, songs in (("real", real_songs), ("generated", gen_songs)):
        kinds[name] = defaultdict(set)
        for rel, raw, song in songs:
            assert tuple(song) == SONG_FIELDS, rel
            # one line with json.dumps' default separators, or (a few real files) indent=2 + newline
            assert raw in (json.dumps(song), json.dumps(song, indent=2) + "\n"), rel
            match = SONG_PATH.fullmatch(rel)
            assert match, rel
            assert match.group(1, 2, 3) == tuple(match.group(4)[2:5]), rel
            assert re.fullmatch(r"AR[A-Z0-9]{16}", song["artist_id"]), rel
            assert re.fullmatch(r"SO[A-Z0-9]{16}", song["song_id"]), rel
            assert song["num_songs"] == 1
            for field in SONG_FIELDS:
                kinds[name][field].add(_kind(song[field]))
    assert kinds["generated"] == kinds["real"]
    assert sum(raw.endswith("\n") for _, raw, _ in gen_songs) < len(gen_songs) / 4  # mostly one-liners


def test_song_files_carry_the_real_quirks(generated: tuple[Path, dict]) -> None:
    songs = [song for _, _, song in read_songs(generated[0])]
    assert {s["artist_latitude"] is None for s in songs} == {True, False}
    assert all((s["artist_latitude"] is None) == (s["artist_longitude"] is None) for s in songs)
    assert any(s["artist_location"] == "" for s in songs)
    assert all(s["artist_latitude"] is None for s in songs if s["artist_location"] == "")
    assert {s["year"] == 0 for s in songs} == {True, False}
    assert any(not (s["title"] + s["artist_name"]).isascii() for s in songs)
    assert len({s["song_id"] for s in songs}) == len(songs)
    by_artist: dict[str, list[dict]] = defaultdict(list)
    for song in songs:
        by_artist[song["artist_id"]].append(song)
    assert max(len(v) for v in by_artist.values()) >= 3
    conflicting = [
        a
        for a, v in by_artist.items()
        if len({(s["artist_name"], s["artist_location"], s["artist_latitude"]) for s in v}) > 1
    ]
    assert len(conflicting) == generated[1]["conflicting_artists"] >= 1


def test_event_lines_have_the_real_shape(real_events: list[Event], gen_events: list[Event]) -> None:
    for events in (real_events, gen_events):
        for rel, line, event in events:
            assert tuple(event) == EVENT_FIELDS, rel
            # compact separators, '/' escaped, ASCII-only: the exact bytes the real files have
            assert line == json.dumps(event, separators=(",", ":")).replace("/", "\\/"), line
            nextsong = event["page"] == "NextSong"
            assert (event["length"] is not None) == (event["song"] is not None) == nextsong, line
            assert (event["artist"] is not None) == nextsong, line
            assert isinstance(event["userId"], str) and isinstance(event["ts"], int), line
            assert (event["userId"] == "") == (event["auth"] == "Logged Out"), line
            if event["userAgent"] is not None:  # quoted only when it holds a comma (a CSV artifact)
                assert event["userAgent"].startswith('"') == ("," in event["userAgent"]), line
    assert kinds_by(gen_events, "auth") == kinds_by(real_events, "auth")
    real_pages, gen_pages = (
        Counter(e["page"] for *_, e in real_events),
        Counter(e["page"] for *_, e in gen_events),
    )
    assert set(gen_pages) <= set(real_pages)
    common = {page for page, n in real_pages.items() if n / len(real_events) > 0.004}
    assert common <= set(gen_pages), common - set(gen_pages)
    assert 0.75 < gen_pages["NextSong"] / len(gen_events) < 0.92
    method_status = {e["page"]: (e["method"], e["status"]) for *_, e in real_events}
    assert all(method_status[e["page"]] == (e["method"], e["status"]) for *_, e in gen_events)
    for key in ("auth", "level", "gender"):
        assert {e[key] for *_, e in gen_events} == {e[key] for *_, e in real_events}, key


def test_log_files_are_one_utc_day_each_in_order(
    real_events: list[Event], generated: tuple[Path, dict], gen_events: list[Event]
) -> None:
    root, summary = generated
    days = [SMALL["start"] + timedelta(days=i) for i in range(SMALL["days"])]
    expected = [f"log_data/{d:%Y}/{d:%m}/{d:%Y-%m-%d}-events.json" for d in days]
    assert sorted(p.relative_to(root).as_posix() for p in (root / "log_data").rglob("*.json")) == expected
    assert summary["events"] == len(gen_events) == SMALL["days"] * SMALL["events_per_day"]
    assert summary["log_files"] == SMALL["days"]
    for events in (real_events, gen_events):
        per_file: dict[str, list[int]] = defaultdict(list)
        for rel, _, event in events:
            assert LOG_PATH.fullmatch(rel), rel
            per_file[rel].append(event["ts"])
            assert event["ts"] % 1000 == 796  # every real ts ends in .796 s
        for rel, stamps in per_file.items():
            match = LOG_PATH.fullmatch(rel)
            assert match and match.group(1, 2) == match.group(3, 4), rel
            day = datetime(*map(int, match.group(3, 4, 5)), tzinfo=timezone.utc)
            low = int(day.timestamp() * 1000)
            assert low <= stamps[0] and stamps[-1] < low + 86_400_000, rel
            assert stamps == sorted(stamps), rel
    for root_dir in (REAL, root):
        for path in (root_dir / "log_data").rglob("*.json"):
            assert not path.read_bytes().endswith(b"\n"), path  # no newline after the last line
    stamps = [(rel, e["ts"]) for rel, _, e in gen_events]
    assert len(set(stamps)) < len(stamps)  # some events share a millisecond, as in the real data


def test_sessions_count_items_and_keep_one_user(gen_events: list[Event]) -> None:
    items: dict[int, list[int]] = defaultdict(list)
    users: dict[int, set[str]] = defaultdict(set)
    files: dict[int, set[str]] = defaultdict(set)
    for rel, _, event in gen_events:
        items[event["sessionId"]].append(event["itemInSession"])
        files[event["sessionId"]].add(rel)
        if event["userId"]:
            users[event["sessionId"]].add(event["userId"])
    assert all(seq == list(range(len(seq))) for seq in items.values())
    assert all(len(u) == 1 for u in users.values())
    assert any(len(f) > 1 for f in files.values())  # some sessions run past midnight into the next file
    assert any(e["auth"] == "Logged Out" and e["page"] == "Home" for *_, e in gen_events)


def test_log_json_path_matches_the_real_one(real: Path, generated: tuple[Path, dict]) -> None:
    ours = json.loads((generated[0] / "log_json_path.json").read_text())
    assert ours == json.loads((real / "log_json_path.json").read_text())
    assert ours == {"jsonpaths": [f"$['{field}']" for field in EVENT_FIELDS]}


def test_same_seed_same_bytes_other_seed_other_bytes(tmp_path: Path) -> None:
    args = {"days": 2, "events_per_day": 150, "songs": 40, "users": 8}
    runs = (("a", 5), ("b", 5), ("c", 6))
    summaries = [generate(tmp_path / name, seed=seed, **args) for name, seed in runs]
    first, second, other = (snapshot(tmp_path / name) for name in "abc")
    assert first == second and summaries[0] == summaries[1]
    assert first.keys() != other.keys() or first != other
    # song_data depends only on the seed and the song count, not on the event settings
    generate(tmp_path / "d", seed=5, **{**args, "events_per_day": 90})
    songs = {k: v for k, v in snapshot(tmp_path / "d").items() if k.startswith("song_data/")}
    assert songs == {k: v for k, v in first.items() if k.startswith("song_data/")}


@pytest.mark.parametrize("share", [0.0, 0.3, 0.8, 1.0])
def test_share_of_plays_that_join_song_data(tmp_path: Path, share: float) -> None:
    summary = generate(tmp_path, days=2, events_per_day=900, songs=60, users=12, match_share=share, seed=11)
    songs = [song for _, _, song in read_songs(tmp_path)]
    triples = {(s["title"], s["artist_name"], s["duration"]) for s in songs}
    pairs = {(s["title"], s["artist_name"]) for s in songs}
    plays = [e for *_, e in read_events(tmp_path) if e["page"] == "NextSong"]
    matched = sum((e["song"], e["artist"], e["length"]) in triples for e in plays)
    assert len(plays) == summary["nextsong_events"] > 1000
    assert matched == summary["matched_nextsong_events"]
    assert abs(matched / len(plays) - share) <= 0.04
    if 0 < share < 1:  # some misses share title and artist with a song file but not its length
        misses = [e for e in plays if (e["song"], e["artist"], e["length"]) not in triples]
        assert any((e["song"], e["artist"]) in pairs for e in misses)


def level_switches(events: list[Event]) -> Counter[str]:
    """Check that each user's level only changes right after a Submit page; count the switches.

    Logged-out events belong to their session's user (they keep its level), so they are checked too.
    """
    switched: Counter[str] = Counter()
    owner = {e["sessionId"]: e["userId"] for *_, e in events if e["userId"]}
    timeline: dict[str, list[dict]] = defaultdict(list)
    for *_, event in events:
        timeline[owner.get(event["sessionId"], f"anonymous-{event['sessionId']}")].append(event)
    for user, seq in timeline.items():
        for before, after in pairwise(seq):
            if before["page"] == "Submit Upgrade":
                assert (before["level"], after["level"]) == ("free", "paid"), user
                switched["up"] += 1
            elif before["page"] == "Submit Downgrade":
                assert (before["level"], after["level"]) == ("paid", "free"), user
                switched["down"] += 1
            else:
                assert after["level"] == before["level"], (user, before, after)
    assert all(e["level"] == "free" for *_, e in events if e["page"] in ("Upgrade", "Submit Upgrade"))
    assert all(e["level"] == "paid" for *_, e in events if e["page"] in ("Downgrade", "Submit Downgrade"))
    return switched


def test_real_levels_switch_on_the_event_after_submit(real_events: list[Event]) -> None:
    assert level_switches(real_events)["up"] >= 1  # the rule the generator follows holds in the real data


def test_users_switch_level_on_the_next_event(generated: tuple[Path, dict], gen_events: list[Event]) -> None:
    switched = level_switches(gen_events)
    assert switched["up"] >= 1 and switched["down"] >= 1  # free -> paid, and a few paid -> free
    assert switched["up"] + switched["down"] == generated[1]["level_switches"]


def test_bad_arguments_are_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="match_share"):
        generate(tmp_path, match_share=1.5)
    with pytest.raises(ValueError):
        generate(tmp_path, days=0)
    assert not any(tmp_path.iterdir())


def test_cli_writes_refuses_then_forces(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "data"
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")])),
    }

    def cli(*extra: str) -> subprocess.CompletedProcess[str]:
        args = ["--out", str(out), "--days", "1", "--events-per-day", "40", "--songs", "8", "--users", "4"]
        command = [sys.executable, "-m", "sparkify_assets.sample_data", *args, *extra]
        return subprocess.run(command, cwd=REPO, env=env, capture_output=True, text=True, timeout=600)

    first = cli("--seed", "3")
    assert first.returncode == 0, first.stderr
    summary = json.loads(first.stdout[first.stdout.index("{") :])
    assert summary["events"] == 40 and summary["songs"] == 8 and summary["days"] == 1
    written = snapshot(out)
    stale = out / "song_data" / "Z" / "Z" / "Z" / "TRZZZZZ128F0000000.json"
    stale.parent.mkdir(parents=True)
    stale.write_text("{}")

    # the refusal path in-process (one interpreter start fewer; the CLI wiring is covered above/below)
    assert main(["--out", str(out), "--seed", "4"]) == 0
    assert "exists" in capsys.readouterr().out
    assert snapshot(out) == {**written, stale.relative_to(out).as_posix(): b"{}"}

    forced = cli("--seed", "4", "--force")
    assert forced.returncode == 0, forced.stderr
    assert not stale.exists()
    assert snapshot(out) != written and json.loads(forced.stdout[forced.stdout.index("{") :])["events"] == 40
