"""An operator's first contact with a real cluster: a dry run that creates nothing, and the load-error summary of
a day after its first load (docs/redshift.md, "First run on a real cluster").

    python -m sparkify_assets.redshift_preflight --day 2018-11-01            # dry run: reads only
    python -m sparkify_assets.redshift_preflight --day 2018-11-01 --errors   # after loading that day

The dry run connects with the REDSHIFT_* settings, shows what the session runs with, which load-error view rejects
will be read from (and that it is readable), which tables exist, the day's files, where its manifest would go and
the exact COPY statement; it writes no manifest, creates no table and loads nothing. No secret is printed.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from datetime import date
from typing import Any

import redshift_connector

from sparkify_assets.definitions import build_source
from sparkify_assets.resources.redshift_warehouse import RedshiftWarehouse, _s3_source, from_settings
from sparkify_assets.resources.source import JSONPATHS_KEY
from sparkify_assets.settings import Settings
from sparkify_assets.sql import preflight as preflight_sql
from sparkify_assets.sql import redshift as rs
from sparkify_assets.tables import ALL_TABLES, STAGING_EVENTS


def dry_run(wh: RedshiftWarehouse, source: Any, day: date) -> list[str]:
    """What a load of `day` would do, read without writing anything (every transaction is rolled back)."""
    s3 = _s3_source(source)
    out = [f"endpoint: {wh.endpoint()}"]
    con = wh._open()
    try:
        cursor = con.cursor()
        cursor.execute("SHOW statement_timeout")
        out.append(f"statement_timeout: {cursor.fetchall()[0][0]} (connect timeout {wh.timeout} s)")
        for view in rs.LOAD_ERROR_VIEWS:
            out.append(f"{view}: {_readable(con, view)}")
        out.append(f"rejects will be read from: {wh._view}")
        cursor.execute(rs.existing_tables_sql())
        existing = {name for (name,) in cursor.fetchall()}
        con.rollback()
    finally:
        con.close()
    missing = [t.name for t in ALL_TABLES if t.name not in existing]
    out.append(f"schema {wh.schema_name}: {len(ALL_TABLES) - len(missing)} of {len(ALL_TABLES)} tables exist"
               + (f"; created on first load: {', '.join(missing)}" if missing else ""))
    files = source.log_objects([day])
    out.append(f"{day}: {len(files)} file(s)" + "".join(f"\n  {s3.uri(o.key)} ({o.size} bytes)" for o in files))
    name = f"staging_events/{day}_{day}"
    manifest = wh.manifest_uri(s3, name)  # checks the manifest bucket's region against the data's
    out.append(f"manifest (not written): {manifest}\n{rs.manifest_json([s3.uri(o.key) for o in files])}")
    copy = rs.S3Copy(table=rs.landing_table(STAGING_EVENTS), source_uri=manifest, json=s3.uri(JSONPATHS_KEY),
                     iam_role_arn=wh._role(), region=wh.s3_region, manifest=True, max_errors=wh._maxerror())
    out.append(f"COPY (not run):\n{rs.copy_sql(copy)}")
    out.append("dry run: nothing was written")
    return out


def _readable(con: redshift_connector.Connection, view: str) -> str:
    cursor = con.cursor()
    try:
        cursor.execute(preflight_sql.view_probe_sql(view))
        cursor.fetchall()
        return "readable"
    except redshift_connector.Error as exc:
        return f"not readable ({str(exc)[:200]})"
    finally:
        con.rollback()


def error_summary(wh: RedshiftWarehouse, day: date, sample: int = 10) -> list[str]:
    """The day's quarantine after a load: counts by table and reason, then the first records (file, line)."""
    params = {"day": day.isoformat()}
    counts = wh.fetchall(preflight_sql.rejects_by_reason_sql(), params)
    firsts = wh.fetchall(preflight_sql.first_rejects_sql(sample), params)
    total = sum(int(n) for *_, n in counts)
    out = [f"{day}: {total} rejected record(s)"]
    out += [f"  {n:>6}  {t}: {r}" for t, r, n in counts]
    out += [f"  {k} line {n}: {r}" for k, n, r in firsts]
    return out


def _resolved(wh: RedshiftWarehouse) -> RedshiftWarehouse:
    """The settings' EnvVars read now, as a Dagster run would (values stay out of every printed line)."""
    values = {f: v.get_value() if _deferred(v) else v for f in wh.model_fields_set
              if (v := getattr(wh, f)) is not None}
    return RedshiftWarehouse(**values)


def _deferred(value: Any) -> bool:
    """EnvVar and EnvVar.int (an IntEnvVar, which is no EnvVar) both resolve with get_value()."""
    return callable(getattr(type(value), "get_value", None))


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m sparkify_assets.redshift_preflight", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--day", required=True, type=date.fromisoformat, help="a day of the data, YYYY-MM-DD")
    parser.add_argument("--errors", action="store_true", help="print the day's load-error summary instead")
    args = parser.parse_args(argv)
    settings = Settings.from_env()
    wh = _resolved(from_settings(settings.redshift))
    lines = (error_summary(wh, args.day) if args.errors
             else dry_run(wh, build_source(settings), args.day))
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())
