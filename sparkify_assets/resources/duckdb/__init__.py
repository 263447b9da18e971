"""The embedded warehouse's jobs, one module each; the resource itself is `resources/duckdb_warehouse.py`.

- `session.py`: one transaction on a connection, and which DuckDB errors are the machine's limits;
- `classified.py`: what every staging load ends with, from `_classified` into the table and quarantine;
- `events.py`: the log files of a window, through the fast typed scan or record by record;
- `songs.py`: the song catalogue, in full or only the files that changed;
- `publish.py`: the checked loads, published to the file readers open.

Their SQL is in `sql/` (duckdb_json, duckdb_load, song_files, duckdb_publish, staging).
"""
