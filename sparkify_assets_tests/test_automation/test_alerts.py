"""Alerts end to end: a real `dagster dev` (daemon, sensors, run queue) posting to a webhook receiver on loopback.

One server for the module; three runs on real sample days moved to the last three days (so that the due day, D =
yesterday with a deadline every minute and a 23 h 59 min delay, is one of them): D corrupted so that a blocking
check stops after songplays, D-2 whose log file is missing, then D-1 loaded in full, after D. The later load of an
older day must not make time look on time: it is overdue for D (one alert, its day_complete check failed on partition
D in the UI); staging_events and songplays, which hold D (songplays' failed blocking check is its own alert), are
not."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest

from sparkify_assets import freshness
from sparkify_assets.resources.source import log_key
from sparkify_assets.settings import Settings
from sparkify_assets_tests.support.dagster_dev import running_dagster_dev
from sparkify_assets_tests.support.webhook_receiver import Receiver, running_receiver
from sparkify_assets_tests.support.webserver import REPOSITORY_QUERY, Webserver, launch_run

pytestmark = pytest.mark.slow

SAMPLE_DAY, OLDER_SAMPLE_DAY = date(2018, 11, 6), date(2018, 11, 5)
# A deadline every minute for the day that ended 23 h 59 min earlier: the due day is yesterday (UTC).
FRESHNESS = {"SPARKIFY_FRESHNESS_DEADLINE_CRON": "* * * * *", "SPARKIFY_FRESHNESS_HOURS": str(1439 / 60)}
SECRET = "tok-3f9c1a7e55d24b"  # part of the webhook URL: must appear in no message and no log
RUN_LIMIT_S = 300.0
ALERT_LIMIT_S = 300.0

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
    due: str  # D: the corrupted day
    missing_day: str  # D-2


def due_day() -> date:
    with pytest.MonkeyPatch.context() as env:
        for name, value in FRESHNESS.items():
            env.setenv(name, value)
        return freshness.overdue_day(datetime.now(timezone.utc), Settings.from_env().alerts)


def move_day(source: Path, target: Path, days: int) -> None:
    """A sample day's log file as another day's: every event's ts moved by whole days (its UTC day with it)."""
    shift = days * 86_400_000
    lines = [json.dumps({**e, "ts": e["ts"] + shift}) if (e := json.loads(x) if x.strip() else None) else x
             for x in source.read_text().split("\n")]
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text("\n".join(lines))


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
    due = due_day()
    shift = (due - SAMPLE_DAY).days
    older, missing = due - timedelta(days=1), due - timedelta(days=2)
    move_day(real_sample / log_key(SAMPLE_DAY), data / log_key(due), shift)
    corrupt_one_play(data / log_key(due))
    move_day(real_sample / log_key(OLDER_SAMPLE_DAY), data / log_key(older), shift)
    env = {
        "SPARKIFY_DATA_URL": str(data),
        "SPARKIFY_DUCKDB_PATH": str(workdir / "warehouse.duckdb"),
        "SPARKIFY_START_DATE": missing.isoformat(),
        "SPARKIFY_END_DATE": due.isoformat(),
        "SPARKIFY_SENSOR": "off",  # the runs are the test's own
        **FRESHNESS,
        "SPARKIFY_ALERT_INTERVAL_SECONDS": "5",
        "SPARKIFY_UI_URL": "http://ui.example:3000",
    }
    # The runs first, without alert sensors: D is overdue from the start (its deadline passed), so a sensor
    # ticking while they run would rightly alert every table; here it judges only what the runs left.
    with running_dagster_dev(workdir, env) as server:
        # Queued, they run one after the other (dagster_instance.yaml: one run at a time): the older day last.
        corrupted_run = launch_daily_run(server, due.isoformat())
        missing_run = launch_daily_run(server, missing.isoformat())
        older_run = launch_daily_run(server, older.isoformat())
        for run_id, status in ((corrupted_run, "FAILURE"), (missing_run, "FAILURE"), (older_run, "SUCCESS")):
            assert server.wait_for_run(run_id, RUN_LIMIT_S) == status
    with running_receiver() as receiver, running_dagster_dev(
            workdir, {**env, "SPARKIFY_ALERT_WEBHOOK_URL": f"{receiver.url}/hooks/{SECRET}"}) as server:
        # alert_on_run_failure looks back an hour on its first tick: the two failed runs are in it.
        yield Scenario(server, receiver, corrupted_run, missing_run, due.isoformat(), missing.isoformat())


