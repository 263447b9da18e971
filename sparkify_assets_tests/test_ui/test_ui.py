"""The Dagster UI path through the real webserver: the graph and its checks as the UI reads them over GraphQL,
a materialization launched the way the Materialize button does, and the pages as a real Chromium renders them.
One server for the whole module (support/webserver.py); the browser comes from support/browser.py."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from sparkify_assets.definitions import build_definitions
from sparkify_assets.resources.duckdb_warehouse import DuckDBWarehouse
from sparkify_assets.resources.source import LocalFolderSource
from sparkify_assets.tables import WAREHOUSE_TABLES
from sparkify_assets_tests.support import warehouse_snapshot
from sparkify_assets_tests.support.browser import UI_TIMEOUT_MS, VIEWPORT, screenshot
from sparkify_assets_tests.support.snapshot import snapshot_path
from sparkify_assets_tests.support.webserver import MaterializedDay, Webserver, run_messages

pytestmark = pytest.mark.slow

RAW = {"log_data", "song_data"}
TABLES = {"staging_events", "staging_songs", "songplays", "users", "songs", "artists", "time"}
# The lineage of design.md section 1, written out by hand so that a dropped or extra dependency fails.
EDGES = {
    ("log_data", "staging_events"),
    ("song_data", "staging_songs"),
    ("staging_events", "songplays"),
    ("staging_songs", "songplays"),
    ("staging_events", "users"),
    ("staging_songs", "songs"),
    ("staging_songs", "artists"),
    ("songplays", "time"),
}
GROUPS = {
    "raw": RAW,
    "staging": {"staging_events", "staging_songs"},
    "warehouse": {"songplays", "users", "songs", "artists", "time"},
}
DAILY = {"log_data", "staging_events", "songplays", "time"}

METADATA_FIELDS = """
  label
  __typename
  ... on IntMetadataEntry { intValue }
  ... on FloatMetadataEntry { floatValue }
  ... on TextMetadataEntry { text }
  ... on MarkdownMetadataEntry { mdStr }
  ... on TableSchemaMetadataEntry { schema { columns { name type description } } }
