"""Synthetic Sparkify raw data (song files + daily event logs) shaped exactly like the real sample.

Why: the real sample (30 daily logs, ~8k events, 71 song files) is tiny and almost never joins - one
NextSong event in 6,820 matches a song file - so it can neither load-test the warehouse nor test the
song/artist lookup. This module writes the same layout, key order, JSON formatting and quirks at any
size, with a chosen share of plays that join, deterministically from a seed.

Written under ``out`` (mirrors the S3 prefixes of the real data)::

    song_data/A/B/C/TRABC...json              one song object per file
    log_data/YYYY/MM/YYYY-MM-DD-events.json   newline-delimited events of one UTC day
    log_json_path.json                        JSONPaths document for ``COPY ... FORMAT AS JSON``

Quirks of the real data that are reproduced on purpose, because loaders must cope with them:

* log lines use compact separators, escape ``/`` as ``\\/``, are ASCII-only (``\\uXXXX``) and the last
  line of a file has no trailing newline;
* non-ASCII artist/song names in the logs are double mojibake (UTF-8 read as Latin-1 twice) and U+2019
  (right single quote) is cut down to U+0019 - except on plays meant to join, which carry
  song_data's exact strings;
* ``userAgent`` is wrapped in literal double quotes only when it contains a comma (a CSV artifact);
* every ``ts`` and ``registration`` ends in 796 ms;
* logged-out events have ``userId`` "" and null name/gender/location/registration/userAgent, but keep
  the user's ``level``, ``sessionId`` and the running ``itemInSession``;
* 'Submit Upgrade'/'Submit Downgrade' still carry the old ``level``; the next event has the new one;
* sessions may cross midnight and continue in the next day's file; some events share a ``ts``;
* ~4% of song files are pretty-printed (indent 2, trailing newline), the rest are one line without one.
"""

from __future__ import annotations

import argparse
import json
import random
import shutil
import string
import sys
from bisect import bisect
from collections import deque
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import date, datetime, timedelta, timezone
from itertools import accumulate
from pathlib import Path

# fmt: off
EVENT_FIELDS: tuple[str, ...] = (
    "artist", "auth", "firstName", "gender", "itemInSession", "lastName", "length", "level", "location",
    "method", "page", "registration", "sessionId", "song", "status", "ts", "userAgent", "userId",
)
SONG_FIELDS: tuple[str, ...] = (
    "num_songs", "artist_id", "artist_latitude", "artist_longitude", "artist_location", "artist_name",
    "song_id", "title", "duration", "year",
)

# page -> (method, status), paired exactly as in the real logs.
PAGES: dict[str, tuple[str, int]] = {
    "NextSong": ("PUT", 200),
    "Home": ("GET", 200),
    "Login": ("PUT", 307),
    "Logout": ("PUT", 307),
    "Downgrade": ("GET", 200),
    "Settings": ("GET", 200),
    "Help": ("GET", 200),
    "About": ("GET", 200),
    "Upgrade": ("GET", 200),
    "Save Settings": ("PUT", 307),
    "Error": ("GET", 404),
    "Submit Upgrade": ("PUT", 307),
    "Submit Downgrade": ("PUT", 307),
}

_DAY = 86_400
_MS = 796  # every real ts and registration ends in .796 s
_PRETTY_SHARE = 0.04  # 3 of the 71 real song files are indent=2 with a trailing newline
_QUOTE = "\u2019"  # right single quotation mark; the real logs cut it down to U+0019

# Organic page choice of a logged-in user by level, tuned so the overall mix (with the Home/Login/
# Logout/Save Settings that the multi-page flows add) lands near the real one: NextSong ~85%,
# Home ~10%, Login/Logout ~1.1% each, Downgrade 0.7%, Settings 0.7%, Help 0.6%, About 0.45%, ...
# Free users browse more and listen less, as in the real data.
_LEVEL_PAGES: dict[str, tuple[tuple[str, float], ...]] = {
    "free": (("NextSong", 0.8), ("Home", 0.1), ("Logout", 0.012), ("Settings", 0.007), ("Help", 0.006),
             ("About", 0.004), ("Upgrade", 0.01), ("Error", 0.0015)),
    "paid": (("NextSong", 0.915), ("Home", 0.032), ("Logout", 0.01), ("Settings", 0.007), ("Help", 0.006),
             ("About", 0.004), ("Downgrade", 0.009), ("Error", 0.0012)),
}

