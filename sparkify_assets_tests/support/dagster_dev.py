"""A real `dagster dev` (webserver + daemon + code server) for tests, as `make dev` runs it: the project's
dagster_instance.yaml (run queue, freshness), a free loopback port, its own process group, always stopped."""

from __future__ import annotations

import shutil
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sparkify_assets_tests.support.webserver import ROOT, STARTUP_LIMIT_S, Webserver, free_port, server_env, serving


@contextmanager
def running_dagster_dev(workdir: Path, env: dict[str, str]) -> Iterator[Webserver]:
    """`dagster dev -w workspace.yaml` with `env` on top of this process's; DAGSTER_HOME is created in `workdir`.

    Started with Popen in a new session: in its own process group, SIGTERM stops it (design.md section 4).
    """
    home = workdir / "dagster_home"
    home.mkdir(parents=True, exist_ok=True)
    shutil.copy(ROOT / "dagster_instance.yaml", home / "dagster.yaml")
    port = free_port()
    full_env = server_env(home, {
        "PYTHONWARNINGS": "ignore:Function `dev_command` is superseded",  # as the Makefile's `dev` target
        **env,
    })
    cmd = [sys.executable, "-m", "dagster", "dev", "-h", "127.0.0.1", "-p", str(port),
           "-w", str(ROOT / "workspace.yaml")]
    # webserver, daemon and code server on 2 busy cores
    with serving(cmd, workdir, full_env, port, "dagster dev", STARTUP_LIMIT_S * 2) as server:
        yield server
