"""One definition per warehouse table: the DDL, the loads, the checks and the asset metadata all read these.

Column types are written in the subset of SQL that DuckDB, PostgreSQL and Redshift all accept, so a type is
never spelled twice. Redshift-only physical design (distribution and sort keys) sits beside the columns it
concerns, with the reason for the choice.

Over 300 lines because it is the single source: every table's columns, with their descriptions and JSON fields,
in one file a reader scans top to bottom; splitting it would scatter what the rule "one definition" keeps together.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import Enum


class JsonKind(Enum):
    """How a staging column's value is found and validated in the raw JSON."""

    STRING = "string"
    INTEGER = "integer"
    NUMBER = "number"
    NUMERIC_ID = "numeric_id"  # a string of digits (or a JSON integer); "" means absent
    EPOCH_MS = "epoch_ms"  # an integer of milliseconds since 1970-01-01 UTC


@dataclass(frozen=True)
class Column:
    name: str
    type: str
    description: str
    nullable: bool = True
    json_field: str | None = None  # staging only: the raw JSON field the column is loaded from
    json_kind: JsonKind | None = None
    accepted: tuple[str, ...] = ()  # the only values allowed (null aside), checked after every load
    value_range: tuple[int, int] | None = None  # inclusive bounds, checked after every load
    references: str | None = None  # "table.column" every non-null value must exist in
    # Lineage: the "table.column"s the transform computes this column from (staging columns: see json_field).
    derived_from: tuple[str, ...] = ()

    @property
    def max_bytes(self) -> int | None:
        """Width of a VARCHAR column; Redshift counts bytes, so the loads check bytes too."""
        match = re.fullmatch(r"VARCHAR\((\d+)\)", self.type)
        return int(match.group(1)) if match else None


@dataclass(frozen=True)
class Table:
    name: str
    description: str
    columns: tuple[Column, ...]
    key: tuple[str, ...]
    # Redshift physical design; ignored by DuckDB.
    diststyle: str = "AUTO"  # EVEN | ALL | KEY | AUTO
    distkey: str | None = None
    sortkey: tuple[str, ...] = ()
    design_note: str = ""
    partition_column: str | None = None  # the column whose UTC day is the daily partition
    raw_source: str | None = None  # staging only: the raw asset whose JSON fields the columns are loaded from

    @property
    def column_names(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.columns)

    def column(self, name: str) -> Column:
        for col in self.columns:
            if col.name == name:
                return col
        raise KeyError(f"{self.name} has no column {name}")

    @property
    def source_columns(self) -> tuple[Column, ...]:
        """Staging columns that come from a raw JSON field (not lineage columns)."""
        return tuple(c for c in self.columns if c.json_field is not None)


def _c(name: str, type_: str, description: str, **kwargs: object) -> Column:
    return Column(name, type_, description, **kwargs)  # type: ignore[arg-type]


def _j(name: str, type_: str, json_field: str, kind: JsonKind, description: str, *, required: bool = False) -> Column:
    return Column(name, type_, description, nullable=not required, json_field=json_field, json_kind=kind)


def _from(table: str, *columns: str) -> tuple[str, ...]:
    """A column's `derived_from`: the columns of `table` its transform reads its value from."""
    return tuple(f"{table}.{c}" for c in columns)


SE = "staging_events"
SS = "staging_songs"
LEVELS = ("free", "paid")
GENDERS = ("F", "M")

S = JsonKind.STRING
I = JsonKind.INTEGER  # noqa: E741
N = JsonKind.NUMBER

