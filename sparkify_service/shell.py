"""python -m sparkify_service.shell COMMAND...: run COMMAND (e.g. `dagster asset materialize ...`) against the
instance of a running `make serve`, as a first-class run of the service.

It sets DAGSTER_HOME (default: make serve's, data/service/dagster_home) and, when DAGSTER_POSTGRES_URL is unset,
builds that URL for the local PostgreSQL `make serve` started: the password from the server's data folder (0600),
the port from its lock file. Both go into COMMAND's environment only (which only its user and root can read), never
onto a command line or the terminal. COMMAND then replaces this process.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from urllib.parse import quote

from sparkify_assets.settings import Settings
from sparkify_service.local_postgres import DATABASE, USER, pgdata_dir

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_HOME = ROOT / "data" / "service" / "dagster_home"


def service_env(settings: Settings) -> dict[str, str]:
    """The environment of `settings` with DAGSTER_HOME and DAGSTER_POSTGRES_URL of the service's instance."""
    service = settings.service
    home = Path(service.dagster_home or DEFAULT_HOME).resolve()
    path = os.pathsep.join([str(Path(sys.executable).parent), settings.environ.get("PATH", os.defpath)])
    env = {**settings.environ, "DAGSTER_HOME": str(home), "PATH": path}  # the project's `dagster`, venv or not
    if not service.postgres_url:
        data = Path(service.data or home.parent / "postgres").resolve()
        env["DAGSTER_POSTGRES_URL"] = local_url(data)
    return env


def local_url(data: Path) -> str:
    """The URL of the running local PostgreSQL whose data folder is `data`."""
    pid_file = pgdata_dir(data) / "postmaster.pid"  # as root, in the server account's own folder (accounts.py)
    try:
        lock = pid_file.read_text().splitlines()
        password = (data / "password").read_text().strip()
    except OSError as error:
        raise SystemExit(f"sparkify shell: no running local PostgreSQL under {data} ({error.strerror}): start "
                         "`make serve` first, or set DAGSTER_POSTGRES_URL") from None
    if len(lock) < 4 or not lock[3].strip().isdigit():
        raise SystemExit(f"sparkify shell: {pid_file} names no port: is the server up?")
    return f"postgresql://{USER}:{quote(password, safe='')}@127.0.0.1:{lock[3].strip()}/{DATABASE}"


def main(argv: list[str]) -> int:
    if not argv:
        print(__doc__, file=sys.stderr)
        return 2
    os.execvpe(argv[0], argv, service_env(Settings.from_env()))
    return 0  # not reached: exec replaced this process


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
