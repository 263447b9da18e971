"""Resources: where the raw files come from (`source`) and where the tables live (`warehouse`)."""
