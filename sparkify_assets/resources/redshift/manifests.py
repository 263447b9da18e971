"""COPY manifests: every COPY reads a list of exact keys, even for one file, because COPY takes a plain key as a
prefix (`...-events.json` would also load a `...-events.json.bak` beside it)."""

from __future__ import annotations

from collections.abc import Sequence

from sparkify_assets.resources.redshift.session import same_region
from sparkify_assets.resources.s3_source import S3Source
from sparkify_assets.resources.source import SourceObject
from sparkify_assets.sql import redshift as rs


def manifest_uri(s3: S3Source, name: str, manifest_url: str | None, manifest_prefix: str) -> str:
    """Where the manifest `name` goes (under `manifest_url`, else `manifest_prefix` of the data root), after
    checking its bucket's region against the data's: COPY reads both with one REGION."""
    if manifest_url:
        uri = f"{manifest_url.rstrip('/')}/{name}.manifest"
    else:
        uri = s3.uri(f"{manifest_prefix.strip('/')}/{name}.manifest")
    bucket, data_bucket = split(uri)[0], split(s3.uri(""))[0]
    if bucket != data_bucket:
        same_region(s3.s3.get_client(), data_bucket, bucket)
    return uri


def write_manifest(s3: S3Source, uri: str, objects: Sequence[SourceObject]) -> None:
    """The manifest at `uri` lists exactly `objects`. Its name is the window's, so a reload overwrites it; it is left
    in place as a record of exactly what the last load of that window read."""
    bucket, key = split(uri)
    body = rs.manifest_json([s3.uri(o.key) for o in objects]).encode()
    s3.s3.get_client().put_object(Bucket=bucket, Key=key, Body=body)


def split(uri: str) -> tuple[str, str]:
    bucket, _, key = uri.removeprefix("s3://").partition("/")
    return bucket, key


def relative(s3: S3Source, uri: str) -> str:
    """A key relative to the data root, as every other message and table names files."""
    root = s3.uri("")
    return uri[len(root):] if uri.startswith(root) else uri
