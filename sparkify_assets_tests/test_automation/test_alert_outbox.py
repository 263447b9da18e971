"""The alert outbox (alerts/outbox.py) against a real webhook on loopback, its clock passed in: a message is
delivered once the webhook is back, never twice for one event, survives being written out and read back (as the
sensor cursor that holds it across restarts), gives up after its bound, and never holds a tick up for longer than
one short timeout, whether the webhook refuses, hangs or is gone."""

from __future__ import annotations

import json
import logging
import time

import pytest

from sparkify_assets.alerts import messages, outbox
from sparkify_assets_tests.support.webhook_receiver import running_receiver
from sparkify_assets_tests.support.webserver import free_port

BODY = messages.overdue(ui_url="http://127.0.0.1:3000", asset="songplays", day="2018-11-30", hours=6).body()
LOG = logging.getLogger("test")


def reloaded(box: outbox.Outbox) -> outbox.Outbox:
    """Through the text the instance stores, as the next tick (or the restarted daemon) reads it."""
    return outbox.Outbox.parse(json.loads(outbox.dumps(box.to_json())))


def test_a_message_waits_out_an_outage_then_arrives_exactly_once(caplog: pytest.LogCaptureFixture) -> None:
    with running_receiver() as receiver:
        url = f"{receiver.url}/hooks/secret-part"
        receiver.refusing = True
        box, now = outbox.Outbox(), 1000.0
        assert box.add("run:r1", BODY, now)
        tries = []
        while now < 1000.0 + 120:  # down for two minutes, ticked every 5 s
            before = receiver.requests
            box = reloaded(box)
            assert box.deliver(url, LOG, now) == 0
            tries += [now] * (receiver.requests - before)
            now += 5
        assert 1 < len(tries) < 120 / 5  # tried again, backing off (not every tick)
        assert all(b - a >= outbox.RETRY_FIRST_S for a, b in zip(tries, tries[1:], strict=False))
        receiver.refusing = False
        while not receiver.received():
            box = reloaded(box)
            box.deliver(url, LOG, now)
            now += 5
        assert now - tries[-1] <= outbox.RETRY_MAX_S + 10  # once back, within one backoff
        assert not box.add("run:r1", BODY, now)  # the same event again: nothing queued
        for _ in range(20):
            box = reloaded(box)
            box.deliver(url, LOG, now)
            now += 60
        assert receiver.received() == [{**BODY, "event_id": "run:r1"}]
    assert "secret-part" not in caplog.text and "127.0.0.1" not in caplog.text


def test_after_its_bound_a_message_is_logged_undeliverable_and_dropped(caplog: pytest.LogCaptureFixture) -> None:
    url = f"http://127.0.0.1:{free_port()}/hooks/secret-part"  # nothing listens there
    box = outbox.Outbox()
    box.add("overdue:songplays:2018-11-30", BODY, 0.0)
    box.deliver(url, LOG, 0.0)
    assert box.pending and "ConnectionRefusedError" in caplog.text
    box.deliver(url, LOG, outbox.GIVE_UP_S)
    assert not box.pending and box.knows("overdue:songplays:2018-11-30")
    assert "overdue:songplays:2018-11-30 undeliverable after 2 attempt(s)" in caplog.text
    assert "secret-part" not in caplog.text


def test_a_rejected_message_is_not_offered_again() -> None:
    with running_receiver(fail_first=10, refuse_status=404) as receiver:
        box = outbox.Outbox()
        box.add("run:r2", BODY, 0.0)
        box.deliver(f"{receiver.url}/gone", LOG, 0.0)
        box.deliver(f"{receiver.url}/gone", LOG, 3600.0)
        assert receiver.requests == 1 and not box.pending


def test_a_hanging_webhook_holds_a_tick_one_timeout_and_the_rest_wait() -> None:
    with running_receiver() as receiver:
        receiver.delay_s = outbox.TIMEOUT_S + 1
        receiver.refusing = True  # what it answers once the sender has stopped waiting: not taken
        box = outbox.Outbox()
        for i in range(5):
            box.add(f"run:r{i}", BODY, float(i))
        started = time.monotonic()
        assert box.deliver(receiver.url, LOG, 10.0) == 0
        elapsed = time.monotonic() - started
        assert outbox.TIMEOUT_S <= elapsed < 2 * outbox.TIMEOUT_S
        assert len(box.pending) == 5 and receiver.requests == 0
        deadline = time.monotonic() + 60
        while receiver.requests < 1 and time.monotonic() < deadline:  # the hanging request's late answer
            time.sleep(0.2)
        receiver.delay_s, receiver.refusing = 0.0, False
        box.deliver(receiver.url, LOG, 10.0 + outbox.RETRY_MAX_S)
        assert sorted(m["event_id"] for m in receiver.received()) == [f"run:r{i}" for i in range(5)]
