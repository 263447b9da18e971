"""A real S3 API on loopback (moto's server) for tests, stopped when the block ends, also on failure."""

from __future__ import annotations

import contextlib
import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
from dagster_aws.s3 import S3Resource
from moto.server import ThreadedMotoServer

from sparkify_assets.resources.source import S3Source

CREDENTIALS = {"aws_access_key_id": "testing", "aws_secret_access_key": "testing", "region_name": "us-east-1"}


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextlib.contextmanager
def running_moto() -> Iterator[str]:
    """The endpoint URL of a fresh moto S3 server on a free loopback port."""
    port = _free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.stop()


def client(endpoint: str) -> Any:
    return boto3.client("s3", endpoint_url=endpoint, **CREDENTIALS)


def upload_tree(endpoint: str, bucket: str, root: Path, prefix: str = "") -> list[str]:
    """Every file under `root`, at the same relative keys under `prefix`; returns the keys."""
    s3 = client(endpoint)
    if bucket not in {b["Name"] for b in s3.list_buckets().get("Buckets", [])}:
        s3.create_bucket(Bucket=bucket)
    keys = []
    for path in sorted(p for p in root.rglob("*") if p.is_file()):
        key = prefix + path.relative_to(root).as_posix()
        s3.put_object(Bucket=bucket, Key=key, Body=path.read_bytes())
        keys.append(key)
    return keys


def s3_source(endpoint: str, bucket: str, prefix: str = "") -> S3Source:
    return S3Source(s3=S3Resource(endpoint_url=endpoint, **CREDENTIALS), bucket=bucket, prefix=prefix)
