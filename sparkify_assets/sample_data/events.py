"""Listeners and their sessions, simulated day by day and streamed to one log file per UTC day."""

from __future__ import annotations

import random
from bisect import bisect
from collections import deque
from datetime import date, datetime, timedelta, timezone
from itertools import accumulate
from pathlib import Path

from sparkify_assets.sample_data.formats import DAY, EVENT_FIELDS, MS, PAGES, Song, js
from sparkify_assets.sample_data.vocabulary import AGENTS, FIRST_F, FIRST_M, LAST, LEVEL_PAGES, METROS


class User:
    """One listener: fixed profile fragments plus the mutable level and planned level switches."""

    __slots__ = ("frag", "index", "level", "offset", "plan", "weight")

    def __init__(self, rng: random.Random, index: int, start_sec: int) -> None:
        gender = "F" if rng.random() < 0.6 else "M"
        first = rng.choice(FIRST_F if gender == "F" else FIRST_M)
        agent = rng.choice(AGENTS)
        agent = f'"{agent}"' if "," in agent else agent  # real logs quote it only when it has a comma
        registration = float((start_sec - rng.randrange(3_600, 45 * DAY)) * 1000 + MS)
        self.index = index
        # JSON fragments, in EVENT_FIELDS order: firstName, gender, lastName, location, registration,
        # userAgent, userId.
        self.frag = (
            js(first),
            js(gender),
            js(rng.choice(LAST)),
            js(rng.choice(METROS)),
            repr(registration),
            js(agent),
            js(str(index + 1)),
        )
        self.level = "paid" if rng.random() < 0.35 else "free"
        self.weight = rng.lognormvariate(0.0, 1.0) * (5.0 if self.level == "paid" else 1.0)
        self.offset = rng.randrange(4 * 3_600)  # where this user's "day" starts, so sessions cross midnight
        self.plan: list[tuple[int, str]] = []  # (first day index it may happen, level before the switch)


Event = tuple[str, bool, str, "Song | None"]  # (page, logged in?, level, song played)
Session = tuple[int, list[Event], list[int]]  # (sessionId, events, seconds after each event)
# What a due level switch looks like in a session, by the level before it.
SWITCH_FLOW = {
    "free": (("Upgrade", True), ("Submit Upgrade", True), ("Home", True)),
    "paid": (("Downgrade", True), ("Submit Downgrade", True), ("Home", True)),
}
NO_SONG = ("null", "null", "null")
LOGGED_OUT_FRAG = ("null", "null", "null", "null", "null", "null", '""')
EVENT_TEMPLATE = "{" + ",".join(f'"{field}":%s' for field in EVENT_FIELDS) + "}"
PAGE_FRAG = {page: (js(method), js(page), str(status)) for page, (method, status) in PAGES.items()}
AUTH = {True: js("Logged In"), False: js("Logged Out")}
LEVEL = {"free": js("free"), "paid": js("paid")}


