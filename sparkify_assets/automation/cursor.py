"""What the source sensor remembers between ticks, and how it decides what is new.

The cursor holds a high-water mark of modification times plus the (key, version) of every file it requested
whose modification time lies within LOOKBACK of the mark. A tick considers only files modified after
`mark - LOOKBACK` that it has not requested in that exact version, so:
- a new file, or a re-uploaded one (new ETag or mtime, and a new modification time), is seen once;
- an unchanged file is never requested again;
- a file that shows up late in a listing with an older timestamp (S3 stamps the upload's start) is still seen
  if it lands within LOOKBACK;
- the cursor's size depends on how many files land within LOOKBACK, not on the history: it stays small.
A tick takes files oldest first and stops at its budget; the mark only advances over what it took, so the rest
comes on later ticks.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date

from sparkify_assets.resources.source import SourceObject, day_of_log_key

LOOKBACK_SECONDS = 3600.0
CURSOR_VERSION = 1


@dataclass
class SourceCursor:
    mark: float | None = None
    recent: dict[str, tuple[str, float]] = field(default_factory=dict)  # key -> (version, modified)
    songs: str | None = None  # digest of the song files' keys and versions

    @classmethod
    def parse(cls, text: str | None) -> SourceCursor:
        if not text:
            return cls()
        data = json.loads(text)
        if data.get("v") != CURSOR_VERSION:
            return cls()  # an unknown format: start over (run keys still stop any duplicate run)
        return cls(mark=data["mark"], recent={k: (v, m) for k, (v, m) in data["recent"].items()},
                   songs=data["songs"])

    def serialize(self) -> str:
        return json.dumps({"v": CURSOR_VERSION, "mark": self.mark, "songs": self.songs,
                           "recent": {k: [v, m] for k, (v, m) in sorted(self.recent.items())}},
                          separators=(",", ":"))

    def is_new(self, obj: SourceObject) -> bool:
        if self.mark is not None and obj.modified <= self.mark - LOOKBACK_SECONDS:
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
class LogPlan:
    days: list[DayBatch]
    waiting: list[SourceObject]  # files of days whose partition does not exist yet (today's, usually)
    ignored: list[SourceObject]  # files that are no day's log file, or a day outside the partitions
    deferred: int  # new files left for later ticks by the budget
    cursor: SourceCursor


def plan_logs(objects: Sequence[SourceObject], cursor: SourceCursor, budget: int,
              partition_state: Callable[[date], str]) -> LogPlan:
    """Which days to request this tick. partition_state(day) is 'ok', 'waiting' (not yet a partition) or 'out'."""
    new = sorted((o for o in objects if cursor.is_new(o)), key=lambda o: (o.modified, o.key))
    waiting: list[SourceObject] = []
    ignored: list[SourceObject] = []
    taken: list[SourceObject] = []
    days: dict[date, list[SourceObject]] = {}
    deferred = 0
    for i, obj in enumerate(new):
        day = day_of_log_key(obj.key)
        state = partition_state(day) if day is not None else "out"
        if state == "waiting":
            waiting.append(obj)
        elif state == "out":
            ignored.append(obj)
        elif day in days or len(days) < budget:
            days.setdefault(day, []).append(obj)
            taken.append(obj)
        else:  # over budget: this file and every newer one are left for the next ticks
            deferred = len(new) - i
            break
    done = taken + ignored
    mark = max([cursor.mark or float("-inf"), *(o.modified for o in done)])
    if waiting:  # never let the mark pass a file still waiting for its partition
        mark = min(mark, min(o.modified for o in waiting))
    if mark == float("-inf"):
        mark = cursor.mark
    recent = dict(cursor.recent) | {o.key: (o.version, o.modified) for o in done}
    if mark is not None:
        recent = {k: (v, m) for k, (v, m) in recent.items() if m > mark - LOOKBACK_SECONDS}
    batches = [DayBatch(day, tuple(objs)) for day, objs in sorted(days.items())]
    return LogPlan(batches, waiting, ignored, deferred, SourceCursor(mark, recent, cursor.songs))


def songs_digest(objects: Sequence[SourceObject]) -> str | None:
    """One value that changes when any song file is added, removed or rewritten; None when there are none."""
    if not objects:
        return None
    listing = "\n".join(f"{o.key}@{o.version}" for o in sorted(objects, key=lambda o: o.key))
    return hashlib.sha256(listing.encode()).hexdigest()[:20]
