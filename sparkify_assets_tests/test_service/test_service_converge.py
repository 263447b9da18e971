"""`make serve` on a NEW instance over a warehouse a killed backfill left behind (staging loaded, nothing built on
it), with the webhook down: with no run started by hand, the service completes every day it can, tries a day whose
blocking check keeps failing a bounded number of times, and its one alert for that day survives the outage and a
restart of the service, to arrive exactly once when the webhook is back. No message for the runs convergence
retried by itself. (The same steps ticked by hand, and why: test_converge.)"""

from __future__ import annotations

import time
import uuid
from pathlib import Path

import pytest
from dagster import DagsterInstance, RunsFilter

from sparkify_assets.automation import converge
from sparkify_assets.resources.duckdb_warehouse import DuckDBWarehouse
from sparkify_assets_tests.support import expected, warehouse_snapshot
from sparkify_assets_tests.support.postgres import running_postgres
from sparkify_assets_tests.support.service import poll, running_service
from sparkify_assets_tests.support.webhook_receiver import running_receiver
from sparkify_assets_tests.support.webserver import free_port
from sparkify_assets_tests.test_automation.test_automation_local import copy_sample
from sparkify_assets_tests.test_automation.test_converge import BAD, GOOD, staged_warehouse
from sparkify_assets_tests.test_service.test_service import ticks_since

pytestmark = pytest.mark.slow

ATTEMPTS = 2  # of the bad day alone (3 by default; test_converge counts those)
LIMIT_S = 600.0  # hang guards only: five runs through a busy 2-core machine
ALERT_SENSOR = "alert_on_run_failure"
ALERT_TICKS = """
query($s: SensorSelector!) {
  sensorOrError(sensorSelector: $s) { __typename ... on Sensor { sensorState { ticks(limit: 20) { timestamp } } } }
}"""


def alert_ticks_since(service, since: float) -> int:  # noqa: ANN001
    selector = {"repositoryLocationName": "sparkify_assets", "repositoryName": "__repository__",
                "sensorName": ALERT_SENSOR}
    state = service.graphql(ALERT_TICKS, {"s": selector})["sensorOrError"]["sensorState"]
    return sum(t["timestamp"] > since for t in state["ticks"])


def test_a_new_instance_completes_the_days_and_alerts_once_for_the_one_it_cannot(
        real_sample: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    data, db = staged_warehouse(real_sample, tmp_path)
    published = tmp_path / "published.duckdb"  # what analysts open (docs/analysts.md)
    password = f"pw-{uuid.uuid4().hex}"
    with running_postgres(database="dagster", user="dagster", password=password) as pg, running_receiver() as hook:
        hook.refusing = True  # the webhook is down from the start
        url = f"postgresql://dagster:{password}@127.0.0.1:{pg.direct_port}/dagster"
        monkeypatch.setenv("DAGSTER_POSTGRES_URL", url)  # for this test's own look at the instance
        home, port = tmp_path / "dagster_home", free_port()
        env = {"DAGSTER_HOME": str(home), "DAGSTER_POSTGRES_URL": url, "SPARKIFY_PORT": str(port),
               "SPARKIFY_DATA_URL": str(data), "SPARKIFY_DUCKDB_PATH": str(published),
               "SPARKIFY_DUCKDB_WORKING_PATH": str(db),  # the pipeline's own file, as the killed run left it
               "SPARKIFY_END_DATE": BAD.isoformat(), "SPARKIFY_WAREHOUSE": "duckdb", "SPARKIFY_SENSOR": "on",
               "SPARKIFY_SENSOR_INTERVAL_SECONDS": "2", "SPARKIFY_RUN_MONITORING_INTERVAL_SECONDS": "2",
               "SPARKIFY_ALERT_WEBHOOK_URL": f"{hook.url}/hooks/x", "SPARKIFY_ALERT_INTERVAL_SECONDS": "2",
               "SPARKIFY_CONVERGE_ATTEMPTS": str(ATTEMPTS)}
        # The catalogue the killed run never built, a run per contiguous range, then the bad day alone (twice).
        attempts = 1 + 2 + ATTEMPTS

        with running_service(env, home, port, tmp_path / "service-1.log") as service:
            instance = DagsterInstance.from_config(str(home))
            try:
                def finished() -> list:  # noqa: ANN401
                    runs = instance.get_runs()
                    return runs if len(runs) >= attempts and all(r.is_finished for r in runs) else []

                runs = poll(finished, f"{attempts} runs finished", LIMIT_S, service)
                poll(lambda: hook.refused >= 2, "the alert offered (and refused) twice", LIMIT_S, service)
            finally:
                instance.dispose()
            assert service.stop() == 0
        assert sorted(r.status.value for r in runs) == ["FAILURE"] * (1 + ATTEMPTS) + ["SUCCESS"] * 2
        assert all(r.tags.get(converge.KIND_TAG) for r in runs)  # every run the service's own
        assert hook.received() == []

        # The service restarted, the webhook back: the alert arrives once; no further run is started.
        with running_service(env, home, port, tmp_path / "service-2.log") as service:
            hook.refusing = False
            (message,) = hook.wait_for(lambda ms: ms, "the incomplete-day alert", LIMIT_S)
            back = time.time()
            poll(lambda: alert_ticks_since(service, back) >= 3 and ticks_since(service, back) >= 3,
                 "three more ticks of the alert and source sensors", LIMIT_S, service)
            instance = DagsterInstance.from_config(str(home))
            try:
                assert len(instance.get_runs(RunsFilter())) == attempts
            finally:
                instance.dispose()
            assert service.stop() == 0
        assert hook.received() == [message]
        assert (message["kind"], message["partition"], message["asset"]) == ("incomplete", BAD.isoformat(),
                                                                            "songplays")
        assert "level_accepted" in message["error"] and message["event_id"].startswith("run:")

    assert set(converge.incomplete_days(DuckDBWarehouse(path=str(db)))) == {BAD}
    assert converge.incomplete_catalogue(DuckDBWarehouse(path=str(db))) is None
    good = expected.compute(copy_sample(real_sample, tmp_path / "good", GOOD))
    plays = warehouse_snapshot.table(db, "songplays")
    assert sorted(plays[plays.start_time.dt.date.isin(GOOD)].songplay_id) == sorted(good.songplays.songplay_id)
    seen = warehouse_snapshot.table(published, "songplays")  # analysts see the completed days too
    assert sorted(seen[seen.start_time.dt.date.isin(GOOD)].songplay_id) == sorted(good.songplays.songplay_id)
    everything = expected.compute(copy_sample(real_sample, tmp_path / "all", [*GOOD, BAD]))
    assert sorted(warehouse_snapshot.table(db, "users").user_id) == sorted(everything.users.index)
    assert set(warehouse_snapshot.table(db, "songs").song_id) == set(everything.songs.song_id)
