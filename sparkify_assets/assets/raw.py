"""The raw data in S3 (or the local folder that stands in for it): external assets, materialized by the app."""

from __future__ import annotations

from dagster import AssetSpec

from sparkify_assets.assets.common import OWNERS
from sparkify_assets.partitions import daily_partitions

log_data = AssetSpec(
    "log_data",
    description="Sparkify's app event logs: log_data/YYYY/MM/YYYY-MM-DD-events.json, one JSON object per line, "
    "one file per UTC day, written by the app.",
    group_name="raw",
    kinds={"s3", "json"},
    owners=OWNERS,
    partitions_def=daily_partitions,
    metadata={"layout": "log_data/YYYY/MM/YYYY-MM-DD-events.json", "jsonpaths": "log_json_path.json"},
)

song_data = AssetSpec(
    "song_data",
    description="Song metadata from the Million Song Dataset: song_data/A/B/C/TR*.json, one JSON object per file.",
    group_name="raw",
    kinds={"s3", "json"},
    owners=OWNERS,
    metadata={"layout": "song_data/A/B/C/TRxxxxxxxxxxxxxxxx.json"},
)
