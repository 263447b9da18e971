"""An analyst's process, for the tests: it reads the published warehouse every second until told to stop.

    python -m sparkify_assets_tests.support.reader_process WAREHOUSE LOG STOP_FILE hold|reconnect

`hold` opens one read-only connection and keeps it for its whole life (a notebook); `reconnect` opens a new one
for every query (a dashboard). Each observation, or the error a query raised, is one JSON line in LOG; the
process never stops on an error, so the test sees every one.
"""

from __future__ import annotations

import json
import sys
import time
import traceback
from pathlib import Path

import duckdb

# What a reader can tell a whole load from half of one by: the days of each daily table, and the row counts.
OBSERVE = """
SELECT (SELECT count(DISTINCT CAST(make_timestamp_ms(ts) AS DATE)) FROM staging_events) AS staging_days,
       (SELECT count(DISTINCT CAST(start_time AS DATE)) FROM songplays) AS songplay_days,
       (SELECT count(DISTINCT CAST(start_time AS DATE)) FROM time) AS time_days,
       (SELECT count(*) FROM staging_events) AS staging_events,
       (SELECT count(*) FROM songplays) AS songplays,
       (SELECT count(*) FROM users) AS users,
       (SELECT count(*) FROM staging_songs) AS staging_songs
"""


def observe(con: duckdb.DuckDBPyConnection) -> dict[str, int]:
    frame = con.execute(OBSERVE).df()  # through pandas, as an analyst reads
    return {k: int(v) for k, v in frame.iloc[0].items()}


def main(db: str, log: str, stop: str, mode: str) -> None:
    held = duckdb.connect(db, read_only=True) if mode == "hold" else None
    with open(log, "a") as out:
        while not Path(stop).exists():
            started = time.time()
            try:
                if held is not None:
                    row = observe(held)
                else:
                    with duckdb.connect(db, read_only=True) as con:
                        row = observe(con)
                out.write(json.dumps({"at": started, **row}) + "\n")
            except Exception as exc:  # recorded, never fatal: the test counts them
                out.write(json.dumps({"at": started, "error": f"{type(exc).__name__}: {exc}",
                                      "trace": traceback.format_exc()[-2000:]}) + "\n")
            out.flush()
            time.sleep(max(0.0, 1.0 - (time.time() - started)))
    if held is not None:
        held.close()


if __name__ == "__main__":
    main(*sys.argv[1:5])
