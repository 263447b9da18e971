"""The ELT transforms from staging to the star schema, as set-based SQL generated from the table definitions.

Each load is a replace of exactly its scope (a range of days, or the whole table for the unpartitioned
dimensions), so running it again, or in any order, leaves the same rows. Parameters used:
`start_ms`/`end_ms` (epoch ms, for staging_events.ts) and `start_ts`/`end_ts` (timestamps, for start_time).
"""

from __future__ import annotations

from sparkify_assets.sql.dialect import Dialect, column_list, q
from sparkify_assets.sql.queries import window_predicate
from sparkify_assets.tables import ARTISTS, SONGPLAYS, SONGS, STAGING_EVENTS, STAGING_SONGS, TIME, USERS, Table


def _insert(table: Table, select: str) -> str:
    return f"INSERT INTO {q(table.name)} ({column_list(table.column_names)})\n{select}"


def songplays_window(d: Dialect) -> list[str]:
    """Every NextSong event of the window, matched to at most one song by (title, artist name, length)."""
    matched_songs = f"""
        SELECT {q("title")}, {q("artist_name")}, {q("duration")}, {q("song_id")}, {q("artist_id")},
               ROW_NUMBER() OVER (PARTITION BY {q("title")}, {q("artist_name")}, {q("duration")}
                                  ORDER BY {q("song_id")}) AS rn
        FROM {q(STAGING_SONGS.name)}"""
    natural_key = " || '|' || ".join(
        f"COALESCE(CAST(e.{q(c)} AS VARCHAR), '')" for c in ("user_id", "session_id", "item_in_session", "ts")
    )
    select = f"""SELECT MD5({natural_key}), {d.ts_from_epoch_ms("e." + q("ts"))}, e.{q("user_id")}, e.{q("level")},
       s.{q("song_id")}, s.{q("artist_id")}, e.{q("session_id")}, e.{q("location")}, e.{q("user_agent")}
FROM {q(STAGING_EVENTS.name)} e
LEFT JOIN ({matched_songs}) s
  ON s.rn = 1 AND s.{q("title")} = e.{q("song")} AND s.{q("artist_name")} = e.{q("artist")}
     AND s.{q("duration")} = e.{q("length")}
WHERE e.{q("page")} = 'NextSong' AND {window_predicate(STAGING_EVENTS, d, "e")}"""
    return [
        f"DELETE FROM {q(SONGPLAYS.name)} WHERE {window_predicate(SONGPLAYS, d)}",
        _insert(SONGPLAYS, select),
    ]


def time_window(d: Dialect) -> list[str]:
    st = q("start_time")
    parts = ", ".join(
        f"CAST(EXTRACT({part} FROM {st}) AS SMALLINT)" for part in ("HOUR", "DAY", "WEEK", "MONTH", "YEAR")
    )
    # ISO weekday from DOW (0 = Sunday on every engine): Monday = 1 ... Sunday = 7.
    weekday = f"CAST(MOD(CAST(EXTRACT(DOW FROM {st}) AS INTEGER) + 6, 7) + 1 AS SMALLINT)"
    select = f"""SELECT {st}, {parts}, {weekday}
FROM (SELECT DISTINCT {st} FROM {q(SONGPLAYS.name)} WHERE {window_predicate(SONGPLAYS, d)}) sp"""
    return [
        f"DELETE FROM {q(TIME.name)} WHERE {window_predicate(TIME, d)}",
        _insert(TIME, select),
    ]


def users_full(d: Dialect) -> list[str]:
    """Latest event per user wins; ties on ts go to the later line, so the result never depends on load order."""
    cols = column_list(USERS.column_names)
    select = f"""SELECT {cols} FROM (
  SELECT {cols}, ROW_NUMBER() OVER (PARTITION BY {q("user_id")}
                                    ORDER BY {q("ts")} DESC, {q("source_key")} DESC, {q("line_number")} DESC) AS rn
  FROM {q(STAGING_EVENTS.name)} WHERE {q("user_id")} IS NOT NULL
) latest WHERE rn = 1"""
    return [f"DELETE FROM {q(USERS.name)}", _insert(USERS, select)]


def songs_full(d: Dialect) -> list[str]:
    select = f"""SELECT {q("song_id")}, {q("title")}, {q("artist_id")}, NULLIF({q("year")}, 0), {q("duration")}
FROM {q(STAGING_SONGS.name)}"""
    return [f"DELETE FROM {q(SONGS.name)}", _insert(SONGS, select)]


def artists_full(d: Dialect) -> list[str]:
    loc = f"NULLIF({q('artist_location')}, '')"
    select = f"""SELECT {q("artist_id")}, {q("artist_name")}, {loc}, {q("artist_latitude")}, {q("artist_longitude")}
FROM (
  SELECT s.*, ROW_NUMBER() OVER (
           PARTITION BY {q("artist_id")}
           ORDER BY CASE WHEN {loc} IS NULL THEN 1 ELSE 0 END,
                    CASE WHEN {q("artist_latitude")} IS NULL THEN 1 ELSE 0 END,
                    {q("song_id")}) AS rn
  FROM {q(STAGING_SONGS.name)} s
) ranked WHERE rn = 1"""
    return [f"DELETE FROM {q(ARTISTS.name)}", _insert(ARTISTS, select)]
