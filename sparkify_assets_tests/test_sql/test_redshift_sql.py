"""Every statement the Redshift path can send parses as Redshift SQL (sqlglot), and the COPY statements are pinned
character for character: they are the one part no server here can execute."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import sqlglot
from sqlglot import exp

from sparkify_assets.checks import all_rules
from sparkify_assets.sql import checks as check_rules
from sparkify_assets.sql import quarantine as quarantine_sql
from sparkify_assets.sql import queries, transforms
from sparkify_assets.sql import redshift as rs
from sparkify_assets.sql import staging as staging_sql
from sparkify_assets.sql.dialect import REDSHIFT
from sparkify_assets.tables import ALL_TABLES, STAGING_EVENTS, STAGING_SONGS, Column, Table

ROLE = "arn:aws:iam::123456789012:role/sparkify-copy"
ROOT = "s3://udacity-dend/"
EVENTS_LANDING = rs.landing_table(STAGING_EVENTS)
SONGS_LANDING = rs.landing_table(STAGING_SONGS)
EVENT_COLUMNS = ('"artist", "auth", "first_name", "gender", "item_in_session", "last_name", "length", "level", '
                 '"location", "method", "page", "registration", "session_id", "song", "status", "ts", "user_agent", '
                 '"user_id"')

DAY_COPY = rs.S3Copy(EVENTS_LANDING, ROOT + "log_data/2018/11/2018-11-05-events.json", ROOT + "log_json_path.json",
                     ROLE, region="us-west-2")
RANGE_COPY = rs.S3Copy(EVENTS_LANDING, ROOT + "_manifests/staging_events/2018-11-01_2018-11-30-0123456789ab.manifest",
                       ROOT + "log_json_path.json", ROLE, region="us-west-2", manifest=True)
SONGS_COPY = rs.S3Copy(SONGS_LANDING, ROOT + "song_data/", rs.JSON_AUTO, ROLE, region="us-west-2")


def test_copy_for_a_day() -> None:
    assert rs.copy_sql(DAY_COPY) == f"""COPY "_landing_staging_events" ({EVENT_COLUMNS})
FROM 's3://udacity-dend/log_data/2018/11/2018-11-05-events.json'
IAM_ROLE 'arn:aws:iam::123456789012:role/sparkify-copy'
REGION 'us-west-2'
FORMAT AS JSON 's3://udacity-dend/log_json_path.json'
MAXERROR 1000
COMPUPDATE OFF
STATUPDATE OFF"""


def test_copy_for_a_range_is_one_copy_over_a_manifest() -> None:
    assert rs.copy_sql(RANGE_COPY) == f"""COPY "_landing_staging_events" ({EVENT_COLUMNS})
