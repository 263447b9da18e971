"""One Settings object (settings.py): every variable read once, every bad value named in one error, never a secret's
value; and no other product module reads the environment."""

from __future__ import annotations

import re
from datetime import timedelta
from pathlib import Path

import pytest

from sparkify_assets.settings import Settings, SettingsError

ROOT = Path(__file__).resolve().parents[2]
PRODUCT = ("sparkify_assets", "sparkify_service")


def test_defaults_are_the_readme_ones() -> None:
    s = Settings.from_env({})
    assert (s.warehouse, s.start_date, s.end_date, s.end_date_exclusive) == ("duckdb", "2018-11-01", None, None)
    assert s.data_url.endswith("data/sample") and s.duckdb_path.endswith("data/warehouse.duckdb")
    assert s.duckdb_working_path.endswith("data/warehouse.working.duckdb")
    assert (s.publish_retention_hours, s.duckdb_memory_limit, s.min_song_match_rate) == (24.0, "1GB", 0.05)
    assert (s.schedule_hour, s.schedule, s.sensor, s.sensor_max_runs, s.sensor_interval_seconds) == (
        1, "off", "auto", 100, 30)
    assert (s.retry_delay_seconds, s.converge_attempts) == (30.0, 3)
    assert s.alerts.webhook_url is None and s.alerts.interval_seconds == 30
    assert s.alerts.ui_url == "http://127.0.0.1:3000" and s.alerts.freshness_delay == timedelta(hours=6)
    assert (s.redshift.schema, s.redshift.ssl, s.redshift.iam) == ("public", True, False)
    assert (s.redshift.connect_timeout, s.redshift.statement_timeout, s.redshift.load_errors_view) == (30, 0, "auto")
    assert (s.service.port, s.service.postgres_url, s.service.cancel_grace_seconds) == (3000, None, 30.0)


def test_values_are_read_and_converted() -> None:
    s = Settings.from_env({"SPARKIFY_WAREHOUSE": "Redshift", "SPARKIFY_END_DATE": "2018-11-30",
                           "SPARKIFY_FRESHNESS_HOURS": "1.5", "SPARKIFY_UI_URL": "http://ui:3000/",
                           "AWS_REGION": "eu-west-1", "REDSHIFT_TIMEOUT": "9", "REDSHIFT_SSL": "no",
                           "SPARKIFY_PORT": "3001", "SPARKIFY_CANCEL_GRACE_SECONDS": "0"})
    assert (s.warehouse, s.end_date_exclusive, s.alerts.ui_url) == ("redshift", "2018-12-01", "http://ui:3000")
    assert s.alerts.freshness_delay == timedelta(minutes=90)
    assert (s.redshift.s3_region, s.redshift.region, s.redshift.connect_timeout, s.redshift.ssl) == (
        "eu-west-1", "eu-west-1", 9, False)
    assert (s.service.port, s.service.cancel_grace_seconds) == (3001, 0.0)
    assert s.environ["AWS_REGION"] == "eu-west-1"


def test_every_bad_value_is_named_in_one_error() -> None:
    bad = {"SPARKIFY_WAREHOUSE": "oracle", "SPARKIFY_SCHEDULE_HOUR": "24", "SPARKIFY_SENSOR": "sometimes",
           "SPARKIFY_SENSOR_MAX_RUNS": "many", "SPARKIFY_START_DATE": "2018-13-01",
           "SPARKIFY_FRESHNESS_HOURS": "24", "REDSHIFT_STATEMENT_TIMEOUT": "2h", "SPARKIFY_PORT": "http"}
    with pytest.raises(SettingsError) as raised:
        Settings.from_env(bad)
    text = str(raised.value)
    assert len(raised.value.problems) == len(bad)
    for name in bad:
        assert sum(line.startswith(f"  - {name} ") for line in text.splitlines()) == 1, (name, text)
    # The messages the variables always gave (operators and docs quote them).
    assert "SPARKIFY_WAREHOUSE must be 'duckdb' or 'redshift', not 'oracle'" in text
    assert "SPARKIFY_SCHEDULE_HOUR must be 0..23, not 24" in text
    assert "SPARKIFY_SENSOR must be 'on', 'off' or 'auto', not 'sometimes'" in text
    assert "SPARKIFY_FRESHNESS_HOURS must be at least 1 minute and under 24 hours, not 24.0" in text
    assert "REDSHIFT_STATEMENT_TIMEOUT must be a whole number of seconds" in text


def test_one_bad_value_is_one_line_and_still_a_value_error() -> None:
    with pytest.raises(ValueError, match="^SPARKIFY_CONVERGE_ATTEMPTS must be at least 1, not 0$"):
        Settings.from_env({"SPARKIFY_CONVERGE_ATTEMPTS": "0"})
    with pytest.raises(ValueError, match="must differ from SPARKIFY_DUCKDB_PATH"):
        Settings.from_env({"SPARKIFY_DUCKDB_PATH": "/tmp/w.duckdb", "SPARKIFY_DUCKDB_WORKING_PATH": "/tmp/w.duckdb"})


def test_no_secret_value_in_an_error_or_a_repr() -> None:
    secret = "Secret-9f3a7c"
    env = {"SPARKIFY_ALERT_WEBHOOK_URL": f"https://hooks.example/{secret}", "REDSHIFT_PASSWORD": secret,
           "DAGSTER_POSTGRES_URL": f"postgresql://u:{secret}@db:5432/dagster", "SPARKIFY_PORT": secret,
           "SPARKIFY_SCHEDULE_HOUR": "99"}
    with pytest.raises(SettingsError) as raised:
        Settings.from_env(env)
    assert "SPARKIFY_PORT" in str(raised.value) and secret not in str(raised.value)
    settings = Settings.from_env({**env, "SPARKIFY_PORT": "3000", "SPARKIFY_SCHEDULE_HOUR": "2"})
    assert settings.alerts.webhook_url and settings.service.postgres_url
    assert secret not in repr(settings)  # the environment snapshot and the secret fields stay out of it


ENVIRONMENT_READ = re.compile(r"\bos\.(environ|getenv|putenv)\b|\bgetenv\(")


def test_only_settings_reads_the_environment() -> None:
    readers = sorted(str(path.relative_to(ROOT)) for package in PRODUCT for path in (ROOT / package).rglob("*.py")
                     if ENVIRONMENT_READ.search(path.read_text()))
    assert readers == ["sparkify_assets/settings.py"]
