"""Song files and the played-but-unknown catalogue, with the real data's quirks (mojibake, near misses)."""

from __future__ import annotations

import random
from bisect import bisect
from collections.abc import Callable, Sequence
from itertools import accumulate

from sparkify_assets.sample_data.formats import PRETTY_SHARE, SONG_FIELDS, Song, as_logged, js
from sparkify_assets.sample_data.vocabulary import (
    ADJECTIVES,
    ALNUM,
    CONTRACTIONS,
    FIRST_F,
    FIRST_M,
    FOREIGN,
    HEX,
    LAST,
    PLACES,
    SUFFIXES,
    UPPER,
    WORDS,
)


def make_code(rng: random.Random, alphabet: str, k: int) -> str:
    return "".join(rng.choices(alphabet, k=k))


def make_unique(rng: random.Random, seen: set[str], make: Callable[[random.Random], str]) -> str:
    """Draw ids until one is new; only membership is tested, so the result stays deterministic."""
    while True:
        value = make(rng)
        if value not in seen:
            seen.add(value)
            return value


def make_track_id(rng: random.Random, fan: int) -> str:
    """'TR' + 16 like 'TRAAAAW128F429D538': 3 folder letters, 2 letters, a 128F/128E/12903 block, hex."""
    folders = "A" + rng.choice(UPPER[:fan]) + rng.choice(UPPER[:fan])
    block = rng.choice(("128F", "128E", "12903"))
    return f"TR{folders}{make_code(rng, UPPER, 2)}{block}{make_code(rng, HEX, 11 - len(block))}"


def make_artist_id(rng: random.Random) -> str:
    """'AR' + 16 like 'ARGCY1Y1187B9A4FA5'."""
    return f"AR{make_code(rng, ALNUM, 5)}1187{rng.choice('BF')}{make_code(rng, HEX, 6)}"


def make_song_id(rng: random.Random) -> str:
    """'SO' + 16 like 'SOGVQGJ12AB017F169'."""
    return f"SO{make_code(rng, UPPER, 5)}12A{make_code(rng, HEX, 8)}"


def make_title(rng: random.Random) -> str:
    """A plausible song title; ~4% carry non-ASCII words and ~3% a U+2019, so both log encodings show up."""
    r = rng.random()
    word, adjective = rng.choice(WORDS), rng.choice(ADJECTIVES)
    if r < 0.04:
        title = f"{rng.choice(FOREIGN)} {word}" if rng.random() < 0.5 else f"{word} {rng.choice(FOREIGN)}"
    elif r < 0.07:
        title = f"{rng.choice(CONTRACTIONS)} {rng.choice(('Stop', 'Cry', 'Wait'))} {word}"
    elif r < 0.35:
        title = f"{adjective} {word}"
    elif r < 0.5:
        title = f"{word} Of The {rng.choice(WORDS)}"
    elif r < 0.62:
        title = f"{adjective} Like A {word}"
    elif r < 0.75:
        title = f"The {adjective} {word}"
    else:
        title = f"{word} {rng.choice(WORDS)}"
    if rng.random() < 0.1:
        title = f"{title} ({rng.choice(SUFFIXES)})"
    return title


def make_artist_name(rng: random.Random) -> str:
    r = rng.random()
    if r < 0.3:
        return f"{rng.choice(FIRST_F + FIRST_M)} {rng.choice(LAST)}"
    if r < 0.5:
        return f"The {rng.choice(ADJECTIVES)} {rng.choice(WORDS)}s"
    if r < 0.65:
        return f"{rng.choice(ADJECTIVES)} {rng.choice(WORDS)}"
    if r < 0.75:
        return f"{rng.choice(LAST)} & The {rng.choice(WORDS)}s"
    if r < 0.82:
        return f"DJ {rng.choice(WORDS)} feat. {rng.choice(FIRST_F + FIRST_M)} {rng.choice(LAST)}"
    if r < 0.86:
        return f"{rng.choice(FOREIGN)} {rng.choice(WORDS)}"
    return f"{rng.choice(WORDS)} {rng.choice(WORDS)}"


def make_duration(rng: random.Random) -> float:
    """Song length in seconds, 5 decimals like the real data (median ~3:46, range 20 s to 20 min)."""
    return round(min(1200.0, max(20.0, rng.lognormvariate(5.42, 0.35))), 5)


def make_place(rng: random.Random) -> tuple[str, float | None, float | None]:
    """Artist location: 40% empty (then no coordinates), otherwise a place, coordinates missing for ~28%."""
    if rng.random() < 0.4:
        return "", None, None
    name, lat, lon = rng.choice(PLACES)
    return (name, None, None) if rng.random() < 0.28 else (name, lat, lon)


