"""A run launcher whose workers can be health-checked, so run monitoring notices a dead worker within minutes.

Dagster's DefaultRunLauncher asks the code server to start the run worker as its own child and keeps nothing
that identifies it: when the worker and the code server die together (a host restart, a killed container, an OOM
kill of the process tree) nobody reports the run, and it stays STARTED until `max_runtime_seconds`. This launcher
starts the worker itself (`dagster api execute_run`, the command Dagster's Docker and Kubernetes launchers run),
in its own session, so it outlives restarts of the daemon and the code server, and records its pid and host in
the run's tags; run monitoring then asks `check_run_worker_health`, which looks the process up.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
from pathlib import Path

from dagster import _check as check
from dagster._core.launcher import DefaultRunLauncher, LaunchRunContext
from dagster._core.launcher.base import CheckRunHealthResult, WorkerStatus
from dagster._core.storage.dagster_run import DagsterRun
from dagster._grpc.types import ExecuteRunArgs

WORKER_PID_TAG = "sparkify/worker_pid"
WORKER_HOST_TAG = "sparkify/worker_host"


class LocalProcessRunLauncher(DefaultRunLauncher):
    """Runs each run in a process of its own on this machine; its pid and host are in the run's tags."""

    def __init__(self, inst_data=None) -> None:  # noqa: ANN001 (Dagster's ConfigurableClassData)
        super().__init__(inst_data=inst_data)
        self._workers: dict[str, subprocess.Popen[bytes]] = {}  # run id -> worker this process started
        self._exit_codes: dict[str, int] = {}

    def launch_run(self, context: LaunchRunContext) -> None:
        run = context.dagster_run
        origin = check.not_none(run.job_code_origin, "a run launched from a code location has a code origin")
        args = ExecuteRunArgs(job_origin=origin, run_id=run.run_id, instance_ref=self._instance.get_ref(),
                              set_exit_code_on_failure=True)
        # Its own session: a signal to the daemon's or the code server's process group does not reach the run.
        worker = subprocess.Popen(list(args.get_command_args()), stdin=subprocess.DEVNULL, start_new_session=True)
        self._instance.add_run_tags(run.run_id, {WORKER_PID_TAG: str(worker.pid),
                                                 WORKER_HOST_TAG: socket.gethostname()})
        self._run_ids.add(run.run_id)
        self._workers[run.run_id] = worker
        threading.Thread(target=self._reap, args=(run.run_id, worker), daemon=True,
                         name=f"reap-{run.run_id[:8]}").start()

    def _reap(self, run_id: str, worker: subprocess.Popen[bytes]) -> None:
        """Collect the worker's exit status, so it leaves no zombie and its death can be explained."""
        self._exit_codes[run_id] = worker.wait()
        self._workers.pop(run_id, None)

    @property
    def supports_check_run_worker_health(self) -> bool:
        return True

    def check_run_worker_health(self, run: DagsterRun) -> CheckRunHealthResult:
        pid, host = run.tags.get(WORKER_PID_TAG), run.tags.get(WORKER_HOST_TAG)
        if pid is None:
            return CheckRunHealthResult(WorkerStatus.UNKNOWN, "the run has no worker pid tag: it was not started "
                                        "by this launcher")
        if host != socket.gethostname():
            return CheckRunHealthResult(WorkerStatus.UNKNOWN, f"the run worker (pid {pid}) ran on host {host}, "
                                        f"this is {socket.gethostname()}: its process cannot be checked from here")
        if _is_worker_of(int(pid), run.run_id):
            return CheckRunHealthResult(WorkerStatus.RUNNING, run_worker_id=pid)
        return CheckRunHealthResult(WorkerStatus.FAILED, _death_message(pid, host, self._exit_code(run.run_id)),
                                    run_worker_id=pid)

    def _exit_code(self, run_id: str) -> int | None:
        """How a worker this process started ended (None for one started by an earlier daemon)."""
        worker = self._workers.get(run_id)
        if worker is not None:
            try:
                worker.wait(timeout=10)  # dead already: returns as soon as it is reaped, here or by _reap
            except subprocess.TimeoutExpired:
                pass
        return self._exit_codes.get(run_id, worker.returncode if worker is not None else None)

    def terminate(self, run_id: str) -> bool:
        """Ask the worker to stop (SIGTERM, which Dagster's worker handles as an interrupt)."""
        run = self._instance.get_run_by_id(run_id) if self.has_instance else None
        if run is None or run.is_finished or WORKER_PID_TAG not in run.tags:
            return False
        pid = int(run.tags[WORKER_PID_TAG])
        if run.tags.get(WORKER_HOST_TAG) != socket.gethostname() or not _is_worker_of(pid, run_id):
            return False
        self._instance.report_run_canceling(run)
        try:
            os.kill(pid, signal.SIGTERM)
        except ProcessLookupError:
            return False
        return True


def _is_worker_of(pid: int, run_id: str) -> bool:
    """Whether `pid` is alive and is this run's worker (not a later process that reused the pid, not a zombie)."""
    cmdline = Path(f"/proc/{pid}/cmdline")
    if sys.platform.startswith("linux"):
        try:
            return run_id.encode() in cmdline.read_bytes()  # a zombie's cmdline is empty
        except OSError:
            return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _death_message(pid: str, host: str, code: int | None) -> str:
    if code is None:
        how = "is gone"
    elif code < 0:
        how = f"was killed by signal {signal.Signals(-code).name}"
    else:
        how = f"exited with code {code}"
    return (f"the run worker process (pid {pid} on {host}) {how} before the run finished: the worker died "
            "(killed, out of memory, or its host restarted)")
