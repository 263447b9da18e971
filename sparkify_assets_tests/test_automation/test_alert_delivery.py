"""Alert building and delivery without a daemon: the outbox's sender against a real HTTP server on loopback
(refusing, then accepting), the secret scrubbing, the overdue-day arithmetic, and no sensor without a URL."""

from __future__ import annotations

import logging
from datetime import datetime, timezone

import pytest

from sparkify_assets import freshness
from sparkify_assets.alerts import messages, outbox
from sparkify_assets.alerts.sensors import build_alert_sensors
from sparkify_assets.settings import Settings
from sparkify_assets_tests.support.webhook_receiver import running_receiver
from sparkify_assets_tests.support.webserver import free_port

BODY = messages.overdue(ui_url="http://127.0.0.1:3000", asset="songplays", day="2018-11-30", hours=6).body()


def test_delivery_is_retried_until_the_webhook_accepts(caplog: pytest.LogCaptureFixture) -> None:
    """Through the outbox (the only sender): each due retry is one POST, on a later tick."""
    with running_receiver(fail_first=2) as receiver:
        url = f"{receiver.url}/hooks/secret-part"
        box, now = outbox.Outbox(), 0.0
        box.add("run:r1", BODY, now)
        while not receiver.received() and now < 600:
            box.deliver(url, logging.getLogger("test"), now)
            now += 5
        assert receiver.requests == 3 and receiver.received() == [{**BODY, "event_id": "run:r1"}]
    assert "not delivered (attempt 2: HTTP 503)" in caplog.text
    assert "secret-part" not in caplog.text and "127.0.0.1" not in caplog.text


def test_a_dead_webhook_gives_up_quietly_and_never_raises(caplog: pytest.LogCaptureFixture) -> None:
    url = f"http://127.0.0.1:{free_port()}/hooks/secret-part"  # nothing listens there
    box = outbox.Outbox()
    box.add("run:r1", BODY, 0.0)
    for now in (0.0, outbox.RETRY_FIRST_S, outbox.GIVE_UP_S):
        assert box.deliver(url, logging.getLogger("test"), now) == 0
    assert "undeliverable after 3 attempt(s)" in caplog.text
    assert "secret-part" not in caplog.text


def test_a_webhook_that_rejects_the_message_is_not_asked_again(caplog: pytest.LogCaptureFixture) -> None:
    with running_receiver(fail_first=10, refuse_status=404) as receiver:
        box = outbox.Outbox()
        box.add("run:r1", BODY, 0.0)
        for now in (0.0, 3600.0):
            assert box.deliver(f"{receiver.url}/hooks/gone", logging.getLogger("test"), now) == 0
        assert receiver.requests == 1
    assert "undeliverable after 1 attempt(s), last: HTTP 404" in caplog.text


def test_messages_carry_no_secret(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("REDSHIFT_PASSWORD", "hunter2-long")
    error = "connection to redshift://admin:hunter2-long@cluster:5439/dev failed; password hunter2-long"
    body = messages.run_failed(ui_url="http://ui", run_id="r1", job="daily_logs", partition="2018-11-05",
                               asset="staging_events", error=messages.first_line(error + "\nTraceback ...")).body()
    assert "hunter2-long" not in str(body) and "admin" not in str(body)
    assert body["error"] == "connection to redshift://***@cluster:5439/dev failed; password ***"
    assert set(body) == {"kind", "text", "run_id", "job", "partition", "asset", "check", "error"}


@pytest.mark.parametrize(("now", "day"), [
    ("2018-12-01T06:00:30", "2018-11-30"),  # just past the 06:00 deadline of Nov 30
    ("2018-12-01T05:59:00", "2018-11-29"),  # before it: the latest passed deadline was Nov 29's
    ("2018-12-01T23:59:59", "2018-11-30"),
])
def test_the_overdue_day_is_the_one_whose_deadline_passed_last(monkeypatch: pytest.MonkeyPatch, now: str,
                                                                day: str) -> None:
    monkeypatch.delenv("SPARKIFY_FRESHNESS_HOURS", raising=False)
    monkeypatch.delenv("SPARKIFY_FRESHNESS_DEADLINE_CRON", raising=False)
    assert freshness.overdue_day(datetime.fromisoformat(now).replace(tzinfo=timezone.utc),
                                  Settings.from_env().alerts).isoformat() == day


def test_the_deadline_is_the_configured_time_of_the_next_day(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SPARKIFY_FRESHNESS_HOURS", "1.5")
    monkeypatch.delenv("SPARKIFY_FRESHNESS_DEADLINE_CRON", raising=False)
    assert freshness.deadline_cron(Settings.from_env().alerts.freshness_delay) == "30 1 * * *"
    for now, day in (("2018-12-01T01:30:30", "2018-11-30"), ("2018-12-01T01:29:00", "2018-11-29")):
        assert freshness.overdue_day(datetime.fromisoformat(now).replace(tzinfo=timezone.utc),
                                  Settings.from_env().alerts).isoformat() == day
    monkeypatch.setenv("SPARKIFY_FRESHNESS_HOURS", "24")
    with pytest.raises(ValueError, match="SPARKIFY_FRESHNESS_HOURS"):
        Settings.from_env()


def test_no_alert_sensor_without_a_webhook_url(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("SPARKIFY_ALERT_WEBHOOK_URL", raising=False)
    assert build_alert_sensors(Settings.from_env()) == []
    monkeypatch.setenv("SPARKIFY_ALERT_WEBHOOK_URL", "http://127.0.0.1:9/hook")
    names = sorted(s.name for s in build_alert_sensors(Settings.from_env()))
    assert names == ["alert_on_overdue_tables", "alert_on_run_failure"]
