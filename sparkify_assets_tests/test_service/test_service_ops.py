"""`make serve` as operators use it on a bad day, through the real service on its own local PostgreSQL (issue 17,
items 2-4). One test walks the phases, because each starts from the state the previous one left:

1. A queued run holds the DuckDB pool (its worker stopped with SIGSTOP, so it holds it for as long as the test
   needs, and ignores SIGTERM); `dagster asset materialize --partition-range` from a shell, through
   `python -m sparkify_service.shell`, waits for the pool instead of meeting the run on the file's lock; a run
   queued meanwhile waits behind the shell run. Run monitoring, polling every 2 s, checks the shell run and never
   fails it. A shell run that fails for real (a day without its log file) then alerts exactly once.
2. The holder is cancelled: its worker, deaf to SIGTERM, is killed with its group after the grace period, and the
   run is marked canceled, releasing the pool to the shell run, only once the worker is gone.
3. The supervisor SIGKILLed: its watchdog stops every process of the service, PostgreSQL last and cleanly, well
   within a minute; `make serve` starts again and refuses to start twice. (The next start's own sweep, for a
   watchdog killed too, is test_service_parts'.)
Every run costs a worker start (20-60 s on a busy 2-core machine), so: four runs, two service starts.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest
from dagster import AssetKey, DagsterEventType, DagsterInstance, DagsterRunStatus, RunsFilter

from sparkify_assets.settings import Settings
from sparkify_assets_tests.support.service import Service, alive, poll, processes_of, running_service
from sparkify_assets_tests.support.system_dir import own_system_dir
from sparkify_assets_tests.support.webhook_receiver import Receiver, running_receiver
from sparkify_assets_tests.support.webserver import LAUNCH_RUN, REPOSITORY_QUERY, free_port
from sparkify_assets_tests.test_automation.test_automation_local import copy_sample
from sparkify_service.local_postgres import pgdata_dir
from sparkify_service.shell import service_env
from sparkify_service.workers import SHELL_RUN_TAG, WORKER_PID_TAG, WORKER_START_TAG

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]
DAYS = [date(2018, 11, 1), date(2018, 11, 2), date(2018, 11, 3)]
MISSING_DAY = date(2018, 11, 4)  # a partition whose log file is not there: a shell run of it fails for real
LIMIT_S = 300.0  # every limit below only guards against a hang
SWEPT_WITHIN_S = 60.0  # the requirement: nothing of the service left a minute after the supervisor's death

ALERT_TICKS = """
query($s: SensorSelector!) {
  sensorOrError(sensorSelector: $s) { ... on Sensor { sensorState { ticks(limit: 20) { status timestamp } } } }
}"""
ALERT_SENSOR = {"repositoryLocationName": "sparkify_assets", "repositoryName": "__repository__",
                "sensorName": "alert_on_run_failure"}

TERMINATE = """
mutation($id: String!) { terminateRun(runId: $id) { __typename ... on PythonError { message } } }"""


def launch(service: Service, day: date) -> str:
    (repo,) = service.graphql(REPOSITORY_QUERY)["repositoriesOrError"]["nodes"]
    params = {"selector": {"repositoryLocationName": repo["location"]["name"], "repositoryName": repo["name"],
                           "pipelineName": "daily_logs"},
              "mode": "default", "runConfigData": {},
              "executionMetadata": {"tags": [{"key": "dagster/partition", "value": day.isoformat()}]}}
    result = service.graphql(LAUNCH_RUN, {"params": params})["launchRun"]
    assert result["__typename"] == "LaunchRunSuccess", result
    return result["run"]["runId"]


def started_worker(instance: DagsterInstance, run_id: str) -> int | None:
    """The worker pid once the run is STARTED and its worker has named itself."""
    run = instance.get_run_by_id(run_id)
    if run.status == DagsterRunStatus.STARTED and WORKER_START_TAG in run.tags:
        return int(run.tags[WORKER_PID_TAG])
    return None


def alert_ticks_since(service: Service, since: float) -> int:
    ticks = service.graphql(ALERT_TICKS, {"s": ALERT_SENSOR})["sensorOrError"]["sensorState"]["ticks"]
    return sum(t["timestamp"] > since and t["status"] != "STARTED" for t in ticks)


def daemons_of(home: Path) -> list[int]:
    return [p for p in processes_of(home) if b"dagster._daemon" in Path(f"/proc/{p}/cmdline").read_bytes()]


def first_step_start(instance: DagsterInstance, run_id: str) -> float:
    return min(e.timestamp for e in instance.all_logs(run_id, of_type=DagsterEventType.STEP_START))


def record(instance: DagsterInstance, run_id: str):  # noqa: ANN201
    (found,) = instance.get_run_records(RunsFilter(run_ids=[run_id]))
    return found


@pytest.fixture
def pg_data(monkeypatch) -> Iterator[Path]:  # noqa: ANN001
    """The local PostgreSQL's folder, outside pytest's base folder (a concurrent pytest session resets that folder
    to 0700), with a system folder of the test's own: as root the server keeps its data there (accounts.py)."""
    folder = Path(tempfile.mkdtemp(prefix="sparkify-ops-pg-"))
    try:
        with own_system_dir() as system:
            monkeypatch.setenv("SPARKIFY_SYSTEM_DIR", str(system))
            yield folder / "postgres"
    finally:
        shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    with running_receiver() as running:
        yield running