# Vocabulary.  User names are ASCII-only, as in the real logs; song and artist names are not.
_FIRST_F = (
    "Lily", "Kaylee", "Chloe", "Tegan", "Jacqueline", "Ava", "Aleena", "Adelyn", "Alivia", "Amiya",
    "Anabelle", "Andrea", "Ann", "Avery", "Ayla", "Brooklyn", "Cecilia", "Celeste", "Elizabeth", "Emily",
    "Harper", "Isabella", "Jayden", "Katherine", "Kinsley", "Layla", "Madison", "Mikayla", "Olivia",
    "Rylan", "Sara", "Sienna", "Stefany", "Tiffany", "Zoe", "Renee",
)
_FIRST_M = (
    "Walter", "Jacob", "Ryan", "Aiden", "Austin", "Adler", "Anthony", "Benjamin", "Brayden", "Colm",
    "Connar", "Dustin", "Elijah", "Ethan", "Jordan", "Kevin", "Lucas", "Matthew", "Mohammad", "Noah",
    "Oliver", "Samuel", "Theodore", "Tucker", "Wyatt", "Zachary", "Jose", "Andre",
)
_LAST = (
    "Frye", "Summers", "Koch", "Cuevas", "Levine", "Lynch", "Rogers", "Robinson", "Hess", "Ramirez",
    "Kirby", "Terrell", "Davidson", "Simpson", "Butler", "Banks", "Rosales", "Martinez", "Watkins",
    "Johnson", "Jordan", "Barrera", "Harrell", "Fox", "Garrison", "Griffin", "Herman", "Owens", "Pena",
    "Santiago", "Smith", "Thompson", "Vaughn", "Williams", "Young", "Mueller", "Nunez", "Sorensen",
)
_METROS = (
    "San Francisco-Oakland-Hayward, CA", "Portland-South Portland, ME", "Lansing-East Lansing, MI",
    "Chicago-Naperville-Elgin, IL-IN-WI", "Atlanta-Sandy Springs-Roswell, GA",
    "Phoenix-Mesa-Scottsdale, AZ", "New York-Newark-Jersey City, NY-NJ-PA",
    "Los Angeles-Long Beach-Anaheim, CA", "Birmingham-Hoover, AL", "Houston-The Woodlands-Sugar Land, TX",
    "Seattle-Tacoma-Bellevue, WA", "Dallas-Fort Worth-Arlington, TX", "Detroit-Warren-Dearborn, MI",
    "Columbia, SC", "Eugene, OR", "Cedar Rapids, IA", "Elkhart-Goshen, IN",
    "Tampa-St. Petersburg-Clearwater, FL", "Augusta-Richmond County, GA-SC", "Harrisburg-Carlisle, PA",
    "Winston-Salem, NC", "Janesville-Beloit, WI", "Red Bluff, CA", "Eureka-Arcata-Fortuna, CA",
    "Philadelphia-Camden-Wilmington, PA-NJ-DE-MD", "Miami-Fort Lauderdale-West Palm Beach, FL",
)
_AGENTS = (
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_9_4) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/36.0.1985.143 Safari/537.36",
    "Mozilla/5.0 (Windows NT 6.1; WOW64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/35.0.1916.153 Safari/537.36",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_9_4) AppleWebKit/537.78.2 (KHTML, like Gecko) "
    "Version/7.0.6 Safari/537.78.2",
    "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/36.0.1985.125 Safari/537.36",
    "Mozilla/5.0 (iPhone; CPU iPhone OS 7_1_2 like Mac OS X) AppleWebKit/537.51.2 (KHTML, like Gecko) "
    "Version/7.0 Mobile/11D257 Safari/9537.53",
    "Mozilla/5.0 (Windows NT 6.3; WOW64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/36.0.1985.143 Safari/537.36",
    "Mozilla/5.0 (Windows NT 5.1; rv:31.0) Gecko/20100101 Firefox/31.0",
    "Mozilla/5.0 (Windows NT 6.1; WOW64; rv:31.0) Gecko/20100101 Firefox/31.0",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10.9; rv:31.0) Gecko/20100101 Firefox/31.0",
    "Mozilla/5.0 (Windows NT 6.3; WOW64; Trident/7.0; rv:11.0) like Gecko",
    "Mozilla/5.0 (compatible; MSIE 10.0; Windows NT 6.1; WOW64; Trident/6.0)",
)
# (artist_location, latitude, longitude); some real locations are just a state or a country.
_PLACES: tuple[tuple[str, float, float], ...] = (
    ("Nashville, TN.", 36.16778, -86.77836), ("California - LA", 34.05349, -118.24532),
    ("California - SF", 37.77916, -122.42005), ("London, England", 51.50632, -0.12714),
    ("Memphis, TN", 35.14968, -90.04892), ("Denmark", 56.27609, 9.51695),
    ("New York, NY", 40.71455, -74.00712), ("Chicago, IL", 41.88415, -87.63241),
    ("Toronto, Ontario, Canada", 43.64856, -79.38533), ("Houston, TX", 29.76045, -95.36978),
    ("Seattle, WA", 47.60356, -122.32944), ("Montr\u00e9al, Qu\u00e9bec, Canada", 45.51228, -73.55439),
    ("S\u00e3o Paulo, Brasil", -23.56288, -46.65466), ("Berlin, Germany", 52.51607, 13.37698),
    ("Paris, France", 48.85692, 2.34121), ("Stockholm, Sweden", 59.33217, 18.06243),
    ("Kingston, Jamaica", 17.99702, -76.79358), ("Atlanta, GA", 33.74831, -84.39111),
    ("Detroit, MI", 42.33168, -83.04792), ("Ohio", 40.41, -82.71),
    ("Reykjav\u00edk, Iceland", 64.13548, -21.89541), ("Dublin, Ireland", 53.34376, -6.24953),
    ("Austin, TX", 30.26759, -97.74299), ("Glasgow, Scotland", 55.85702, -4.24365),
    ("Texas", 31.1686, -100.07715), ("United States", 37.16793, -95.84502),
    ("Pennsylvania", 40.99471, -77.60454), ("Sydney, Australia", -33.86963, 151.20695),
    ("Mexico City, Mexico", 19.43268, -99.13421), ("New York, NY [Spanish Harlem]", 40.79086, -73.94745),
)
_WORDS = (
    "Love", "Night", "Fire", "Heart", "Rain", "Summer", "Dream", "Gun", "Rose", "City", "River", "Blue",
    "Gold", "Ghost", "Shadow", "Light", "Road", "Home", "Dance", "Sky", "Time", "Girl", "Boy", "Moon",
    "Star", "Train", "Sea", "Wind", "Stone", "Angel", "Devil", "Baby", "Fool", "Song", "Paradise", "Money",
    "Highway", "Radio", "Soul", "Tonight", "Forever", "Machine", "Mirror", "Window", "Tiger", "Ocean",
    "Thunder", "Letter", "Garden", "Kingdom", "Island", "Echo", "Storm", "Diamond", "Bridge", "Tonne",
)
_ADJECTIVES = (
    "Wild", "Broken", "Lonely", "Sweet", "Crazy", "Little", "Lost", "Dark", "Golden", "Electric", "Silent",
    "Burning", "Loaded", "Cold", "Hollow", "Velvet", "Strange", "Young", "Holy", "Midnight", "Ten",
)
_FOREIGN = (
    "Corazón", "Café", "Mañana", "Señorita", "Über", "Fête", "Désolé", "Niño", "Canción", "Sueño", "Pájaro",
    "Été", "Mädchen", "Fräulein", "Smörgåsbord", "Øresund", "Noël", "Ça Va", "Adiós", "Señor",
)
# fmt: on
_CONTRACTIONS = (f"Don{_QUOTE}t", f"It{_QUOTE}s", f"Can{_QUOTE}t")
_SUFFIXES = ("Live", "Album Version", "Remix", "Radio Edit", "Acoustic", "LP Version", "Back 2 Basics Mix")
_UPPER = string.ascii_uppercase
_HEX = "0123456789ABCDEF"
_ALNUM = string.ascii_uppercase + string.digits

