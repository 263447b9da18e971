"""`make front` (python -m sparkify_service.front): the one supported way to reach the service from another machine.

The webserver and the code server listen on 127.0.0.1 only and have no login of their own. This starts Debian's
nginx in front of the webserver: HTTPS only (the given certificate, or a self-signed one made here once), HTTP basic
authentication against a password file holding only a SHA-512 crypt hash, and the UI's websockets passed through.
The code server is never proxied. Settings come from the environment (docs/operating.md):
SPARKIFY_FRONT_PASSWORD or SPARKIFY_FRONT_PASSWORD_FILE (required), SPARKIFY_FRONT_USER (sparkify),
SPARKIFY_FRONT_HOST (127.0.0.1; 0.0.0.0 to face the network), SPARKIFY_FRONT_PORT (8443), SPARKIFY_FRONT_CERT with
SPARKIFY_FRONT_KEY, SPARKIFY_PORT (the webserver's, 3000) and SPARKIFY_FRONT_DATA (data/service/front).
The password is never on a command line or in a log: it reaches `openssl passwd` on its standard input.
Run as root, nginx's workers (which read the password file on every request) run as the account `sparkify_front`,
with the files they read in a directory of their own (accounts.py).
"""

from __future__ import annotations

import ipaddress
import os
import shutil
import socket
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path

from sparkify_assets.settings import Settings, SettingsError
from sparkify_service.accounts import Account, account, give, own_dir
from sparkify_service.supervisor import Supervisor

ROOT = Path(__file__).resolve().parents[1]
OS_ACCOUNT = "sparkify_front"
REALM = "sparkify"
START_LIMIT_S = 60.0  # a hang guard
UNSAFE_IN_CONFIG = frozenset(";{}'\"$#\\")  # a path holding one of these (or a blank) could change nginx.conf
TEMP_DIRS = ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")


class FrontError(Exception):
    """A setting is missing or wrong; the message names it (never its value)."""


def main() -> int:
    os.umask(0o077)
    supervisor = Supervisor(_log)
    supervisor.install_signal_handlers()

    def serve_front() -> None:
        try:
            env = Settings.from_env().environ
            argv = prepare(env)
        except (FrontError, SettingsError) as problem:
            _log(str(problem))
            raise SystemExit(2) from None
        supervisor.start("nginx", argv, {"PATH": env.get("PATH", "/usr/bin:/bin")})
        host, port = _listen(env).rsplit(":", 1)
        supervisor.wait_until(lambda: _answers(host.strip("[]"), int(port)), "nginx", START_LIMIT_S)
        _log(f"ready: https://{host}:{port}/ (Ctrl-C stops it)")
        supervisor.watch()

    try:
        return supervisor.run(serve_front, "see the error log in the front's folder")
    finally:
        supervisor.stop_all()


def prepare(env: Mapping[str, str]) -> list[str]:
    """Check every setting, then write the front's files (config, password hash, certificate); nginx's command."""
    nginx = shutil.which("nginx", path=os.pathsep.join([env.get("PATH", ""), "/usr/sbin", "/usr/local/sbin"]))
    if nginx is None:
        raise FrontError("nginx is not installed (Debian: apt-get install nginx-light)")
    listen, user, password = _listen(env), _user(env), _password(env)
    given = _given_certificate(env)
    upstream = _port(env, "SPARKIFY_PORT", "3000")
    data = _safe("SPARKIFY_FRONT_DATA", Path(env.get("SPARKIFY_FRONT_DATA") or ROOT / "data" / "service" / "front"))
    data.mkdir(parents=True, exist_ok=True)
    data.chmod(0o700)
    owner = account(OS_ACCOUNT)
    shared = own_dir("front", data, owner) if owner else data  # what the workers read and write
    for name in TEMP_DIRS:
        (shared / "temp" / name).mkdir(parents=True, exist_ok=True)
        if owner:
            for path in (shared / "temp", shared / "temp" / name):
                os.chown(path, owner.uid, owner.gid)
    users = shared / "htpasswd"
    users.write_text(f"{user}:{_hash(password)}\n")
    users.chmod(0o600)
    if owner:
        give(users, owner)
    cert, key = given or _self_signed(env, data)
    conf = data / "nginx.conf"
    conf.write_text(config(listen, upstream, cert, key, users, shared / "temp", data, owner))
    conf.chmod(0o600)
    return [nginx, "-p", f"{data}/", "-c", str(conf), "-e", str(data / "error.log")]


def config(listen: str, upstream: int, cert: Path, key: Path, users: Path, temp: Path, data: Path,
           owner: Account | None) -> str:
    """nginx.conf: one TLS server, every location behind basic auth, the webserver on loopback behind it."""
    user = f"user {owner.name} {owner.name};\n" if owner else ""
    temps = "".join(f"    {name}_temp_path {temp / name};\n" for name in TEMP_DIRS)
    return f"""{user}daemon off;
master_process on;
worker_processes 1;
pid {data / "nginx.pid"};
error_log {data / "error.log"} warn;
events {{ worker_connections 256; }}
http {{
    access_log {data / "access.log"};
{temps}    server_tokens off;
    map $http_upgrade $connection_upgrade {{ default upgrade; '' close; }}
    server {{
        listen {listen} ssl;
        ssl_certificate {cert};
        ssl_certificate_key {key};
        ssl_protocols TLSv1.2 TLSv1.3;
        auth_basic "{REALM}";
        auth_basic_user_file {users};
        client_max_body_size 20m;
        location / {{
            proxy_pass http://127.0.0.1:{upstream};
            proxy_http_version 1.1;
            proxy_set_header Host $http_host;
            proxy_set_header Authorization "";
            proxy_set_header Upgrade $http_upgrade;
            proxy_set_header Connection $connection_upgrade;
            proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
            proxy_set_header X-Forwarded-Proto https;
            proxy_read_timeout 1h;
            proxy_buffering off;
        }}
    }}
}}
"""