def test_shell_runs_cancel_and_a_killed_supervisor(real_sample: Path, tmp_path: Path, pg_data: Path,
                                                   receiver: Receiver, monkeypatch) -> None:  # noqa: ANN001
    monkeypatch.delenv("DAGSTER_POSTGRES_URL", raising=False)  # make serve's own PostgreSQL
    data = copy_sample(real_sample, tmp_path / "data", DAYS)
    home, port = tmp_path / "dagster_home", free_port()
    env = {"DAGSTER_HOME": str(home), "DAGSTER_POSTGRES_URL": "",  # unset: make serve starts its own PostgreSQL
           "SPARKIFY_SERVICE_DATA": str(pg_data), "SPARKIFY_PORT": str(port),
           "SPARKIFY_DATA_URL": str(data), "SPARKIFY_DUCKDB_PATH": str(tmp_path / "warehouse.duckdb"),
           "SPARKIFY_END_DATE": MISSING_DAY.isoformat(), "SPARKIFY_WAREHOUSE": "duckdb", "SPARKIFY_SENSOR": "off",
           "SPARKIFY_ALERT_WEBHOOK_URL": f"{receiver.url}/hooks/ops", "SPARKIFY_ALERT_INTERVAL_SECONDS": "2",
           "SPARKIFY_RUN_MONITORING_INTERVAL_SECONDS": "2", "SPARKIFY_CANCEL_GRACE_SECONDS": "5"}

    with running_service(env, home, port, tmp_path / "service-1.log") as service:
        password = (pg_data / "password").read_text().strip()
        settings = Settings.from_env({**os.environ, **env})
        monkeypatch.setenv("DAGSTER_POSTGRES_URL", service_env(settings)["DAGSTER_POSTGRES_URL"])
        with DagsterInstance.from_config(str(home)) as instance:
            # 1. A queued run holds the pool; a shell backfill waits for it; a run queued meanwhile waits behind.
            holder = launch(service, DAYS[0])
            holder_pid = poll(lambda: started_worker(instance, holder), "the queued run started", LIMIT_S, service)
            os.kill(holder_pid, signal.SIGSTOP)  # deaf to SIGTERM from now on: only SIGKILL ends it
            shell_log = tmp_path / "shell.log"
            command = [sys.executable, "-m", "sparkify_service.shell", "dagster", "asset", "materialize",
                       "-m", "sparkify_assets", "--select", "*",
                       "--partition-range", f"{DAYS[1].isoformat()}...{DAYS[2].isoformat()}"]
            shell_env = {k: v for k, v in {**os.environ, **env}.items() if k != "DAGSTER_POSTGRES_URL"}
            with open(shell_log, "wb") as out:
                shell = subprocess.Popen(command, env=shell_env, cwd=ROOT, stdout=out, stderr=subprocess.STDOUT,
                                         stdin=subprocess.DEVNULL)
            try:
                def shell_run():
                    runs = instance.get_runs(RunsFilter(tags={SHELL_RUN_TAG: "true"}))
                    return runs[0] if runs else None

                def waiting(run_id: str) -> bool:
                    return any("waits for pool" in (e.message or "")
                               for e in instance.all_logs(run_id, of_type=DagsterEventType.ENGINE_EVENT))

                backfill = poll(shell_run, "the shell run", LIMIT_S, service)
                poll(lambda: waiting(backfill.run_id), "the shell run waiting for the pool", LIMIT_S, service)
                assert backfill.tags[WORKER_PID_TAG] == str(shell.pid)  # the shell's process executes the run
                assert password.encode() not in Path(f"/proc/{shell.pid}/cmdline").read_bytes()
                behind = launch(service, DAYS[0])

                # 2. Cancel the holder: its stopped worker is killed with its group after the grace period, and
                # the run is canceled (its slot released to the shell run) only once the worker is gone.
                result = service.graphql(TERMINATE, {"id": holder})["terminateRun"]
                assert result["__typename"] == "TerminateRunSuccess", result
                seen_canceling_alive = False

                def canceled() -> bool:
                    nonlocal seen_canceling_alive
                    status = instance.get_run_by_id(holder).status
                    if status == DagsterRunStatus.CANCELED:
                        assert not alive(holder_pid), "marked canceled while its worker lived"
                        return True
                    assert status == DagsterRunStatus.CANCELING, status
                    seen_canceling_alive = seen_canceling_alive or alive(holder_pid)
                    return False

                poll(canceled, "the holder canceled", LIMIT_S, service)
                assert seen_canceling_alive
                kills = [e.message for e in instance.all_logs(holder, of_type=DagsterEventType.ENGINE_EVENT)
                         if "SIGKILL" in (e.message or "")]
                assert kills and "killing its process group" in kills[0], kills
                assert shell.wait(LIMIT_S) == 0, shell_log.read_text()[-4000:]
            finally:
                if alive(holder_pid):
                    os.kill(holder_pid, signal.SIGKILL)
                if shell.poll() is None:
                    shell.kill()
                    shell.wait()
            poll(lambda: instance.get_run_by_id(behind).is_finished, "the run queued behind", LIMIT_S, service)

            assert instance.get_run_by_id(holder).status == DagsterRunStatus.CANCELED
            runs = {r: instance.get_run_by_id(r) for r in (backfill.run_id, behind)}
            assert {r: run.status for r, run in runs.items()} == dict.fromkeys(runs, DagsterRunStatus.SUCCESS)
            for run_id in (holder, *runs):
                assert instance.all_logs(run_id, of_type=DagsterEventType.RUN_FAILURE) == []
            # The shell run's steps began after the holder ended; the run behind started after the shell run ended.
            assert first_step_start(instance, backfill.run_id) >= record(instance, holder).end_time
            assert record(instance, behind).start_time >= record(instance, backfill.run_id).end_time
            log = service.log()
            assert f"Checking run {backfill.run_id}" in log  # run monitoring looked at the shell run ...
            assert "Marking run" not in log and "as failed" not in log  # ... and failed nothing
            assert set(instance.get_materialized_partitions(AssetKey("staging_events"))) == {
                d.isoformat() for d in DAYS}
            assert password not in shell_log.read_text() and password not in log

            # A shell run's real failure alerts once, like any other run's.
            failing = [*command[:-4], "--select", "staging_events", "--partition", MISSING_DAY.isoformat()]
            assert subprocess.run(failing, env=shell_env, cwd=ROOT, capture_output=True,
                                  timeout=LIMIT_S).returncode != 0
            (failed,) = instance.get_runs(RunsFilter(tags={SHELL_RUN_TAG: "true"},
                                                     statuses=[DagsterRunStatus.FAILURE]))
            receiver.wait_for(lambda ms: any(m["run_id"] == failed.run_id for m in ms), "the shell run's alert",
                              LIMIT_S)
            alerted = time.time()
            poll(lambda: alert_ticks_since(service, alerted) >= 2, "two more alert ticks", LIMIT_S, service)
            assert [m["kind"] for m in receiver.received() if m["run_id"] == failed.run_id] == ["run_failed"]
            assert [m["run_id"] for m in receiver.received() if m["kind"] == "run_failed"] == [failed.run_id]

        # 3. The supervisor SIGKILLed: its watchdog stops everything within a minute, PostgreSQL cleanly.
        assert len(daemons_of(home)) == 1
        killed = time.monotonic()
        os.kill(service.process.pid, signal.SIGKILL)
        poll(lambda: not processes_of(home), "every process of the service stopped", LIMIT_S)
        swept_in = time.monotonic() - killed
        assert swept_in < SWEPT_WITHIN_S, swept_in
        assert not (pgdata_dir(pg_data) / "postmaster.pid").exists()  # a clean shutdown: no stale lock
        assert "watchdog: done" in service.log()
        print(f"swept {swept_in:.1f}s after the supervisor's SIGKILL")

    with running_service(env, home, port, tmp_path / "service-2.log") as service:
        assert len(daemons_of(home)) == 1
        second = subprocess.run([sys.executable, "-m", "sparkify_service"], env={**os.environ, **env},
                                capture_output=True, text=True, timeout=LIMIT_S)
        assert second.returncode != 0 and "already running" in second.stderr, second.stderr
        assert len(daemons_of(home)) == 1
        assert service.stop() == 0
        assert processes_of(home) == []
