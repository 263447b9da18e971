"""SQL generated from the table definitions in `tables.py`: DDL, transforms, checks and raw-JSON validation."""
