"""Object keys are data, never paths: what a key from a source must look like before anything is read with it.

Whoever can write to the bucket (or the data folder) chooses its keys. S3 stores `song_data/A/../../../x.json`,
`song_data//x.json` or a name holding a newline as given, and a key joined onto a local folder goes wherever it
points. So every key is checked here, against the layout, before any source reads, downloads or names it; a key
that fails is quarantined by the staging load (naming it and why) and never followed. Messages show a key through
`shown()`, so a key cannot forge a log line or a table cell either.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from datetime import date

MAX_KEY_BYTES = 512  # the layout's keys are ~50 bytes; S3 allows 1,024, rejected_records.source_key holds 1,024
MAX_SHOWN = 200

_SEGMENT = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*")
_LOG_NAME = re.compile(r"log_data/(\d{4})/(\d{2})/((\d{4})-(\d{2})-\d{2})[A-Za-z0-9._-]*\.json")
_SONG_KEY = re.compile(r"song_data/(?:[A-Za-z0-9][A-Za-z0-9._-]*/)*[A-Za-z0-9][A-Za-z0-9._-]*\.json")

LOG_SHAPE = "log_data/YYYY/MM/YYYY-MM-DD-events.json"
SONG_SHAPE = "song_data/.../NAME.json"


@dataclass(frozen=True)
class RejectedKey:
    """A key a listing returned that is not followed: quarantined by the load whose files it claims to be."""

    key: str
    reason: str


def key_problem(key: str) -> str | None:
    """Why `key` must not be used as a file name (None when it is safe and has the layout's shape).

    A key that is safe but is no data file (`log_data/README.md`, no `.json`) passes: callers ignore such files,
    as they always have; a `.json` key under `log_data/` or `song_data/` must have the layout's exact shape.
    """
    if not key:
        return "empty key"
    if len(key.encode("utf-8", "surrogatepass")) > MAX_KEY_BYTES:
        return f"key longer than {MAX_KEY_BYTES} bytes"
    if any(unicodedata.category(c) in ("Cc", "Cf", "Cs", "Zl", "Zp") for c in key):
        return "key holds a control or invisible formatting character"
    if key.startswith("/"):
        return "absolute key (starts with '/')"
    if "\\" in key:
        return "key holds a backslash"
    segments = key.split("/")
    if any(s == "" for s in segments):
        return "key has an empty segment ('//' or a trailing '/')"
    if any(s in (".", "..") for s in segments):
        return "key has a '.' or '..' segment"
    if not key.endswith(".json"):
        return None
    if key.startswith("log_data/") and not _log_shape_ok(key):
        return f"not a daily log file's key: expected {LOG_SHAPE}"
    if key.startswith("song_data/") and not _SONG_KEY.fullmatch(key):
        return f"not a song file's key: expected {SONG_SHAPE} (letters, digits, '.', '_', '-')"
    return None


def _log_shape_ok(key: str) -> bool:
    match = _LOG_NAME.fullmatch(key)
    if match is None:
        return False
    folder_year, folder_month, day, year, month = match.groups()
    try:
        date.fromisoformat(day)
    except ValueError:
        return False
    return (folder_year, folder_month) == (year, month)


def check_key(key: str, where: str = "") -> str:
    """`key` itself when it is safe; else a ValueError naming it (shown escaped) and what is wrong."""
    problem = key_problem(key)
    if problem is not None:
        raise ValueError(f"refusing key {shown(key)}{where}: {problem}")
    return key


def shown(key: str) -> str:
    """A key as messages may print it: quoted, control characters escaped, cut to a bounded length."""
    text = key.encode("unicode_escape", "backslashreplace").decode("ascii")
    if len(text) > MAX_SHOWN:
        text = text[:MAX_SHOWN] + f"...({len(key)} characters)"
    return f"'{text}'"


def stored(key: str) -> str:
    """A rejected key as the quarantine stores it: escaped (no control character reaches a table or a report)
    and within `rejected_records.source_key`'s 1,024 characters."""
    text = key.encode("unicode_escape", "backslashreplace").decode("ascii")
    return text if len(text) <= 1000 else text[:1000] + "..."
