"""The ELT transforms from staging to the star schema, as set-based SQL generated from the table definitions.

Each load is a replace of exactly its scope (a range of days, or the whole table for the unpartitioned
dimensions), so running it again, or in any order, leaves the same rows. Parameters used:
`start_ms`/`end_ms` (epoch ms, for staging_events.ts) and `start_ts`/`end_ts` (timestamps, for start_time).
"""

from __future__ import annotations

from sparkify_assets.day_window import time_predicate
from sparkify_assets.sql.dialect import Dialect, column_list, q
from sparkify_assets.tables import (
    ARTISTS,
    SONG_MATCHES,
    SONGPLAYS,
    SONGS,
    STAGING_EVENTS,
    STAGING_SONGS,
    TIME,
    USERS,
    Table,
)


def _insert(table: Table, select: str) -> str:
    return f"INSERT INTO {q(table.name)} ({column_list(table.column_names)})\n{select}"


MATCH_KEY = ("title", "artist_name", "duration")  # staging_songs columns a play's (song, artist, length) match
_EVENT_KEY = ("song", "artist", "length")  # the staging_events columns they are compared with
_PLAY_KEY = ("user_id", "session_id", "item_in_session", "ts")  # a play's natural key: songplay_id is its md5


def _match_value(d: Dialect, column: str, alias: str = "") -> str:
    """A match-key part as it is compared: text without trailing blanks (Dialect.text_key), on every engine."""
    ref = f"{alias}.{q(column)}" if alias else q(column)
    return d.text_key(ref) if STAGING_SONGS.column(column).type.startswith("VARCHAR") else ref


def song_matches_select(d: Dialect) -> str:
    """The catalogue as plays match it: per (title, artist name, duration), the song with the smallest song_id.

    The key's text parts are kept without trailing blanks, as every comparison sees them (Dialect.text_key), so
    'Heavy Soul' matches a play of 'Heavy Soul ' on every engine, as Redshift would. A key with a NULL part can
    match no play (NULL never equals), so it is left out."""
    keys = ", ".join(f"{_match_value(d, c)} AS {q(c)}" for c in MATCH_KEY)
    rest = column_list(tuple(c for c in SONG_MATCHES.column_names if c not in MATCH_KEY))
    known = " AND ".join(f"{q(c)} IS NOT NULL" for c in MATCH_KEY)
    return f"""SELECT {column_list(SONG_MATCHES.column_names)} FROM (
  SELECT {keys}, {rest}, ROW_NUMBER() OVER (PARTITION BY {", ".join(_match_value(d, c) for c in MATCH_KEY)}
                                        ORDER BY {q("song_id")}) AS rn
  FROM {q(STAGING_SONGS.name)} WHERE {known}
) ranked WHERE rn = 1"""


def _key_join(d: Dialect, matches: str, events: str) -> str:
    """A play's (song, artist, length) against a match key (whose text is already without trailing blanks)."""
    return " AND ".join(f"{matches}.{q(m)} = {_match_value(d, m, events).replace(q(m), q(e))}"
                        for m, e in zip(MATCH_KEY, _EVENT_KEY, strict=True))


def _natural_key() -> str:
    """A play's natural key as one string (of staging_events `e`): songplay_id is its MD5."""
    return " || '|' || ".join(f"COALESCE(CAST(e.{q(c)} AS VARCHAR), '')" for c in _PLAY_KEY)


def _songplays_select(d: Dialect, matches: str, extra_join: str = "") -> str:
    return f"""SELECT MD5({_natural_key()}), {d.ts_from_epoch_ms("e." + q("ts"))}, e.{q("user_id")}, e.{q("level")},
       s.{q("song_id")}, s.{q("artist_id")}, e.{q("session_id")}, e.{q("location")}, e.{q("user_agent")}
FROM {q(STAGING_EVENTS.name)} e{extra_join}
LEFT JOIN ({matches}) s ON {_key_join(d, "s", "e")}
WHERE e.{q("page")} = 'NextSong'"""


def songplays_window(d: Dialect) -> list[str]:
    """Every NextSong event of the window, matched to at most one song by (title, artist name, length)."""
    select = f"{_songplays_select(d, song_matches_select(d))} AND {time_predicate(STAGING_EVENTS, d, 'e')}"
    return [
        f"DELETE FROM {q(SONGPLAYS.name)} WHERE {time_predicate(SONGPLAYS, d)}",
        _insert(SONGPLAYS, select),
    ]


REMATCH_TABLE = "_rematched"  # the plays a re-match re-derived (id, natural key); the caller reads, then drops it


