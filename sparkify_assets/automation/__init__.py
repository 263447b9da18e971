"""Automation: the jobs the schedule and sensor launch, the daily schedule, and the source sensor."""

from sparkify_assets.automation.jobs import DAILY_JOB, SONG_CATALOG_JOB
from sparkify_assets.automation.schedule import build_daily_schedule
from sparkify_assets.automation.sensor import build_source_sensor

__all__ = ["DAILY_JOB", "SONG_CATALOG_JOB", "build_daily_schedule", "build_source_sensor"]