STAGING_EVENTS = Table(
    name="staging_events",
    description="One row per valid line of the app's daily event logs (log_data/YYYY/MM/YYYY-MM-DD-events.json), "
    "typed but otherwise as logged. Rejected lines go to rejected_records instead.",
    columns=(
        _j("artist", "VARCHAR(512)", "artist", S, "Artist of the song played (NextSong events only)."),
        _j("auth", "VARCHAR(32)", "auth", S, "'Logged In', 'Logged Out', 'Guest' or 'Cancelled'."),
        _j("first_name", "VARCHAR(256)", "firstName", S, "User's first name; null when logged out."),
        _j("gender", "VARCHAR(8)", "gender", S, "'F', 'M' or null."),
        _j("item_in_session", "INTEGER", "itemInSession", I, "Position of the event in its session.", required=True),
        _j("last_name", "VARCHAR(256)", "lastName", S, "User's last name; null when logged out."),
        _j("length", "DOUBLE PRECISION", "length", N, "Length of the song played, seconds (NextSong only)."),
        _j("level", "VARCHAR(16)", "level", S, "Subscription level at the time of the event: 'free' or 'paid'."),
        _j("location", "VARCHAR(512)", "location", S, "User's metro area, e.g. 'Phoenix-Mesa-Scottsdale, AZ'."),
        _j("method", "VARCHAR(16)", "method", S, "HTTP method of the request."),
        _j("page", "VARCHAR(64)", "page", S, "Page requested; 'NextSong' is a song play.", required=True),
        _j("registration", "DOUBLE PRECISION", "registration", N, "Registration time, epoch ms, as logged."),
        _j("session_id", "INTEGER", "sessionId", I, "Session the event belongs to.", required=True),
        _j("song", "VARCHAR(512)", "song", S, "Title of the song played (NextSong events only)."),
        _j("status", "INTEGER", "status", I, "HTTP status of the response."),
        _j("ts", "BIGINT", "ts", JsonKind.EPOCH_MS, "Event time, epoch milliseconds UTC.", required=True),
        _j("user_agent", "VARCHAR(1024)", "userAgent", S, "Browser user agent, as logged (with its quotes)."),
        _j("user_id", "INTEGER", "userId", JsonKind.NUMERIC_ID, "User id; null for logged-out events."),
        _c("source_key", "VARCHAR(1024)", "Key of the log file the line came from, relative to the data root.",
           nullable=False),
        _c("line_number", "INTEGER", "1-based line number in that file.", nullable=False),
    ),
    key=("source_key", "line_number"),
    partition_column="ts",
    raw_source="log_data",
    diststyle="EVEN",
    sortkey=("ts",),
    design_note="EVEN: a transient landing table, joined once per load; sorted by ts so a day's replace "
    "and the songplays load scan only that day's blocks.",
)

STAGING_SONGS = Table(
    name="staging_songs",
    description="One row per song from the song metadata files (song_data/A/B/C/TR*.json), one file per song.",
    columns=(
        _j("num_songs", "INTEGER", "num_songs", I, "Always 1 in the Million Song Dataset extract."),
        _j("artist_id", "VARCHAR(32)", "artist_id", S, "Artist id, e.g. 'ARJIE2Y1187B994AB7'.", required=True),
        _j("artist_name", "VARCHAR(512)", "artist_name", S, "Artist name as in this song's file."),
        _j("artist_latitude", "DOUBLE PRECISION", "artist_latitude", N, "Artist latitude, often null."),
        _j("artist_longitude", "DOUBLE PRECISION", "artist_longitude", N, "Artist longitude, often null."),
        _j("artist_location", "VARCHAR(512)", "artist_location", S, "Artist location, often empty."),
        _j("song_id", "VARCHAR(32)", "song_id", S, "Song id, e.g. 'SOUPIRU12A6D4FA1E1'.", required=True),
        _j("title", "VARCHAR(512)", "title", S, "Song title.", required=True),
        _j("duration", "DOUBLE PRECISION", "duration", N, "Song length, seconds."),
        _j("year", "INTEGER", "year", I, "Release year; 0 when unknown."),
        _c("source_key", "VARCHAR(1024)", "Key of the song file, relative to the data root.", nullable=False),
    ),
    key=("song_id",),
    raw_source="song_data",
    diststyle="EVEN",
    sortkey=("title",),
    design_note="EVEN: loaded whole and read whole; sorted by title, the first column of the songplays join.",
)

SONGPLAYS = Table(
    name="songplays",
    description="Fact table: one row per song play, i.e. every log event with page = 'NextSong'. song_id and "
    "artist_id are set when the (song title, artist name, length) matches a song file, else null.",
    columns=(
        _c("songplay_id", "VARCHAR(32)", "md5 of the event's natural key (user_id|session_id|item_in_session|ts): "
           "deterministic, so reloads never change ids.", nullable=False,
           derived_from=_from(SE, "user_id", "session_id", "item_in_session", "ts")),
        _c("start_time", "TIMESTAMP", "When the play started, UTC, millisecond precision (ts of the event).",
           nullable=False, derived_from=_from(SE, "ts")),
        _c("user_id", "INTEGER", "User who played the song; references users.", references="users.user_id",
           derived_from=_from(SE, "user_id")),
        _c("level", "VARCHAR(16)", "User's level at the time of the play: 'free' or 'paid'.", accepted=LEVELS,
           derived_from=_from(SE, "level")),
        _c("song_id", "VARCHAR(32)", "Matched song; references songs; null when no song file matches.",
           references="songs.song_id", derived_from=_from(SS, "song_id")),
        _c("artist_id", "VARCHAR(32)", "Matched artist; references artists; null when no song file matches.",
           references="artists.artist_id", derived_from=_from(SS, "artist_id")),
        _c("session_id", "INTEGER", "Session of the play.", derived_from=_from(SE, "session_id")),
        _c("location", "VARCHAR(512)", "User's metro area at the time of the play.",
           derived_from=_from(SE, "location")),
        _c("user_agent", "VARCHAR(1024)", "Browser user agent of the play.", derived_from=_from(SE, "user_agent")),
    ),
    key=("songplay_id",),
    partition_column="start_time",
    diststyle="KEY",
    distkey="song_id",
    sortkey=("start_time",),
    design_note="Distributed on song_id, the largest join (songs); sorted by start_time so daily replaces "
    "and time-range queries touch only their blocks.",
)

