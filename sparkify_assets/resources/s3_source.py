"""The raw data in an S3 bucket (or any S3 API). Its own module so that a run on a local folder never imports
boto3 or dagster_aws (over a second of every run's start-up)."""

from __future__ import annotations

import tempfile
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from dagster_aws.s3 import S3Resource
from pydantic import PrivateAttr

from sparkify_assets.resources.keys import RejectedKey, check_key, shown
from sparkify_assets.resources.source import RawSource, SourceDataError, SourceObject


class S3Source(RawSource):
    """An S3 bucket (or any S3 API: `s3.endpoint_url`), data under `prefix`."""

    s3: S3Resource
    bucket: str
    prefix: str = ""
    download_threads: int = 16
    _client: Any = PrivateAttr(default=None)

    def _s3(self) -> Any:
        """One client per resource: creating a boto3 session costs ~0.3 s, and the sensor lists every tick."""
        if self._client is None:
            self._client = self.s3.get_client()
        return self._client

    def _full(self, key: str) -> str:
        return f"{self.prefix.strip('/')}/{key}" if self.prefix.strip("/") else key

    def list_objects(self, prefix: str) -> list[SourceObject]:
        client = self._s3()
        full = self._full(prefix)
        strip = len(self._full(""))
        out = []
        unsafe = []
        for page in client.get_paginator("list_objects_v2").paginate(Bucket=self.bucket, Prefix=full):
            for obj in page.get("Contents", []):
                if not obj["Key"].startswith(full):  # never, from a real S3; a confused endpoint could
                    unsafe.append(RejectedKey(obj["Key"], f"listed for prefix {shown(full)} but outside it"))
                    continue
                out.append(SourceObject(key=obj["Key"][strip:], size=obj["Size"], version=obj["ETag"].strip('"'),
                                        modified=obj["LastModified"].timestamp()))
        return self._screen(prefix, out, unsafe)

    @contextmanager
    def local_files(self, objects: Sequence[SourceObject]) -> Iterator[dict[str, Path]]:
        """Downloads into a private temporary folder under names derived here (`00000001.json`), never from the
        key: a key is data, checked again before it is asked for, and no key can place a file anywhere."""
        client = self._s3()
        for o in objects:
            check_key(o.key, f" in {self.uri()}")
        with tempfile.TemporaryDirectory(prefix="sparkify-s3-") as tmp:
            paths = {o.key: Path(tmp, f"{n:08d}.json") for n, o in enumerate(objects)}

            def fetch(key: str) -> None:
                try:
                    client.download_file(self.bucket, self._full(key), str(paths[key]))
                except client.exceptions.NoSuchKey as exc:
                    raise SourceDataError(f"{self.uri(key)} disappeared before it could be read") from exc

            with ThreadPoolExecutor(max_workers=self.download_threads) as pool:
                list(pool.map(fetch, paths))
            yield paths

    def uri(self, key: str = "") -> str:
        return f"s3://{self.bucket}/{self._full(key)}"
