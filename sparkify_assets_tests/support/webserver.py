"""The real Dagster webserver for tests: started on a free loopback port, always stopped, queried over GraphQL.

The server loads the project's own workspace.yaml in a code-server subprocess; runs launched through GraphQL
execute in further subprocesses (DefaultRunLauncher). All of them inherit the environment given here, so the
data folder, the DuckDB file and DAGSTER_HOME are the test's, never the user's.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import pytest
import yaml

from sparkify_assets_tests.support.processes import die_with_parent
from sparkify_service.serve import webserver_ready

ROOT = Path(__file__).resolve().parents[2]
T = TypeVar("T")
# Upper bounds that only guard against a hang, sized for a busy 2-core machine (a webserver, a code server, run
# workers and another pytest worker at once); no test asserts how fast anything is.
STARTUP_LIMIT_S = 180.0
STOP_LIMIT_S = 30.0
POLL_LIMIT_S = 180.0
RUN_LIMIT_S = 420.0
TERMINAL_RUN_STATUSES = frozenset({"SUCCESS", "FAILURE", "CANCELED"})


class GraphQLError(AssertionError):
    pass


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def write_instance_config(home: Path) -> None:
    """The project's instance settings (dagster_instance.yaml, as `make dev` uses them), minus the run queue.

    Without the daemon (this fixture starts only the webserver, so no sensor or schedule ever ticks) queued runs
    would never start; the default coordinator launches a run as soon as it is submitted.
    """
    config = yaml.safe_load((ROOT / "dagster_instance.yaml").read_text()) or {}
    config.pop("run_queue", None)
    config["run_coordinator"] = {"module": "dagster.core.run_coordinator", "class": "DefaultRunCoordinator"}
    home.mkdir(parents=True, exist_ok=True)
    (home / "dagster.yaml").write_text(yaml.safe_dump(config))


@dataclass
class Webserver:
    url: str
    process: subprocess.Popen[bytes]
    log_path: Path
    env: dict[str, str]

    def log_tail(self, chars: int = 4000) -> str:
        return self.log_path.read_text(errors="replace")[-chars:] if self.log_path.exists() else ""

    def graphql(self, query: str, variables: dict[str, Any] | None = None) -> dict[str, Any]:
        """POST a query to /graphql; GraphQL-level errors raise, with the server log for context."""
        body = json.dumps({"query": query, "variables": variables or {}}).encode()
        request = urllib.request.Request(f"{self.url}/graphql", data=body, headers={"Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(request, timeout=60) as response:
                payload = json.load(response)
        except urllib.error.HTTPError as exc:
            raise GraphQLError(f"HTTP {exc.code}: {exc.read().decode(errors='replace')[:2000]}") from exc
        if payload.get("errors"):
            raise GraphQLError(f"{payload['errors']}\n--- server log ---\n{self.log_tail()}")
        return payload["data"]

    def poll(self, read: Callable[[], T], what: str, limit_s: float = POLL_LIMIT_S) -> T:
        """Call `read` until it returns something truthy; the limit guards against a hang, it times nothing."""
        deadline = time.monotonic() + limit_s
        while not (value := read()):
            if time.monotonic() > deadline:
                raise TimeoutError(f"no {what} after {limit_s:.0f}s\n{self.log_tail()}")
            time.sleep(0.25)
        return value

    def wait_for_run(self, run_id: str, limit_s: float = RUN_LIMIT_S) -> str:
        """Poll the run until it ends; the limit only guards against a hung run, it asserts nothing about speed."""
        deadline = time.monotonic() + limit_s
        while True:
            data = self.graphql(
                "query($id: ID!) { runOrError(runId: $id) { __typename ... on Run { status } } }", {"id": run_id}
            )
            status = data["runOrError"].get("status")
            if status in TERMINAL_RUN_STATUSES:
                return status
            if time.monotonic() > deadline:
                raise TimeoutError(f"run {run_id} still {status} after {limit_s:.0f}s\n{self.log_tail()}")
            time.sleep(0.5)


def _stop(process: subprocess.Popen[bytes]) -> None:
    """SIGTERM the whole process group (webserver, code server, run workers), then SIGKILL what is left."""
    if process.poll() is None:
        try:
            os.killpg(process.pid, signal.SIGTERM)
        except ProcessLookupError:
            pass
        try:
            process.wait(timeout=STOP_LIMIT_S)
        except subprocess.TimeoutExpired:
            pass
    try:
        os.killpg(process.pid, signal.SIGKILL)  # the group may outlive its leader (a code server, a run worker)
    except ProcessLookupError:
        pass
    process.wait(timeout=STOP_LIMIT_S)


def server_env(home: Path, env: dict[str, str]) -> dict[str, str]:
    """This process's environment with the test's instance, the embedded warehouse and the project importable."""
    return {
        **os.environ,
        "DAGSTER_HOME": str(home),
        "SPARKIFY_WAREHOUSE": "duckdb",
        "PYTHONPATH": os.pathsep.join(p for p in (str(ROOT), os.environ.get("PYTHONPATH")) if p),
        **env,
    }


@contextmanager
def serving(cmd: list[str], workdir: Path, env: dict[str, str], port: int, what: str,
            limit_s: float = STARTUP_LIMIT_S) -> Iterator[Webserver]:
    """Start a Dagster UI process (`cmd`, listening on `port`) in its own process group, dying with this test
    process; wait until it answers; always stop it and everything it started."""
    url = f"http://127.0.0.1:{port}"
    log_path = workdir / f"{what.replace(' ', '_')}.log"
    with open(log_path, "wb") as log:
        process = subprocess.Popen(
            cmd, cwd=workdir, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
            preexec_fn=die_with_parent(),  # noqa: PLW1509 (a prctl only)
        )
    server = Webserver(url=url, process=process, log_path=log_path, env=env)
    try:
        deadline = time.monotonic() + limit_s
        while not webserver_ready(url):
            if process.poll() is not None:
                raise RuntimeError(f"{what} exited with {process.returncode}\n{server.log_tail()}")
            if time.monotonic() > deadline:
                raise RuntimeError(f"{what} did not answer in {limit_s:.0f}s\n{server.log_tail()}")
            time.sleep(0.25)
        yield server
    finally:
        _stop(process)


@contextmanager
def running_webserver(workdir: Path, env: dict[str, str]) -> Iterator[Webserver]:
    """`dagster-webserver -w workspace.yaml` on a free 127.0.0.1 port, with `env` on top of this process's own.

    `env` should set SPARKIFY_DATA_URL and SPARKIFY_DUCKDB_PATH; DAGSTER_HOME is created under `workdir`.
    """
    home = workdir / "dagster_home"
    write_instance_config(home)
    port = free_port()
    cmd = [sys.executable, "-m", "dagster_webserver", "-h", "127.0.0.1", "-p", str(port),
           "-w", str(ROOT / "workspace.yaml")]
    with serving(cmd, workdir, server_env(home, env), port, "dagster-webserver") as server:
        yield server


REPOSITORY_QUERY = """
query { repositoriesOrError { __typename ... on RepositoryConnection { nodes { name location { name } } } } }
"""

MATERIALIZABLE_QUERY = """
query {
  assetNodes {
    assetKey { path }
    isMaterializable
    assetChecksOrError { ... on AssetChecks { checks { name } } }
  }
}
"""

LAUNCH_RUN = """
mutation($params: ExecutionParams!) {
  launchRun(executionParams: $params) {
    __typename
    ... on LaunchRunSuccess { run { runId } }
    ... on PythonError { message stack }
    ... on InvalidSubsetError { message }
    ... on RunConfigValidationInvalid { errors { message } }
    ... on UnauthorizedError { message }
  }
}
"""

IMPLICIT_ASSET_JOB = "__ASSET_JOB"


def launch_run(server: Webserver, job: str, partition: str, **selection: Any) -> str:
    """launchRun of `job` for one partition (the tag the UI and the schedule set), with an optional asset and
    check selection (`assetSelection`, `assetCheckSelection`). Returns the run id."""
    (repo,) = server.graphql(REPOSITORY_QUERY)["repositoriesOrError"]["nodes"]
    params = {
        "selector": {
            "repositoryLocationName": repo["location"]["name"],
            "repositoryName": repo["name"],
            "pipelineName": job,
            **selection,
        },
        "mode": "default",
        "runConfigData": {},
        "executionMetadata": {"tags": [{"key": "dagster/partition", "value": partition}]},
    }
    result = server.graphql(LAUNCH_RUN, {"params": params})["launchRun"]
    if result["__typename"] != "LaunchRunSuccess":
        raise GraphQLError(f"launchRun: {result}\n{server.log_tail()}")
    return result["run"]["runId"]


def launch_partition_run(server: Webserver, partition: str) -> str:
    """What the UI's Materialize button launches for one partition: every materializable asset and every check
    in the implicit asset job, tagged with the partition. Returns the run id."""
    nodes = server.graphql(MATERIALIZABLE_QUERY)["assetNodes"]
    assets = [n["assetKey"] for n in nodes if n["isMaterializable"]]
    checks = [
        {"assetKey": n["assetKey"], "name": c["name"]}
        for n in nodes
        if n["isMaterializable"]
        for c in n["assetChecksOrError"].get("checks", [])
    ]
    return launch_run(server, IMPLICIT_ASSET_JOB, partition, assetSelection=assets, assetCheckSelection=checks)


RUN_FAILURES = """
query($id: ID!) {
  logsForRun(runId: $id) {
    ... on EventConnection { events {
      __typename
      ... on MessageEvent { message }
      ... on ExecutionStepFailureEvent { error { message } }
    } }
  }
}
"""

SAMPLE_DAY = "2018-11-05"


@dataclass(frozen=True)
class MaterializedDay:
    day: str
    run_id: str


def run_messages(server: Webserver, run_id: str) -> list[str]:
    events = server.graphql(RUN_FAILURES, {"id": run_id})["logsForRun"].get("events", [])
    return [
        f"{e['__typename']}: {e.get('message')} {(e.get('error') or {}).get('message', '')}"
        for e in events
        if "Failure" in e["__typename"]
    ]


@pytest.fixture(scope="module")
def ui_server(real_sample: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Webserver]:
    """One webserver per test module, on the real sample (read only) and a fresh warehouse and instance."""
    workdir = tmp_path_factory.mktemp("ui")
    last_day = max(p.name.removesuffix("-events.json") for p in (real_sample / "log_data").rglob("*-events.json"))
    env = {
        "SPARKIFY_DATA_URL": str(real_sample),
        "SPARKIFY_DUCKDB_PATH": str(workdir / "warehouse.duckdb"),
        "SPARKIFY_END_DATE": last_day,  # as `make dev` does on a local sample: partitions end at its last day
        "SPARKIFY_SENSOR": "off",  # no daemon runs here anyway; say so to the definitions too
    }
    with running_webserver(workdir, env) as server:
        yield server


RECORDED_QUERY = """
query {
  assetNodes {
    assetKey { path }
    isMaterializable
    assetMaterializations(limit: 1) { runId metadataEntries { label } }
    assetChecksOrError {
      ... on AssetChecks { checks { name executionForLatestMaterialization { runId evaluation { success } } } }
    }
  }
}
"""


def unrecorded(server: Webserver, run_id: str) -> list[str]:
    """What the UI cannot show yet for `run_id`: assets whose latest materialization is not that run's or has no
    row count, and checks of theirs without an evaluation from it. Empty once the pages have all they need."""
    missing = []
    for node in server.graphql(RECORDED_QUERY)["assetNodes"]:
        if not node["isMaterializable"]:
            continue
        name = "/".join(node["assetKey"]["path"])
        events = node["assetMaterializations"]
        if not events or events[0]["runId"] != run_id:
            missing.append(f"{name}: no materialization from the run")
        elif "dagster/row_count" not in {e["label"] for e in events[0]["metadataEntries"]}:
            missing.append(f"{name}: no row count")
        for check in node["assetChecksOrError"].get("checks", []):
            execution = check["executionForLatestMaterialization"] or {}
            if execution.get("runId") != run_id or not execution.get("evaluation"):
                missing.append(f"{name}.{check['name']}: not evaluated by the run")
    return missing


@pytest.fixture(scope="module")
def materialized_day(ui_server: Webserver) -> MaterializedDay:
    """One sample day materialized through GraphQL, as a click on Materialize does, finished successfully, and
    every materialization and check result of it readable through GraphQL (what the pages then render)."""
    run_id = launch_partition_run(ui_server, SAMPLE_DAY)
    status = ui_server.wait_for_run(run_id)
    assert status == "SUCCESS", "\n".join(run_messages(ui_server, run_id)) + "\n" + ui_server.log_tail()
    left: list[str] = []

    def recorded() -> bool:
        left[:] = unrecorded(ui_server, run_id)
        return not left

    try:
        ui_server.poll(recorded, f"complete record of run {run_id}")
    except TimeoutError as exc:
        raise AssertionError(f"{exc}\nstill missing: {left}") from exc
    return MaterializedDay(SAMPLE_DAY, run_id)
