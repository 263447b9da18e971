"""Which song files a staging_songs load must read, from the per-file versions in source_versions (DuckDB).

A load reads only new or changed files, plus the unchanged files whose record competes with them for a song_id
(the smallest source_key wins a song_id; the others are quarantined as its duplicates), so the rows and the
quarantine equal a full reload's. Temp tables, all holding source keys: `_song_listing` (key, version: every
song file the source lists now), `_song_gone` (changed or removed since the last load), `_song_scope` (every
file whose rows the load replaces: gone, plus the competing unchanged files). The song files' texts are read by
Python into `_song_texts` (path, content, encoding_error), a batch at a time.
"""

from __future__ import annotations

from sparkify_assets.sql.dialect import DUCKDB, column_list, q
from sparkify_assets.sql.duckdb_load import BOM
from sparkify_assets.tables import REJECTED_RECORDS, SOURCE_VERSIONS, STAGING_SONGS

_V = q(SOURCE_VERSIONS.name)
_S = q(STAGING_SONGS.name)
_R = q(REJECTED_RECORDS.name)
_KEY, _VERSION, _TARGET = q("source_key"), q("version"), q("target_table")
# Per-file rows of staging_songs in source_versions; $digest_key is the one row that is not a file.
_FILES = f"SELECT {_KEY}, {_VERSION} FROM {_V} WHERE {_TARGET} = $target_table AND {_KEY} <> $digest_key"


CREATE_TEXTS_SQL = "CREATE TEMP TABLE _song_texts (path VARCHAR, content VARCHAR, encoding_error VARCHAR)"
INSERT_TEXTS_SQL = "INSERT INTO _song_texts SELECT unnest($path), unnest($content), unnest($error)"
TEMP_TABLES = ("_song_gone", "_song_new_ids", "_song_scope")  # dropped at the end of an incremental load


def records_sql() -> str:
    """Each song file as one record (line 1) for classify_sql, from `_files` and the texts in `_song_texts`."""
    return f"""
  SELECT f.source_key, f.partition_key, f.day_start_ms, f.day_end_ms, 1 AS line_number,
         trim(ltrim(t.content, {BOM}), chr(10) || chr(13) || chr(9) || ' ') AS text, t.encoding_error
  FROM _song_texts t JOIN _files f ON f.path = t.path"""


def create_new_ids_sql(read: bool) -> str:
    """`_song_new_ids`: the raw song_id of each changed file's new version (`read`: their records are in
    `_files`/`_song_texts`; otherwise none changed, and it is empty)."""
    if not read:
        return "CREATE TEMP TABLE _song_new_ids (song_id VARCHAR)"
    return ("CREATE TEMP TABLE _song_new_ids AS "
            f"SELECT CASE WHEN json_valid(text) THEN json_extract_string(text, '$.song_id') END "
            f"AS song_id FROM ({records_sql()})")


NEW_IDS_SQL = "SELECT song_id FROM _song_new_ids"


def create_listing_sql() -> str:
    return (f"CREATE TEMP TABLE _song_listing AS SELECT CAST(unnest($key) AS VARCHAR) AS {_KEY}, "
            f"CAST(unnest($version) AS VARCHAR) AS {_VERSION}")


def counts_sql() -> str:
    """(files recorded, rows staged, rows quarantined): each song file is one record, so when the first equals the
    other two together the per-file versions describe the tables, and an incremental load is sound."""
    return f"""SELECT (SELECT COUNT(*) FROM ({_FILES}) f), (SELECT COUNT(*) FROM {_S}),
       (SELECT COUNT(*) FROM {_R} WHERE {_TARGET} = $target_table)"""


def create_gone_sql() -> str:
    """Files new or rewritten (listed, version differs or none recorded) or removed (recorded, not listed)."""
    return f"""CREATE TEMP TABLE _song_gone AS
SELECT l.{_KEY}, l.{_VERSION} FROM _song_listing l LEFT JOIN ({_FILES}) v ON v.{_KEY} = l.{_KEY}
WHERE v.{_VERSION} IS NULL OR v.{_VERSION} <> l.{_VERSION}
UNION ALL
SELECT v.{_KEY}, NULL FROM ({_FILES}) v WHERE v.{_KEY} NOT IN (SELECT {_KEY} FROM _song_listing)"""


def create_scope_sql(new_ids_select: str) -> str:
    """Gone files, and the unchanged files that hold or lost a song_id a gone file held or now holds.

    `new_ids_select` selects `song_id` (the raw string, a superset of the valid ones) of the new versions."""
    ids = f"""SELECT {q("song_id")} FROM {_S} WHERE {_KEY} IN (SELECT {_KEY} FROM _song_gone)
  UNION SELECT song_id FROM ({new_ids_select}) n WHERE song_id IS NOT NULL"""
    id_ = DUCKDB.text_key(q("song_id"))  # song ids compete without trailing blanks, as their duplicates do
    return f"""CREATE TEMP TABLE _song_scope AS
WITH ids AS ({ids}),
winners AS (SELECT {_KEY} FROM {_S} WHERE {id_} IN (SELECT {DUCKDB.text_key("song_id")} FROM ids))
SELECT {_KEY} FROM _song_gone
UNION SELECT {_KEY} FROM winners
UNION SELECT r.{_KEY} FROM {_R} r JOIN winners w ON r.{q("reason")} = 'duplicate of ' || w.{_KEY} || ':1'
WHERE r.{_TARGET} = $target_table"""


def delete_scope_sql() -> list[str]:
    return [f"DELETE FROM {_S} WHERE {_KEY} IN (SELECT {_KEY} FROM _song_scope)",
            f"DELETE FROM {_R} WHERE {_TARGET} = $target_table AND {_KEY} IN (SELECT {_KEY} FROM _song_scope)"]


def record_versions_sql(whole: bool) -> list[str]:
    """The per-file versions after the load: all of them (a full load), or those of the gone files."""
    which = "" if whole else f" AND {_KEY} IN (SELECT {_KEY} FROM _song_gone)"
    source = "_song_listing" if whole else "_song_gone"
    values = {"target_table": "$target_table", "partition_key": "NULL"}  # the others: the listing's own columns
    select = ", ".join(values.get(c, q(c)) for c in SOURCE_VERSIONS.column_names)
    return [f"DELETE FROM {_V} WHERE {_TARGET} = $target_table AND {_KEY} <> $digest_key{which}",
            f"INSERT INTO {_V} ({column_list(SOURCE_VERSIONS.column_names)}) "
            f"SELECT {select} FROM {source} WHERE {_VERSION} IS NOT NULL"]