_Song = tuple[str, str, str, bool]  # (artist JSON, title JSON, length repr, joins song_data?)


def log_json_path_document() -> str:
    """The JSONPaths file Redshift COPY needs, built from EVENT_FIELDS so it can never drift from it."""
    return json.dumps({"jsonpaths": [f"$['{field}']" for field in EVENT_FIELDS]}, indent=4) + "\n"


def _js(value: str) -> str:
    """Encode a string as the real log lines do: ASCII-only JSON with '/' escaped as '\\/'."""
    return json.dumps(value).replace("/", "\\/")


def _as_logged(text: str) -> str:
    """Mangle a name like the real logs do: U+2019 cut to U+0019, then UTF-8 decoded as Latin-1 twice."""
    text = text.replace(_QUOTE, "\x19")
    for _ in range(2):
        text = text.encode("utf-8").decode("latin-1")
    return text


def _code(rng: random.Random, alphabet: str, k: int) -> str:
    return "".join(rng.choices(alphabet, k=k))


def _unique(rng: random.Random, seen: set[str], make: Callable[[random.Random], str]) -> str:
    """Draw ids until one is new; only membership is tested, so the result stays deterministic."""
    while True:
        value = make(rng)
        if value not in seen:
            seen.add(value)
            return value


def _track_id(rng: random.Random, fan: int) -> str:
    """'TR' + 16 like 'TRAAAAW128F429D538': 3 folder letters, 2 letters, a 128F/128E/12903 block, hex."""
    folders = "A" + rng.choice(_UPPER[:fan]) + rng.choice(_UPPER[:fan])
    block = rng.choice(("128F", "128E", "12903"))
    return f"TR{folders}{_code(rng, _UPPER, 2)}{block}{_code(rng, _HEX, 11 - len(block))}"


