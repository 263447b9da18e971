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
