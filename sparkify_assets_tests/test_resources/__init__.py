"""The resources (sparkify_assets/resources): both warehouses, the sources, keys, publication, retried errors."""
