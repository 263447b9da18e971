"""The environment variables users set, read in one place, with the defaults the README documents."""

from __future__ import annotations

import os
from datetime import date, timedelta
from pathlib import Path

DEFAULT_START_DATE = "2018-11-01"


def project_root() -> Path:
    """The repository when running from a checkout (editable install), else the working directory."""
    here = Path(__file__).resolve().parents[1]
    return here if (here / "setup.py").exists() else Path.cwd()


def data_url() -> str:
    return os.environ.get("SPARKIFY_DATA_URL") or str(project_root() / "data" / "sample")


def s3_endpoint_url() -> str | None:
    return os.environ.get("SPARKIFY_S3_ENDPOINT_URL") or None


def warehouse_kind() -> str:
    kind = (os.environ.get("SPARKIFY_WAREHOUSE") or "duckdb").lower()
    if kind not in ("duckdb", "redshift"):
        raise ValueError(f"SPARKIFY_WAREHOUSE must be 'duckdb' or 'redshift', not {kind!r}")
    return kind


def duckdb_path() -> str:
    return os.environ.get("SPARKIFY_DUCKDB_PATH") or str(project_root() / "data" / "warehouse.duckdb")


def duckdb_working_path() -> str:
    """The pipeline's private working file (docs/analysts.md): readers open SPARKIFY_DUCKDB_PATH, never this."""
    published = Path(duckdb_path())
    working = (os.environ.get("SPARKIFY_DUCKDB_WORKING_PATH")
               or str(published.with_name(f"{published.stem}.working{published.suffix or '.duckdb'}")))
    if Path(working).expanduser().resolve() == published.expanduser().resolve():
        raise ValueError("SPARKIFY_DUCKDB_WORKING_PATH must differ from SPARKIFY_DUCKDB_PATH: readers open the "
                         "latter, and a reader holding the file the pipeline writes blocks every load")
    return working


def duckdb_publish_retention_hours() -> float:
    """SPARKIFY_PUBLISH_RETENTION_HOURS: how long replaced published data stays for readers connected before."""
    value = float(os.environ.get("SPARKIFY_PUBLISH_RETENTION_HOURS") or 24)
    if value < 0:
        raise ValueError(f"SPARKIFY_PUBLISH_RETENTION_HOURS must not be negative, not {value}")
    return value


def duckdb_memory_limit() -> str:
    """How much memory DuckDB may hold before it spills to disk (DuckDB's syntax: '1GB', '512MB')."""
    return os.environ.get("SPARKIFY_DUCKDB_MEMORY_LIMIT") or "1GB"


def start_date() -> str:
    value = os.environ.get("SPARKIFY_START_DATE") or DEFAULT_START_DATE
    date.fromisoformat(value)
    return value


def end_date_exclusive() -> str | None:
    """SPARKIFY_END_DATE is the last day users want (inclusive); Dagster's end_date is exclusive."""
    value = os.environ.get("SPARKIFY_END_DATE")
    return (date.fromisoformat(value) + timedelta(days=1)).isoformat() if value else None


def min_song_match_rate() -> float:
    """Below this share of songplays with a matched song, the match-rate check warns."""
    return float(os.environ.get("SPARKIFY_MIN_SONG_MATCH_RATE") or 0.05)


# -- automation (see docs/automation.md) ---------------------------------------------------------------


def _switch(name: str, default: str) -> str:
    value = (os.environ.get(name) or default).lower()
    if value not in ("on", "off", "auto"):
        raise ValueError(f"{name} must be 'on', 'off' or 'auto', not {value!r}")
    return value


def schedule_hour() -> int:
    """The UTC hour the daily schedule runs at (it loads the previous UTC day)."""
    hour = int(os.environ.get("SPARKIFY_SCHEDULE_HOUR") or 1)
    if not 0 <= hour <= 23:
        raise ValueError(f"SPARKIFY_SCHEDULE_HOUR must be 0..23, not {hour}")
    return hour


