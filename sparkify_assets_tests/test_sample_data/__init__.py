"""The sample-data generator (sparkify_assets/sample_data) against the real sample."""