"""

GRAPH_QUERY = f"""
query {{
  assetNodes {{
    assetKey {{ path }}
    dependencyKeys {{ path }}
    groupName
    description
    kinds
    opVersion
    isPartitioned
    isMaterializable
    owners {{ __typename ... on TeamAssetOwner {{ team }} ... on UserAssetOwner {{ email }} }}
    metadataEntries {{ {METADATA_FIELDS} }}
    assetChecksOrError {{ __typename ... on AssetChecks {{ checks {{ name description blocking }} }} }}
  }}
}}
"""

RESULTS_QUERY = f"""
query {{
  assetNodes {{
    assetKey {{ path }}
    isMaterializable
    assetMaterializations(limit: 1) {{ runId partition metadataEntries {{ {METADATA_FIELDS} }} }}
    assetChecksOrError {{
      ... on AssetChecks {{
        checks {{
          name
          executionForLatestMaterialization {{ runId status evaluation {{ success severity }} }}
        }}
      }}
    }}
  }}
}}
"""


def by_name(nodes: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {"/".join(n["assetKey"]["path"]): n for n in nodes}


def metadata(entries: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {e["label"]: e for e in entries}


@pytest.fixture(scope="module")
def graph(ui_server: Webserver) -> dict[str, dict[str, Any]]:
    return by_name(ui_server.graphql(GRAPH_QUERY)["assetNodes"])


def test_graph_holds_every_asset_and_every_lineage_edge(graph: dict[str, dict[str, Any]]) -> None:
    assert set(graph) == RAW | TABLES
    edges = {("/".join(dep["path"]), name) for name, node in graph.items() for dep in node["dependencyKeys"]}
    assert edges == EDGES
    for group, members in GROUPS.items():
        assert {n for n, node in graph.items() if node["groupName"] == group} == members
    assert {n for n, node in graph.items() if node["isPartitioned"]} == DAILY
    assert {n for n, node in graph.items() if node["isMaterializable"]} == TABLES  # raw data is the app's


def test_every_asset_page_says_what_a_row_is_and_shows_its_schema_and_sql(graph: dict[str, dict[str, Any]]) -> None:
    for table in WAREHOUSE_TABLES:
        node = graph[table.name]
        assert "one row per" in node["description"].lower(), table.name
        assert "duckdb" in node["kinds"]
        assert {"__typename": "TeamAssetOwner", "team": "data-engineering"} in node["owners"]
        assert node["opVersion"], f"{table.name} has no code version"
        meta = metadata(node["metadataEntries"])
        columns = meta["dagster/column_schema"]["schema"]["columns"]
        assert [c["name"] for c in columns] == list(table.column_names)
        assert all(c["description"] for c in columns), f"{table.name}: a column has no description"
        assert meta["dagster/table_name"]["text"] == table.name
        assert f'"{table.name}"' in meta["sql"]["mdStr"], f"{table.name}: the SQL that builds it is not shown"
    for staging in ("staging_events", "staging_songs"):
        assert "| JSON field |" in metadata(graph[staging]["metadataEntries"])["load"]["mdStr"]
    for raw in RAW:
        assert graph[raw]["description"] and set(graph[raw]["kinds"]) >= {"s3", "json"}


def test_every_check_of_the_definitions_is_attached_and_described(
    graph: dict[str, dict[str, Any]], tmp_path: Path
) -> None:
    defs = build_definitions(
        source=LocalFolderSource(root=str(tmp_path)), warehouse=DuckDBWarehouse(path=str(tmp_path / "unused.duckdb"))
    )
    defined = {(key.asset_key.to_user_string(), key.name) for key in defs.resolve_asset_graph().asset_check_keys}
    shown = {(name, c["name"]) for name, node in graph.items() for c in node["assetChecksOrError"].get("checks", [])}
    assert shown == defined
    assert {name for name, _ in shown} == TABLES  # every table is checked
    for name, node in graph.items():
        for check in node["assetChecksOrError"].get("checks", []):
            assert check["description"], f"{name}.{check['name']} has no description"
        if name in TABLES:
            assert any(c["blocking"] for c in node["assetChecksOrError"]["checks"]), f"{name}: nothing blocks"



def test_the_graph_the_webserver_serves_is_the_duckdb_snapshot(graph: dict[str, dict[str, Any]]) -> None:
    """What the UI shows is what the committed snapshot says (test_project/test_definitions_snapshot.py), so a
    reviewer reading a snapshot diff reads the change the UI will show: assets, their deps, groups and kinds, and
    every check with its blocking flag."""
    snapshot = yaml.safe_load(snapshot_path("duckdb").read_text())
    shown_assets = {name: {"deps": sorted("/".join(d["path"]) for d in node["dependencyKeys"]),
                           "group": node["groupName"], "kinds": sorted(node["kinds"])}
                    for name, node in graph.items()}
    snapshot_assets = {name: {"deps": a["deps"], "group": a["group"], "kinds": a["kinds"]}
                       for name, a in snapshot["assets"].items()}
    assert shown_assets == snapshot_assets
    shown_checks = {f"{name}:{c['name']}": {"asset": name, "blocking": c["blocking"]}
                    for name, node in graph.items() for c in node["assetChecksOrError"].get("checks", [])}
    assert shown_checks == snapshot["checks"]


def day_expectations(sample: Path, day: str) -> dict[str, Any]:
    """Counts for one day computed from the raw files with plain Python, independent of the project's SQL."""
    events = [
        json.loads(line)
        for line in (sample / "log_data" / day[:4] / day[5:7] / f"{day}-events.json").read_text().splitlines()
        if line.strip()
    ]
    songs = [json.loads(p.read_text()) for p in sorted((sample / "song_data").rglob("*.json"))]
    plays = [e for e in events if e["page"] == "NextSong"]
    return {
        "lines": len(events),
        "rows": {
            "staging_events": len(events),
            "staging_songs": len(songs),
            "songplays": len(plays),
            "users": len({e["userId"] for e in events if e["userId"]}),
            "songs": len({s["song_id"] for s in songs}),
            "artists": len({s["artist_id"] for s in songs}),
            "time": len({e["ts"] for e in plays}),
        },
    }


