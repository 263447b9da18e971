"""The sensor's bookkeeping on its own: batching, late files, days not yet partitions, and the cursor's size."""

from __future__ import annotations

from datetime import date, timedelta

from sparkify_assets.automation.cursor import LOOKBACK_SECONDS, SourceCursor, plan_logs
from sparkify_assets.resources.source import SourceObject, log_key

NOW = 1_800_000_000.0


def obj(day: date, modified: float, version: str = "v1") -> SourceObject:
    return SourceObject(key=log_key(day), size=100, version=version, modified=modified)


def ok(day: date) -> str:
    return "ok"


def test_ten_thousand_new_files_come_in_batches_with_a_small_cursor() -> None:
    first = date(1990, 1, 1)
    # Years of history synced into the bucket over the past week: one file a minute.
    files = [obj(first + timedelta(days=i), NOW - 7 * 86400 + 60 * i) for i in range(10_000)]
    cursor, requested, ticks, largest = SourceCursor(), [], 0, 0
    while True:
        plan = plan_logs(files, cursor, 100, ok, NOW)
        text = plan.cursor.serialize()
        largest = max(largest, len(text))
        cursor = SourceCursor.parse(text)
        if not plan.days:
            break
        ticks += 1
        assert len(plan.days) <= 100
        requested += [b.day for b in plan.days]
    assert ticks == 100
    assert sorted(requested) == [first + timedelta(days=i) for i in range(10_000)]  # every day, once
    # The cursor holds files modified within the lookback, not the history.
    within = sum(f.modified > NOW - LOOKBACK_SECONDS for f in files)
    assert len(cursor.recent) == within and largest < 200 + 100 * within, largest
    later = plan_logs(files, cursor, 100, ok, NOW + LOOKBACK_SECONDS + 1)
    assert later.days == [] and later.cursor.recent == {}


def test_a_late_file_stamped_in_the_past_is_still_seen_within_the_lookback() -> None:
    a, b = date(2018, 11, 1), date(2018, 11, 2)
    plan = plan_logs([obj(a, NOW - 10)], SourceCursor(), 100, ok, NOW)
    late = obj(b, NOW - 60)  # its upload started before a's but it was listed only now
    again = plan_logs([obj(a, NOW - 10), late], plan.cursor, 100, ok, NOW + 30)
    assert [x.day for x in again.days] == [b]
    # Past the lookback, an unchanged old file is settled and forgotten, and still never requested again.
    settled = plan_logs([obj(a, NOW - 10), late], again.cursor, 100, ok, NOW + 2 * LOOKBACK_SECONDS)
    assert settled.days == [] and settled.cursor.recent == {}
    assert plan_logs([obj(a, NOW - 10), late], settled.cursor, 100, ok, NOW + 3 * LOOKBACK_SECONDS).days == []


def test_todays_file_waits_for_its_partition_and_holds_the_floor() -> None:
    today, yesterday = date(2018, 11, 3), date(2018, 11, 2)
    files = [obj(today, NOW - 5 * LOOKBACK_SECONDS), obj(yesterday, NOW - 10)]
    state = {today: "waiting", yesterday: "ok"}
    plan = plan_logs(files, SourceCursor(), 100, state.__getitem__, NOW)
    assert [b.day for b in plan.days] == [yesterday] and plan.waiting == [files[0]]
    # Hours later the day has ended: its file is requested even though its timestamp is far behind the clock.
    state[today] = "ok"
    later = plan_logs(files, plan.cursor, 100, state.__getitem__, NOW + 10 * LOOKBACK_SECONDS)
    assert [b.day for b in later.days] == [today]


def test_files_that_are_no_days_log_are_ignored_once() -> None:
    stray = SourceObject(key="log_data/README.md", size=1, version="x", modified=NOW - 1)
    early = obj(date(2018, 10, 31), NOW - 1)
    state = {date(2018, 10, 31): "out"}
    plan = plan_logs([stray, early], SourceCursor(), 100, state.__getitem__, NOW)
    assert plan.days == [] and set(plan.ignored) == {stray, early}
    assert plan_logs([stray, early], plan.cursor, 100, state.__getitem__, NOW).ignored == []


def test_several_files_of_one_day_make_one_request_naming_each_version() -> None:
    day = date(2018, 11, 5)
    part = SourceObject(key=log_key(day).replace("-events", "-events-2"), size=1, version="e2", modified=NOW)
    plan = plan_logs([obj(day, NOW, "e1"), part], SourceCursor(), 1, ok, NOW)
    (batch,) = plan.days
    assert batch.run_key == f"{part.key}@e2+{log_key(day)}@e1"  # sorted by key
