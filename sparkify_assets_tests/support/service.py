"""`make serve`'s supervisor (python -m sparkify_service) for tests: started in its own session, stopped with
SIGTERM as an operator would, and every process that belongs to it found by its DAGSTER_HOME."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from sparkify_assets_tests.support.processes import die_with_parent
from sparkify_service.serve import webserver_ready
from sparkify_service.supervisor import processes_with
from sparkify_service.workers import start_identity

T = TypeVar("T")
START_LIMIT_S = 300.0  # hang guards sized for a busy 2-core machine; they time nothing
STOP_LIMIT_S = 120.0


@dataclass
class Service:
    process: subprocess.Popen[bytes]
    url: str
    home: Path
    log_path: Path

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def graphql(self, query: str, variables: dict[str, Any] | None = None) -> dict[str, Any]:
        body = json.dumps({"query": query, "variables": variables or {}}).encode()
        request = urllib.request.Request(f"{self.url}/graphql", data=body,
                                         headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(request, timeout=60) as response:
            payload = json.load(response)
        assert not payload.get("errors"), payload["errors"]
        return payload["data"]

    def stop(self) -> int:
        """SIGTERM, as systemd or a terminal would send; the supervisor's exit code."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
        return self.process.wait(STOP_LIMIT_S)


def poll(read: Callable[[], T], what: str, limit_s: float, service: Service | None = None) -> T:
    """Call `read` until it returns something truthy; the limit only guards against a hang."""
    deadline = time.monotonic() + limit_s
    while not (value := read()):
        if service is not None and service.process.poll() is not None:
            raise AssertionError(f"the service exited ({service.process.returncode}) while waiting for {what}\n"
                                 + service.log()[-6000:])
        if time.monotonic() > deadline:
            tail = service.log()[-6000:] if service else ""
            raise TimeoutError(f"no {what} after {limit_s:.0f}s\n{tail}")
        time.sleep(0.2)
    return value


@contextmanager
def running_service(env: dict[str, str], home: Path, port: int, log_path: Path) -> Iterator[Service]:
    """The supervisor with `env` on top of ours; waits until the webserver answers; always stopped."""
    with open(log_path, "ab") as log:
        process = subprocess.Popen([sys.executable, "-m", "sparkify_service"], env={**os.environ, **env},
                                   stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                   start_new_session=True, preexec_fn=die_with_parent())  # noqa: PLW1509
    service = Service(process, f"http://127.0.0.1:{port}", home, log_path)
    try:
        poll(lambda: webserver_ready(service.url), "webserver answer", START_LIMIT_S, service)
        yield service
    finally:
        try:
            service.stop()
        finally:
            for pid in processes_of(home):  # a failed test must not leave the service behind
                _kill(pid)
            try:
                os.killpg(process.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass


def processes_of(home: Path) -> list[int]:
    """Live processes started with DAGSTER_HOME=home: the service's children and the run workers they start.
    Found as the supervisor finds its own leftovers, and alive as the launcher judges a run worker."""
    return [pid for pid in processes_with("DAGSTER_HOME", str(home)) if alive(pid)]


def alive(pid: int) -> bool:
    """A live process, not a zombie (sparkify_service.workers' probe)."""
    return start_identity(pid) is not None


def _kill(pid: int) -> None:
    try:
        os.kill(pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