USERS = Table(
    name="users",
    description="Dimension: one row per user seen in any event (logged-out events make no user). Names, "
    "gender and level are those of the user's latest event by ts, so an upgrade from free to paid shows.",
    columns=(
        _c("user_id", "INTEGER", "User id.", nullable=False, derived_from=_from(SE, "user_id")),
        _c("first_name", "VARCHAR(256)", "First name, from the latest event.", derived_from=_from(SE, "first_name")),
        _c("last_name", "VARCHAR(256)", "Last name, from the latest event.", derived_from=_from(SE, "last_name")),
        _c("gender", "VARCHAR(8)", "'F', 'M' or null.", accepted=GENDERS, derived_from=_from(SE, "gender")),
        _c("level", "VARCHAR(16)", "Current level ('free' or 'paid'): that of the latest event.", accepted=LEVELS,
           derived_from=_from(SE, "level")),
    ),
    key=("user_id",),
    diststyle="ALL",
    sortkey=("user_id",),
    design_note="ALL: small and joined to every fact; a copy on every node avoids redistribution.",
)

SONGS = Table(
    name="songs",
    description="Dimension: one row per song in the song files.",
    columns=(
        _c("song_id", "VARCHAR(32)", "Song id.", nullable=False, derived_from=_from(SS, "song_id")),
        _c("title", "VARCHAR(512)", "Song title.", derived_from=_from(SS, "title")),
        _c("artist_id", "VARCHAR(32)", "Artist of the song; references artists.", derived_from=_from(SS, "artist_id")),
        _c("year", "INTEGER", "Release year; null when the song file says 0 (unknown).",
           derived_from=_from(SS, "year")),
        _c("duration", "DOUBLE PRECISION", "Song length, seconds.", derived_from=_from(SS, "duration")),
    ),
    key=("song_id",),
    diststyle="KEY",
    distkey="song_id",
    sortkey=("song_id",),
    design_note="KEY on song_id, collocated with songplays (the dimension that grows with the catalogue).",
)

ARTISTS = Table(
    name="artists",
    description="Dimension: one row per artist. When song files disagree on an artist's name or location, the "
    "most complete record wins (non-empty location, then known coordinates), ties broken by the smallest song_id.",
    columns=(
        _c("artist_id", "VARCHAR(32)", "Artist id.", nullable=False, derived_from=_from(SS, "artist_id")),
        _c("name", "VARCHAR(512)", "Artist name.", derived_from=_from(SS, "artist_name")),
        _c("location", "VARCHAR(512)", "Artist location; null when unknown (empty in the source).",
           derived_from=_from(SS, "artist_location")),
        _c("latitude", "DOUBLE PRECISION", "Latitude, null when unknown.", derived_from=_from(SS, "artist_latitude")),
        _c("longitude", "DOUBLE PRECISION", "Longitude, null when unknown.",
           derived_from=_from(SS, "artist_longitude")),
    ),
    key=("artist_id",),
    diststyle="ALL",
    sortkey=("artist_id",),
    design_note="ALL: small; a copy on every node.",
)

_PLAY_TIME = _from("songplays", "start_time")  # every part of the time dimension is cut from it

TIME = Table(
    name="time",
    description="Dimension: one row per distinct start_time of songplays, broken into calendar parts (UTC).",
    columns=(
        _c("start_time", "TIMESTAMP", "Timestamp of a song play, UTC.", nullable=False, derived_from=_PLAY_TIME),
        _c("hour", "SMALLINT", "Hour of day, 0-23.", value_range=(0, 23), derived_from=_PLAY_TIME),
        _c("day", "SMALLINT", "Day of month, 1-31.", value_range=(1, 31), derived_from=_PLAY_TIME),
        _c("week", "SMALLINT", "ISO week of the year, 1-53.", value_range=(1, 53), derived_from=_PLAY_TIME),
        _c("month", "SMALLINT", "Month, 1-12.", value_range=(1, 12), derived_from=_PLAY_TIME),
        _c("year", "SMALLINT", "Year.", derived_from=_PLAY_TIME),
        _c("weekday", "SMALLINT", "ISO day of week: 1 = Monday ... 7 = Sunday.", value_range=(1, 7),
           derived_from=_PLAY_TIME),
    ),
    key=("start_time",),
    partition_column="start_time",
    diststyle="ALL",
    sortkey=("start_time",),
    design_note="ALL: joined on start_time by every time-sliced query; sorted by start_time.",
)

