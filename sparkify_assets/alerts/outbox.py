"""A durable outbox for alerts: each alert sensor keeps its undelivered messages, and the ids of those it dealt
with, in its own cursor, which the instance stores (PostgreSQL under `make serve`) and keeps across restarts.

- An event is added once by its id (a run id, a table and day): an id seen before is never sent again.
- Each tick tries every due message once, with a short timeout; a webhook that does not answer stops the tick's
  delivery at once, so a tick takes at most about one timeout, whatever is pending.
- A message not delivered is tried on later ticks, backing off (RETRY_FIRST_S doubling up to RETRY_MAX_S), for
  GIVE_UP_S; then it is logged as undeliverable and dropped. A webhook that rejects a message (4xx other than
  429) will not take it later either: logged as undeliverable at once.
- The message carries its `event_id`, so a receiver can drop the one duplicate left possible: a daemon killed
  between the webhook's answer and the cursor's commit sends it again after its restart.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from sparkify_assets.alerts import webhook

TIMEOUT_S = 5.0
RETRY_FIRST_S = 10.0
RETRY_MAX_S = 60.0
GIVE_UP_S = 24 * 3600.0  # then "undeliverable" (the operator's page says where to look)
REMEMBER_S = 8 * 24 * 3600.0  # dealt-with ids kept this long: longer than any window a sensor looks back over

Post = Callable[[str, Mapping[str, Any], float], tuple[str, str]]


@dataclass
class Outbox:
    pending: dict[str, dict[str, Any]] = field(default_factory=dict)  # id -> {body, since, attempts, due}
    done: dict[str, float] = field(default_factory=dict)  # id -> when delivered or given up

    @classmethod
    def parse(cls, data: Mapping[str, Any] | None) -> Outbox:
        data = data or {}
        return cls(dict(data.get("pending", {})), dict(data.get("done", {})))

    def to_json(self) -> dict[str, Any]:
        return {"pending": self.pending, "done": self.done}

    def knows(self, event_id: str) -> bool:
        return event_id in self.pending or event_id in self.done

    def add(self, event_id: str, body: Mapping[str, Any], now: float) -> bool:
        """Queue one event's message; False (and nothing queued) when the event was seen before."""
        if self.knows(event_id):
            return False
        self.pending[event_id] = {"body": {**body, "event_id": event_id}, "since": now, "attempts": 0, "due": now}
        return True

    def settle(self, event_id: str, now: float) -> None:
        """An event that needs no message (e.g. a run that will be retried): never queued later."""
        self.done.setdefault(event_id, now)

    def deliver(self, url: str, log: logging.Logger | Any, now: float, post: Post = webhook.post_once) -> int:
        """Try each due message once; the number delivered. Never raises, never logs the URL."""
        delivered = 0
        for event_id in sorted(self.pending, key=lambda k: self.pending[k]["since"]):
            entry = self.pending[event_id]
            if entry["due"] > now:
                continue
            outcome, what = post(url, entry["body"], TIMEOUT_S)
            entry["attempts"] += 1
            if outcome == webhook.DELIVERED:
                delivered += 1
                log.info(f"alert {event_id} delivered (attempt {entry['attempts']})")
                self._drop(event_id, now)
                continue
            if outcome == webhook.REJECTED or now - entry["since"] >= GIVE_UP_S:
                log.error(f"alert {event_id} undeliverable after {entry['attempts']} attempt(s), last: {what}; "
                          f"text: {entry['body'].get('text')}")
                self._drop(event_id, now)
                continue
            wait = min(RETRY_FIRST_S * 2 ** (entry["attempts"] - 1), RETRY_MAX_S)
            entry["due"] = now + wait
            log.warning(f"alert {event_id} not delivered (attempt {entry['attempts']}: {what}); "
                        f"trying again in {wait:g}s, {len(self.pending)} pending")
            break  # the webhook is failing: the rest wait for a later tick rather than hold this one up
        self.done = {k: t for k, t in self.done.items() if now - t < REMEMBER_S}
        return delivered

    def _drop(self, event_id: str, now: float) -> None:
        del self.pending[event_id]
        self.done[event_id] = now


def dumps(data: Mapping[str, Any]) -> str:
    return json.dumps(data, sort_keys=True, separators=(",", ":"))
