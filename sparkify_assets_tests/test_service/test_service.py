"""`make serve` as an operator runs it, on a real PostgreSQL: code server, webserver and daemon started by the
supervisor (python -m sparkify_service), fed by the sensor from a copy of a sample day.

One test walks the whole life of the service, because each phase starts from the state the previous one left:
the sensor requests the day and the songs; the day's run loses its worker to SIGKILL while it runs, is failed with
the reason and retried; then the tables equal an independent computation from the raw files and a clean run, the
runs are in PostgreSQL (no SQLite under DAGSTER_HOME), one warehouse run ran at a time, and the password shows
nowhere; SIGTERM stops every process; a restart starts no run. (That a changed file then gets exactly one run, also
with a new instance, is test_sensor_loaded_work's.) Each run costs a worker process start, so: one sample day.
"""

from __future__ import annotations

import json
import os
import signal
import time
import uuid
from datetime import date
from pathlib import Path

import psycopg2
from dagster import AssetKey, DagsterEventType, DagsterInstance, DagsterRunStatus, RunsFilter

from sparkify_assets.dagster_internals import PARENT_RUN_ID_TAG
from sparkify_assets.run import materialize_days
from sparkify_assets.tables import ALL_TABLES
from sparkify_assets_tests.conftest import local_defs
from sparkify_assets_tests.support import expected, warehouse_snapshot
from sparkify_assets_tests.support.postgres import running_postgres
from sparkify_assets_tests.support.service import Service, poll, processes_of, running_service
from sparkify_assets_tests.support.webserver import free_port
from sparkify_assets_tests.test_automation.test_automation_local import copy_sample
from sparkify_service.launcher import WORKER_PID_TAG

DAYS = [date(2018, 11, 1)]
LOAD_LIMIT_S = 300.0  # every limit below only guards against a hang

SENSOR_TICKS = """
query($s: SensorSelector!) {
  sensorOrError(sensorSelector: $s) { __typename ... on Sensor { sensorState { ticks(limit: 20) { timestamp } } } }
}"""
SENSOR = {"repositoryLocationName": "sparkify_assets", "repositoryName": "__repository__",
          "sensorName": "source_files_sensor"}


def settled(instance: DagsterInstance, at_least: int) -> bool:
    runs = instance.get_runs()
    return len(runs) >= at_least and all(r.is_finished for r in runs)


def loaded_days(instance: DagsterInstance) -> set[str]:
    return set(instance.get_materialized_partitions(AssetKey("staging_events")))


def ticks_since(service: Service, since: float) -> int:
    state = service.graphql(SENSOR_TICKS, {"s": SENSOR})["sensorOrError"]["sensorState"]
    return sum(t["timestamp"] > since for t in state["ticks"])


def assert_tables_equal_the_raw_files(db: Path, data: Path) -> None:
    exp = expected.compute(data)
    staged = warehouse_snapshot.table(db, "staging_events")
    assert sorted(zip(staged.source_key, staged.line_number, strict=True)) == sorted(
        zip(exp.events._key, exp.events._line, strict=True))
    plays = warehouse_snapshot.table(db, "songplays")
    assert sorted(plays.songplay_id) == sorted(exp.songplays.songplay_id)
    assert sorted(warehouse_snapshot.table(db, "users").user_id) == sorted(exp.users.index)
    assert len(warehouse_snapshot.table(db, "staging_songs")) == len(exp.songs)