def make_name_variant(rng: random.Random, name: str) -> str:
    """Another spelling of an artist name, as the Million Song files have for a few artists."""
    if name.startswith("The "):
        return name[4:]
    if " & " in name:
        return name.replace(" & ", " and ")
    featuring = f"{name} feat. {rng.choice(FIRST_F)} {rng.choice(LAST)}"
    return rng.choice((f"The {name}", featuring, name.upper()))


def make_songs(rng: random.Random, n: int) -> tuple[list[tuple[str, dict[str, object], bool]], int, int]:
    """Build ``n`` song objects as (track id, object in SONG_FIELDS order, pretty-printed?).

    Artists get several songs (a third as many artists as songs, skewed), and ~5% of the multi-song
    artists get song files that disagree on name or location so the warehouse must pick one.
    Returns (songs, artist count, conflicting artist count).
    """
    if n == 0:
        return [], 0, 0
    seen: set[str] = set()
    n_artists = max(1, round(n / 3))
    artists = []
    for _ in range(n_artists):
        artist_id = make_unique(rng, seen, make_artist_id)
        artists.append((artist_id, make_artist_name(rng), *make_place(rng)))
    cum = list(accumulate(rng.paretovariate(1.2) for _ in range(n_artists)))
    owners = list(range(n_artists)) + [bisect(cum, rng.random() * cum[-1]) for _ in range(n - n_artists)]
    owners = [min(o, n_artists - 1) for o in owners]
    by_artist: dict[int, list[int]] = {}
    for index, owner in enumerate(owners):
        by_artist.setdefault(owner, []).append(index)
    overrides: dict[int, tuple[str, str, float | None, float | None]] = {}
    multi = [a for a in range(n_artists) if len(by_artist[a]) > 1]
    conflicting = rng.sample(multi, min(len(multi), max(1, round(len(multi) * 0.05)))) if multi else []
    for a in conflicting:
        _, name, location, lat, lon = artists[a]
        kind = rng.random()
        if kind < 0.5:
            name = make_name_variant(rng, name)
        if kind >= 0.35:
            location, lat, lon = ("", None, None) if location and rng.random() < 0.5 else rng.choice(PLACES)
            if location == artists[a][2]:
                location = f"{location}, USA" if location else "United States"
        for index in rng.sample(by_artist[a][1:], max(1, len(by_artist[a]) // 2)):
            overrides[index] = (name, location, lat, lon)

    # Track ids: 'TR' + 16; the folders are its 3rd-5th characters.  Like the real subset the 3rd is
    # always 'A'; the 4th/5th use only as many letters as keep a few dozen files per folder.
    fan = max(1, min(26, round((n / 12) ** 0.5)))
    songs = []
    for index, owner in enumerate(owners):
        artist_id, name, location, lat, lon = artists[owner]
        if index in overrides:
            name, location, lat, lon = overrides[index]
        track = make_unique(rng, seen, lambda r: make_track_id(r, fan))
        song_id = make_unique(rng, seen, make_song_id)
        year = 0 if rng.random() < 0.6 else int(rng.triangular(1955, 2011, 2006))
        values = (1, artist_id, lat, lon, location, name, song_id, make_title(rng), make_duration(rng), year)
        songs.append((track, dict(zip(SONG_FIELDS, values, strict=True)), rng.random() < PRETTY_SHARE))
    return songs, n_artists, len(conflicting)


def make_catalog(rng: random.Random, songs: Sequence[dict[str, object]], size: int) -> list[Song]:
    """Songs that are played but absent from song_data, encoded as the logs show them.

    ~10% are near misses of real song files (same title and artist but another length, or the same
    length with mojibake names) so a join that ignores ``length`` or encodings gets caught.
    """
    exact = {(s["title"], s["artist_name"], s["duration"]) for s in songs}
    artists = [make_artist_name(rng) for _ in range(max(1, size // 4))]
    catalog: list[Song] = []
    while len(catalog) < size:
        if songs and rng.random() < 0.1:
            base = songs[rng.randrange(len(songs))]
            title, artist, length = str(base["title"]), str(base["artist_name"]), float(str(base["duration"]))
            if as_logged(title + artist) == title + artist or rng.random() < 0.5:
                length = round(length + rng.choice((-1, 1)) * rng.uniform(0.5, 3.0), 5)
        else:
            title, artist, length = make_title(rng), rng.choice(artists), make_duration(rng)
        title, artist = as_logged(title), as_logged(artist)
        if (title, artist, length) in exact:
            continue
        catalog.append((js(artist), js(title), repr(length), False))
    return catalog