def test_materialization_launched_over_graphql_reports_rows_and_check_results(
    ui_server: Webserver, materialized_day: MaterializedDay, real_sample: Path
) -> None:
    want = day_expectations(real_sample, materialized_day.day)
    nodes = by_name(ui_server.graphql(RESULTS_QUERY)["assetNodes"])
    for name in TABLES:
        (event,) = nodes[name]["assetMaterializations"]
        assert event["runId"] == materialized_day.run_id, name
        assert event["partition"] == (materialized_day.day if name in DAILY else None), name
        meta = metadata(event["metadataEntries"])
        assert meta["dagster/row_count"]["intValue"] == want["rows"][name], name
        assert meta["load_seconds"]["floatValue"] >= 0
        for check in nodes[name]["assetChecksOrError"]["checks"]:
            execution = check["executionForLatestMaterialization"]
            assert execution["runId"] == materialized_day.run_id, f"{name}.{check['name']} did not run"
            assert execution["evaluation"], f"{name}.{check['name']} was not evaluated: {execution}"
            if execution["evaluation"]["severity"] == "ERROR":  # a WARN check may fail on the real sample
                assert execution["status"] == "SUCCEEDED", f"{name}.{check['name']}: {execution}"

    events = metadata(nodes["staging_events"]["assetMaterializations"][0]["metadataEntries"])
    assert events["records_read"]["intValue"] == want["lines"]
    assert events["records_rejected"]["intValue"] == 0
    plays = metadata(nodes["songplays"]["assetMaterializations"][0]["metadataEntries"])
    rate = plays["song_match_rate"]["floatValue"]
    assert rate == pytest.approx(plays["plays_matched"]["intValue"] / want["rows"]["songplays"], abs=1e-4)

    # The run wrote to the warehouse the server was started with: the environment reached the run worker.
    db = Path(ui_server.env["SPARKIFY_DUCKDB_PATH"])
    assert len(warehouse_snapshot.table(db, "songplays")) == want["rows"]["songplays"]


def test_server_log_has_no_warnings(ui_server: Webserver, materialized_day: MaterializedDay) -> None:
    """Loading the code location and running it print no Python warning (ours or one our code triggers)."""
    assert not re.findall(r"\w+Warning: .*", ui_server.log_path.read_text(errors="replace"))


@pytest.fixture(scope="module")
def ui_page(chromium: Any, ui_server: Webserver) -> Iterator[Any]:
    """A browser tab on the asset graph, past the dialog Dagster shows on a fresh instance's first visit."""
    from playwright.sync_api import expect

    context = chromium.new_context(viewport=VIEWPORT)
    page = context.new_page()
    page.set_default_timeout(UI_TIMEOUT_MS)
    try:
        page.goto(f"{ui_server.url}/asset-groups")
        page.get_by_role("button", name="Skip").click()
        expect(page.get_by_text("Join the Dagster community")).to_be_hidden()
        yield page
    finally:
        context.close()


def test_browser_renders_every_asset_of_the_graph(
    ui_page: Any, ui_server: Webserver, materialized_day: MaterializedDay
) -> None:
    from playwright.sync_api import expect

    page = ui_page
    page.goto(f"{ui_server.url}/asset-groups")
    page.get_by_text("Hide navigation").click()  # more room for the graph
    page.locator("[aria-label=panel_show_right]").first.click()  # and the asset sidebar
    page.locator("[aria-label=settings]").last.click()  # the graph's own settings menu
    page.get_by_role("menuitem", name="Expand all groups").click()
    page.keyboard.press("Escape")
    nodes = page.locator('[class*="AssetNode_assetName"]')  # Dagster's markup is the only handle on a graph node
    expect(nodes).to_have_count(len(RAW | TABLES))
    assert sorted(nodes.all_inner_texts()) == sorted(RAW | TABLES)
    # The run's results reached the graph: the four unpartitioned tables show their materialization.
    expect(page.get_by_text("Materialized", exact=True)).to_have_count(4)
    screenshot(page, "asset-graph")


