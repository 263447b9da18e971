"""Every environment variable the project reads, read once into one frozen `Settings` and checked at start.

Why one object: a bad value should stop the process before anything is built, with one message listing every
bad variable, and everything downstream (definitions, sensors, checks, the service) reads the object it is handed,
so a test or a process can pass its own without touching the environment. This module is the only one in product
code that reads `os.environ` (`Settings.from_env`, and `process_environ` for what only hands it on); the defaults
are the README's.

Secrets: the Redshift credentials reach their resource as Dagster `EnvVar`s (named, never held here); the few
secret values the service and the alerts need (the webhook URL, DAGSTER_POSTGRES_URL) are held with
`repr=False`, and no error message echoes a value of a secret variable.

`make front`'s SPARKIFY_FRONT_* variables are the one exception to "checked here": front.py checks them from
`Settings.environ` together with the files they name (password file, certificate), before it writes anything.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path
from types import MappingProxyType
from typing import TypeVar

DEFAULT_START_DATE = "2018-11-01"
T = TypeVar("T")


class SettingsError(ValueError):
    """One or more variables hold a bad value; one line each, naming the variable, never a secret's value."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        super().__init__(problems[0] if len(problems) == 1
                         else "invalid settings:\n" + "\n".join(f"  - {p}" for p in problems))


def process_environ() -> dict[str, str]:
    """This process's environment as it is now, unchecked: for what only hands it on (a child's environment, the
    secret values to redact), which must work whatever a setting holds."""
    return dict(os.environ)


def project_root() -> Path:
    """The repository when running from a checkout (editable install), else the working directory."""
    here = Path(__file__).resolve().parents[1]
    return here if (here / "setup.py").exists() else Path.cwd()


@dataclass(frozen=True)
class RedshiftSettings:
    """SPARKIFY_WAREHOUSE=redshift's connection settings; the credentials are not here (they stay EnvVars)."""

    iam: bool = False
    schema: str = "public"
    s3_region: str | None = None
    ssl: bool = True
    connect_timeout: int = 30
    statement_timeout: int = 0
    load_errors_view: str = "auto"
    manifest_url: str | None = None
    port_set: bool = False  # REDSHIFT_PORT given: the resource reads it as EnvVar.int
    host_set: bool = False
    cluster_identifier: str | None = None
    workgroup: str | None = None
    region: str | None = None


@dataclass(frozen=True)
class AlertSettings:
    """Freshness and alerts (docs/operating-alerts.md)."""

    webhook_url: str | None = field(default=None, repr=False)  # a secret: never logged
    interval_seconds: int = 30
    ui_url: str = "http://127.0.0.1:3000"
    freshness_delay: timedelta = timedelta(hours=6)
    freshness_deadline_cron: str | None = None


@dataclass(frozen=True)
class ServiceSettings:
    """`make serve` and the processes it starts (docs/operating.md)."""

    dagster_home: str | None = None
    port: int = 3000
    data: str | None = None  # SPARKIFY_SERVICE_DATA; unset: beside DAGSTER_HOME
    postgres_url: str | None = field(default=None, repr=False)  # DAGSTER_POSTGRES_URL: holds a password
    system_dir: str | None = None
    cancel_grace_seconds: float = 30.0  # well under run monitoring's cancel_timeout_seconds (180)
    run_monitoring_interval_seconds: int | None = None


