"""Sparkify's song-play warehouse as Dagster software-defined assets."""

from sparkify_assets.definitions import defs

__all__ = ["defs"]