class EventSim:
    """Simulates sessions day by day and streams each finished UTC day to its log file."""

    def __init__(
        self,
        rng: random.Random,
        users: list[User],
        matched: list[Song],
        catalog: list[Song],
        match_share: float,
    ) -> None:
        self.rng = rng
        self.users = users
        self.matched = matched
        self.catalog = catalog
        self.match_share = match_share if matched else 0.0
        self.cum_weight = list(accumulate(u.weight for u in users))
        self.pages = {
            level: ([p for p, _ in table], list(accumulate(w for _, w in table)))
            for level, table in LEVEL_PAGES.items()
        }
        self.next_session = 1
        self.nextsong = 0
        self.matched_plays = 0
        self.switches = 0

    def session_length(self) -> int:
        """Events in a session: median 2, mean ~8, long tail (real: 50% <= 2, 90% <= 25, max 128)."""
        return max(1, min(300, int(self.rng.lognormvariate(0.9, 1.8))))

    def session(self, user: User, n: int, day: int, limit: int) -> Session:
        """Page flow of one session of at most ``n`` events, plus the gap in seconds after each event.

        A due level switch stretches the session (up to ``limit`` events) and comes early in it, so
        that the Upgrade -> Submit Upgrade -> Home flow is rarely cut off by the session's end.
        """
        rng, rand = self.rng, self.rng.random
        level, plan = user.level, user.plan
        while plan and plan[0][0] <= day and plan[0][1] != level:
            plan.pop(0)  # cannot happen with consistent plans; keeps the state machine honest
        inject_at = -1
        if plan and plan[0][0] <= day:
            n = max(n, min(limit, 8))
            inject_at = int(rand() * min(n - 2, 5)) if n >= 3 else -1
        queue: deque[tuple[str, bool]] = deque()
        ended = False
        if rand() < 0.085:  # starts on the logged-out site: browse and leave, or log in
            if rand() < 0.68:
                queue.append(("Home", False))
                if rand() < 0.15:
                    queue.append(("About" if rand() < 0.6 else "Help", False))
                ended = rand() < 0.45
            if not ended:
                queue.extend((("Login", False), ("Home", True)))
        else:  # real logged-in sessions open on Home (~40%) or straight into a song, rarely elsewhere
            r = rand()
            queue.append(("Home" if r < 0.4 else "NextSong" if r < 0.99 else "About", True))
        events: list[Event] = []
        gaps: list[int] = []
        while len(events) < n:
            if not queue:
                if ended:
                    break
                if 0 <= inject_at <= len(events):
                    inject_at = -1
                    queue.extend(SWITCH_FLOW[level])
                    continue
                names, cum = self.pages[level]
                page = names[bisect(cum, rand() * cum[-1])]
                if page == "Logout":
                    queue.extend((("Logout", True), ("Home", False)))
                    if rand() < 0.1:
                        queue.append(("About" if rand() < 0.6 else "Help", False))
                    if rand() < 0.6:
                        queue.extend((("Login", False), ("Home", True)))
                    else:
                        ended = True
                elif page == "Settings" and rand() < 0.35:
                    queue.extend((("Settings", True), ("Save Settings", True), ("Home", True)))
                else:
                    queue.append((page, True))
            page, logged_in = queue.popleft()
            song = None
            if page == "NextSong":
                self.nextsong += 1
                if rand() < self.match_share:
                    song = self.matched[int(len(self.matched) * rand() ** 1.5)]
                    self.matched_plays += 1
                else:
                    song = self.catalog[int(len(self.catalog) * rand() ** 1.3)]
                seconds = int(float(song[2]))
                gaps.append(seconds if rand() >= 0.04 else 1 + int(rand() * seconds))  # 4% skip the song
            else:
                gaps.append(0 if rand() < 0.02 else min(3_600, 1 + int(rng.expovariate(1 / 110))))
            events.append((page, logged_in, level, song))
            if page in ("Submit Upgrade", "Submit Downgrade"):
                level = "paid" if page == "Submit Upgrade" else "free"
                plan.pop(0)
                self.switches += 1
        gaps[-1] = 0
        user.level = level
        sid = self.next_session
        self.next_session += 1
        return sid, events, gaps

    def run(self, out: Path, start: date, days: int, events_per_day: int) -> tuple[int, list[Path]]:
        """Simulate every day window, writing each UTC day's file as soon as no later window can reach it."""
        rng = self.rng
        start_sec = int(datetime(start.year, start.month, start.day, tzinfo=timezone.utc).timestamp())
        end_sec = start_sec + days * DAY
        users, cum_weight = self.users, self.cum_weight
        # Each user lives in day windows shifted by a per-user offset: window d is
        # [bound(d), bound(d + 1)), so a window's tail lies in day d + 1 and day d is final after window d.
        midnights = [start_sec + d * DAY for d in range(1, days)]
        bounds = [[start_sec, *(m + u.offset for m in midnights), end_sec] for u in users]
        buckets: dict[int, list[tuple[int, int, str]]] = {}
        template, page_frag, auth, level_js = EVENT_TEMPLATE, PAGE_FRAG, AUTH, LEVEL
        seq = 0
        total = 0
        paths = []
        for day in range(days):
            per_user: list[list[Session]] = [[] for _ in users]
            remaining = events_per_day
            while remaining > 0:
                user = users[min(len(users) - 1, bisect(cum_weight, rng.random() * cum_weight[-1]))]
                session = self.session(user, min(self.session_length(), remaining), day, remaining)
                per_user[user.index].append(session)
                remaining -= len(session[1])
            for user in users:
                sessions = per_user[user.index]
                if not sessions:
                    continue
                low, high = bounds[user.index][day], bounds[user.index][day + 1]
                span = high - low - 1
                busy = sum(sum(gaps) for _, _, gaps in sessions)
                if busy > 0.85 * span:  # more listening than fits in a day: compress this user's gaps
                    factor = 0.85 * span / busy
                    sessions = [(sid, evs, [int(g * factor) for g in gaps]) for sid, evs, gaps in sessions]
                    busy = sum(sum(gaps) for _, _, gaps in sessions)
                weights = [rng.random() + 0.05 for _ in range(len(sessions) + 1)]
                scale = (span - busy) / sum(weights)
                t = low
                for (sid, events, gaps), weight in zip(sessions, weights, strict=False):
                    t += int(weight * scale)
                    for item, (event, gap) in enumerate(zip(events, gaps, strict=True)):
                        page, logged_in, level, song = event
                        first, gender, last, location, registration, agent, uid = (
                            user.frag if logged_in else LOGGED_OUT_FRAG
                        )
                        method, page_js, status = page_frag[page]
                        artist, title, length = song[:3] if song else NO_SONG
                        ts = t * 1000 + MS
                        line = template % (
                            artist,
                            auth[logged_in],
                            first,
                            gender,
                            item,
                            last,
                            length,
                            level_js[level],
                            location,
                            method,
                            page_js,
                            registration,
                            sid,
                            title,
                            status,
                            ts,
                            agent,
                            uid,
                        )
                        buckets.setdefault((t - start_sec) // DAY, []).append((ts, seq, line))
                        seq += 1
                        t += gap
            rows = buckets.pop(day, [])
            rows.sort()
            total += len(rows)
            when = start + timedelta(days=day)
            path = out / "log_data" / f"{when:%Y}" / f"{when:%m}" / f"{when:%Y-%m-%d}-events.json"
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes("\n".join(row[2] for row in rows).encode("ascii"))  # no newline at EOF, as real
            paths.append(path)
        return total, paths


def plan_switches(rng: random.Random, users: list[User], days: int) -> None:
    """Plan level changes: ~12% of free users upgrade, ~6% of paid downgrade (some re-upgrade later).

    The most active free and the most active paid user always switch, in the first third of the
    range, so that even a small data set shows both kinds.
    """
    busiest = {
        level: max((u for u in users if u.level == level), key=lambda u: (u.weight, -u.index), default=None)
        for level in ("free", "paid")
    }
    for user in users:
        chance = 0.12 if user.level == "free" else 0.06
        if user is busiest[user.level]:
            user.plan.append((rng.randrange(max(1, days // 3)), user.level))
        elif rng.random() < chance:
            user.plan.append((rng.randrange(days), user.level))
        if user.plan and user.level == "paid" and rng.random() < 0.4:  # comes back, like real user 15
            user.plan.append((rng.randrange(user.plan[0][0], days), "free"))