DAY_CHECK_QUERY = """
query($asset: AssetKeyInput!, $day: String) {
  assetCheckExecutions(assetKey: $asset, checkName: "day_complete", partition: $day, limit: 5) {
    status evaluation { partition description }
  }
}
"""


def day_check_in_ui(server: Webserver, day: str) -> dict[str, list[str]]:
    """Per daily table, the statuses of its day_complete check on partition `day`, newest first."""
    return {table: [e["status"] for e in server.graphql(DAY_CHECK_QUERY, {"asset": {"path": [table]}, "day": day})
                    ["assetCheckExecutions"] if e["evaluation"] and e["evaluation"]["partition"] == day]
            for table in ("staging_events", "songplays", "time")}


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
    run_id, day = scenario.missing_run, scenario.missing_day
    (message,) = of_run(messages, run_id)
    expected_file = log_key(date.fromisoformat(day))
    assert message["kind"] == "run_failed"
    assert message["partition"] == day and message["asset"] == "staging_events"
    assert message["job"] == "daily_logs" and message["check"] is None
    assert expected_file in message["error"] and "no log file" in message["error"]
    assert "\n" not in message["error"]
    for part in (day, expected_file, "staging_events", f"http://ui.example:3000/runs/{run_id}"):
        assert part in message["text"], part


def check_blocking_check(scenario: Scenario, messages: list[dict[str, Any]]) -> None:
    run_id = scenario.corrupted_run
    (message,) = of_run(messages, run_id)
    assert message["kind"] == "check_failed"
    assert (message["asset"], message["check"], message["partition"]) == ("songplays", "level_accepted",
                                                                          scenario.due)
    assert message["error"] == "offending_rows: 1" and message["job"] == "daily_logs"
    for part in ("songplays.level_accepted", scenario.due, f"http://ui.example:3000/runs/{run_id}"):
        assert part in message["text"], part


def overdue(messages: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [m for m in messages if m["kind"] == "overdue"]


def check_overdue(scenario: Scenario, messages: list[dict[str, Any]]) -> None:
    # D is judged on its own partition: time lacks it (the blocking check on songplays stopped the run before it)
    # although the later run loaded it for D-1; staging_events and songplays hold D, so they are not overdue.
    assert sorted(m["asset"] for m in overdue(messages)) == ["time"]
    for m in overdue(messages):
        assert m["partition"] == scenario.due and m["run_id"] is None and m["check"] is None
        assert f"{m['asset']} is overdue" in m["text"] and f"{scenario.due} is not loaded" in m["error"]
        assert f"http://ui.example:3000/assets/{m['asset']}" in m["text"]


def all_expected(scenario: Scenario, messages: list[dict[str, Any]]) -> bool:
    return (bool(of_run(messages, scenario.missing_run)) and bool(of_run(messages, scenario.corrupted_run))
            and {m["asset"] for m in overdue(messages)} >= {"time"})


def test_the_daemon_sends_one_message_per_failed_run_and_per_overdue_table(scenario: Scenario) -> None:
    """One test, so that pytest-xdist never starts this module's dagster dev twice."""
    scenario.receiver.wait_for(lambda ms: all_expected(scenario, ms), "every expected alert", ALERT_LIMIT_S)
    # Give both sensors two more evaluations: a duplicate would arrive by then.
    after = time.time()
    for sensor in ("alert_on_run_failure", "alert_on_overdue_tables"):
        wait_for_ticks_after(scenario.server, sensor, after)
    for sensor in ("alert_on_run_failure", "alert_on_overdue_tables"):  # every tick evaluated without an error
        assert "FAILURE" not in {t["status"] for t in sensor_ticks(scenario.server, sensor)}, sensor
    messages = scenario.receiver.received()
    check_missing_day_file(scenario, messages)
    check_blocking_check(scenario, messages)
    check_overdue(scenario, messages)
    assert len(messages) == 3, json.dumps(messages, indent=1)
    # What the catalogue shows for D: time's day_complete check failed on that partition, the others passed, each
    # recorded once (a tick records an outcome only when it changes).
    assert day_check_in_ui(scenario.server, scenario.due) == {"staging_events": ["SUCCEEDED"],
                                                              "songplays": ["SUCCEEDED"], "time": ["FAILED"]}
    # The webhook URL is a secret: used, never repeated in a message or a log line.
    assert all(path == f"/hooks/{SECRET}" for path in scenario.receiver.paths)
    assert SECRET not in json.dumps(messages)
    assert SECRET not in scenario.server.log_path.read_text(errors="replace")