def test_service_loads_survives_a_killed_worker_and_restarts_without_duplicates(
        real_sample: Path, tmp_path: Path, monkeypatch) -> None:  # noqa: ANN001
    password = f"pw-{uuid.uuid4().hex}"
    with running_postgres(database="dagster", user="dagster", password=password) as pg:
        url = f"postgresql://dagster:{password}@127.0.0.1:{pg.direct_port}/dagster"
        monkeypatch.setenv("DAGSTER_POSTGRES_URL", url)  # for this test's own look at the instance
        data = copy_sample(real_sample, tmp_path / "data", DAYS)
        home, db, port = tmp_path / "dagster_home", tmp_path / "warehouse.duckdb", free_port()
        env = {"DAGSTER_HOME": str(home), "DAGSTER_POSTGRES_URL": url, "SPARKIFY_PORT": str(port),
               "SPARKIFY_DATA_URL": str(data), "SPARKIFY_DUCKDB_PATH": str(db),
               "SPARKIFY_END_DATE": DAYS[-1].isoformat(), "SPARKIFY_WAREHOUSE": "duckdb", "SPARKIFY_SENSOR": "on",
               "SPARKIFY_SENSOR_INTERVAL_SECONDS": "2", "SPARKIFY_RUN_MONITORING_INTERVAL_SECONDS": "2"}

        # 1-2. The sensor requests the day and the songs; the day's run loses its worker while it runs.
        with running_service(env, home, port, tmp_path / "service-1.log") as service, \
                DagsterInstance.from_config(str(home)) as instance:

            def started_day_run():
                runs = [r for r in instance.get_runs(RunsFilter(statuses=[DagsterRunStatus.STARTED]))
                        if r.job_name == "daily_logs" and WORKER_PID_TAG in r.tags]
                return runs[0] if runs else None

            victim = poll(started_day_run, "the day's run started", LOAD_LIMIT_S, service)
            assert victim.tags["dagster/partition"] == DAYS[0].isoformat()
            worker = int(victim.tags[WORKER_PID_TAG])
            assert password.encode() not in Path(f"/proc/{worker}/cmdline").read_bytes()
            os.kill(worker, signal.SIGKILL)
            poll(lambda: instance.get_run_by_id(victim.run_id).status == DagsterRunStatus.FAILURE,
                 "the killed run marked failed", LOAD_LIMIT_S, service)
            (failure,) = instance.all_logs(victim.run_id, of_type=DagsterEventType.RUN_FAILURE)
            assert "run worker process" in failure.message and "SIGKILL" in failure.message, failure.message

            def retry():
                runs = instance.get_runs(RunsFilter(tags={PARENT_RUN_ID_TAG: victim.run_id}))
                return runs[0] if runs and runs[0].is_finished else None

            assert poll(retry, "the retried run", LOAD_LIMIT_S, service).status == DagsterRunStatus.SUCCESS
            poll(lambda: loaded_days(instance) == {d.isoformat() for d in DAYS} and settled(instance, 3),
                 "every run finished", LOAD_LIMIT_S, service)
            runs = instance.get_runs()
            assert sorted((r.job_name, r.status.value) for r in runs) == [
                ("daily_logs", "FAILURE"), ("daily_logs", "SUCCESS"), ("song_catalog", "SUCCESS")]

            # The tables: as computed from the raw files, and as a clean run leaves them.
            assert_tables_equal_the_raw_files(db, data)
            clean = tmp_path / "clean.duckdb"
            with DagsterInstance.ephemeral() as scratch:
                assert materialize_days(local_defs(data, clean), DAYS, scratch).success
            everything = [t.name for t in ALL_TABLES]  # source_versions too: the same files were read
            assert warehouse_snapshot.snapshot(db, everything) == warehouse_snapshot.snapshot(clean, everything)

            # Runs in PostgreSQL, no SQLite storage; the DuckDB pool let one run at a time use the warehouse.
            with psycopg2.connect(url) as con, con.cursor() as cur:
                cur.execute("SELECT count(*) FROM runs")
                assert cur.fetchone()[0] == len(runs)
            assert [p for p in home.rglob("*") if p.suffix in (".db", ".sqlite")] == []
            spans = sorted((r.start_time, r.end_time) for r in instance.get_run_records())
            assert all(later[0] >= earlier[1] for earlier, later in zip(spans, spans[1:], strict=False)), spans

            # The password is in no log line, run config, tag or the UI's view of the instance.
            info = service.graphql("{ instance { info } }")["instance"]["info"] or ""
            recorded = json.dumps([(r.run_config, r.tags) for r in runs])
            assert password not in info and password not in recorded and password not in service.log()

            # 3. SIGTERM stops every process the service started.
            assert service.stop() == 0, service.log()[-4000:]
            assert processes_of(home) == []
        run_count = len(runs)

        # 4. A restart keeps everything and starts no run while no file changes.
        with running_service(env, home, port, tmp_path / "service-2.log") as service, \
                DagsterInstance.from_config(str(home)) as instance:
            restarted = time.time()
            poll(lambda: ticks_since(service, restarted) >= 2, "two sensor ticks after the restart", LOAD_LIMIT_S,
                 service)
            assert len(instance.get_runs()) == run_count
            assert {r.run_id for r in instance.get_runs()} == {r.run_id for r in runs}  # history kept, nothing new
            assert password not in service.log()
            assert service.stop() == 0
            assert processes_of(home) == []
