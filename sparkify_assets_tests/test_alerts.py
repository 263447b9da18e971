"""Alerts end to end: a real `dagster dev` (daemon, sensors, freshness daemon, run queue) posting to a webhook
receiver on loopback. One server for the module; two runs on copies of the real sample: a corrupted day that a
blocking check stops, and a day whose log file is missing. A one-minute freshness deadline makes the tables
those runs loaded overdue shortly after."""

from __future__ import annotations

import json
import shutil
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest

from sparkify_assets.resources.source import log_key
from sparkify_assets_tests.support.dagster_dev import running_dagster_dev
from sparkify_assets_tests.support.webhook_receiver import Receiver, running_receiver
from sparkify_assets_tests.support.webserver import REPOSITORY_QUERY, Webserver, launch_run

pytestmark = pytest.mark.slow

CORRUPTED_DAY = "2018-11-06"
MISSING_DAY = "2018-11-07"
SECRET = "tok-3f9c1a7e55d24b"  # part of the webhook URL: must appear in no message and no log
RUN_LIMIT_S = 300.0
ALERT_LIMIT_S = 300.0  # overdue needs 1-2 minutes after the load, then a daemon pass and a sensor tick

SENSOR_TICKS = """
query($selector: SensorSelector!) {
  sensorOrError(sensorSelector: $selector) {
    __typename
    ... on Sensor { sensorState { ticks(limit: 50) { status timestamp } } }
  }
}
"""


def launch_daily_run(server: Webserver, day: str) -> str:
    """What the schedule launches: the daily_logs job for one day. Returns the run id."""
    return launch_run(server, "daily_logs", day)


@dataclass(frozen=True)
class Scenario:
    server: Webserver
    receiver: Receiver
    corrupted_run: str
    missing_run: str
    started: datetime


def corrupt_one_play(path: Path) -> None:
    """Give one song play an impossible level; it is not its user's last event, so only songplays is wrong."""
    lines = path.read_text().split("\n")
    events = [json.loads(x) if x.strip() else None for x in lines]
    last_ts = {}
    for e in events:
        if e and e["userId"]:
            last_ts[e["userId"]] = max(last_ts.get(e["userId"], 0), e["ts"])
    n = next(i for i, e in enumerate(events)
             if e and e["page"] == "NextSong" and e["userId"] and e["ts"] < last_ts[e["userId"]])
    lines[n] = json.dumps({**events[n], "level": "premium"})
    path.write_text("\n".join(lines))


@pytest.fixture(scope="module")
def scenario(real_sample: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Scenario]:
    workdir = tmp_path_factory.mktemp("alerts")
    data = workdir / "data"
    corrupted = data / log_key(datetime.fromisoformat(CORRUPTED_DAY).date())
    corrupted.parent.mkdir(parents=True)
    shutil.copy(real_sample / corrupted.relative_to(data), corrupted)
    corrupt_one_play(corrupted)
    with running_receiver() as receiver:
        env = {
            "SPARKIFY_DATA_URL": str(data),
            "SPARKIFY_DUCKDB_PATH": str(workdir / "warehouse.duckdb"),
            "SPARKIFY_END_DATE": MISSING_DAY,
            "SPARKIFY_SENSOR": "off",  # the runs are the test's own
            "SPARKIFY_ALERT_WEBHOOK_URL": f"{receiver.url}/hooks/{SECRET}",
            # A deadline every minute for work loaded at least a minute earlier: overdue 1-2 minutes after a load.
            "SPARKIFY_FRESHNESS_DEADLINE_CRON": "* * * * *",
            "SPARKIFY_FRESHNESS_HOURS": str(1 / 60),
            "FRESHNESS_DAEMON_INTERVAL_SECONDS": "5",
            "SPARKIFY_ALERT_INTERVAL_SECONDS": "5",
        }
        with running_dagster_dev(workdir, {**env, "SPARKIFY_UI_URL": "http://ui.example:3000"}) as server:
            started = datetime.now(timezone.utc)
            # Queued, they run one after the other (dagster_instance.yaml: one run at a time).
            corrupted_run = launch_daily_run(server, CORRUPTED_DAY)
            missing_run = launch_daily_run(server, MISSING_DAY)
            for run_id in (corrupted_run, missing_run):
                assert server.wait_for_run(run_id, RUN_LIMIT_S) == "FAILURE"
            yield Scenario(server, receiver, corrupted_run, missing_run, started)


FRESHNESS_QUERY = "query { assetNodes { assetKey { path } freshnessStatusInfo { freshnessStatus } } }"


def freshness_in_ui(server: Webserver) -> dict[str, str]:
    return {"/".join(n["assetKey"]["path"]): n["freshnessStatusInfo"]["freshnessStatus"]
            for n in server.graphql(FRESHNESS_QUERY)["assetNodes"] if n["freshnessStatusInfo"]}


