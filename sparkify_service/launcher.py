"""A run launcher whose workers can be health-checked, so run monitoring notices a dead worker within minutes.

Dagster's DefaultRunLauncher asks the code server to start the run worker as its own child and keeps nothing
that identifies it: when the worker and the code server die together (a host restart, a killed container, an OOM
kill of the process tree) nobody reports the run, and it stays STARTED until `max_runtime_seconds`. This launcher
starts the worker itself (`dagster api execute_run`, the command Dagster's Docker and Kubernetes launchers run),
in its own session, so it outlives restarts of the daemon and the code server, and records its pid and host in
the run's tags; run monitoring then asks `check_run_worker_health`, which looks the process up. A run started from
a shell gets the same tags from the process executing it (sparkify_service/storage.py), so it is checked the same
way; a run whose process cannot be looked up from here is never failed for that.

Cancelling stops the worker's whole process group: SIGTERM (Dagster's worker treats it as an interrupt and marks
the run canceled), then SIGKILL after SPARKIFY_CANCEL_GRACE_SECONDS (default 30). A run is marked canceled
here only once its group is gone, so its pool slot is never handed on while a stuck worker may still write.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

from dagster import DagsterRun, DefaultRunLauncher

from sparkify_assets.dagster_internals import CheckRunHealthResult, ExecuteRunArgs, LaunchRunContext, WorkerStatus
from sparkify_assets.settings import Settings
from sparkify_service.workers import WORKER_HOST_TAG, WORKER_PID_TAG, WORKER_START_TAG, is_same_process

__all__ = ["WORKER_HOST_TAG", "WORKER_PID_TAG", "LocalProcessRunLauncher"]

GONE_LIMIT_S = 30.0  # after SIGKILL: a process in uninterruptible sleep can take a moment to go
POLL_S = 0.2


class LocalProcessRunLauncher(DefaultRunLauncher):
    """Runs each run in a process of its own on this machine; its pid and host are in the run's tags."""

    def __init__(self, inst_data=None) -> None:  # noqa: ANN001 (Dagster's ConfigurableClassData)
        super().__init__(inst_data=inst_data)
        # Dagster builds the launcher from the instance file in each process that uses it: its one read of the
        # settings, checked like every other (the grace a cancel gives a worker before SIGKILL).
        self._cancel_grace_s = Settings.from_env().service.cancel_grace_seconds
        self._workers: dict[str, subprocess.Popen[bytes]] = {}  # run id -> worker this process started
        self._exit_codes: dict[str, int] = {}

    def launch_run(self, context: LaunchRunContext) -> None:
        run = context.dagster_run
        origin = run.job_code_origin
        if origin is None:
            raise ValueError(f"run {run.run_id} has no code origin: a run launched from a code location has one")
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
        if pid is None:  # its process never said which it is (an instance file without our storage)
            return CheckRunHealthResult(WorkerStatus.RUNNING, "the run's process is unknown: not checked")
        if host != socket.gethostname():
            return CheckRunHealthResult(WorkerStatus.RUNNING, f"the run's process (pid {pid}) runs on host {host}, "
                                        f"this is {socket.gethostname()}: not checked from here", run_worker_id=pid)
        if _is_worker_of(run, int(pid)):
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
        """SIGTERM to the worker's process group now, SIGKILL after the cancel grace; marked canceled once gone."""
        run = self._instance.get_run_by_id(run_id) if self.has_instance else None
        if run is None or run.is_finished or WORKER_PID_TAG not in run.tags:
            return False
        pid = int(run.tags[WORKER_PID_TAG])
        if run.tags.get(WORKER_HOST_TAG) != socket.gethostname() or not _is_worker_of(run, pid):
            return False
        group = _leads_group(pid)
        self._instance.report_run_canceling(run)
        if not _signal(pid, group, signal.SIGTERM):
            return False
        threading.Thread(target=self._stop_worker, args=(run_id, pid, group), daemon=True,
                         name=f"cancel-{run_id[:8]}").start()
        return True

    def _stop_worker(self, run_id: str, pid: int, group: bool) -> None:
        """Escalate to SIGKILL of the group if it outlives the grace period; then make the run's end official."""
        run = self._instance.get_run_by_id(run_id)
        if run is None:
            raise ValueError(f"run {run_id} was deleted while it was being canceled")
        grace = self._cancel_grace_s
        if not _wait_gone(run, pid, group, grace):
            self._instance.report_engine_event(
                f"run worker (pid {pid}) still running {grace:.0f}s after SIGTERM: killing its process "
                "group (SIGKILL)", run)
            _signal(pid, group, signal.SIGKILL)
            if not _wait_gone(run, pid, group, GONE_LIMIT_S):
                self._instance.report_engine_event(
                    f"run worker (pid {pid}) still present {GONE_LIMIT_S:.0f}s after SIGKILL; run monitoring will "
                    "time the cancel out", run)
                return
        latest = self._instance.get_run_by_id(run_id)
        if latest is not None and not latest.is_finished:  # a worker killed before it could record the end
            self._instance.report_run_canceled(latest, f"run worker (pid {pid}) stopped: run canceled")


def _signal(pid: int, group: bool, sig: signal.Signals) -> bool:
    """Signal the worker's process group when it leads one (the workers we start lead their own session), else
    the process alone (a shell run's process belongs to the shell's job); False when there is nothing left."""
    try:
        if group:
            os.killpg(pid, sig)
        else:
            os.kill(pid, sig)
    except ProcessLookupError:
        return False
    return True


def _leads_group(pid: int) -> bool:
    try:
        return os.getpgid(pid) == pid
    except ProcessLookupError:
        return False


def _group_alive(pgid: int) -> bool:
    """Whether a live (non-zombie) process remains in the process group `pgid` (none if it never was one)."""
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        if fields[2] == str(pgid) and fields[0] not in ("Z", "X"):
            return True
    return False


def _wait_gone(run: DagsterRun, pid: int, group: bool, limit_s: float) -> bool:
    """Until the worker and every process of its group are gone (True), or `limit_s` passed (False)."""
    deadline = time.monotonic() + limit_s
    while _is_worker_of(run, pid) or (group and _group_alive(pid)):
        if time.monotonic() > deadline:
            return False
        time.sleep(POLL_S)
    return True


def _is_worker_of(run: DagsterRun, pid: int) -> bool:
    """Whether `pid` is alive and is this run's worker (not a later process that reused the pid, not a zombie)."""
    identity = run.tags.get(WORKER_START_TAG)
    if identity is not None:
        return is_same_process(pid, identity)
    cmdline = Path(f"/proc/{pid}/cmdline")  # launched, not yet started: `execute_run` names the run
    if sys.platform.startswith("linux"):
        try:
            return run.run_id.encode() in cmdline.read_bytes()  # a zombie's cmdline is empty
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
