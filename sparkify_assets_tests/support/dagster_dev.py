"""A real `dagster dev` (webserver + daemon + code server) for tests, as `make dev` runs it: the project's
dagster_instance.yaml (run queue, freshness), a free loopback port, its own process group, always stopped."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sparkify_assets_tests.support.webserver import (
    ROOT,
    STARTUP_LIMIT_S,
    Webserver,
    _ready,
    _stop,
    free_port,
)


@contextmanager
def running_dagster_dev(workdir: Path, env: dict[str, str]) -> Iterator[Webserver]:
    """`dagster dev -w workspace.yaml` with `env` on top of this process's; DAGSTER_HOME is created in `workdir`.

    Started with Popen in a new session: in its own process group, SIGTERM stops it (design.md section 4).
    """
    home = workdir / "dagster_home"
    home.mkdir(parents=True, exist_ok=True)
    shutil.copy(ROOT / "dagster_instance.yaml", home / "dagster.yaml")
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    full_env = {
        **os.environ,
        "DAGSTER_HOME": str(home),
        "SPARKIFY_WAREHOUSE": "duckdb",
        "PYTHONPATH": os.pathsep.join(p for p in (str(ROOT), os.environ.get("PYTHONPATH")) if p),
        "PYTHONWARNINGS": "ignore:Function `dev_command` is superseded",  # as the Makefile's `dev` target
        **env,
    }
    log_path = workdir / "dagster_dev.log"
    cmd = [sys.executable, "-m", "dagster", "dev", "-h", "127.0.0.1", "-p", str(port),
           "-w", str(ROOT / "workspace.yaml")]
    with open(log_path, "wb") as log:
        process = subprocess.Popen(cmd, cwd=workdir, env=full_env, stdout=log, stderr=subprocess.STDOUT,
                                   start_new_session=True)
    server = Webserver(url=url, process=process, log_path=log_path, env=full_env)
    try:
        deadline = time.monotonic() + STARTUP_LIMIT_S * 2  # webserver, daemon and code server on 2 busy cores
        while not _ready(url):
            if process.poll() is not None:
                raise RuntimeError(f"dagster dev exited with {process.returncode}\n{server.log_tail()}")
            if time.monotonic() > deadline:
                raise RuntimeError(f"dagster dev did not answer in {STARTUP_LIMIT_S * 2:.0f}s\n{server.log_tail()}")
            time.sleep(0.25)
        yield server
    finally:
        _stop(process)