def _artist_id(rng: random.Random) -> str:
    """'AR' + 16 like 'ARGCY1Y1187B9A4FA5'."""
    return f"AR{_code(rng, _ALNUM, 5)}1187{rng.choice('BF')}{_code(rng, _HEX, 6)}"


def _song_id(rng: random.Random) -> str:
    """'SO' + 16 like 'SOGVQGJ12AB017F169'."""
    return f"SO{_code(rng, _UPPER, 5)}12A{_code(rng, _HEX, 8)}"


def _title(rng: random.Random) -> str:
    """A plausible song title; ~4% carry non-ASCII words and ~3% a U+2019, so both log encodings show up."""
    r = rng.random()
    word, adjective = rng.choice(_WORDS), rng.choice(_ADJECTIVES)
    if r < 0.04:
        title = f"{rng.choice(_FOREIGN)} {word}" if rng.random() < 0.5 else f"{word} {rng.choice(_FOREIGN)}"
    elif r < 0.07:
        title = f"{rng.choice(_CONTRACTIONS)} {rng.choice(('Stop', 'Cry', 'Wait'))} {word}"
    elif r < 0.35:
        title = f"{adjective} {word}"
    elif r < 0.5:
        title = f"{word} Of The {rng.choice(_WORDS)}"
    elif r < 0.62:
        title = f"{adjective} Like A {word}"
    elif r < 0.75:
        title = f"The {adjective} {word}"
    else:
        title = f"{word} {rng.choice(_WORDS)}"
    if rng.random() < 0.1:
        title = f"{title} ({rng.choice(_SUFFIXES)})"
    return title


def _artist_name(rng: random.Random) -> str:
    r = rng.random()
    if r < 0.3:
        return f"{rng.choice(_FIRST_F + _FIRST_M)} {rng.choice(_LAST)}"
    if r < 0.5:
        return f"The {rng.choice(_ADJECTIVES)} {rng.choice(_WORDS)}s"
    if r < 0.65:
        return f"{rng.choice(_ADJECTIVES)} {rng.choice(_WORDS)}"
    if r < 0.75:
        return f"{rng.choice(_LAST)} & The {rng.choice(_WORDS)}s"
    if r < 0.82:
        return f"DJ {rng.choice(_WORDS)} feat. {rng.choice(_FIRST_F + _FIRST_M)} {rng.choice(_LAST)}"
    if r < 0.86:
        return f"{rng.choice(_FOREIGN)} {rng.choice(_WORDS)}"
    return f"{rng.choice(_WORDS)} {rng.choice(_WORDS)}"


def _duration(rng: random.Random) -> float:
    """Song length in seconds, 5 decimals like the real data (median ~3:46, range 20 s to 20 min)."""
    return round(min(1200.0, max(20.0, rng.lognormvariate(5.42, 0.35))), 5)


def _place(rng: random.Random) -> tuple[str, float | None, float | None]:
    """Artist location: 40% empty (then no coordinates), otherwise a place, coordinates missing for ~28%."""
    if rng.random() < 0.4:
        return "", None, None
    name, lat, lon = rng.choice(_PLACES)
    return (name, None, None) if rng.random() < 0.28 else (name, lat, lon)


