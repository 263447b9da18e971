"""The raw data's home: an S3 bucket in production, a local folder with the same layout by default.

Keys are always relative to the data root (`log_data/2018/11/2018-11-01-events.json`), so a file is named
the same way in every log line, error, metadata entry and reject, whichever source holds it. The S3 source is in
`s3_source.py`, imported only when the data is in S3 (it brings boto3 and dagster_aws, over a second to import).
"""

from __future__ import annotations

import os
from abc import ABC, abstractmethod
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from dagster import ConfigurableResource

LOG_PREFIX = "log_data/"
SONG_PREFIX = "song_data/"
JSONPATHS_KEY = "log_json_path.json"


class SourceDataError(Exception):
    """Input that cannot be loaded at all (missing, unreadable); permanent, so never retried."""


@dataclass(frozen=True)
class SourceObject:
    key: str
    size: int
    version: str  # S3 ETag, or the local file's modification time in ns: changes when the file does
    modified: float = 0.0  # when it was last written (epoch seconds): S3 LastModified, or the file's mtime


def log_day_prefix(day: date) -> str:
    return f"{LOG_PREFIX}{day:%Y}/{day:%m}/{day:%Y-%m-%d}"


def log_key(day: date) -> str:
    return f"{log_day_prefix(day)}-events.json"


def day_of_log_key(key: str) -> date | None:
    """The UTC day a log file holds, from its name (`.../YYYY-MM-DD-events.json`); None for other files."""
    name = key.rsplit("/", 1)[-1]
    if not (key.startswith(LOG_PREFIX) and name.endswith(".json")):
        return None
    try:
        return date.fromisoformat(name[:10])
    except ValueError:
        return None


class RawSource(ConfigurableResource, ABC):
    """Lists and fetches the raw files; the assets never care which kind of source it is."""

    @abstractmethod
    def list_objects(self, prefix: str) -> list[SourceObject]:
        """Every object under `prefix`, sorted by key."""

    @abstractmethod
    @contextmanager
    def local_files(self, objects: Sequence[SourceObject]) -> Iterator[dict[str, Path]]:
        """Local paths of the objects, by key, valid inside the block."""

    @abstractmethod
    def uri(self, key: str = "") -> str:
        """Where a key lives, for messages and for Redshift's COPY (never carries credentials)."""

    def log_objects(self, days: Sequence[date]) -> list[SourceObject]:
        """The log files of the given days; a day without any file is an error naming the key expected."""
        wanted = set(days)
        months = sorted({f"{LOG_PREFIX}{d:%Y}/{d:%m}/" for d in days})
        found = [o for m in months for o in self.list_objects(m) if day_of_log_key(o.key) in wanted]
        missing = sorted(wanted - {day_of_log_key(o.key) for o in found})
        if missing:
            keys = ", ".join(self.uri(log_key(d)) for d in missing[:5])
            more = f" and {len(missing) - 5} more days" if len(missing) > 5 else ""
            raise SourceDataError(f"no log file for {len(missing)} day(s): expected {keys}{more}")
        return found

    def log_days(self) -> list[date]:
        """Every day that has a log file, for runs that load 'all the data there is'."""
        return sorted({d for o in self.list_objects(LOG_PREFIX) if (d := day_of_log_key(o.key))})

    def song_objects(self) -> list[SourceObject]:
        songs = [o for o in self.list_objects(SONG_PREFIX) if o.key.endswith(".json")]
        if not songs:
            raise SourceDataError(f"no song files under {self.uri(SONG_PREFIX)}")
        return songs


class LocalFolderSource(RawSource):
    """A folder laid out like the bucket: the embedded default, and how the sample data is served."""

    root: str

    def _root(self) -> Path:
        return Path(self.root).expanduser().resolve()

    def list_objects(self, prefix: str) -> list[SourceObject]:
        """A walk with `os.scandir` and plain string keys: a catalogue of 50,000 song files is listed on every run
        and every sensor tick, and building a `Path` per file made that take seconds."""
        root = self._root()
        base = root / prefix
        folder = base if prefix.endswith("/") else base.parent
        if not folder.is_dir():
            return []
        out: list[SourceObject] = []
        start = folder.relative_to(root).as_posix()
        pending = [("" if start == "." else start + "/", str(folder))]
        while pending:
            rel, path = pending.pop()
            with os.scandir(path) as entries:
                for entry in entries:
                    key = rel + entry.name
                    if entry.is_dir():
                        pending.append((key + "/", entry.path))
                    elif entry.is_file() and key.startswith(prefix):
                        st = entry.stat()
                        out.append(SourceObject(key=key, size=st.st_size, version=str(st.st_mtime_ns),
                                                modified=st.st_mtime_ns / 1e9))
        out.sort(key=lambda o: o.key)
        return out

    @contextmanager
    def local_files(self, objects: Sequence[SourceObject]) -> Iterator[dict[str, Path]]:
        root = self._root()
        yield {o.key: root / o.key for o in objects}

    def uri(self, key: str = "") -> str:
        return str(self._root() / key)
