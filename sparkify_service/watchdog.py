"""python -m sparkify_service.watchdog FD MARKER [PGDATA]: started by the supervisor in a session of its own.

Blocks reading FD, the read end of a pipe whose write end only the supervisor holds. "done" means the supervisor
stopped everything itself; anything else (end of file with nothing said) means it died without cleaning up, and
the watchdog stops every process carrying MARKER, then the PostgreSQL server of PGDATA (supervisor.sweep).
"""

from __future__ import annotations

import os
import signal
import sys
from pathlib import Path

from sparkify_service.supervisor import log_line, sweep


def main(argv: list[str]) -> int:
    fd, marker, *rest = argv
    for sig in (signal.SIGINT, signal.SIGHUP):
        signal.signal(sig, signal.SIG_IGN)  # only the pipe tells it when to act
    with os.fdopen(int(fd), "rb") as lifeline:
        said = lifeline.read()
    if said == b"done":
        return 0
    log_line("watchdog: the supervisor died without stopping the service: stopping what it started")
    sweep(marker, Path(rest[0]) if rest else None, lambda line: log_line(f"watchdog: {line}"))
    log_line("watchdog: done")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