def schedule_switch() -> str:
    """SPARKIFY_SCHEDULE: 'on' starts the daily schedule running; off (the default) leaves it to the UI."""
    return _switch("SPARKIFY_SCHEDULE", "off")


def sensor_switch() -> str:
    """SPARKIFY_SENSOR: 'auto' (default) runs the sensor for a local folder and leaves it stopped for S3."""
    return _switch("SPARKIFY_SENSOR", "auto")


def sensor_max_runs_per_tick() -> int:
    value = int(os.environ.get("SPARKIFY_SENSOR_MAX_RUNS") or 100)
    if value < 1:
        raise ValueError(f"SPARKIFY_SENSOR_MAX_RUNS must be at least 1, not {value}")
    return value


def sensor_interval_seconds() -> int:
    """SPARKIFY_SENSOR_INTERVAL_SECONDS: how often the daemon lists the source (default 30)."""
    value = int(os.environ.get("SPARKIFY_SENSOR_INTERVAL_SECONDS") or 30)
    if value < 1:
        raise ValueError(f"SPARKIFY_SENSOR_INTERVAL_SECONDS must be at least 1, not {value}")
    return value


def retry_delay_seconds() -> float:
    """The first retry's delay; each later retry waits twice as long (with jitter)."""
    value = float(os.environ.get("SPARKIFY_RETRY_DELAY_SECONDS") or 30)
    if value < 0:
        raise ValueError(f"SPARKIFY_RETRY_DELAY_SECONDS must not be negative, not {value}")
    return value


# -- operability: freshness and alerts (see docs/operating-alerts.md) ------------------------------------------------


def freshness_delay() -> timedelta:
    """SPARKIFY_FRESHNESS_HOURS: how long after a UTC day ends its load may take before the day is overdue.

    Fractions are allowed (to the minute), from 1 minute to 23 h 59 min: the deadline is a time of the next day.
    """
    hours = float(os.environ.get("SPARKIFY_FRESHNESS_HOURS") or 6)
    delay = timedelta(minutes=round(hours * 60))
    if not timedelta(minutes=1) <= delay < timedelta(days=1):
        raise ValueError(f"SPARKIFY_FRESHNESS_HOURS must be at least 1 minute and under 24 hours, not {hours}")
    return delay


def freshness_deadline_cron() -> str | None:
    """SPARKIFY_FRESHNESS_DEADLINE_CRON: replaces the daily deadline (for demos and tests, e.g. every minute)."""
    return os.environ.get("SPARKIFY_FRESHNESS_DEADLINE_CRON") or None


def alert_webhook_url() -> str | None:
    """SPARKIFY_ALERT_WEBHOOK_URL: where alerts are posted; unset, no alert sensor is defined. A secret: never log."""
    return os.environ.get("SPARKIFY_ALERT_WEBHOOK_URL") or None


def alert_interval_seconds() -> int:
    """SPARKIFY_ALERT_INTERVAL_SECONDS: how often the alert sensors look for failed runs and overdue tables."""
    value = int(os.environ.get("SPARKIFY_ALERT_INTERVAL_SECONDS") or 30)
    if value < 1:
        raise ValueError(f"SPARKIFY_ALERT_INTERVAL_SECONDS must be at least 1, not {value}")
    return value


def converge_attempts() -> int:
    """SPARKIFY_CONVERGE_ATTEMPTS: how many runs the service gives one incomplete day (per version of its file)
    before it alerts and leaves the day to a person (automation/converge.py)."""
    value = int(os.environ.get("SPARKIFY_CONVERGE_ATTEMPTS") or 3)
    if value < 1:
        raise ValueError(f"SPARKIFY_CONVERGE_ATTEMPTS must be at least 1, not {value}")
    return value


def ui_url() -> str:
    """SPARKIFY_UI_URL: the Dagster UI that alert links point to."""
    return (os.environ.get("SPARKIFY_UI_URL") or "http://127.0.0.1:3000").rstrip("/")