@dataclass(frozen=True)
class Settings:
    data_url: str
    duckdb_path: str
    duckdb_working_path: str
    s3_endpoint_url: str | None = None
    aws_region: str | None = None
    warehouse: str = "duckdb"
    publish_retention_hours: float = 24.0
    duckdb_memory_limit: str = "1GB"  # DuckDB's syntax: '1GB', '512MB'
    start_date: str = DEFAULT_START_DATE
    end_date: str | None = None  # SPARKIFY_END_DATE: the last day users want, inclusive
    min_song_match_rate: float = 0.05
    schedule_hour: int = 1
    schedule: str = "off"
    sensor: str = "auto"
    sensor_max_runs: int = 100
    sensor_interval_seconds: int = 30
    retry_delay_seconds: float = 30.0
    converge_attempts: int = 3
    redshift: RedshiftSettings = RedshiftSettings()
    alerts: AlertSettings = AlertSettings()
    service: ServiceSettings = ServiceSettings()
    # The environment as read, for what must hand it on (child processes, redaction of secret values).
    environ: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}), repr=False, compare=False)

    @property
    def end_date_exclusive(self) -> str | None:
        """Dagster's end_date is exclusive; SPARKIFY_END_DATE is the last day wanted."""
        return (date.fromisoformat(self.end_date) + timedelta(days=1)).isoformat() if self.end_date else None

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        """The settings of `environ` (None: this process's environment), every value checked at once."""
        env = process_environ() if environ is None else dict(environ)
        read = _Reader(env)
        root = project_root()
        duckdb_path = read.text("SPARKIFY_DUCKDB_PATH") or str(root / "data" / "warehouse.duckdb")
        published = Path(duckdb_path)
        working = (read.text("SPARKIFY_DUCKDB_WORKING_PATH")
                   or str(published.with_name(f"{published.stem}.working{published.suffix or '.duckdb'}")))
        if Path(working).expanduser().resolve() == published.expanduser().resolve():
            read.problems.append("SPARKIFY_DUCKDB_WORKING_PATH must differ from SPARKIFY_DUCKDB_PATH: readers open "
                                 "the latter, and a reader holding the file the pipeline writes blocks every load")
        settings = cls(
            data_url=read.text("SPARKIFY_DATA_URL") or str(root / "data" / "sample"),
            duckdb_path=duckdb_path,
            duckdb_working_path=working,
            s3_endpoint_url=read.text("SPARKIFY_S3_ENDPOINT_URL"),
            aws_region=read.text("AWS_REGION"),
            warehouse=read.choice("SPARKIFY_WAREHOUSE", "duckdb", ("duckdb", "redshift"),
                                  "must be 'duckdb' or 'redshift'"),
            publish_retention_hours=read.number("SPARKIFY_PUBLISH_RETENTION_HOURS", float, 24.0,
                                                lambda v: v >= 0, "must not be negative"),
            duckdb_memory_limit=read.text("SPARKIFY_DUCKDB_MEMORY_LIMIT") or "1GB",
            start_date=read.day("SPARKIFY_START_DATE") or DEFAULT_START_DATE,
            end_date=read.day("SPARKIFY_END_DATE"),
            min_song_match_rate=read.number("SPARKIFY_MIN_SONG_MATCH_RATE", float, 0.05),
            schedule_hour=read.number("SPARKIFY_SCHEDULE_HOUR", int, 1, lambda v: 0 <= v <= 23, "must be 0..23"),
            schedule=read.switch("SPARKIFY_SCHEDULE", "off"),
            sensor=read.switch("SPARKIFY_SENSOR", "auto"),
            sensor_max_runs=read.number("SPARKIFY_SENSOR_MAX_RUNS", int, 100, lambda v: v >= 1,
                                        "must be at least 1"),
            sensor_interval_seconds=read.number("SPARKIFY_SENSOR_INTERVAL_SECONDS", int, 30, lambda v: v >= 1,
                                                "must be at least 1"),
            retry_delay_seconds=read.number("SPARKIFY_RETRY_DELAY_SECONDS", float, 30.0, lambda v: v >= 0,
                                            "must not be negative"),
            converge_attempts=read.number("SPARKIFY_CONVERGE_ATTEMPTS", int, 3, lambda v: v >= 1,
                                          "must be at least 1"),
            redshift=_redshift(read),
            alerts=_alerts(read),
            service=_service(read),
            environ=MappingProxyType(env),
        )
        if read.problems:
            raise SettingsError(read.problems)
        return settings


class _Reader:
    """Reads variables of one environment, collecting one line per bad value instead of stopping at the first."""

    def __init__(self, env: dict[str, str]) -> None:
        self.env = env
        self.problems: list[str] = []

    def text(self, name: str) -> str | None:
        return self.env.get(name) or None

    def number(self, name: str, kind: Callable[[str], T], default: T, valid: Callable[[T], bool] | None = None,
               expected: str = "", echo: bool = True) -> T:
        raw = self.env.get(name)
        if not raw:
            return default
        try:
            value = kind(raw)
        except ValueError:
            noun = "a whole number" if kind is int else "a number"
            self.problems.append(f"{name} must be {noun}" + (f", not {raw!r}" if echo else ""))
            return default
        if valid is not None and not valid(value):
            self.problems.append(f"{name} {expected}" + (f", not {value}" if echo else ""))
            return default
        return value

    def choice(self, name: str, default: str, allowed: tuple[str, ...], expected: str) -> str:
        value = (self.env.get(name) or default).lower()
        if value not in allowed:
            self.problems.append(f"{name} {expected}, not {value!r}")
            return default
        return value

    def switch(self, name: str, default: str) -> str:
        return self.choice(name, default, ("on", "off", "auto"), "must be 'on', 'off' or 'auto'")

    def day(self, name: str) -> str | None:
        value = self.env.get(name) or None
        if value is not None:
            try:
                date.fromisoformat(value)
            except ValueError:
                self.problems.append(f"{name} must be a date (YYYY-MM-DD), not {value!r}")
                return None
        return value

    def seconds(self, name: str, default: int) -> int:
        """A whole number of seconds; a value that is not one is named, not echoed."""
        value = (self.env.get(name) or "").strip()
        if not value:
            return default
        if not value.isdigit():
            self.problems.append(f"{name} must be a whole number of seconds")
            return default
        return int(value)