FROM 's3://udacity-dend/_manifests/staging_events/2018-11-01_2018-11-30-0123456789ab.manifest'
IAM_ROLE 'arn:aws:iam::123456789012:role/sparkify-copy'
REGION 'us-west-2'
FORMAT AS JSON 's3://udacity-dend/log_json_path.json'
MANIFEST
MAXERROR 1000
COMPUPDATE OFF
STATUPDATE OFF"""


def test_copy_for_the_songs() -> None:
    assert rs.copy_sql(SONGS_COPY) == """COPY "_landing_staging_songs" ("num_songs", "artist_id", "artist_name", \
"artist_latitude", "artist_longitude", "artist_location", "song_id", "title", "duration", "year")
FROM 's3://udacity-dend/song_data/'
IAM_ROLE 'arn:aws:iam::123456789012:role/sparkify-copy'
REGION 'us-west-2'
FORMAT AS JSON 'auto'
MAXERROR 1000
COMPUPDATE OFF
STATUPDATE OFF"""


def test_manifest_lists_exactly_the_files_each_mandatory() -> None:
    uris = [ROOT + "log_data/2018/11/2018-11-01-events.json", ROOT + "log_data/2018/11/2018-11-02-events.json"]
    assert json.loads(rs.manifest_json(uris)) == {"entries": [{"url": u, "mandatory": True} for u in uris]}


def test_timeformat_only_when_a_target_column_is_a_timestamp() -> None:
    """staging_events.ts is BIGINT epoch ms, so TIMEFORMAT 'epochmillisecs' would do nothing and is left out."""
    assert DAY_COPY.timeformat is None and "TIMEFORMAT" not in rs.copy_sql(DAY_COPY)
    as_timestamp = Table("_landing_x", "", (Column("ts", "TIMESTAMP", ""),), key=())
    copy = rs.S3Copy(as_timestamp, ROOT + "x.json", ROOT + "paths.json", ROLE)
    assert "\nTIMEFORMAT 'epochmillisecs'\n" in rs.copy_sql(copy)


def test_jsonpaths_file_maps_fields_to_columns_in_order(real_sample: Path) -> None:
    paths = json.loads((real_sample / "log_json_path.json").read_text())["jsonpaths"]
    assert paths == [f"$['{c.json_field}']" for c in STAGING_EVENTS.source_columns]
    # JSON 'auto' matches keys to column names, so the song columns must be named as the song files' fields.
    assert all(c.name == c.json_field for c in STAGING_SONGS.source_columns)


@pytest.mark.parametrize("field, value", [
    ("source_uri", "s3://bucket/it's.json"),
    ("source_uri", "s3://bucket/a\\b.json"),
    ("source_uri", "https://bucket/x.json"),
    ("iam_role_arn", "arn:aws:iam::123456789012:role/x' CREDENTIALS 'y"),
    ("iam_role_arn", "not-an-arn"),
    ("region", "us-west-2'; DROP TABLE users; --"),
    ("json", "s3://bucket/paths.json' MAXERROR 99"),
])
def test_copy_refuses_values_that_could_leave_their_literal(field: str, value: str) -> None:
    copy = rs.S3Copy(**{**DAY_COPY.__dict__, field: value})
    with pytest.raises(ValueError) as err:
        rs.copy_sql(copy)
    assert value not in str(err.value)


def _redshift_statements() -> list[str]:
    d = REDSHIFT
    out = [d.create_table(t) for t in ALL_TABLES]
    out += [rs.create_temp_table(d, t) for t in (EVENTS_LANDING, SONGS_LANDING)]
    out += [rs.copy_sql(c) for c in (DAY_COPY, RANGE_COPY, SONGS_COPY)]
    out += [rs.load_errors_sql(v) for v in rs.LOAD_ERROR_VIEWS] + [rs.LAST_COPY_ID_SQL]
    out += [rs.PROBE_STL_SQL, rs.copy_scope_sql(d), rs.existing_tables_sql(), *rs.session_settings_sql("public", 60)]
    out += [rs.create_files_sql(), rs.insert_file_sql(d), quarantine_sql.insert_row_sql(d),
            rs.insert_classified_rejects_sql(d), rs.counts_sql(), rs.sample_rejects_sql(),
            staging_sql.delete_rejected_sql(d, True), staging_sql.delete_rejected_sql(d, False)]
    out += [rs.classify_sql(d, STAGING_EVENTS, a, rs.EVENTS_DEDUPE) for a in ("file", "day")]
    out += [rs.classify_sql(d, STAGING_SONGS, "input", rs.SONGS_DEDUPE)]
    for t in (STAGING_EVENTS, STAGING_SONGS):
        out += [staging_sql.delete_scope_sql(d, t), staging_sql.insert_loaded_sql(t),
                rs.drop_temp_sql(rs.landing_table(t).name)]
    for make in (transforms.songplays_window, transforms.time_window, transforms.users_full, transforms.songs_full,
                 transforms.artists_full):
        out += make(d)
    for rule in all_rules(d):  # every check the assets run
        out += [rule.count_sql(), rule.examples_sql()]
    out += [check_rules.match_rate_sql(d)]
    out += [check_rules.staged_counts_sql(t, d) for t in (STAGING_EVENTS, STAGING_SONGS)]
    for t in ALL_TABLES:
        for windowed in (True, False):
            out += [queries.count_sql(t, d, windowed), queries.preview_sql(t, d, windowed)]
    return out


STATEMENTS = _redshift_statements()


@pytest.mark.parametrize("sql", STATEMENTS, ids=[s.split("\n")[0][:60] for s in STATEMENTS])
def test_statement_parses_as_redshift(sql: str) -> None:
    tree = sqlglot.parse_one(sql, read="redshift")
    assert not isinstance(tree, exp.Command), "sqlglot fell back to an unparsed command"
    sqlglot.parse_one(tree.sql(dialect="redshift"), read="redshift")  # and what it understood is valid again


def test_physical_design_survives_in_the_ddl() -> None:
    songplays = sqlglot.parse_one(REDSHIFT.create_table(next(t for t in ALL_TABLES if t.name == "songplays")),
                                  read="redshift")
    assert songplays.find(exp.DistKeyProperty) is not None and songplays.find(exp.SortKeyProperty) is not None
    assert songplays.find(exp.DistStyleProperty).this.name == "KEY"


def test_a_broken_statement_fails_the_parse() -> None:
    with pytest.raises(sqlglot.errors.ParseError):
        sqlglot.parse_one('SELECT "a" FROM (SELECT 1 AS "a"', read="redshift")


def test_lock_names_every_table_once_in_name_order() -> None:
    """sqlglot cannot parse LOCK, so it is pinned: one order for every transaction, so none wait in a cycle."""
    assert rs.lock_sql(["staging_events", "rejected_records", "staging_events"]) == \
        'LOCK "rejected_records", "staging_events"'


def test_statement_timeout_is_set_in_milliseconds_within_bounds() -> None:
    assert rs.session_settings_sql("public", 7200)[-1] == "SET statement_timeout TO 7200000"
    with pytest.raises(ValueError, match="statement_timeout"):
        rs.session_settings_sql("public", -1)
