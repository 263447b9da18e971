"""The song catalogue into staging_songs on Redshift: one COPY of exactly the listed song files."""

from __future__ import annotations

from collections.abc import Sequence

from sparkify_assets.resources.redshift import copy_load
from sparkify_assets.resources.redshift.manifests import write_manifest
from sparkify_assets.resources.redshift.session import Store
from sparkify_assets.resources.s3_source import S3Source
from sparkify_assets.resources.source import SONG_PREFIX, SourceObject
from sparkify_assets.resources.warehouse import LoadStats
from sparkify_assets.sql import redshift as rs
from sparkify_assets.tables import REJECTED_RECORDS, STAGING_SONGS


def stage_songs(wh: Store, s3: S3Source, objects: Sequence[SourceObject], run_id: str) -> LoadStats:
    """Through a manifest: a prefix COPY would also read any other object under `song_data/` (a `.bak`, a partial
    upload) that the DuckDB path never reads."""
    params = {"target_table": STAGING_SONGS.name, "run_id": run_id, "copy_input": SONG_PREFIX,
              "fallback_partition": None}
    uri = wh.manifest_uri(s3, "staging_songs/song_data")
    write_manifest(s3, uri, objects)
    copy = wh.s3_copy(rs.landing_table(STAGING_SONGS), uri, json=rs.JSON_AUTO)
    with wh.transaction() as s:
        wh.ensure_tables(s, (STAGING_SONGS, REJECTED_RECORDS))
        return copy_load.load(wh, s, s3, copy, STAGING_SONGS, "input", rs.SONGS_DEDUPE, params,
                              nbytes=sum(o.size for o in objects), nfiles=len(objects))