def sensor_ticks(server: Webserver, sensor: str) -> list[dict[str, Any]]:
    (repo,) = server.graphql(REPOSITORY_QUERY)["repositoriesOrError"]["nodes"]
    selector = {"repositoryLocationName": repo["location"]["name"], "repositoryName": repo["name"],
                "sensorName": sensor}
    result = server.graphql(SENSOR_TICKS, {"selector": selector})["sensorOrError"]
    assert result["__typename"] == "Sensor", result
    return result["sensorState"]["ticks"]


def wait_for_ticks_after(server: Webserver, sensor: str, after: float, count: int = 2) -> None:
    """Until the sensor has finished `count` evaluations that started after `after` (epoch seconds)."""
    server.poll(lambda: len([t for t in sensor_ticks(server, sensor)
                             if t["timestamp"] > after and t["status"] != "STARTED"]) >= count,
                f"{count} ticks of {sensor}", limit_s=ALERT_LIMIT_S)


def of_run(messages: list[dict[str, Any]], run_id: str) -> list[dict[str, Any]]:
    return [m for m in messages if m["run_id"] == run_id]


def check_missing_day_file(scenario: Scenario, messages: list[dict[str, Any]]) -> None:
    run_id = scenario.missing_run
    (message,) = of_run(messages, run_id)
    expected_file = f"log_data/2018/11/{MISSING_DAY}-events.json"
    assert message["kind"] == "run_failed"
    assert message["partition"] == MISSING_DAY and message["asset"] == "staging_events"
    assert message["job"] == "daily_logs" and message["check"] is None
    assert expected_file in message["error"] and "no log file" in message["error"]
    assert "\n" not in message["error"]
    for part in (MISSING_DAY, expected_file, "staging_events", f"http://ui.example:3000/runs/{run_id}"):
        assert part in message["text"], part


def check_blocking_check(scenario: Scenario, messages: list[dict[str, Any]]) -> None:
    run_id = scenario.corrupted_run
    (message,) = of_run(messages, run_id)
    assert message["kind"] == "check_failed"
    assert (message["asset"], message["check"], message["partition"]) == ("songplays", "level_accepted",
                                                                          CORRUPTED_DAY)
    assert message["error"] == "offending_rows: 1" and message["job"] == "daily_logs"
    for part in ("songplays.level_accepted", CORRUPTED_DAY, f"http://ui.example:3000/runs/{run_id}"):
        assert part in message["text"], part


def overdue(messages: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [m for m in messages if m["kind"] == "overdue"]


def check_overdue(scenario: Scenario, messages: list[dict[str, Any]]) -> None:
    # time was never loaded (the blocking check stopped it): its freshness is unknown, so no alert.
    assert sorted(m["asset"] for m in overdue(messages)) == ["songplays", "staging_events"]
    now = datetime.now(timezone.utc)
    # The day is the one whose deadline passed: with a deadline every minute, the minute before it.
    days = {(t - timedelta(minutes=1)).date().isoformat() for t in (scenario.started, now)}
    for m in overdue(messages):
        assert m["partition"] in days and m["run_id"] is None and m["check"] is None
        assert f"{m['asset']} is overdue" in m["text"] and m["partition"] in m["text"]
        assert f"http://ui.example:3000/assets/{m['asset']}" in m["text"]


def all_expected(scenario: Scenario, messages: list[dict[str, Any]]) -> bool:
    return (bool(of_run(messages, scenario.missing_run)) and bool(of_run(messages, scenario.corrupted_run))
            and {m["asset"] for m in overdue(messages)} >= {"staging_events", "songplays"})


def test_the_daemon_sends_one_message_per_failed_run_and_per_overdue_table(scenario: Scenario) -> None:
    """One test, so that pytest-xdist never starts this module's dagster dev twice."""
    scenario.receiver.wait_for(lambda ms: all_expected(scenario, ms), "every expected alert", ALERT_LIMIT_S)
    # Give both sensors two more evaluations: a duplicate would arrive by then.
    after = time.time()
    for sensor in ("alert_on_run_failure", "alert_on_overdue_tables"):
        wait_for_ticks_after(scenario.server, sensor, after)
    messages = scenario.receiver.received()
    check_missing_day_file(scenario, messages)
    check_blocking_check(scenario, messages)
    check_overdue(scenario, messages)
    assert len(messages) == 4, json.dumps(messages, indent=1)
    # What the catalogue shows: the two overdue tables degraded, time (never loaded) unknown.
    assert freshness_in_ui(scenario.server) == {"staging_events": "DEGRADED", "songplays": "DEGRADED",
                                                "time": "UNKNOWN"}  # nothing else: no alert for anything that went well
    # The webhook URL is a secret: used, never repeated in a message or a log line.
    assert all(path == f"/hooks/{SECRET}" for path in scenario.receiver.paths)
    assert SECRET not in json.dumps(messages)
    assert SECRET not in scenario.server.log_path.read_text(errors="replace")
