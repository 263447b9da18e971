"""One staging load on Redshift: COPY into a landing table, read back what COPY rejected, apply the record rules
COPY does not know, and replace the load's scope, all in the caller's transaction."""

from __future__ import annotations

from typing import Any

import redshift_connector

from sparkify_assets.resources.redshift.manifests import relative
from sparkify_assets.resources.redshift.session import LoadError, RedshiftSession, Store
from sparkify_assets.resources.s3_source import S3Source
from sparkify_assets.resources.source import SourceDataError, day_of_log_key
from sparkify_assets.resources.warehouse import LoadStats
from sparkify_assets.sql import quarantine as quarantine_sql
from sparkify_assets.sql import redshift as rs
from sparkify_assets.sql import staging as staging_sql
from sparkify_assets.sql.duckdb_json import RAW_TEXT_CHARS
from sparkify_assets.tables import STAGING_EVENTS, Table


def load(wh: Store, s: RedshiftSession, s3: S3Source, copy: rs.S3Copy, table: Table, attribution: str,
         dedupe_on: tuple[str, ...], params: dict[str, Any], nbytes: int, nfiles: int) -> LoadStats:
    """COPY, then the record rules, then replace the scope, all in the caller's transaction."""
    d = wh.dialect
    s.execute(rs.create_temp_table(d, copy.table))
    # A manifest without entries is an error to COPY; nothing to read loads nothing (and replaces the scope).
    load_errors = _copy(wh, s, copy) if nfiles else []
    s.execute(rs.classify_sql(d, table, attribution, dedupe_on), params)
    s.execute(staging_sql.delete_scope_sql(d, table), params)
    s.execute(staging_sql.delete_rejected_sql(d, partitioned=table.partition_column is not None), params)
    s.execute(staging_sql.insert_loaded_sql(table))
    s.execute(rs.insert_classified_rejects_sql(d), params)
    copy_rejects = [_reject_row(s3, table, e, params) for e in load_errors]
    for row in copy_rejects:
        s.execute(quarantine_sql.insert_row_sql(d), row)
    ((landed, loaded),) = s.fetchall(rs.counts_sql())
    sample = [(k or params["copy_input"], n, r) for k, n, r in s.fetchall(rs.sample_rejects_sql())]
    sample = sorted(sample + [(r["source_key"], r["line_number"], r["reason"]) for r in copy_rejects])[:10]
    for temp in (rs.CLASSIFIED_TABLE, copy.table.name, *([rs.FILES_TABLE] if table is STAGING_EVENTS else [])):
        s.execute(rs.drop_temp_sql(temp))
    landed, loaded = int(landed or 0), int(loaded or 0)
    return LoadStats(files=nfiles, bytes=nbytes, read=landed + len(load_errors), loaded=loaded,
                     rejected=landed - loaded + len(load_errors), sample_rejects=sample)


def _copy(wh: Store, s: RedshiftSession, copy: rs.S3Copy) -> list[LoadError]:
    """Run COPY and read back what it rejected.

    Rejects are found by this session's id and the database's clock just before the COPY, not by
    pg_last_copy_id(): that id is STL's `query`, which SYS views do not share, and Redshift does not keep it
    when the COPY's transaction rolls back, which is exactly when the rejects explain the failure.
    """
    ((pid, since),) = s.fetchall(rs.copy_scope_sql(wh.dialect))
    scope = {"copy_session": pid, "copy_since": since}
    try:
        wh.send_copy(s, copy)
    except redshift_connector.Error as exc:
        errors = _errors_after_failure(wh, s, scope)
        if not errors:
            raise
        detail = "; ".join(f"{e.uri} line {e.line_number}: {e.reason}" for e in errors[:3])
        raise SourceDataError(f"COPY into {copy.table.name} stopped after more than {wh.max_errors} rejected "
                              f"records (MAXERROR {copy.max_errors}; {len(errors)} reported), e.g. {detail}"
                              ) from exc
    return _load_errors(wh, s, scope)


def _errors_after_failure(wh: Store, s: RedshiftSession, scope: dict[str, Any]) -> list[LoadError]:
    """A failed COPY aborts the transaction; its rejects stay readable in the load-error view after rollback.

    A COPY refused before it loads anything (access denied, bad syntax) rejected no record: nothing is found
    in its scope, and its own error is the one reported.
    """
    try:
        s.con.rollback()
        errors = _load_errors(wh, s, scope)
        s.con.rollback()
        return errors
    except redshift_connector.Error:
        return []


def _load_errors(wh: Store, s: RedshiftSession, scope: dict[str, Any]) -> list[LoadError]:
    return [LoadError(uri=u, line_number=int(n), column=c or "", code=int(code), reason=r, raw_line=raw)
            for u, n, c, code, r, raw in s.fetchall(rs.load_errors_sql(wh.rejects_view), scope)]


def _reject_row(s3: S3Source, table: Table, e: LoadError, params: dict[str, Any]) -> dict[str, Any]:
    """A record COPY rejected, as a quarantine row: its file relative to the data root, its day, the field."""
    key = relative(s3, e.uri)
    day = day_of_log_key(key) if table.partition_column else None
    fields = {c.name: c.json_field for c in table.source_columns}
    where = f"field {fields[e.column]}: " if e.column in fields else ""
    return {"target_table": table.name, "partition_key": day.isoformat() if day else params["fallback_partition"],
            "source_key": key, "line_number": e.line_number,
            "reason": f"{where}{e.reason} (COPY error {e.code})"[:1024],
            "raw_text": e.raw_line[:RAW_TEXT_CHARS] if e.raw_line is not None else None,
            "run_id": params["run_id"]}
