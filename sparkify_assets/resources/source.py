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
from pydantic import PrivateAttr

from sparkify_assets.resources.keys import RejectedKey, check_key, key_problem, shown

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
    """Lists and fetches the raw files; the assets never care which kind of source it is.

    A listing returns only keys that are safe to use (`keys.key_problem`); the others are kept aside, by prefix,
    for the load that lists them to quarantine (`rejected_log_keys`, `rejected_song_keys`). So no caller, the
    sensor included, ever sees (or follows, or requests a run for) a hostile key.
    """

    _rejected: dict[str, list[RejectedKey]] = PrivateAttr(default_factory=dict)

    @abstractmethod
    def list_objects(self, prefix: str) -> list[SourceObject]:
        """Every object under `prefix` whose key is safe (passed through `_screen`), sorted by key."""

    def _screen(self, prefix: str, objects: Sequence[SourceObject],
                unsafe: Sequence[RejectedKey] = ()) -> list[SourceObject]:
        """The objects whose keys are safe; the rest (and `unsafe`, found by the listing itself) set aside."""
        safe: list[SourceObject] = []
        rejected = list(unsafe)
        for obj in objects:
            problem = key_problem(obj.key)
            if problem is None:
                safe.append(obj)
            else:
                rejected.append(RejectedKey(obj.key, problem))
        self._rejected[prefix] = sorted(rejected, key=lambda r: r.key)
        return sorted(safe, key=lambda o: o.key)

    def rejected_keys(self, prefix: str) -> list[RejectedKey]:
        """The keys the last listing of `prefix` refused."""
        return list(self._rejected.get(prefix, []))

    def rejected_log_keys(self, days: Sequence[date]) -> list[tuple[RejectedKey, str | None]]:
        """Refused keys under `log_data/`, each with the day (partition key) it claims to hold, or None when it
        claims none; keys claiming a day outside `days` are left to that day's load. Lists the whole prefix (a
        day's file each: a few requests for years of logs), since a refused key may sit outside every month
        folder (`log_data//../x.json`)."""
        wanted = {d.isoformat() for d in days}
        self.list_objects(LOG_PREFIX)
        out = []
        for rejected in self.rejected_keys(LOG_PREFIX):
            claimed = day_of_log_key(rejected.key)
            day = claimed.isoformat() if claimed else None
            if day is None or day in wanted:
                out.append((rejected, day))
        return out

    def rejected_song_keys(self) -> list[RejectedKey]:
        """Refused keys found by the last `song_objects()`."""
        return self.rejected_keys(SONG_PREFIX)

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
            raise SourceDataError(f"no log file for {len(missing)} day(s): expected {keys}{more}"
                                  + _refused_note([k for k, _ in self.rejected_log_keys(missing)]))
        return found

    def log_days(self) -> list[date]:
        """Every day that has a log file, for runs that load 'all the data there is'."""
        return sorted({d for o in self.list_objects(LOG_PREFIX) if (d := day_of_log_key(o.key))})

    def song_objects(self) -> list[SourceObject]:
        songs = [o for o in self.list_objects(SONG_PREFIX) if o.key.endswith(".json")]
        if not songs:
            raise SourceDataError(f"no song files under {self.uri(SONG_PREFIX)}"
                                  + _refused_note(self.rejected_song_keys()))
        return songs


class LocalFolderSource(RawSource):
    """A folder laid out like the bucket: the embedded default, and how the sample data is served."""

    root: str

    def _root(self) -> Path:
        return Path(self.root).expanduser().resolve()

    def list_objects(self, prefix: str) -> list[SourceObject]:
        """A walk with `os.scandir` and plain string keys: a catalogue of 50,000 song files is listed on every run
        and every sensor tick, and building a `Path` per file made that take seconds.

        A symbolic link is resolved (only links cost a realpath): one leading outside the data root is refused
        like a hostile key, never followed; so is a link to a folder that holds it (a loop). Other links inside the root
        are read as the files and folders they point to."""
        root = self._root()
        base = root / prefix
        folder = base if prefix.endswith("/") else base.parent
        if not folder.is_dir() or not _inside(root, os.path.realpath(folder)):
            return self._screen(prefix, [])
        out: list[SourceObject] = []
        unsafe: list[RejectedKey] = []
        start = folder.relative_to(root).as_posix()
        pending = [("" if start == "." else start + "/", str(folder))]
        while pending:
            rel, path = pending.pop()
            with os.scandir(path) as entries:
                for entry in entries:
                    key = rel + entry.name
                    if not key.startswith(prefix[:len(key)]):
                        continue
                    if entry.is_symlink():
                        target = os.path.realpath(entry.path)
                        if not _inside(root, target):
                            unsafe.append(RejectedKey(key, "a symbolic link leading outside the data root"))
                            continue
                        if entry.is_dir():
                            if _inside(Path(target), os.path.realpath(path)):
                                unsafe.append(RejectedKey(key, "a symbolic link back to a folder holding it (a loop)"))
                            else:
                                pending.append((key + "/", entry.path))
                            continue
                    if entry.is_dir():
                        pending.append((key + "/", entry.path))
                    elif entry.is_file() and key.startswith(prefix):
                        st = entry.stat()
                        out.append(SourceObject(key=key, size=st.st_size, version=str(st.st_mtime_ns),
                                                modified=st.st_mtime_ns / 1e9))
        return self._screen(prefix, out, unsafe)

    @contextmanager
    def local_files(self, objects: Sequence[SourceObject]) -> Iterator[dict[str, Path]]:
        """The files in place; every key checked again, so a key that did not come from a listing is never
        joined onto the root unchecked."""
        root = self._root()
        yield {o.key: root / check_key(o.key, f" under {root}") for o in objects}

    def uri(self, key: str = "") -> str:
        return str(self._root() / key)


def _inside(root: Path, real: str) -> bool:
    """Whether a resolved path is the root or under it."""
    return real == str(root) or real.startswith(str(root).rstrip("/") + "/")


def _refused_note(refused: Sequence[RejectedKey]) -> str:
    """What a 'no file' error adds when the listing refused keys: each shown escaped, with why."""
    if not refused:
        return ""
    named = "; ".join(f"{shown(r.key)}: {r.reason}" for r in refused[:5])
    return f" ({len(refused)} key(s) refused, not read: {named})"
