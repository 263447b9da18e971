"""A real S3 API on loopback for tests: moto's server, and an HTTP proxy in front of it that can fail requests.

The proxy answers the next N requests with S3's own throttling reply (503 SlowDown) and passes everything else
through, so a test decides exactly how many calls fail instead of racing a server restart against a clock.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.client import HTTPConnection
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import boto3
from dagster_aws.s3 import S3Resource
from moto.server import ThreadedMotoServer

from sparkify_assets.resources.s3_source import S3Source

CREDENTIALS = {"region_name": "us-east-1", "aws_access_key_id": "testing", "aws_secret_access_key": "testing"}
HOP_BY_HOP = {"connection", "keep-alive", "transfer-encoding", "content-length", "proxy-connection", "upgrade", "te"}
SLOW_DOWN = (b'<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>SlowDown</Code>'
             b"<Message>Please reduce your request rate.</Message></Error>")


@contextmanager
def running_moto() -> Iterator[str]:
    """moto's S3 on 127.0.0.1 at a free port; stopped when the block ends, on failure too."""
    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # one line per request otherwise
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    try:
        host, port = server.get_host_and_port()
        yield f"http://{host}:{port}"
    finally:
        server.stop()


def client(endpoint: str):
    return boto3.client("s3", endpoint_url=endpoint, **CREDENTIALS)


def s3_source(endpoint: str, bucket: str, max_attempts: int = 5, *, prefix: str = "") -> S3Source:
    return S3Source(s3=S3Resource(endpoint_url=endpoint, max_attempts=max_attempts, **CREDENTIALS), bucket=bucket,
                    prefix=prefix)


def upload_tree(endpoint: str, bucket: str, root: Path, patterns: tuple[str, ...] = ("**/*",), *,
                prefix: str = "") -> list[str]:
    """Create the bucket if needed and put every matching file under `root` at its relative key under `prefix`."""
    s3 = client(endpoint)
    if bucket not in {b["Name"] for b in s3.list_buckets().get("Buckets", [])}:
        s3.create_bucket(Bucket=bucket)
    keys = []
    for pattern in patterns:
        for path in sorted(root.glob(pattern)):
            if path.is_file():
                key = prefix + path.relative_to(root).as_posix()
                s3.put_object(Bucket=bucket, Key=key, Body=path.read_bytes())
                keys.append(key)
    return keys


class FaultProxy:
    """Forwards HTTP requests to `upstream`; the next `fail_next(n)` requests get 503 SlowDown instead."""

    def __init__(self, upstream: str) -> None:
        self.upstream = upstream.removeprefix("http://")
        self._lock = threading.Lock()
        self._to_fail = 0
        self.failed = 0
        self.forwarded = 0
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: object) -> None:  # keep test output quiet
                pass

            def _handle(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                if proxy._take_failure():
                    self._reply(503, {"Content-Type": "application/xml"}, SLOW_DOWN, head=self.command == "HEAD")
                    return
                conn = HTTPConnection(proxy.upstream, timeout=30)
                try:
                    conn.request(self.command, self.path, body=body or None,
                                 headers={k: v for k, v in self.headers.items() if k.lower() not in HOP_BY_HOP})
                    resp = conn.getresponse()
                    data = resp.read()
                    headers = {k: v for k, v in resp.getheaders() if k.lower() not in HOP_BY_HOP}
                    with proxy._lock:
                        proxy.forwarded += 1
                    self._reply(resp.status, headers, data, head=self.command == "HEAD",
                                length=resp.getheader("Content-Length"))
                finally:
                    conn.close()

            def _reply(self, status: int, headers: dict[str, str], data: bytes, head: bool = False,
                       length: str | None = None) -> None:
                self.send_response(status)
                for k, v in headers.items():
                    self.send_header(k, v)
                self.send_header("Content-Length", length if head and length else str(len(data)))
                self.end_headers()
                if not head:
                    self.wfile.write(data)

            do_GET = do_PUT = do_POST = do_DELETE = do_HEAD = _handle

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def fail_next(self, n: int) -> None:
        with self._lock:
            self._to_fail = n

    def _take_failure(self) -> bool:
        with self._lock:
            if self._to_fail <= 0:
                return False
            self._to_fail -= 1
            self.failed += 1
            return True

    def __enter__(self) -> FaultProxy:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join()
