"""Which process executes a run, told apart from any later process that reuses its pid.

A pid alone names a process only while it lives: after it exits, the number is handed out again. Linux gives each
process a start time (clock ticks since boot, field 22 of /proc/<pid>/stat) and each boot an id, so pid, start
time and boot id together name one process for good. The run's tags carry that identity, written by the process
that executes the run (sparkify_service/storage.py), whoever started it: the service's launcher or a shell.
"""

from __future__ import annotations

import os
import socket
from pathlib import Path

WORKER_PID_TAG = "sparkify/worker_pid"
WORKER_HOST_TAG = "sparkify/worker_host"
WORKER_START_TAG = "sparkify/worker_start"  # "<boot id>:<start time in clock ticks>"
SHELL_RUN_TAG = "sparkify/shell_run"  # set on a run executed by the process that created it (not the queue)


def start_identity(pid: int) -> str | None:
    """The boot id and start time of a live, non-zombie process, or None when there is none (or not Linux)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        boot = Path("/proc/sys/kernel/random/boot_id").read_text().strip()
    except (OSError, IndexError):
        return None
    if fields[0] in ("Z", "X"):
        return None
    return f"{boot}:{fields[19]}"  # after ")": state is field 3 of stat, starttime field 22


def own_tags() -> dict[str, str]:
    """The tags that name this process as a run's worker."""
    tags = {WORKER_PID_TAG: str(os.getpid()), WORKER_HOST_TAG: socket.gethostname()}
    identity = start_identity(os.getpid())
    if identity is not None:
        tags[WORKER_START_TAG] = identity
    return tags


def is_same_process(pid: int, identity: str) -> bool:
    """Whether the process that had `identity` still runs as `pid`."""
    return start_identity(pid) == identity