REJECTED_RECORDS = Table(
    name="rejected_records",
    description="Quarantine: every input record that could not be loaded, with where it came from and why.",
    columns=(
        _c("target_table", "VARCHAR(64)", "Staging table the record was meant for.", nullable=False),
        _c("partition_key", "VARCHAR(10)", "Daily partition (YYYY-MM-DD) of the load; null for unpartitioned."),
        _c("source_key", "VARCHAR(1024)", "Key of the file, relative to the data root.", nullable=False),
        _c("line_number", "INTEGER", "1-based line number (1 for whole-file records).", nullable=False),
        _c("reason", "VARCHAR(1024)", "What is wrong, naming the field.", nullable=False),
        _c("raw_text", "VARCHAR(4096)", "The record as read, cut to 4,000 characters."),
        _c("run_id", "VARCHAR(64)", "Dagster run that quarantined it."),
    ),
    key=("target_table", "source_key", "line_number"),
    diststyle="EVEN",
    sortkey=("target_table", "partition_key"),
    design_note="EVEN: small, append-mostly.",
)

SOURCE_VERSIONS = Table(
    name="source_versions",
    description="What the staging tables were loaded from: one row per daily log file in staging_events (its key "
    "and version, the S3 ETag or the file's modification time); for staging_songs one row per song file (written "
    "in the load's transaction, so the next load reads only new or changed files) and one row 'song_data/' whose "
    "version is a digest of every song file's key and version. The source sensor reads it, so a file already "
    "loaded in its current version is not loaded again, whichever Dagster instance loaded it.",
    columns=(
        _c("target_table", "VARCHAR(64)", "Staging table the file was loaded into.", nullable=False),
        _c("partition_key", "VARCHAR(10)", "Daily partition (YYYY-MM-DD) of a log file; null for the song files."),
        _c("source_key", "VARCHAR(1024)", "Key of the file relative to the data root; 'song_data/' for the songs.",
           nullable=False),
        _c("version", "VARCHAR(128)", "Version loaded: S3 ETag or modification time in ns; the songs' digest.",
           nullable=False),
    ),
    key=("target_table", "source_key"),
    diststyle="ALL",
    sortkey=("target_table", "partition_key"),
    design_note="ALL: a few rows per day, read by key only.",
)

SONG_MATCHES = Table(
    name="song_matches",
    description="Bookkeeping of songplays: the song catalogue its plays are matched against, one row per (title, "
    "artist name, duration) with the song that key matches (the smallest song_id). A songplays load compares it "
    "with staging_songs and re-matches only the plays whose key changed, in every day loaded.",
    columns=(
        _c("title", "VARCHAR(512)", "Song title (staging_songs.title).", nullable=False),
        _c("artist_name", "VARCHAR(512)", "Artist name (staging_songs.artist_name).", nullable=False),
        _c("duration", "DOUBLE PRECISION", "Song length, seconds (staging_songs.duration).", nullable=False),
        _c("song_id", "VARCHAR(32)", "The song plays with this key match.", nullable=False),
        _c("artist_id", "VARCHAR(32)", "That song's artist.", nullable=False),
    ),
    key=("title", "artist_name", "duration"),
    diststyle="ALL",
    sortkey=("title",),
    design_note="ALL: the size of the catalogue, joined with staging_events on the changed keys only.",
)

WAREHOUSE_TABLES: tuple[Table, ...] = (STAGING_EVENTS, STAGING_SONGS, SONGPLAYS, USERS, SONGS, ARTISTS, TIME)
# SONG_MATCHES is songplays' own bookkeeping, created by the songplays load (not listed with the tables every
# load and report walks).
ALL_TABLES: tuple[Table, ...] = (*WAREHOUSE_TABLES, REJECTED_RECORDS, SOURCE_VERSIONS)
TABLES_BY_NAME: dict[str, Table] = {t.name: t for t in ALL_TABLES}


def _check_lineage() -> None:
    """A `derived_from` naming a column that does not exist is a typo: fail at import, not in the UI."""
    for table in ALL_TABLES:
        for col in table.columns:
            for source in col.derived_from:
                name, _, column = source.partition(".")
                TABLES_BY_NAME[name].column(column)


_check_lineage()
