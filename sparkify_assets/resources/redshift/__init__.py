"""The production warehouse's jobs, one module each; the resource itself is `resources/redshift_warehouse.py`.

- `session.py`: the transaction a statement runs in, serialization retries, the socket's timeout;
- `manifests.py`: the COPY manifests naming exactly the files a load reads, and where they are written;
- `copy_load.py`: one COPY into a landing table, what it rejected, then the record rules and the replace;
- `events.py` and `songs.py`: the log files of a window, and the song catalogue, through that load.

Their SQL is in `sql/` (redshift, staging, quarantine).
"""