def songplays_rematch(d: Dialect) -> list[str]:
    """Bring every play already in songplays, whatever its day, up to date with the song catalogue, touching only
    the plays whose (song, artist, length) is a key that changed since the last load (song_matches).

    A changed key is one whose matched song differs, appears or disappears. Those plays are deleted and re-derived
    from staging_events exactly as the window load derives them (with any other event of the same natural key, so
    the rows equal a full rebuild's). A warehouse whose song_matches was never written while plays are matched
    (one loaded before this table existed) re-derives every play once."""
    cols = column_list(SONG_MATCHES.column_names)
    sm, sp, ev = q(SONG_MATCHES.name), q(SONGPLAYS.name), q(STAGING_EVENTS.name)
    changed_key = f"EXISTS (SELECT 1 FROM _keys_changed k WHERE {_key_join(d, 'k', 'e')})"
    never_recorded = (f"NOT EXISTS (SELECT 1 FROM {sm}) AND EXISTS (SELECT 1 FROM {sp} "
                      f"WHERE {q('song_id')} IS NOT NULL)")
    same_play = " AND ".join(
        f"r.{q(c)} = e.{q(c)}" for c in _PLAY_KEY if c != "user_id"
    ) + f" AND (r.{q('user_id')} = e.{q('user_id')} OR (r.{q('user_id')} IS NULL AND e.{q('user_id')} IS NULL))"
    in_changed = "EXISTS (SELECT 1 FROM _keys_changed k WHERE " + " AND ".join(
        f"k.{q(c)} = {sm}.{q(c)}" for c in MATCH_KEY) + ")"
    return [
        f"CREATE TEMP TABLE _matches_now AS {song_matches_select(d)}",
        f"""CREATE TEMP TABLE _keys_changed AS SELECT DISTINCT {column_list(MATCH_KEY)} FROM (
  (SELECT {cols} FROM _matches_now EXCEPT SELECT {cols} FROM {sm})
  UNION ALL
  (SELECT {cols} FROM {sm} EXCEPT SELECT {cols} FROM _matches_now)
) changed""",
        f"""CREATE TEMP TABLE {REMATCH_TABLE} AS
SELECT DISTINCT MD5({_natural_key()}) AS {q("songplay_id")}, {column_list(_PLAY_KEY, "e.")}
FROM {ev} e
WHERE e.{q("page")} = 'NextSong' AND ({changed_key} OR ({never_recorded}))
  AND EXISTS (SELECT 1 FROM {sp})""",  # a first load has no plays to re-match: skip the scan
        # Only plays songplays holds: a day not loaded into songplays yet stays unloaded.
        f"DELETE FROM {REMATCH_TABLE} WHERE {q('songplay_id')} NOT IN (SELECT {q('songplay_id')} FROM {sp})",
        f"DELETE FROM {sp} WHERE {q('songplay_id')} IN (SELECT {q('songplay_id')} FROM {REMATCH_TABLE})",
        _insert(SONGPLAYS, _songplays_select(d, "SELECT * FROM _matches_now",
                                             f"\nJOIN {REMATCH_TABLE} r ON {same_play}")),
        f"DELETE FROM {sm} WHERE {in_changed}",
        f"INSERT INTO {sm} ({cols}) SELECT {cols} FROM _matches_now m "
        f"WHERE EXISTS (SELECT 1 FROM _keys_changed k WHERE "
        + " AND ".join(f"k.{q(c)} = m.{q(c)}" for c in MATCH_KEY) + ")",
        "DROP TABLE _matches_now",
        "DROP TABLE _keys_changed",
    ]


def rematch_summary_sql() -> str:
    """How many plays the rematch re-derived, and on which UTC days (epoch day numbers)."""
    return (f"SELECT FLOOR({q('ts')} / 86400000) AS epoch_day, COUNT(*) FROM {REMATCH_TABLE} "
            "GROUP BY 1 ORDER BY 1")


def drop_rematch_sql() -> str:
    """The re-match's working table, dropped once its summary is read (inside the same transaction)."""
    return f"DROP TABLE {REMATCH_TABLE}"


def time_window(d: Dialect) -> list[str]:
    st = q("start_time")
    parts = ", ".join(
        f"CAST(EXTRACT({part} FROM {st}) AS SMALLINT)" for part in ("HOUR", "DAY", "WEEK", "MONTH", "YEAR")
    )
    # ISO weekday from DOW (0 = Sunday on every engine): Monday = 1 ... Sunday = 7.
    weekday = f"CAST(MOD(CAST(EXTRACT(DOW FROM {st}) AS INTEGER) + 6, 7) + 1 AS SMALLINT)"
    select = f"""SELECT {st}, {parts}, {weekday}
FROM (SELECT DISTINCT {st} FROM {q(SONGPLAYS.name)} WHERE {time_predicate(SONGPLAYS, d)}) sp"""
    return [
        f"DELETE FROM {q(TIME.name)} WHERE {time_predicate(TIME, d)}",
        _insert(TIME, select),
    ]


def users_full(d: Dialect) -> list[str]:
    """Latest event per user wins; ties on ts go to the later line, so the result never depends on load order."""
    key = "user_id"
    select = d.latest_per_key(STAGING_EVENTS.name, key, tuple(c for c in USERS.column_names if c != key),
                              ("ts", "source_key", "line_number"), f"{q(key)} IS NOT NULL")
    return [f"DELETE FROM {q(USERS.name)}", _insert(USERS, select)]


def songs_full(d: Dialect) -> list[str]:
    select = f"""SELECT {q("song_id")}, {q("title")}, {q("artist_id")}, NULLIF({q("year")}, 0), {q("duration")}
FROM {q(STAGING_SONGS.name)}"""
    return [f"DELETE FROM {q(SONGS.name)}", _insert(SONGS, select)]


def artists_full(d: Dialect) -> list[str]:
    loc = d.empty_as_null(q("artist_location"))
    select = f"""SELECT {q("artist_id")}, {q("artist_name")}, {loc}, {q("artist_latitude")}, {q("artist_longitude")}
FROM (
  SELECT s.*, ROW_NUMBER() OVER (
           PARTITION BY {d.text_key(q("artist_id"))}
           ORDER BY CASE WHEN {loc} IS NULL THEN 1 ELSE 0 END,
                    CASE WHEN {q("artist_latitude")} IS NULL THEN 1 ELSE 0 END,
                    {q("song_id")}) AS rn
  FROM {q(STAGING_SONGS.name)} s
) ranked WHERE rn = 1"""
    return [f"DELETE FROM {q(ARTISTS.name)}", _insert(ARTISTS, select)]