def _name_variant(rng: random.Random, name: str) -> str:
    """Another spelling of an artist name, as the Million Song files have for a few artists."""
    if name.startswith("The "):
        return name[4:]
    if " & " in name:
        return name.replace(" & ", " and ")
    featuring = f"{name} feat. {rng.choice(_FIRST_F)} {rng.choice(_LAST)}"
    return rng.choice((f"The {name}", featuring, name.upper()))


def _make_songs(rng: random.Random, n: int) -> tuple[list[tuple[str, dict[str, object], bool]], int, int]:
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
        artist_id = _unique(rng, seen, _artist_id)
        artists.append((artist_id, _artist_name(rng), *_place(rng)))
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
            name = _name_variant(rng, name)
        if kind >= 0.35:
            location, lat, lon = ("", None, None) if location and rng.random() < 0.5 else rng.choice(_PLACES)
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
        track = _unique(rng, seen, lambda r: _track_id(r, fan))
        song_id = _unique(rng, seen, _song_id)
        year = 0 if rng.random() < 0.6 else int(rng.triangular(1955, 2011, 2006))
        values = (1, artist_id, lat, lon, location, name, song_id, _title(rng), _duration(rng), year)
        songs.append((track, dict(zip(SONG_FIELDS, values, strict=True)), rng.random() < _PRETTY_SHARE))
    return songs, n_artists, len(conflicting)


