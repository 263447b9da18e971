"""Column lineage and freshness policies as the UI reads them: over the real webserver's GraphQL, from the
materialization of one real sample day (support/webserver.py), against expectations written out here by hand."""

from __future__ import annotations

from typing import Any

import pytest

from sparkify_assets.tables import TABLES_BY_NAME
from sparkify_assets_tests.support.webserver import MaterializedDay, Webserver

pytestmark = pytest.mark.slow

SE, SS = "staging_events", "staging_songs"
# Where each column of the star schema comes from, read off the transforms (sql/transforms.py) by hand.
WAREHOUSE_LINEAGE: dict[str, dict[str, set[tuple[str, str]]]] = {
    "songplays": {
        "songplay_id": {(SE, "user_id"), (SE, "session_id"), (SE, "item_in_session"), (SE, "ts")},
        "start_time": {(SE, "ts")},
        "user_id": {(SE, "user_id")},
        "level": {(SE, "level")},
        "song_id": {(SS, "song_id")},
        "artist_id": {(SS, "artist_id")},
        "session_id": {(SE, "session_id")},
        "location": {(SE, "location")},
        "user_agent": {(SE, "user_agent")},
    },
    "users": {c: {(SE, c)} for c in ("user_id", "first_name", "last_name", "gender", "level")},
    "songs": {c: {(SS, c)} for c in ("song_id", "title", "artist_id", "year", "duration")},
    "artists": {
        "artist_id": {(SS, "artist_id")},
        "name": {(SS, "artist_name")},
        "location": {(SS, "artist_location")},
        "latitude": {(SS, "artist_latitude")},
        "longitude": {(SS, "artist_longitude")},
    },
    "time": {c: {("songplays", "start_time")}
             for c in ("start_time", "hour", "day", "week", "month", "year", "weekday")},
}
# The staging columns back to the raw JSON fields (the JSONPaths file of the original COPY); the lineage
# columns source_key and line_number come from the file, not from a field.
STAGING_LINEAGE: dict[str, dict[str, set[tuple[str, str]]]] = {
    SE: {
        **{c: {("log_data", c)} for c in ("artist", "auth", "gender", "length", "level", "location", "method",
                                          "page", "registration", "song", "status", "ts")},
        "first_name": {("log_data", "firstName")},
        "item_in_session": {("log_data", "itemInSession")},
        "last_name": {("log_data", "lastName")},
        "session_id": {("log_data", "sessionId")},
        "user_agent": {("log_data", "userAgent")},
        "user_id": {("log_data", "userId")},
    },
    SS: {c: {("song_data", c)} for c in ("num_songs", "artist_id", "artist_name", "artist_latitude",
                                         "artist_longitude", "artist_location", "song_id", "title", "duration",
                                         "year")},
}

LINEAGE_FIELDS = """
  label
  ... on TableColumnLineageMetadataEntry { lineage { columnName columnDeps { assetKey { path } columnName } } }
"""

LATEST_LINEAGE = f"""
query {{
  assetNodes {{
    assetKey {{ path }}
    metadataEntries {{ {LINEAGE_FIELDS} }}
    assetMaterializations(limit: 1) {{ runId partition metadataEntries {{ {LINEAGE_FIELDS} }} }}
    internalFreshnessPolicy {{
      __typename
      ... on CronFreshnessPolicy {{ deadlineCron lowerBoundDeltaSeconds timezone }}
    }}
    assetChecksOrError {{ ... on AssetChecks {{ checks {{ name blocking }} }} }}
  }}
}}
"""


def lineage_of(entries: list[dict[str, Any]]) -> dict[str, set[tuple[str, str]]] | None:
    entry = next((e for e in entries if e["label"] == "dagster/column_lineage"), None)
    if entry is None:
        return None
    return {
        col["columnName"]: {("/".join(d["assetKey"]["path"]), d["columnName"]) for d in col["columnDeps"]}
        for col in entry["lineage"]
    }


@pytest.fixture(scope="module")
def nodes(ui_server: Webserver, materialized_day: MaterializedDay) -> dict[str, dict[str, Any]]:
    return {"/".join(n["assetKey"]["path"]): n for n in ui_server.graphql(LATEST_LINEAGE)["assetNodes"]}


def test_the_issues_examples_verbatim(nodes: dict[str, dict[str, Any]]) -> None:
    latest = {name: lineage_of(node["assetMaterializations"][0]["metadataEntries"])
              for name, node in nodes.items() if node["assetMaterializations"]}
    assert (SS, "song_id") in latest["songplays"]["song_id"]
    assert (SE, "user_id") in latest["songplays"]["user_id"]
    assert ("songplays", "start_time") in latest["time"]["hour"]
    assert (SS, "artist_name") in latest["artists"]["name"]
    assert ("log_data", "userId") in latest[SE]["user_id"]


def test_every_warehouse_column_has_its_lineage_on_the_materialization(
    nodes: dict[str, dict[str, Any]], materialized_day: MaterializedDay
) -> None:
    for name, expected in {**WAREHOUSE_LINEAGE, **STAGING_LINEAGE}.items():
        (latest,) = nodes[name]["assetMaterializations"]
        assert latest["runId"] == materialized_day.run_id, name
        got = lineage_of(latest["metadataEntries"])
        assert got == expected, name
    for name in WAREHOUSE_LINEAGE:
        columns = set(TABLES_BY_NAME[name].column_names)
        assert set(WAREHOUSE_LINEAGE[name]) == columns, f"{name}: the expectation misses a column"
        assert all(WAREHOUSE_LINEAGE[name][c] for c in columns)


def test_lineage_is_on_the_definitions_before_any_run(nodes: dict[str, dict[str, Any]]) -> None:
    for name, expected in {**WAREHOUSE_LINEAGE, **STAGING_LINEAGE}.items():
        assert lineage_of(nodes[name]["metadataEntries"]) == expected, name
    assert lineage_of(nodes["log_data"]["metadataEntries"]) is None


def test_no_table_has_a_freshness_policy_and_every_daily_table_has_the_day_complete_check(
    nodes: dict[str, dict[str, Any]],
) -> None:
    # Dagster's FreshnessPolicy judges the latest materialization of any partition: the daily tables are judged
    # per partition by their day_complete check instead (day_complete.py), which the overdue sensor reports.
    assert {name: node["internalFreshnessPolicy"] for name, node in nodes.items()
            if node["internalFreshnessPolicy"]} == {}
    with_check = {name for name, node in nodes.items()
                  if {"name": "day_complete", "blocking": False} in node["assetChecksOrError"].get("checks", [])}
    assert with_check == {"staging_events", "songplays", "time"}
