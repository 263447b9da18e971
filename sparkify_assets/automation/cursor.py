"""What the source sensor remembers between ticks, and how it decides what is new.

The cursor holds a floor of modification times and the (key, version) of the files it has dealt with whose
modification time lies above the floor. A tick considers only files modified after the floor that it has not
dealt with in that exact version, so:
- a new file, or a re-uploaded one (new ETag or mtime, and a fresh modification time), is seen once;
- an unchanged file is never requested again (and the run key, file + version, stops a duplicate run anyway);
- a file that shows up in a listing late, stamped with an older time (S3 stamps when the upload started), is
  still seen: the floor trails the clock by LOOKBACK_SECONDS;
- files a tick leaves for later (over its budget, or waiting for their day's partition to exist) hold the floor
  below them, so nothing is skipped;
- the cursor holds only files modified within LOOKBACK of the floor, not the history: it stays small.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date

from sparkify_assets.loaded_versions import songs_digest
from sparkify_assets.resources.source import SourceObject, day_of_log_key

__all__ = ["DayBatch", "Loaded", "LogPlan", "SourceCursor", "plan_logs", "songs_digest"]

LOOKBACK_SECONDS = 3600.0
CURSOR_VERSION = 2


@dataclass
class SourceCursor:
    floor: float | None = None  # files modified at or before it were all dealt with
    recent: dict[str, tuple[str, float]] = field(default_factory=dict)  # key -> (version, modified), above floor
    songs: str | None = None  # digest of the song files' keys and versions

    @classmethod
    def parse(cls, text: str | None) -> SourceCursor:
        if not text:
            return cls()
        data = json.loads(text)
        if data.get("v") != CURSOR_VERSION:
            return cls()  # an unknown format: start over (run keys still stop any duplicate run)
        return cls(floor=data["floor"], recent={k: (v, m) for k, (v, m) in data["recent"].items()},
                   songs=data["songs"])

    def serialize(self) -> str:
        return json.dumps({"v": CURSOR_VERSION, "floor": self.floor, "songs": self.songs,
                           "recent": {k: [v, m] for k, (v, m) in sorted(self.recent.items())}},
                          separators=(",", ":"))

    def is_new(self, obj: SourceObject) -> bool:
        if self.floor is not None and obj.modified <= self.floor:
            return False
        seen = self.recent.get(obj.key)
        return seen is None or seen[0] != obj.version


@dataclass(frozen=True)
class DayBatch:
    """The files of one day a tick requests, and the run key that names exactly those versions."""

    day: date
    objects: tuple[SourceObject, ...]

    @property
    def run_key(self) -> str:
        return "+".join(f"{o.key}@{o.version}" for o in sorted(self.objects, key=lambda o: o.key))


@dataclass(frozen=True)
class Loaded:
    """What the warehouse is known to hold: key -> version; `complete` is False when it could not be asked."""

    versions: dict[str, str] = field(default_factory=dict)
    complete: bool = True


@dataclass(frozen=True)
class LogPlan:
    days: list[DayBatch]
    waiting: list[SourceObject]  # files of days whose partition does not exist yet (today's, usually)
    ignored: list[SourceObject]  # files that are no day's log file, or of a day outside the partitions
    deferred: int  # new files left for later ticks by the budget
    cursor: SourceCursor
    already_loaded: list[SourceObject] = field(default_factory=list)  # in exactly this version: no run
    unconfirmed: list[SourceObject] = field(default_factory=list)  # warehouse busy: asked again next tick


def plan_logs(objects: Sequence[SourceObject], cursor: SourceCursor, budget: int,
              partition_state: Callable[[date], str], now: float, loaded: Loaded | None = None) -> LogPlan:
    """Which days to request this tick, oldest files first, at most `budget` days.

    partition_state(day) is 'ok', 'waiting' (not a partition yet) or 'out'; `now` is the clock (epoch seconds).
    A file `loaded` holds in its current version is dealt with, without a run; while `loaded` is incomplete, the
    files it does not confirm are held for the next tick rather than risk loading them twice.
    """
    loaded = loaded or Loaded()
    new = sorted((o for o in objects if cursor.is_new(o)), key=lambda o: (o.modified, o.key))
    waiting: list[SourceObject] = []
    ignored: list[SourceObject] = []
    already: list[SourceObject] = []
    unconfirmed: list[SourceObject] = []
    days: dict[date, list[SourceObject]] = {}
    later: list[SourceObject] = []
    for i, obj in enumerate(new):
        day = day_of_log_key(obj.key)
        state = partition_state(day) if day is not None else "out"
        if state == "waiting":
            waiting.append(obj)
        elif state == "out":
            ignored.append(obj)
        elif loaded.versions.get(obj.key) == obj.version:
            already.append(obj)
        elif not loaded.complete:
            unconfirmed.append(obj)
        elif day in days or len(days) < budget:
            days.setdefault(day, []).append(obj)
        else:  # over budget: this file and every newer one are left for the next ticks
            later = new[i:]
            break
    floor = now - LOOKBACK_SECONDS
    held = waiting + unconfirmed + later
    if held:  # just below the oldest file still to come, so it stays above the floor
        floor = min(floor, math.nextafter(min(o.modified for o in held), -math.inf))
    if cursor.floor is not None:
        floor = max(floor, cursor.floor)
    done = [o for objs in days.values() for o in objs] + ignored + already
    recent = dict(cursor.recent) | {o.key: (o.version, o.modified) for o in done}
    recent = {k: (v, m) for k, (v, m) in recent.items() if m > floor}
    batches = [DayBatch(day, tuple(objs)) for day, objs in sorted(days.items())]
    return LogPlan(batches, waiting, ignored, len(later), SourceCursor(floor, recent, cursor.songs), already,
                   unconfirmed)
