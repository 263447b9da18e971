"""The assets and their checks (sparkify_assets/assets, checks.py), through real Dagster runs on real data."""
