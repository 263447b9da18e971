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

from sparkify_assets.sample_data.cli import main
from sparkify_assets.sample_data.formats import EVENT_FIELDS, SONG_FIELDS, log_json_path_document
from sparkify_assets.sample_data.generate import generate

__all__ = ["EVENT_FIELDS", "SONG_FIELDS", "generate", "log_json_path_document", "main"]