def _make_catalog(rng: random.Random, songs: Sequence[dict[str, object]], size: int) -> list[_Song]:
    """Songs that are played but absent from song_data, encoded as the logs show them.

    ~10% are near misses of real song files (same title and artist but another length, or the same
    length with mojibake names) so a join that ignores ``length`` or encodings gets caught.
    """
    exact = {(s["title"], s["artist_name"], s["duration"]) for s in songs}
    artists = [_artist_name(rng) for _ in range(max(1, size // 4))]
    catalog: list[_Song] = []
    while len(catalog) < size:
        if songs and rng.random() < 0.1:
            base = songs[rng.randrange(len(songs))]
            title, artist, length = str(base["title"]), str(base["artist_name"]), float(str(base["duration"]))
            if _as_logged(title + artist) == title + artist or rng.random() < 0.5:
                length = round(length + rng.choice((-1, 1)) * rng.uniform(0.5, 3.0), 5)
        else:
            title, artist, length = _title(rng), rng.choice(artists), _duration(rng)
        title, artist = _as_logged(title), _as_logged(artist)
        if (title, artist, length) in exact:
            continue
        catalog.append((_js(artist), _js(title), repr(length), False))
    return catalog


class _User:
    """One listener: fixed profile fragments plus the mutable level and planned level switches."""

    __slots__ = ("frag", "index", "level", "offset", "plan", "weight")

    def __init__(self, rng: random.Random, index: int, start_sec: int) -> None:
        gender = "F" if rng.random() < 0.6 else "M"
        first = rng.choice(_FIRST_F if gender == "F" else _FIRST_M)
        agent = rng.choice(_AGENTS)
        agent = f'"{agent}"' if "," in agent else agent  # real logs quote it only when it has a comma
        registration = float((start_sec - rng.randrange(3_600, 45 * _DAY)) * 1000 + _MS)
        self.index = index
        # JSON fragments, in EVENT_FIELDS order: firstName, gender, lastName, location, registration,
        # userAgent, userId.
        self.frag = (
            _js(first),
            _js(gender),
            _js(rng.choice(_LAST)),
            _js(rng.choice(_METROS)),
            repr(registration),
            _js(agent),
            _js(str(index + 1)),
        )
        self.level = "paid" if rng.random() < 0.35 else "free"
        self.weight = rng.lognormvariate(0.0, 1.0) * (5.0 if self.level == "paid" else 1.0)
        self.offset = rng.randrange(4 * 3_600)  # where this user's "day" starts, so sessions cross midnight
        self.plan: list[tuple[int, str]] = []  # (first day index it may happen, level before the switch)


_Event = tuple[str, bool, str, "_Song | None"]  # (page, logged in?, level, song played)
_Session = tuple[int, list[_Event], list[int]]  # (sessionId, events, seconds after each event)
# What a due level switch looks like in a session, by the level before it.
_SWITCH_FLOW = {
    "free": (("Upgrade", True), ("Submit Upgrade", True), ("Home", True)),
    "paid": (("Downgrade", True), ("Submit Downgrade", True), ("Home", True)),
}
_NO_SONG = ("null", "null", "null")
_LOGGED_OUT_FRAG = ("null", "null", "null", "null", "null", "null", '""')
_EVENT_TEMPLATE = "{" + ",".join(f'"{field}":%s' for field in EVENT_FIELDS) + "}"
_PAGE_FRAG = {page: (_js(method), _js(page), str(status)) for page, (method, status) in PAGES.items()}
_AUTH = {True: _js("Logged In"), False: _js("Logged Out")}
_LEVEL = {"free": _js("free"), "paid": _js("paid")}


class _EventSim:
    """Simulates sessions day by day and streams each finished UTC day to its log file."""

    def __init__(
        self,
        rng: random.Random,
        users: list[_User],
        matched: list[_Song],
        catalog: list[_Song],
        match_share: float,
    ) -> None:
        self.rng = rng
        self.users = users
        self.matched = matched
        self.catalog = catalog
        self.match_share = match_share if matched else 0.0
        self.cum_weight = list(accumulate(u.weight for u in users))
        self.pages = {
            level: ([p for p, _ in table], list(accumulate(w for _, w in table)))
            for level, table in _LEVEL_PAGES.items()
        }
        self.next_session = 1
        self.nextsong = 0
        self.matched_plays = 0
        self.switches = 0

    def session_length(self) -> int:
        """Events in a session: median 2, mean ~8, long tail (real: 50% <= 2, 90% <= 25, max 128)."""
        return max(1, min(300, int(self.rng.lognormvariate(0.9, 1.8))))

    def session(self, user: _User, n: int, day: int, limit: int) -> _Session:
        """Page flow of one session of at most ``n`` events, plus the gap in seconds after each event.

        A due level switch stretches the session (up to ``limit`` events) and comes early in it, so
        that the Upgrade -> Submit Upgrade -> Home flow is rarely cut off by the session's end.
        """
        rng, rand = self.rng, self.rng.random
        level, plan = user.level, user.plan
        while plan and plan[0][0] <= day and plan[0][1] != level:
            plan.pop(0)  # cannot happen with consistent plans; keeps the state machine honest
        inject_at = -1
        if plan and plan[0][0] <= day:
            n = max(n, min(limit, 8))
            inject_at = int(rand() * min(n - 2, 5)) if n >= 3 else -1
        queue: deque[tuple[str, bool]] = deque()
        ended = False
        if rand() < 0.085:  # starts on the logged-out site: browse and leave, or log in
            if rand() < 0.68:
                queue.append(("Home", False))
                if rand() < 0.15:
                    queue.append(("About" if rand() < 0.6 else "Help", False))
                ended = rand() < 0.45
            if not ended:
                queue.extend((("Login", False), ("Home", True)))
        else:  # real logged-in sessions open on Home (~40%) or straight into a song, rarely elsewhere
            r = rand()
            queue.append(("Home" if r < 0.4 else "NextSong" if r < 0.99 else "About", True))
        events: list[_Event] = []
        gaps: list[int] = []
        while len(events) < n:
            if not queue:
                if ended:
                    break
                if 0 <= inject_at <= len(events):
                    inject_at = -1
                    queue.extend(_SWITCH_FLOW[level])
                    continue
                names, cum = self.pages[level]
                page = names[bisect(cum, rand() * cum[-1])]
                if page == "Logout":
                    queue.extend((("Logout", True), ("Home", False)))
                    if rand() < 0.1:
                        queue.append(("About" if rand() < 0.6 else "Help", False))
                    if rand() < 0.6:
                        queue.extend((("Login", False), ("Home", True)))
                    else:
                        ended = True
                elif page == "Settings" and rand() < 0.35:
                    queue.extend((("Settings", True), ("Save Settings", True), ("Home", True)))
                else:
                    queue.append((page, True))
            page, logged_in = queue.popleft()
            song = None
            if page == "NextSong":
                self.nextsong += 1
                if rand() < self.match_share:
                    song = self.matched[int(len(self.matched) * rand() ** 1.5)]
                    self.matched_plays += 1
                else:
                    song = self.catalog[int(len(self.catalog) * rand() ** 1.3)]
                seconds = int(float(song[2]))
                gaps.append(seconds if rand() >= 0.04 else 1 + int(rand() * seconds))  # 4% skip the song
            else:
                gaps.append(0 if rand() < 0.02 else min(3_600, 1 + int(rng.expovariate(1 / 110))))
            events.append((page, logged_in, level, song))
            if page in ("Submit Upgrade", "Submit Downgrade"):
                level = "paid" if page == "Submit Upgrade" else "free"
                plan.pop(0)
                self.switches += 1
        gaps[-1] = 0
        user.level = level
        sid = self.next_session
        self.next_session += 1
        return sid, events, gaps

    def run(self, out: Path, start: date, days: int, events_per_day: int) -> tuple[int, list[Path]]:
        """Simulate every day window, writing each UTC day's file as soon as no later window can reach it."""
        rng = self.rng
        start_sec = int(datetime(start.year, start.month, start.day, tzinfo=timezone.utc).timestamp())
        end_sec = start_sec + days * _DAY
        users, cum_weight = self.users, self.cum_weight
        # Each user lives in day windows shifted by a per-user offset: window d is
        # [bound(d), bound(d + 1)), so a window's tail lies in day d + 1 and day d is final after window d.
        midnights = [start_sec + d * _DAY for d in range(1, days)]
        bounds = [[start_sec, *(m + u.offset for m in midnights), end_sec] for u in users]
        buckets: dict[int, list[tuple[int, int, str]]] = {}
        template, page_frag, auth, level_js = _EVENT_TEMPLATE, _PAGE_FRAG, _AUTH, _LEVEL
        seq = 0
        total = 0
        paths = []
        for day in range(days):
            per_user: list[list[_Session]] = [[] for _ in users]
            remaining = events_per_day
            while remaining > 0:
                user = users[min(len(users) - 1, bisect(cum_weight, rng.random() * cum_weight[-1]))]
                session = self.session(user, min(self.session_length(), remaining), day, remaining)
                per_user[user.index].append(session)
                remaining -= len(session[1])
            for user in users:
                sessions = per_user[user.index]
                if not sessions:
                    continue
                low, high = bounds[user.index][day], bounds[user.index][day + 1]
                span = high - low - 1
                busy = sum(sum(gaps) for _, _, gaps in sessions)
                if busy > 0.85 * span:  # more listening than fits in a day: compress this user's gaps
                    factor = 0.85 * span / busy
                    sessions = [(sid, evs, [int(g * factor) for g in gaps]) for sid, evs, gaps in sessions]
                    busy = sum(sum(gaps) for _, _, gaps in sessions)
                weights = [rng.random() + 0.05 for _ in range(len(sessions) + 1)]
                scale = (span - busy) / sum(weights)
                t = low
                for (sid, events, gaps), weight in zip(sessions, weights, strict=False):
                    t += int(weight * scale)
                    for item, (event, gap) in enumerate(zip(events, gaps, strict=True)):
                        page, logged_in, level, song = event
                        first, gender, last, location, registration, agent, uid = (
                            user.frag if logged_in else _LOGGED_OUT_FRAG
                        )
                        method, page_js, status = page_frag[page]
                        artist, title, length = song[:3] if song else _NO_SONG
                        ts = t * 1000 + _MS
                        line = template % (
                            artist,
                            auth[logged_in],
                            first,
                            gender,
                            item,
                            last,
                            length,
                            level_js[level],
                            location,
                            method,
                            page_js,
                            registration,
                            sid,
                            title,
                            status,
                            ts,
                            agent,
                            uid,
                        )
                        buckets.setdefault((t - start_sec) // _DAY, []).append((ts, seq, line))
                        seq += 1
                        t += gap
            rows = buckets.pop(day, [])
            rows.sort()
            total += len(rows)
            when = start + timedelta(days=day)
            path = out / "log_data" / f"{when:%Y}" / f"{when:%m}" / f"{when:%Y-%m-%d}-events.json"
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes("\n".join(row[2] for row in rows).encode("ascii"))  # no newline at EOF, as real
            paths.append(path)
        return total, paths


def _plan_switches(rng: random.Random, users: list[_User], days: int) -> None:
    """Plan level changes: ~12% of free users upgrade, ~6% of paid downgrade (some re-upgrade later).

    The most active free and the most active paid user always switch, in the first third of the
    range, so that even a small data set shows both kinds.
    """
    busiest = {
        level: max((u for u in users if u.level == level), key=lambda u: (u.weight, -u.index), default=None)
        for level in ("free", "paid")
    }
    for user in users:
        chance = 0.12 if user.level == "free" else 0.06
        if user is busiest[user.level]:
            user.plan.append((rng.randrange(max(1, days // 3)), user.level))
        elif rng.random() < chance:
            user.plan.append((rng.randrange(days), user.level))
        if user.plan and user.level == "paid" and rng.random() < 0.4:  # comes back, like real user 15
            user.plan.append((rng.randrange(user.plan[0][0], days), "free"))


def _write_folder(folder: Path, files: Sequence[tuple[str, bytes]]) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for name, data in files:
        with open(folder / name, "wb") as handle:
            handle.write(data)


def _check(days: int, events_per_day: int, songs: int, users: int, match_share: float) -> None:
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
    _check(days, events_per_day, songs, users, match_share)
    out = Path(out)
    song_rows, n_artists, n_conflicting = _make_songs(random.Random(f"sparkify-songs-{seed}"), songs)
    folders: dict[Path, list[tuple[str, bytes]]] = {}
    for track, obj, pretty in song_rows:
        text = json.dumps(obj, indent=2) + "\n" if pretty else json.dumps(obj)
        folder = out / "song_data" / track[2] / track[3] / track[4]
        folders.setdefault(folder, []).append((f"{track}.json", text.encode("ascii")))
    out.mkdir(parents=True, exist_ok=True)
    (out / "log_json_path.json").write_bytes(log_json_path_document().encode("ascii"))

    objects = [obj for _, obj, _ in song_rows]
    matched: list[_Song] = [
        (_js(str(o["artist_name"])), _js(str(o["title"])), repr(o["duration"]), True) for o in objects
    ]
    catalog = _make_catalog(random.Random(f"sparkify-catalog-{seed}"), objects, max(500, 2 * songs))
    start_sec = int(datetime(start.year, start.month, start.day, tzinfo=timezone.utc).timestamp())
    user_rng = random.Random(f"sparkify-users-{seed}")
    people = [_User(user_rng, i, start_sec) for i in range(users)]
    _plan_switches(user_rng, people, days)
    sim = _EventSim(random.Random(f"sparkify-events-{seed}"), people, matched, catalog, match_share)
    # Creating tens of thousands of small files is I/O-bound and parallelises well across folders;
    # do it in threads while the main thread simulates events (the bytes are already fixed).
    with ThreadPoolExecutor(max_workers=8) as pool:
        jobs = [pool.submit(_write_folder, folder, files) for folder, files in folders.items()]
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


_CLI_HELP = "Write synthetic Sparkify song_data/ and log_data/ shaped like the real sample."


def main(argv: Sequence[str] | None = None) -> int:
    """CLI entry point; refuses to touch an existing data set unless --force is given."""
    parser = argparse.ArgumentParser(prog="python -m sparkify_assets.sample_data", description=_CLI_HELP)
    parser.add_argument(
        "--out",
        type=Path,
        required=True,
        help="directory to write song_data/ and log_data/ into",
    )
    parser.add_argument("--start", type=date.fromisoformat, default=date(2018, 11, 1), help="first UTC day")
    parser.add_argument("--days", type=int, default=30)
    parser.add_argument("--events-per-day", type=int, default=300)
    parser.add_argument("--songs", type=int, default=200)
    parser.add_argument("--users", type=int, default=100)
    parser.add_argument(
        "--match-share",
        type=float,
        default=0.5,
        help="share of NextSong events whose (song, artist, length) is in song_data",
    )
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--force", action="store_true", help="delete existing song_data/ and log_data/ first")
    args = parser.parse_args(argv)
    try:
        _check(args.days, args.events_per_day, args.songs, args.users, args.match_share)
    except ValueError as error:
        parser.error(str(error))
    existing = [args.out / name for name in ("log_data", "song_data") if (args.out / name).exists()]
    if existing and not args.force:
        names = ", ".join(map(str, existing))
        print(f"{names} already exists; not writing anything (use --force to replace it)")
        return 0
    for path in existing:
        shutil.rmtree(path)
    summary = generate(
        args.out,
        start=args.start,
        days=args.days,
        events_per_day=args.events_per_day,
        songs=args.songs,
        users=args.users,
        match_share=args.match_share,
        seed=args.seed,
    )
    print(json.dumps(summary, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