def _safe(name: str, path: Path) -> Path:
    resolved = path.resolve()
    if not str(resolved).isprintable() or any(c.isspace() or c in UNSAFE_IN_CONFIG for c in str(resolved)):
        raise FrontError(f"{name} holds a character nginx's configuration cannot take (a blank, ; {{ }} quotes $ #)")
    return resolved


def _answers(host: str, port: int) -> bool:
    """nginx accepts connections (a wildcard address is asked on loopback)."""
    target = {"0.0.0.0": "127.0.0.1", "::": "::1"}.get(host, host)
    try:
        with socket.create_connection((target, port), timeout=2):
            return True
    except OSError:
        return False


def _port(env: Mapping[str, str], name: str, default: str) -> int:
    port = env.get(name) or default
    if not port.isdigit() or not 0 < int(port) < 65536:
        raise FrontError(f"{name} is not a port number")
    return int(port)


def _listen(env: Mapping[str, str]) -> str:
    host = env.get("SPARKIFY_FRONT_HOST") or "127.0.0.1"
    port = _port(env, "SPARKIFY_FRONT_PORT", "8443")
    if not host.isprintable() or any(c.isspace() or c in UNSAFE_IN_CONFIG for c in host):
        raise FrontError("SPARKIFY_FRONT_HOST is not a host name or address")
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def _user(env: Mapping[str, str]) -> str:
    user = env.get("SPARKIFY_FRONT_USER") or "sparkify"
    if not user.isprintable() or ":" in user or user != user.strip():
        raise FrontError("SPARKIFY_FRONT_USER may not hold ':', blanks at its ends or control characters")
    return user


def _password(env: Mapping[str, str]) -> str:
    if env.get("SPARKIFY_FRONT_PASSWORD_FILE"):
        try:
            password = Path(env["SPARKIFY_FRONT_PASSWORD_FILE"]).read_text().rstrip("\r\n")
        except OSError as e:
            raise FrontError(f"SPARKIFY_FRONT_PASSWORD_FILE cannot be read ({e.strerror})") from None
    else:
        password = env.get("SPARKIFY_FRONT_PASSWORD", "")
    if len(password) < 12 or "\n" in password or "\r" in password:
        raise FrontError("the front's password (SPARKIFY_FRONT_PASSWORD or SPARKIFY_FRONT_PASSWORD_FILE) must be "
                         "one line of at least 12 characters")
    return password


def _hash(password: str) -> str:
    """SHA-512 crypt, salted by openssl; nginx checks it with the system's crypt()."""
    done = subprocess.run(["openssl", "passwd", "-6", "-stdin"], input=password + "\n", capture_output=True,
                          text=True, check=False)
    if done.returncode != 0 or not done.stdout.startswith("$6$"):
        raise FrontError("openssl could not hash the front's password")
    return done.stdout.strip()


def _given_certificate(env: Mapping[str, str]) -> tuple[Path, Path] | None:
    """The operator's certificate and key (nginx's master reads them before it drops privileges), or None."""
    given = env.get("SPARKIFY_FRONT_CERT"), env.get("SPARKIFY_FRONT_KEY")
    if not any(given):
        return None
    if not all(given):
        raise FrontError("SPARKIFY_FRONT_CERT and SPARKIFY_FRONT_KEY go together")
    cert, key = _safe("SPARKIFY_FRONT_CERT", Path(given[0] or "")), _safe("SPARKIFY_FRONT_KEY", Path(given[1] or ""))
    for name, path in (("SPARKIFY_FRONT_CERT", cert), ("SPARKIFY_FRONT_KEY", key)):
        if not path.is_file():
            raise FrontError(f"{name} is not a readable file")
    return cert, key


def _self_signed(env: Mapping[str, str], data: Path) -> tuple[Path, Path]:
    """A self-signed pair for localhost, 127.0.0.1 and SPARKIFY_FRONT_HOST, made once."""
    cert, key = data / "self-signed.crt", data / "self-signed.key"
    if not (cert.exists() and key.exists()):
        names = ["DNS:localhost", "IP:127.0.0.1", *_host_name(env.get("SPARKIFY_FRONT_HOST") or "127.0.0.1")]
        done = subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "825",
                               "-subj", "/CN=sparkify front", "-addext", "subjectAltName=" + ",".join(names),
                               "-keyout", str(key), "-out", str(cert)], capture_output=True, text=True, check=False)
        if done.returncode != 0:
            raise FrontError(f"openssl could not make a self-signed certificate: {done.stderr.strip()[-300:]}")
        key.chmod(0o600)
        _log(f"made a self-signed certificate {cert} (clients must trust it, or give SPARKIFY_FRONT_CERT/KEY)")
    return cert, key


def _host_name(host: str) -> list[str]:
    """The listening host as a certificate name, unless it is loopback or a wildcard address."""
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return [f"DNS:{host}"]
    return [] if address.is_loopback or address.is_unspecified else [f"IP:{host}"]


def _log(message: str) -> None:
    print(f"sparkify front: {message}", file=sys.stderr, flush=True)


if __name__ == "__main__":
    sys.exit(main())
