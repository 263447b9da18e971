"""The raw data in S3 (or the local folder that stands in for it): external assets, materialized by the app."""

from __future__ import annotations

from dagster import AssetKey, AssetSpec, PartitionsDefinition

from sparkify_assets.assets.common import OWNERS

LOG_DATA = AssetKey("log_data")
SONG_DATA = AssetKey("song_data")


def build_raw_assets(partitions: PartitionsDefinition) -> list[AssetSpec]:
    """The log files take the settings' daily partitions, so they are built with the rest, not at import."""
    return [log_data(partitions), song_data]


def log_data(partitions: PartitionsDefinition) -> AssetSpec:
    return AssetSpec(
        LOG_DATA,
        description="Sparkify's app event logs: log_data/YYYY/MM/YYYY-MM-DD-events.json, one JSON object per line, "
        "one file per UTC day, written by the app.",
        group_name="raw",
        kinds={"s3", "json"},
        owners=OWNERS,
        partitions_def=partitions,
        metadata={"layout": "log_data/YYYY/MM/YYYY-MM-DD-events.json", "jsonpaths": "log_json_path.json"},
    )


song_data = AssetSpec(
    SONG_DATA,
    description="Song metadata from the Million Song Dataset: song_data/A/B/C/TR*.json, one JSON object per file.",
    group_name="raw",
    kinds={"s3", "json"},
    owners=OWNERS,
    metadata={"layout": "song_data/A/B/C/TRxxxxxxxxxxxxxxxx.json"},
)
