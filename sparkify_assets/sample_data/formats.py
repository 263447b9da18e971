"""The shapes of the real data: field order, page/method/status pairs, and how the logs encode text."""

from __future__ import annotations

import json

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

DAY = 86_400
MS = 796  # every real ts and registration ends in .796 s
PRETTY_SHARE = 0.04  # 3 of the 71 real song files are indent=2 with a trailing newline
QUOTE = "\u2019"  # right single quotation mark; the real logs cut it down to U+0019

# fmt: on

Song = tuple[str, str, str, bool]  # (artist JSON, title JSON, length repr, joins song_data?)


def log_json_path_document() -> str:
    """The JSONPaths file Redshift COPY needs, built from EVENT_FIELDS so it can never drift from it."""
    return json.dumps({"jsonpaths": [f"$['{field}']" for field in EVENT_FIELDS]}, indent=4) + "\n"


def js(value: str) -> str:
    """Encode a string as the real log lines do: ASCII-only JSON with '/' escaped as '\\/'."""
    return json.dumps(value).replace("/", "\\/")


def as_logged(text: str) -> str:
    """Mangle a name like the real logs do: U+2019 cut to U+0019, then UTF-8 decoded as Latin-1 twice."""
    text = text.replace(QUOTE, "\x19")
    for _ in range(2):
        text = text.encode("utf-8").decode("latin-1")
    return text