def test_browser_asset_page_shows_row_count_description_and_checks(
    ui_page: Any, ui_server: Webserver, materialized_day: MaterializedDay, real_sample: Path
) -> None:
    from playwright.sync_api import expect

    page = ui_page
    rows = day_expectations(real_sample, materialized_day.day)["rows"]["songplays"]
    page.goto(f"{ui_server.url}/assets/songplays")
    # The number beside its label: the smallest block whose whole text is the label and the number, however the
    # UI splits that text into elements (a regular expression is matched against an element's whole text).
    row_count = page.locator("div").filter(has_text=re.compile(rf"^\s*Row count\s*{rows:,}\s*$")).last
    expect(row_count).to_be_visible()
    expect(page.get_by_text("one row per song play", exact=False).first).to_be_visible()
    expect(page.get_by_text("songplay_id", exact=True).first).to_be_visible()  # the column schema
    screenshot(page, "asset-songplays")

    checks = by_name(ui_server.graphql(RESULTS_QUERY)["assetNodes"])["songplays"]["assetChecksOrError"]["checks"]
    page.goto(f"{ui_server.url}/assets/songplays?view=checks")
    for check in checks:
        # A check's row: the smallest element holding the check's name (its title) and ending in a status word.
        name = check["name"]
        row = (
            page.locator("div, span")
            .filter(has=page.get_by_title(name, exact=True))
            .filter(has_text=re.compile(rf"{re.escape(name)}\s*[A-Z][a-z]+( [a-z]+)*\s*$"))
            .last
        )
        expect(row).to_be_visible()
        if check["executionForLatestMaterialization"]["status"] == "SUCCEEDED":
            expect(row).to_have_text(re.compile(r"Succeeded\s*$"))
        else:  # the UI words warnings and failures in several ways; it must not call them a success
            expect(row).not_to_have_text(re.compile(r"Succeeded\s*$"))
    screenshot(page, "asset-songplays-checks")


UI_RUNS_QUERY = """
query {
  runsOrError(filter: {tags: [{key: "dagster/from_ui", value: "true"}]}) {
    ... on Runs { results { runId assetSelection { path } tags { key value } } }
  }
}
"""


def test_browser_materialize_button_launches_a_run_that_succeeds(
    ui_page: Any, ui_server: Webserver, materialized_day: MaterializedDay, real_sample: Path
) -> None:
    """Last in the module: it adds a materialization of `time` that the tests above do not expect."""
    from playwright.sync_api import expect

    page = ui_page
    page.goto(f"{ui_server.url}/assets/time")
    page.get_by_role("button", name=re.compile("Materialize")).first.click()
    partitions = page.get_by_placeholder(re.compile(r"^ex: "))  # the launch dialog's partition selection
    partitions.fill(materialized_day.day)
    partitions.press("Enter")
    page.get_by_role("button", name="Launch 1 run").click()
    expect(page.get_by_role("button", name="Launch 1 run")).to_be_hidden()  # the dialog closed

    (run,) = ui_server.poll(lambda: ui_server.graphql(UI_RUNS_QUERY)["runsOrError"]["results"], "a run from the UI")
    assert [a["path"] for a in run["assetSelection"]] == [["time"]]
    assert {"key": "dagster/partition", "value": materialized_day.day} in run["tags"]
    assert ui_server.wait_for_run(run["runId"]) == "SUCCESS", "\n".join(run_messages(ui_server, run["runId"]))
    (event,) = by_name(ui_server.graphql(RESULTS_QUERY)["assetNodes"])["time"]["assetMaterializations"]
    assert event["runId"] == run["runId"]
    rows = day_expectations(real_sample, materialized_day.day)["rows"]["time"]
    assert metadata(event["metadataEntries"])["dagster/row_count"]["intValue"] == rows
    page.goto(f"{ui_server.url}/runs/{run['runId']}")
    expect(page.get_by_text("Success", exact=True).first).to_be_visible()
    expect(page.get_by_text("Loading run logs")).to_be_hidden()
    screenshot(page, "run-launched-from-ui")
