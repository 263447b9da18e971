"""The SQL the engines run (sparkify_assets/sql): it parses, reads what tables.py says, means one thing on both."""
