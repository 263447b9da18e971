"""The log files of a window into staging_events on Redshift: one COPY over a manifest of the window's files,
each row credited to the file of its day (sql/redshift.py says how, and where that differs from DuckDB)."""

from __future__ import annotations

from collections.abc import Sequence

from sparkify_assets.day_window import DayWindow
from sparkify_assets.resources.redshift import copy_load
from sparkify_assets.resources.redshift.manifests import relative, write_manifest
from sparkify_assets.resources.redshift.session import Store
from sparkify_assets.resources.s3_source import S3Source
from sparkify_assets.resources.source import JSONPATHS_KEY, SourceObject, day_of_log_key
from sparkify_assets.resources.warehouse import LoadStats
from sparkify_assets.sql import redshift as rs
from sparkify_assets.tables import REJECTED_RECORDS, STAGING_EVENTS


def stage_events(wh: Store, s3: S3Source, objects: Sequence[SourceObject], window: DayWindow,
                 run_id: str) -> LoadStats:
    files = [(o, day) for o in objects if (day := day_of_log_key(o.key)) is not None]
    attribution = rs.events_attribution(len(files))
    # Rows are credited to the file of their day; should a day have two files, to the first of them.
    credited = {day: o for o, day in reversed(files)}
    first, last = window.first_key, window.last_key
    params = {**window.params, "target_table": STAGING_EVENTS.name, "run_id": run_id,
              "fallback_partition": first, "days": f"{first}..{last}"}
    uri = wh.manifest_uri(s3, f"staging_events/{first}_{last}")
    write_manifest(s3, uri, [o for o, _ in files])
    # What an unattributed reject is credited to: the one file, or the manifest naming several.
    params["copy_input"] = files[0][0].key if len(files) == 1 else relative(s3, uri)
    copy = wh.s3_copy(rs.landing_table(STAGING_EVENTS), uri, json=s3.uri(JSONPATHS_KEY))
    with wh.transaction() as s:
        wh.ensure_tables(s, (STAGING_EVENTS, REJECTED_RECORDS))
        s.execute(rs.create_files_sql())
        for day, o in sorted(credited.items()):
            bounds = DayWindow.of_day(day).params
            s.execute(rs.insert_file_sql(wh.dialect), {"source_key": o.key, "partition_key": day.isoformat(),
                                                        "day_start_ms": bounds["start_ms"],
                                                        "day_end_ms": bounds["end_ms"]})
        return copy_load.load(wh, s, s3, copy, STAGING_EVENTS, attribution, rs.EVENTS_DEDUPE, params,
                              nbytes=sum(o.size for o in objects), nfiles=len(objects))