def _redshift(read: _Reader) -> RedshiftSettings:
    aws_region = read.text("AWS_REGION")
    return RedshiftSettings(
        iam=(read.text("REDSHIFT_IAM") or "false").lower() in ("1", "true", "yes"),
        schema=read.text("REDSHIFT_SCHEMA") or "public",
        s3_region=read.text("REDSHIFT_S3_REGION") or aws_region,
        ssl=(read.text("REDSHIFT_SSL") or "true").lower() not in ("0", "false", "no"),
        connect_timeout=read.seconds("REDSHIFT_CONNECT_TIMEOUT", read.seconds("REDSHIFT_TIMEOUT", 30)),
        statement_timeout=read.seconds("REDSHIFT_STATEMENT_TIMEOUT", 0),
        load_errors_view=read.text("REDSHIFT_LOAD_ERRORS_VIEW") or "auto",
        manifest_url=read.text("REDSHIFT_MANIFEST_URL"),
        port_set=bool(read.text("REDSHIFT_PORT")),
        host_set=bool(read.text("REDSHIFT_HOST")),
        cluster_identifier=read.text("REDSHIFT_CLUSTER_IDENTIFIER"),
        workgroup=read.text("REDSHIFT_WORKGROUP"),
        region=read.text("REDSHIFT_REGION") or aws_region,
    )


def _freshness_delay(read: _Reader) -> timedelta:
    """SPARKIFY_FRESHNESS_HOURS: fractions are allowed (to the minute), from 1 minute to 23 h 59 min, since the
    deadline is a time of the next day."""
    default = timedelta(hours=6)
    hours = read.number("SPARKIFY_FRESHNESS_HOURS", float, 6.0)
    delay = timedelta(minutes=round(hours * 60))
    if not timedelta(minutes=1) <= delay < timedelta(days=1):
        read.problems.append(f"SPARKIFY_FRESHNESS_HOURS must be at least 1 minute and under 24 hours, not {hours}")
        return default
    return delay


def _alerts(read: _Reader) -> AlertSettings:
    return AlertSettings(
        webhook_url=read.text("SPARKIFY_ALERT_WEBHOOK_URL"),
        interval_seconds=read.number("SPARKIFY_ALERT_INTERVAL_SECONDS", int, 30, lambda v: v >= 1,
                                     "must be at least 1"),
        ui_url=(read.text("SPARKIFY_UI_URL") or "http://127.0.0.1:3000").rstrip("/"),
        freshness_delay=_freshness_delay(read),
        freshness_deadline_cron=read.text("SPARKIFY_FRESHNESS_DEADLINE_CRON"),
    )


def _service(read: _Reader) -> ServiceSettings:
    return ServiceSettings(
        dagster_home=read.text("DAGSTER_HOME"),
        port=read.number("SPARKIFY_PORT", int, 3000, lambda v: 1 <= v <= 65535,
                         "must be a port (1..65535)", echo=False),
        data=read.text("SPARKIFY_SERVICE_DATA"),
        postgres_url=read.text("DAGSTER_POSTGRES_URL"),
        system_dir=read.text("SPARKIFY_SYSTEM_DIR"),
        cancel_grace_seconds=read.number("SPARKIFY_CANCEL_GRACE_SECONDS", float, 30.0, lambda v: v >= 0,
                                         "must not be negative"),
        run_monitoring_interval_seconds=read.number("SPARKIFY_RUN_MONITORING_INTERVAL_SECONDS", int, None,
                                                    lambda v: v >= 1, "must be at least 1"),
    )
