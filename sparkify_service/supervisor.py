"""A small process supervisor: children in their own process groups, stopped together.

Each child runs in its own session, so a terminal's Ctrl-C reaches only the supervisor, which then stops every
child in order (SIGTERM to its group, SIGKILL after a grace period). When one child dies on its own, the others
are stopped too and the supervisor exits non-zero naming the one that died: a half-running service is worse than
a stopped one. Processes the children start outside their groups (run workers, in sessions of their own) carry a
marker in their environment and are swept at the end, so nothing is left behind.

The supervisor's own death (kill -9, the OOM killer) runs none of that, and its children, in sessions of their
own, would live on. So a watchdog (sparkify_service/watchdog.py) holds the read end of a pipe only the supervisor
writes: when the supervisor ends without saying "done", the pipe closes and the watchdog sweeps everything that
carries the marker, then the local PostgreSQL; within SWEEP_GRACE_S + PG_STOP_STEPS (under a minute). `sweep` is
also what the next start runs for a previous supervisor that died with its watchdog (serve.py).
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from sparkify_assets.settings import process_environ

MARKER_ENV = "SPARKIFY_SERVICE_INSTANCE"  # set in every child's environment; inherited by what they start
GRACE_S = 20.0
SWEEP_GRACE_S = 15.0
# fast shutdown (disconnects clients, removes its lock file), immediate, then SIGKILL of its process group
PG_STOP_STEPS = ((signal.SIGINT, 15.0), (signal.SIGQUIT, 5.0), (signal.SIGKILL, 5.0))
POLL_S = 0.2
STOP_SIGNALS = (signal.SIGTERM, signal.SIGINT, signal.SIGHUP)


class Stop(Exception):
    """A stop signal arrived (SIGTERM, SIGINT, SIGHUP)."""

    def __init__(self, signum: int) -> None:
        super().__init__(signal.Signals(signum).name)
        self.signum = signum


class ChildDied(Exception):
    def __init__(self, name: str, pid: int, code: int) -> None:
        how = f"was killed by {signal.Signals(-code).name}" if code < 0 else f"exited with code {code}"
        super().__init__(f"{name} (pid {pid}) {how}")
        self.name = name


@dataclass
class Child:
    name: str
    process: subprocess.Popen[bytes]


class Supervisor:
    def __init__(self, log: Callable[[str], None]) -> None:
        self.log = log
        self.marker = uuid.uuid4().hex
        self.children: list[Child] = []
        self._handles_signals = False
        self._watchdog: subprocess.Popen[bytes] | None = None
        self._lifeline: int | None = None

    def guard(self, pgdata: Path | None) -> None:
        """Start the watchdog that sweeps this supervisor's processes (and `pgdata`'s server) if it dies."""
        read, self._lifeline = os.pipe()  # neither end is inherited by the children (PEP 446)
        argv = [sys.executable, "-m", "sparkify_service.watchdog", str(read), self.marker]
        env = {k: v for k, v in process_environ().items() if k != MARKER_ENV}
        self._watchdog = subprocess.Popen([*argv, *([str(pgdata)] if pgdata else [])], pass_fds=(read,), env=env,
                                          stdin=subprocess.DEVNULL, start_new_session=True)
        os.close(read)

    def release_guard(self) -> None:
        """Everything is stopped: tell the watchdog, and wait for it, so it outlives nothing."""
        if self._lifeline is None or self._watchdog is None:
            return
        try:
            os.write(self._lifeline, b"done")
        except OSError:  # the watchdog is gone already (killed): nothing to tell
            pass
        finally:
            os.close(self._lifeline)
            self._lifeline = None
        try:
            self._watchdog.wait(GRACE_S)
        except subprocess.TimeoutExpired:
            self._watchdog.kill()
            self._watchdog.wait()

    def install_signal_handlers(self) -> None:
        def handler(signum: int, _frame: object) -> None:
            raise Stop(signum)

        for sig in STOP_SIGNALS:
            signal.signal(sig, handler)
        self._handles_signals = True

    def run(self, body: Callable[[], None], died_note: str) -> int:
        """`body` (start the children, then watch them) to its end, as an exit status: 0 when a stop signal ended
        it, 1 when a child died (logged with `died_note`: what happened to the rest, where to look)."""
        try:
            body()
        except Stop as stop:
            self.log(f"{stop}: stopped")
        except ChildDied as died:
            self.log(f"{died}; {died_note}")
            return 1
        return 0

    def start(self, name: str, argv: Sequence[str], env: Mapping[str, str], cwd: Path | None = None) -> Child:
        process = subprocess.Popen(list(argv), env={**env, MARKER_ENV: self.marker}, cwd=cwd,
                                   stdin=subprocess.DEVNULL, start_new_session=True)
        child = Child(name, process)
        self.children.append(child)
        self.log(f"started {name} (pid {process.pid})")
        return child

    def check(self) -> None:
        """Raise ChildDied if any child has exited."""
        for child in self.children:
            code = child.process.poll()
            if code is not None:
                raise ChildDied(child.name, child.process.pid, code)

    def wait_until(self, ready: Callable[[], bool], what: str, limit_s: float) -> None:
        """Poll `ready` while watching the children; the limit only guards against a hang."""
        deadline = time.monotonic() + limit_s
        while not ready():
            self.check()
            if time.monotonic() > deadline:
                raise RuntimeError(f"{what} not ready after {limit_s:.0f}s")
            time.sleep(POLL_S)

    def watch(self) -> None:
        """Block until a child dies (raises ChildDied) or a stop signal arrives (raises Stop)."""
        while True:
            self.check()
            time.sleep(POLL_S)

    def stop_all(self) -> None:
        """Stop the children, most recently started first, then whatever they left running."""
        if self._handles_signals:
            for sig in STOP_SIGNALS:
                signal.signal(sig, signal.SIG_IGN)  # a second Ctrl-C must not cut the clean-up short
        for child in reversed(self.children):
            _stop_group(child, self.log)
        self.children.clear()
        leftovers = _marked_processes(self.marker)
        for pid in leftovers:
            self.log(f"stopping leftover process {pid}")
        _stop_pids(leftovers)


def take_over(record: Path, pgdata: Path | None, marker: str, log: Callable[[str], None]) -> None:
    """Refuse to start beside a live supervisor of the same DAGSTER_HOME; sweep up after a dead one; then record
    this one (pid, start identity, marker, PostgreSQL data) for the next start."""
    from sparkify_service.workers import is_same_process, start_identity

    try:
        previous = json.loads(record.read_text())
    except (OSError, ValueError):
        previous = None
    if previous:
        if previous.get("start") and is_same_process(int(previous["pid"]), str(previous["start"])):
            raise SystemExit(f"sparkify serve: already running (pid {previous['pid']}) for {record.parent}")
        pgdata_before = Path(previous["pgdata"]) if previous.get("pgdata") else None
        if sweep(str(previous["marker"]), pgdata_before, log):
            log(f"the previous supervisor (pid {previous['pid']}) died without stopping the service: stopped what "
                "it left")
    record.parent.mkdir(parents=True, exist_ok=True)
    record.write_text(json.dumps({"pid": os.getpid(), "start": start_identity(os.getpid()), "marker": marker,
                                  "pgdata": str(pgdata) if pgdata else None}))


def sweep(marker: str, pgdata: Path | None, log: Callable[[str], None]) -> bool:
    """Stop what a supervisor that died left running: its marked processes, then its local PostgreSQL. Whether
    there was anything to stop."""
    leftovers = _marked_processes(marker)
    for pid in leftovers:
        log(f"stopping leftover process {pid}")
    _stop_pids(leftovers, SWEEP_GRACE_S)
    stopped_postgres = pgdata is not None and stop_postgres(pgdata, log)
    return bool(leftovers) or stopped_postgres


def stop_postgres(pgdata: Path, log: Callable[[str], None]) -> bool:
    """Stop the server whose lock file is in `pgdata`, if it still runs (its pid checked against its command)."""
    try:
        pid = int((pgdata / "postmaster.pid").read_text().split("\n", 1)[0])
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
    except (OSError, ValueError):
        return False
    if str(pgdata).encode() not in cmdline or not _alive(pid):
        return False  # a stale lock file: PostgreSQL itself takes over a lock whose process is gone
    log(f"stopping leftover PostgreSQL (pid {pid})")
    for sig, wait in PG_STOP_STEPS:
        try:
            if sig == signal.SIGKILL:
                os.killpg(pid, sig)  # its backends are in its group (it leads its own session)
            else:
                os.kill(pid, sig)
        except ProcessLookupError:
            return True
        deadline = time.monotonic() + wait
        while _alive(pid) and time.monotonic() < deadline:
            time.sleep(POLL_S)
        if not _alive(pid):
            return True
    return True


def _stop_group(child: Child, log: Callable[[str], None]) -> None:
    process = child.process
    if process.poll() is None:
        log(f"stopping {child.name} (pid {process.pid})")
        _signal_group(process.pid, signal.SIGTERM)
        try:
            process.wait(GRACE_S)
        except subprocess.TimeoutExpired:
            log(f"{child.name} did not stop in {GRACE_S:.0f}s: killing it")
    _signal_group(process.pid, signal.SIGKILL)  # the group can outlive its leader
    process.wait()


def _signal_group(pgid: int, sig: signal.Signals) -> None:
    try:
        os.killpg(pgid, sig)
    except (ProcessLookupError, PermissionError):
        pass


def _marked_processes(marker: str) -> list[int]:
    """Live processes whose environment carries our marker (Linux /proc; elsewhere none are found)."""
    return processes_with(MARKER_ENV, marker)


def processes_with(variable: str, value: str) -> list[int]:
    """Processes other than this one whose environment holds `variable`=`value` (Linux /proc; elsewhere none).
    Public because the tests find a service's processes by its DAGSTER_HOME the same way."""
    needle = f"{variable}={value}".encode()
    found = []
    for entry in Path("/proc").glob("[0-9]*"):
        try:
            if needle in (entry / "environ").read_bytes().split(b"\0") and int(entry.name) != os.getpid():
                found.append(int(entry.name))
        except (OSError, ValueError):
            continue
    return found


def _stop_pids(pids: list[int], grace_s: float = GRACE_S) -> None:
    """SIGTERM to all, a grace period for all together, then SIGKILL to what is left."""
    for sig in (signal.SIGTERM, signal.SIGKILL):
        for pid in pids:
            try:
                os.kill(pid, sig)
            except ProcessLookupError:
                pass
        deadline = time.monotonic() + grace_s
        while (pids := [p for p in pids if _alive(p)]) and time.monotonic() < deadline:
            time.sleep(POLL_S)
        if not pids:
            return


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    return state != "Z"


def log_line(message: str) -> None:
    print(f"sparkify serve: {message}", file=sys.stderr, flush=True)
