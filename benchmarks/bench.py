"""`make bench`: how fast the full backfill is, against DuckDB's own floor and a naive pandas ETL, in one run.

Plain Python, no assertions on time: it measures and reports. Every Dagster run happens in a fresh subprocess
(`--worker`), so its wall time and peak RSS are that process's alone. Data comes from the sample-data generator,
cached under data/bench/ by its parameters (31 days: 30 for the backfill, one more for the incremental day).

    python benchmarks/bench.py                 # 1,000,000 events / 30 days / 50,000 songs
    python benchmarks/bench.py --quick         # a smoke run (60,000 events)
    python benchmarks/bench.py --events 10000000   # scale: 10M, beside a 1M reference backfill in the same run
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import platform
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import warnings
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

FIRST_DAY = date(2018, 11, 1)
# The 18 fields of a log line, with the types staging_events gives them: the floor's explicit columns.
LOG_COLUMNS = {
    "artist": "VARCHAR", "auth": "VARCHAR", "firstName": "VARCHAR", "gender": "VARCHAR", "itemInSession": "INTEGER",
    "lastName": "VARCHAR", "length": "DOUBLE", "level": "VARCHAR", "location": "VARCHAR", "method": "VARCHAR",
    "page": "VARCHAR", "registration": "DOUBLE", "sessionId": "INTEGER", "song": "VARCHAR", "status": "INTEGER",
    "ts": "BIGINT", "userAgent": "VARCHAR", "userId": "VARCHAR",
}


# -- data ------------------------------------------------------------------------------------------------------

def dataset(cache: Path, events: int, days: int, songs: int, users: int, seed: int, extra_days: int = 1) -> Path:
    """Generated data for `days` + `extra_days` days, reused when a previous run generated the same parameters."""
    from sparkify_assets.sample_data import generate

    params = {"events_per_day": max(1, events // days), "days": days + extra_days, "songs": songs, "users": users,
              "seed": seed, "start": FIRST_DAY.isoformat()}
    tag = hashlib.sha1(json.dumps(params, sort_keys=True).encode()).hexdigest()[:10]
    out = cache / f"e{events}-d{days}-s{songs}-{tag}"
    stamp = out / "bench-params.json"
    if stamp.exists() and json.loads(stamp.read_text()) == params:
        return out
    shutil.rmtree(out, ignore_errors=True)
    started = time.perf_counter()
    generate(out, start=FIRST_DAY, days=days + extra_days, events_per_day=params["events_per_day"], songs=songs,
             users=users, seed=seed)
    stamp.write_text(json.dumps(params))
    print(f"generated {out} in {time.perf_counter() - started:.1f}s", flush=True)
    return out


def log_files(data: Path, days: list[date]) -> list[Path]:
    return [data / "log_data" / f"{d:%Y}" / f"{d:%m}" / f"{d:%Y-%m-%d}-events.json" for d in days]


def day_range(first: date, n: int) -> list[date]:
    return [first + timedelta(days=i) for i in range(n)]


# -- one Dagster run in this (child) process ------------------------------------------------------------------

def worker(data: str, db: str, first: str, ndays: int) -> None:
    """Materialize every asset and check for the days (as `dagster asset materialize --select '*'
    --partition-range` does); print step times and load metadata as JSON."""
    warnings.filterwarnings("ignore")
    imported = time.perf_counter()
    from dagster import DagsterInstance

    from sparkify_assets.definitions import build_definitions
    from sparkify_assets.resources.duckdb_warehouse import DuckDBWarehouse
    from sparkify_assets.resources.source import LocalFolderSource
    from sparkify_assets.run import materialize_days

    defs = build_definitions(source=LocalFolderSource(root=data), warehouse=DuckDBWarehouse(path=db))
    ready = time.perf_counter()
    with tempfile.TemporaryDirectory() as home, DagsterInstance.ephemeral(tempdir=home) as instance:
        result = materialize_days(defs, day_range(date.fromisoformat(first), ndays), instance)
        run_seconds = time.perf_counter() - ready
    print(json.dumps(worker_report(result, ready - imported, run_seconds)))


REPORTED = ("load_seconds", "records_read", "bytes_read", "records_loaded", "records_rejected", "dagster/row_count",
            "files_read", "load_mode", "files_new_or_changed", "plays_rematched", "days_rematched")


def worker_report(result: Any, import_seconds: float, run_seconds: float) -> dict[str, Any]:
    """Step times and load metadata of one run (the last materialization of each asset)."""
    from dagster import DagsterEventType

    steps: dict[str, float] = {}
    assets: dict[str, dict[str, Any]] = {}
    materialized: dict[str, int] = {}
    for event in result.all_events:
        if event.event_type == DagsterEventType.STEP_SUCCESS:
            steps[event.step_key] = event.event_specific_data.duration_ms / 1000
        elif event.event_type == DagsterEventType.ASSET_MATERIALIZATION:
            m = event.event_specific_data.materialization
            name = m.asset_key.to_user_string()
            materialized[name] = materialized.get(name, 0) + 1
            assets[name] = {k: m.metadata[k].value for k in REPORTED if k in m.metadata}
    return {
        "success": result.success, "import_and_definitions_seconds": round(import_seconds, 3),
        "run_seconds": round(run_seconds, 3), "steps": steps, "assets": assets, "materializations": materialized,
        "peak_rss_mb": peak_rss_mb(),
    }


def refresh_worker(data: str, db: str) -> None:
    """One tick of the source sensor on `data` (a fresh instance: it asks the warehouse what is loaded), then the
    song-catalogue run it requests, executed as the daemon would launch it; reported like `worker`."""
    warnings.filterwarnings("ignore")
    imported = time.perf_counter()
    from dagster import DagsterInstance, build_sensor_context

    from sparkify_assets.definitions import build_definitions
    from sparkify_assets.resources.duckdb_warehouse import DuckDBWarehouse
    from sparkify_assets.resources.source import LocalFolderSource

    defs = build_definitions(source=LocalFolderSource(root=data), warehouse=DuckDBWarehouse(path=db))
    sensor = defs.resolve_sensor_def("source_files_sensor")
    ready = time.perf_counter()
    with tempfile.TemporaryDirectory() as home, DagsterInstance.ephemeral(tempdir=home) as instance:
        with build_sensor_context(instance=instance, cursor=None, definitions=defs,
                                  resources=dict(defs.resources)) as context:
            requests = sensor.evaluate_tick(context).run_requests
        ticked = time.perf_counter()
        if [r.job_name for r in requests] != ["song_catalog"]:
            raise RuntimeError(f"expected one song_catalog request, got {[r.job_name for r in requests]}")
        (request,) = requests
        result = defs.resolve_job_def(request.job_name).execute_in_process(
            instance=instance, tags=request.tags, asset_selection=request.asset_selection, raise_on_error=False)
        run_seconds = time.perf_counter() - ticked
    report = worker_report(result, ready - imported, run_seconds)
    report["sensor_tick_seconds"] = round(ticked - ready, 3)
    print(json.dumps(report))


def change_songs(data: Path, into: Path, n: int) -> list[str]:
    """A copy of `data` (log files linked, song files copied with their modification times, so the warehouse
    sees them as loaded) in which `n` song files spread over the catalogue get a new title or duration."""
    shutil.rmtree(into, ignore_errors=True)
    into.mkdir(parents=True)
    for name in ("log_data", "log_json_path.json"):
        if (data / name).exists():
            (into / name).symlink_to(data / name)
    shutil.copytree(data / "song_data", into / "song_data", copy_function=shutil.copy2)
    files = sorted((into / "song_data").rglob("*.json"))
    changed = files[:: max(1, len(files) // n)][:n]
    for i, path in enumerate(changed):
        record = json.loads(path.read_text())
        record |= {"title": record["title"] + " (remastered)"} if i % 2 == 0 else {"duration": record["duration"] + 1}
        mtime = path.stat().st_mtime_ns
        path.write_text(json.dumps(record))
        os.utime(path, ns=(mtime + 10**9, mtime + 10**9))
    return [p.relative_to(into).as_posix() for p in changed]


def publish_worker(db: str, folder: str, first: str, ndays: int) -> None:
    """What publishing to readers costs on a loaded working file (docs/analysts.md): every table's pieces (the
    first publication, as a backfill's checks export them), then what one daily run exports (its day of the daily
    tables, and users whole); each export, and the publish that makes it visible. Reported as JSON."""
    import duckdb

    from sparkify_assets.resources.duckdb.publish import Publication
    from sparkify_assets.resources.warehouse import DayWindow
    from sparkify_assets.tables import SONGPLAYS, STAGING_EVENTS, TIME, USERS, WAREHOUSE_TABLES

    days = day_range(date.fromisoformat(first), ndays)
    publication = Publication(Path(folder) / "warehouse.duckdb", Path(folder) / "warehouse.published", 24 * 3600.0)
    out: dict[str, Any] = {"success": True}
    with duckdb.connect(db, read_only=True) as con:
        for case, tables, window in (("all_days", WAREHOUSE_TABLES, DayWindow(tuple(days))),
                                     ("one_day", (STAGING_EVENTS, SONGPLAYS, TIME, USERS), DayWindow((days[-1],)))):
            started = time.perf_counter()
            for table in tables:
                publication.export(con, table, window)
            exported = time.perf_counter()
            files = [publication.folder / rel for pieces in publication.pending.values() for rel in pieces.values()]
            publication.publish()
            out[case] = {"export_seconds": round(exported - started, 3),
                         "publish_seconds": round(time.perf_counter() - exported, 3),
                         "pieces": len(files), "mb": round(sum(f.stat().st_size for f in files) / 1e6, 1)}
    print(json.dumps(out))


def run_publish(db: Path, folder: Path, first: date, ndays: int) -> dict[str, Any]:
    return run_worker(["--publish-worker", str(db), str(folder), first.isoformat(), str(ndays)], "publishing")


def run_refresh(data: Path, db: Path) -> dict[str, Any]:
    """The sensor's song refresh in a fresh process, like run_days."""
    return run_worker(["--refresh-worker", str(data), str(db)], "song refresh run")


def run_worker(args: list[str], what: str) -> dict[str, Any]:
    """This script in a fresh process with `args`; its wall time seen from outside, and what it reports."""
    env = {**os.environ, "PYTHONPATH": str(ROOT), "PYTHONWARNINGS": "ignore"}
    started = time.perf_counter()
    proc = subprocess.run([sys.executable, __file__, *args], capture_output=True, text=True, env=env, check=False)
    wall = time.perf_counter() - started
    if proc.returncode != 0:
        raise RuntimeError(f"{what}: worker failed ({proc.returncode}):\n{proc.stderr[-3000:]}")
    out = json.loads(proc.stdout.strip().splitlines()[-1])
    if not out["success"]:
        raise RuntimeError(f"{what} failed:\n{proc.stderr[-3000:]}")
    out["process_wall_seconds"] = round(wall, 3)
    return out


def peak_rss_mb() -> float:
    """This process's own peak RSS: VmHWM of its address space. (`ru_maxrss` also carries the RSS the bench's
    parent had when it started the worker, since Linux folds the old address space's peak into it at exec.)"""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return round(int(line.split()[1]) / 1024, 1)
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)


def run_days(data: Path, db: Path, first: date, ndays: int) -> dict[str, Any]:
    """One Dagster run in a fresh process; its wall time seen from outside, and what it reports about itself."""
    return run_worker(["--worker", str(data), str(db), first.isoformat(), str(ndays)],
                      f"run over {first} + {ndays} days")


def startup_seconds() -> float:
    """A fresh process that imports Dagster and builds the definitions, then exits: the fixed cost of a run."""
    env = {**os.environ, "PYTHONPATH": str(ROOT), "PYTHONWARNINGS": "ignore"}
    started = time.perf_counter()
    subprocess.run([sys.executable, "-c", "import sparkify_assets.definitions as d; d.defs()"], env=env, check=True,
                   capture_output=True)
    return time.perf_counter() - started


def largest_day(cache: Path, work: Path, events: int, seed: int) -> dict[str, Any]:
    """One day file of `events` events, alone, through every asset and check in a fresh process with the default
    memory limit: what a day of any size costs, and that it loads at all (a whole-file read did not)."""
    data = dataset(cache, events, 1, 2_000, max(100, events // 100), seed, extra_days=0)
    files = log_files(data, [FIRST_DAY])
    floor, rows = floor_seconds(files, work / "largest-floor.duckdb")
    run = run_days(data, work / "largest.duckdb", FIRST_DAY, 1)
    staging = run["assets"]["staging_events"]
    return {
        "events": staging["records_read"], "log_bytes": staging["bytes_read"], "floor_seconds": round(floor, 3),
        "floor_rows": rows, "staging_load_seconds": staging["load_seconds"],
        "records_loaded": staging["records_loaded"], "records_rejected": staging["records_rejected"],
        "run_seconds": run["run_seconds"], "process_wall_seconds": run["process_wall_seconds"],
        "peak_rss_mb": run["peak_rss_mb"], "staging_over_floor": round(staging["load_seconds"] / floor, 2),
    }


LARGE_SCALE = 5_000_000  # from here on, the cases that measure something else are skipped unless asked for


def reference_backfill(cache: Path, work: Path, a: argparse.Namespace, songs: int, big: dict[str, Any],
                       big_events: int) -> dict[str, Any]:
    """A backfill of `--reference-events` over the same days and songs, in the same run: the big backfill's wall
    time over it is the scaling ratio (linear would be the ratio of events), measured on the same machine load."""
    n = a.reference_events
    data = dataset(cache, n, a.days, songs, max(100, n // 100), a.seed)
    ref = run_days(data, work / "reference.duckdb", FIRST_DAY, a.days)
    (work / "reference.duckdb").unlink(missing_ok=True)
    read = ref["assets"]["staging_events"]["records_read"]
    return {
        "events": read, "run_seconds": ref["run_seconds"], "process_wall_seconds": ref["process_wall_seconds"],
        "peak_rss_mb": ref["peak_rss_mb"],
        "asset_step_seconds": {k: ref["steps"].get(k) for k in ref["assets"]},
        "events_ratio": round(big_events / read, 2),
        "run_ratio": round(big["run_seconds"] / ref["run_seconds"], 2),
        "process_wall_ratio": round(big["process_wall_seconds"] / ref["process_wall_seconds"], 2),
    }


def reference_rows(ref: dict[str, Any]) -> list[tuple[str, str, str]]:
    return [
        (f"reference backfill: {ref['events']:,} events", f"{ref['run_seconds']:.1f} s",
         f"same days and songs, same run; process wall {ref['process_wall_seconds']:.1f} s, "
         f"peak RSS {ref['peak_rss_mb']:,.0f} MB"),
        ("  backfill / reference (run)", f"{ref['run_ratio']:.2f} x",
         f"events ratio {ref['events_ratio']:.2f}; target <= 11 at 10M / 1M"),
        ("  backfill / reference (process wall)", f"{ref['process_wall_ratio']:.2f} x", "includes start-up"),
    ]


# -- reference points ----------------------------------------------------------------------------------------

def floor_seconds(files: list[Path], db: Path) -> tuple[float, int]:
    """DuckDB alone: one read_json statement over the same files into one table (the least any load can do)."""
    import duckdb

    con = duckdb.connect(str(db))
    try:
        started = time.perf_counter()
        con.execute("CREATE TABLE t AS SELECT * FROM read_json($files, format='newline_delimited', columns=$cols)",
                    {"files": [str(f) for f in files], "cols": LOG_COLUMNS})
        seconds = time.perf_counter() - started
        (rows,), = con.execute("SELECT count(*) FROM t").fetchall()
    finally:
        con.close()
    return seconds, rows


def naive_seconds_per_event(files: list[Path], db: Path, max_events: int) -> tuple[float, int]:
    """The classic course ETL: pandas reads each file, then rows are inserted one by one with executemany."""
    import duckdb
    import pandas as pd

    con = duckdb.connect(str(db))
    cols = ", ".join(f'"{c}" {t}' for c, t in LOG_COLUMNS.items())
    con.execute(f"CREATE TABLE staging_events ({cols})")
    insert = f"INSERT INTO staging_events VALUES ({', '.join('?' for _ in LOG_COLUMNS)})"
    done = 0
    started = time.perf_counter()
    for f in files:
        frame = pd.read_json(f, lines=True, dtype=False).reindex(columns=list(LOG_COLUMNS))
        frame = frame.head(max_events - done).astype(object).where(frame.notna(), None)
        con.executemany(insert, [tuple(r) for r in frame.itertuples(index=False, name=None)])
        done += len(frame)
        if done >= max_events:
            break
    seconds = time.perf_counter() - started
    con.close()
    return seconds / max(done, 1), done


def executor_choice(small: Path, work: Path) -> dict[str, float]:
    """Wall time of the CLI backfill of the 30-day sample with each executor (the command users type)."""
    dagster = Path(sys.executable).with_name("dagster")
    cmd = [str(dagster), "asset", "materialize", "-m", "sparkify_assets.definitions", "--select", "*",
           "--partition-range", f"{FIRST_DAY}...{FIRST_DAY + timedelta(days=29)}"]
    config = work / "multiprocess.yaml"
    config.write_text("execution:\n  config:\n    multiprocess:\n      max_concurrent: 2\n")
    out = {}
    for name, extra in (("in_process", []), ("multiprocess", ["-c", str(config)])):
        home = work / f"home-{name}"
        home.mkdir()
        env = {**os.environ, "PYTHONPATH": str(ROOT), "PYTHONWARNINGS": "ignore", "DAGSTER_HOME": str(home),
               "SPARKIFY_DATA_URL": str(small), "SPARKIFY_DUCKDB_PATH": str(work / f"{name}.duckdb")}
        started = time.perf_counter()
        proc = subprocess.run(cmd + extra, env=env, capture_output=True, text=True, check=False)
        out[f"{name}_seconds"] = round(time.perf_counter() - started, 2)
        if proc.returncode != 0:
            raise RuntimeError(f"CLI backfill with {name} failed:\n{proc.stderr[-3000:]}")
    return out


# -- fixed cost: the real sample through Dagster's CLI, beside Dagster's own floor --------------------------------

TRIVIAL_MODULE = '''"""One asset that does nothing: what any `dagster asset materialize` costs in this environment."""

from dagster import Definitions, asset


@asset
def trivial() -> None:
    return None


defs = Definitions(assets=[trivial])
'''
# Modules the local-folder + DuckDB path must not import (each costs start-up time, none is needed there).
HEAVY_MODULES = ("dagster_aws", "boto3", "botocore", "redshift_connector", "pandas")


def event_census(home: Path) -> dict[str, int]:
    """Events per type in the run's SQLite event log under `home`: what Dagster committed, one at a time."""
    import sqlite3

    counts: dict[str, int] = {}
    for db in (home / "history" / "runs").glob("*.db"):
        if db.stem == "index":
            continue
        with sqlite3.connect(db) as con:
            for kind, n in con.execute("SELECT COALESCE(dagster_event_type, 'LOG'), COUNT(*) FROM event_logs "
                                       "GROUP BY 1"):
                counts[kind] = counts.get(kind, 0) + n
    return dict(sorted(counts.items(), key=lambda kv: -kv[1]))


def fixed_cost(real_sample: Path, work: Path, repeats: int = 3, baseline: Path | None = None) -> dict[str, Any]:
    """Whole CLI processes, as a user types them, on the real sample with a fresh DuckDB and DAGSTER_HOME each:
    the 30-day backfill and a one-day run, beside a trivial one-asset materialization and the bare imports.
    Cases are interleaved (one round of each, `repeats` times), so changing load on the machine hits them alike.
    `baseline`: another checkout of the project (e.g. main) whose backfill and one-day run join the same rounds,
    for a before/after measured in one sitting."""
    (work / "trivial_asset.py").write_text(TRIVIAL_MODULE)
    dagster = str(Path(sys.executable).with_name("dagster"))
    materialize = [dagster, "asset", "materialize", "-m"]
    project = [*materialize, "sparkify_assets", "--select", "*"]
    heavy = ("import json, sys, sparkify_assets.definitions; "
             f"print(json.dumps(sorted(m for m in {HEAVY_MODULES!r} if m in sys.modules)))")
    cases = {
        "trivial_materialize": [*materialize, "trivial_asset", "--select", "trivial"],
        "backfill_30_days": [*project, "--partition-range", "2018-11-01...2018-11-30"],
        "one_day": [*project, "--partition", "2018-11-15"],
        "import_dagster": [sys.executable, "-c", "import dagster"],
        "import_definitions": [sys.executable, "-c", heavy],
    }
    roots = {name: ROOT for name in cases}
    if baseline is not None:
        for name in ("backfill_30_days", "one_day"):
            cases[f"baseline_{name}"] = cases[name]
            roots[f"baseline_{name}"] = baseline.resolve()
    base = {k: v for k, v in os.environ.items() if not k.startswith("SPARKIFY_")}
    seconds: dict[str, list[float]] = {name: [] for name in cases}
    imported: list[str] = []
    events: dict[str, dict[str, int]] = {}
    for i in range(repeats):
        for name, cmd in cases.items():
            home = work / f"home-{name}-{i}"
            home.mkdir()
            env = {**base, "PYTHONPATH": f"{work}{os.pathsep}{roots[name]}", "PYTHONWARNINGS": "ignore",
                   "DAGSTER_HOME": str(home), "SPARKIFY_DATA_URL": str(real_sample),
                   "SPARKIFY_DUCKDB_PATH": str(work / f"{name}-{i}.duckdb")}
            started = time.perf_counter()
            proc = subprocess.run(cmd, env=env, cwd=work, capture_output=True, text=True, check=False)
            seconds[name].append(time.perf_counter() - started)
            if proc.returncode != 0:
                raise RuntimeError(f"fixed cost: {name} failed ({proc.returncode}):\n{proc.stderr[-3000:]}")
            if name == "import_definitions":
                imported = json.loads(proc.stdout.strip().splitlines()[-1])
            if not name.startswith("import_"):
                events[name] = event_census(home)
    med = {name: round(statistics.median(v), 2) for name, v in seconds.items()}
    trivial = med["trivial_materialize"]
    totals = {name: sum(c.values()) for name, c in events.items()}
    extra_events = totals["backfill_30_days"] - totals["one_day"]
    return {
        "repeats": repeats, "median_seconds": med,
        "all_seconds": {k: [round(x, 2) for x in v] for k, v in seconds.items()},
        "heavy_modules_imported": imported,
        "events": totals, "events_by_type": events,
        # What one more stored event costs in this sitting: the backfill's extra wall time over the one-day run,
        # per extra event (the data work of 30 days vs 1 is a small part of it on the real sample).
        "seconds_per_extra_event": round((med["backfill_30_days"] - med["one_day"]) / extra_events, 4)
        if extra_events > 0 else None,
        "ratios": {name.removeprefix("baseline_").replace("backfill_30_days", "backfill") + "_over_trivial"
                   + ("_baseline" if name.startswith("baseline_") else ""): round(med[name] / trivial, 2)
                   for name in cases if name.endswith(("backfill_30_days", "one_day"))},
        "baseline": str(baseline) if baseline is not None else None,
    }


def fixed_cost_rows(fc: dict[str, Any]) -> list[tuple[str, str, str]]:
    m, r = fc["median_seconds"], fc["ratios"]
    note = f"median of {fc['repeats']}, whole process"
    return [
        ("fixed cost: trivial asset", f"{m['trivial_materialize']:.1f} s", f"one-asset CLI materialize, {note}"),
        ("real sample, 30-day CLI", f"{m['backfill_30_days']:.1f} s", f"--select '*' --partition-range, {note}"),
        ("  30 days / trivial", f"{r['backfill_over_trivial']:.2f} x", "target <= 1.3"),
        ("real sample, one-day CLI", f"{m['one_day']:.1f} s", f"--select '*' --partition 2018-11-15, {note}"),
        ("  one day / trivial", f"{r['one_day_over_trivial']:.2f} x", "target <= 1.3"),
        ("events stored: trivial / 30 days / one day",
         f"{fc['events']['trivial_materialize']} / {fc['events']['backfill_30_days']} / {fc['events']['one_day']}",
         f"{fc['seconds_per_extra_event'] * 1000:.0f} ms per extra event" if fc["seconds_per_extra_event"] else ""),
        *[(f"baseline {k.removeprefix('baseline_')}", f"{m[k]:.1f} s",
           f"{m[k] / m['trivial_materialize']:.2f} x trivial, {fc['events'][k]} events")
          for k in m if k.startswith("baseline_")],
        ("import dagster", f"{m['import_dagster']:.1f} s", note),
        ("import definitions", f"{m['import_definitions']:.1f} s",
         "heavy modules: " + (", ".join(fc["heavy_modules_imported"]) or "none")),
    ]


# -- report --------------------------------------------------------------------------------------------------

def checks_seconds(steps: dict[str, float], assets: dict[str, Any]) -> float:
    return sum(s for k, s in steps.items() if k not in assets)


def table(rows: list[tuple[str, str, str]]) -> str:
    w0 = max(len(r[0]) for r in rows)
    w1 = max(len(r[1]) for r in rows)
    return "\n".join(f"{a:<{w0}}  {b:>{w1}}  {c}" for a, b, c in rows)


def report_fixed_cost_only(real_sample: Path, cache: Path, out: Path, baseline: Path | None = None,
                           repeats: int = 3) -> int:
    """`--fixed-cost-only`: the one case that needs no generated data, printed and written to its own file."""
    cache.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=cache, prefix="fixed-") as tmp:
        fc = fixed_cost(real_sample, Path(tmp), repeats=repeats, baseline=baseline)
    fc["generated_at"] = datetime.now(timezone.utc).isoformat(timespec="seconds")
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(fc, indent=2) + "\n")
    print(table([("measure", "value", "target / note"), *fixed_cost_rows(fc)]))
    print(f"\nwrote {out}")
    return 0


def main() -> int:
    if len(sys.argv) > 1 and sys.argv[1] == "--worker":
        worker(*sys.argv[2:5], int(sys.argv[5]))
        return 0
    if len(sys.argv) > 1 and sys.argv[1] == "--publish-worker":
        publish_worker(*sys.argv[2:5], int(sys.argv[5]))
        return 0
    if len(sys.argv) > 1 and sys.argv[1] == "--refresh-worker":
        refresh_worker(*sys.argv[2:4])
        return 0
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--quick", action="store_true", help="smoke scale: 60,000 events, 2,000 songs")
    p.add_argument("--events", type=int, help="events over the backfill's days (default 1,000,000)")
    p.add_argument("--days", type=int, default=30)
    p.add_argument("--songs", type=int)
    p.add_argument("--users", type=int)
    p.add_argument("--seed", type=int, default=42)
    p.add_argument("--naive-events", type=int, default=3000, help="events the naive ETL inserts (then scaled)")
    p.add_argument("--no-executors", action="store_true", help="skip the executor comparison")
    p.add_argument("--largest-day-events", type=int,
                   help="events in the one-day 'largest day' case (default 2,000,000, about 1 GB; quick 200,000)")
    p.add_argument("--no-largest-day", action="store_true", help="skip the largest-day case")
    p.add_argument("--cache", type=Path, default=ROOT / "data" / "bench")
    p.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results" / "latest.json")
    p.add_argument("--record", action="store_true",
                   help="also write benchmarks/results-<date>.json (a run to commit, unlike results/)")
    p.add_argument("--real-sample", type=Path, default=ROOT.parent / "shared" / "data" / "sparkify",
                   help="the real Sparkify sample, for the fixed-cost case (skipped if missing)")
    p.add_argument("--fixed-cost-only", action="store_true", help="only the fixed-cost case (real sample, CLI)")
    p.add_argument("--no-fixed-cost", action="store_true", help="skip the fixed-cost case")
    p.add_argument("--changed-songs", type=int, default=10,
                   help="song files the 'song refresh' case rewrites on top of the history (0 skips the case)")
    p.add_argument("--fixed-cost-baseline", type=Path,
                   help="with --fixed-cost-only: another checkout (e.g. main) run in the same rounds, before/after")
    p.add_argument("--fixed-cost-repeats", type=int, default=3, help="rounds of the fixed-cost case")
    p.add_argument("--reference-events", type=int,
                   help="also backfill this many events in the same run, for the scaling ratio (default: "
                        f"1,000,000 when --events is {LARGE_SCALE:,} or more, else none; 0: none)")
    p.add_argument("--all-cases", action="store_true",
                   help=f"at {LARGE_SCALE:,} events or more, also run the naive ETL, largest-day, executor and "
                        "fixed-cost cases (skipped there by default: they measure other things, not the scale)")
    a = p.parse_args()
    if a.fixed_cost_only:
        return report_fixed_cost_only(a.real_sample, a.cache, a.out.with_name("fixed-cost.json"),
                                      a.fixed_cost_baseline, a.fixed_cost_repeats)
    events = a.events or (60_000 if a.quick else 1_000_000)
    songs = a.songs if a.songs is not None else (2_000 if a.quick else 50_000)
    users = a.users or max(100, events // 100)
    large = events >= LARGE_SCALE and not a.all_cases
    if a.reference_events is None:
        a.reference_events = 1_000_000 if events >= LARGE_SCALE else 0
    skipped = []
    if large:
        skipped = ["naive ETL (measured per event on its first events: the same at any scale)",
                   "largest day", "executor choice", "fixed cost"]
        a.no_largest_day = a.no_executors = a.no_fixed_cost = True
        print(f"at {events:,} events, skipping (--all-cases to run them): {'; '.join(skipped)}", flush=True)
    a.cache.mkdir(parents=True, exist_ok=True)
    data = dataset(a.cache, events, a.days, songs, users, a.seed)
    backfill_days = day_range(FIRST_DAY, a.days)
    extra_day = FIRST_DAY + timedelta(days=a.days)

    with tempfile.TemporaryDirectory(dir=a.cache, prefix="run-") as tmp:
        work = Path(tmp)
        print("dagster start-up ...", flush=True)
        startup = min(startup_seconds() for _ in range(2))
        print("floor: DuckDB read_json alone ...", flush=True)
        floor, floor_rows = floor_seconds(log_files(data, backfill_days), work / "floor.duckdb")
        print(f"full backfill: {a.days} days ...", flush=True)
        full = run_days(data, work / "history.duckdb", FIRST_DAY, a.days)
        reference: dict[str, Any] = {}
        if a.reference_events:
            print(f"reference backfill: {a.reference_events:,} events, same days and songs ...", flush=True)
            reference = reference_backfill(a.cache, work, a, songs, full,
                                           full["assets"]["staging_events"]["records_read"])
        print("one more day on top of the history ...", flush=True)
        day_next = run_days(data, work / "history.duckdb", extra_day, 1)
        print("publishing to readers: every table, then one day ...", flush=True)
        publishing = run_publish(work / "history.duckdb", work / "published", FIRST_DAY, a.days + 1)
        print("the first day alone ...", flush=True)
        day_first = run_days(data, work / "first.duckdb", FIRST_DAY, 1)
        refresh: dict[str, Any] = {}
        if a.changed_songs:
            print(f"song refresh: {a.changed_songs} song files changed on top of the history ...", flush=True)
            changed = change_songs(data, work / "refresh-data", a.changed_songs)
            refresh = run_refresh(work / "refresh-data", work / "history.duckdb")
            refresh["changed_files"] = len(changed)
        naive_per_event, naive_n = 0.0, 0
        if not large:
            print(f"naive: pandas + executemany, {a.naive_events:,} events ...", flush=True)
            naive_per_event, naive_n = naive_seconds_per_event(log_files(data, backfill_days),
                                                               work / "naive.duckdb", a.naive_events)
        biggest: dict[str, Any] = {}
        if not a.no_largest_day:
            n = a.largest_day_events or (200_000 if a.quick else 2_000_000)
            print(f"largest day: one day of {n:,} events alone ...", flush=True)
            biggest = largest_day(a.cache, work, n, a.seed)
        executors: dict[str, Any] = {}
        if not a.no_executors:
            print("executor choice: CLI backfill of the 30-day sample ...", flush=True)
            small = a.cache / "sample-default"
            if not (small / "log_data").exists():
                from sparkify_assets.sample_data import generate
                generate(small)
            executors = executor_choice(small, work)
        fixed: dict[str, Any] = {}
        if not a.no_fixed_cost and (a.real_sample / "log_data").is_dir():
            print("fixed cost: real sample through the CLI, beside a trivial asset ...", flush=True)
            fixed = fixed_cost(a.real_sample, work)

    staging = full["assets"]["staging_events"]
    read, nbytes, load = staging["records_read"], staging["bytes_read"], staging["load_seconds"]
    ours_per_event = full["run_seconds"] / read
    step_names = ("staging_events", "staging_songs", "songplays", "users", "time")
    result = {
        "generated_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version(), "platform": platform.platform()},
        "scale": {"events": read, "days": a.days, "songs": songs, "users": users, "log_bytes": nbytes},
        "dagster_startup_seconds": round(startup, 2),
        "backfill": {
            "process_wall_seconds": full["process_wall_seconds"], "run_seconds": full["run_seconds"],
            "peak_rss_mb": full["peak_rss_mb"],
            "asset_load_seconds": {k: v.get("load_seconds") for k, v in full["assets"].items()},
            "asset_step_seconds": {k: full["steps"].get(k) for k in full["assets"]},
            "checks_seconds": round(checks_seconds(full["steps"], full["assets"]), 3),
            "checks_count": len(full["steps"]) - len(full["assets"]),
        },
        "staging": {"load_seconds": load, "events_per_second": round(read / load), "mb_per_second":
                    round(nbytes / 1e6 / load, 1), "records_loaded": staging["records_loaded"],
                    "records_rejected": staging["records_rejected"]},
        "floor": {"seconds": round(floor, 3), "rows": floor_rows},
        "naive": {"seconds_per_event": naive_per_event, "events_measured": naive_n,
                  "extrapolated_seconds": round(naive_per_event * read, 1),
                  "note": f"measured on the first {naive_n:,} events, scaled per event"},
        "incremental_day": {
            "first_day_alone": {"run_seconds": day_first["run_seconds"],
                                "steps": {k: day_first["steps"].get(k) for k in step_names}},
            "day_after_history": {"run_seconds": day_next["run_seconds"],
                                  "steps": {k: day_next["steps"].get(k) for k in step_names}},
        },
        "song_refresh": refresh,
        "publishing": {k: v for k, v in publishing.items() if k not in ("success", "process_wall_seconds")},
        "executors": executors,
        "fixed_cost": fixed,
        "largest_day": biggest,
        "reference_backfill": reference,
        "skipped": skipped,
    }
    result["ratios"] = {
        "staging_over_floor": round(load / floor, 2),
        "end_to_end_over_floor": round(full["run_seconds"] / floor, 2),
        "end_to_end_process_minus_startup_over_floor": round((full["process_wall_seconds"] - startup) / floor, 2),
        "naive_over_ours_per_event": round(naive_per_event / ours_per_event, 1) if naive_n else None,
        "day_after_history_over_first_day": round(day_next["run_seconds"] / day_first["run_seconds"], 2),
    }
    if refresh:
        result["ratios"]["song_refresh_over_one_day"] = round(refresh["run_seconds"] / day_next["run_seconds"], 2)
    a.out.parent.mkdir(parents=True, exist_ok=True)
    a.out.write_text(json.dumps(result, indent=2) + "\n")
    if a.record:
        (ROOT / "benchmarks" / f"results-{datetime.now(timezone.utc):%Y-%m-%d}.json").write_text(
            json.dumps(result, indent=2) + "\n")

    r, b = result["ratios"], result["backfill"]
    rows = [
        ("measure", "value", "target / note"),
        ("events (backfill)", f"{read:,}", f"{a.days} days, {nbytes / 1e6:,.0f} MB of logs, {songs:,} song files"),
        ("dagster start-up", f"{startup:.1f} s", "import + definitions, fresh process"),
        ("floor: read_json alone", f"{floor:.1f} s", "DuckDB, one statement, same log files"),
        ("staging_events load", f"{load:.1f} s", f"{read / load:,.0f} events/s, {nbytes / 1e6 / load:.1f} MB/s"),
        ("  staging / floor", f"{r['staging_over_floor']:.2f} x", "target <= 2"),
        ("backfill run (in process)", f"{full['run_seconds']:.1f} s", "all assets + checks, one run"),
        ("backfill process wall", f"{full['process_wall_seconds']:.1f} s", "includes start-up"),
        ("  end-to-end / floor", f"{r['end_to_end_over_floor']:.2f} x", "target <= 4 (+ start-up)"),
        ("peak RSS", f"{b['peak_rss_mb']:,.0f} MB",
         "target <= 2,000 MB at 10M events" if events >= LARGE_SCALE else "target <= 1,500 MB at 1M events"),
        *[(f"  {k}", f"{v:.2f} s", "load") for k, v in b["asset_load_seconds"].items() if v is not None],
        (f"  checks ({b['checks_count']})", f"{b['checks_seconds']:.2f} s", "sum of check steps"),
        *([("naive ETL per event", f"{naive_per_event * 1e6:,.0f} us", result["naive"]["note"]),
           ("ours per event", f"{ours_per_event * 1e6:,.1f} us", "backfill run / events"),
           ("  naive / ours", f"{r['naive_over_ours_per_event']:,.0f} x", "target >= 50")] if naive_n else []),
        *(reference_rows(reference) if reference else []),
        ("first day alone", f"{day_first['run_seconds']:.1f} s", "fresh warehouse"),
        (f"day {a.days + 1} on {a.days} days", f"{day_next['run_seconds']:.1f} s", "same run shape"),
        ("  day N+1 / day 1", f"{r['day_after_history_over_first_day']:.2f} x", "target <= 1.5"),
        *([(f"song refresh, {refresh['changed_files']} files changed", f"{refresh['run_seconds']:.1f} s",
            f"sensor's run on day {a.days + 1}'s warehouse; its tick {refresh['sensor_tick_seconds']:.1f} s"),
           ("  refresh / one-day run", f"{r['song_refresh_over_one_day']:.2f} x",
            f"target <= 2 (one-day run: day {a.days + 1})")] if refresh else []),
        *[(f"publish to readers, {k.replace('_', ' ')}", f"{v['export_seconds'] + v['publish_seconds']:.2f} s",
           f"export {v['export_seconds']:.2f} s ({v['pieces']} pieces, {v['mb']:,.1f} MB) + views file "
           f"{v['publish_seconds']:.2f} s") for k, v in result["publishing"].items()],
        *[(f"CLI backfill, {k.removesuffix('_seconds')}", f"{v:.1f} s", "30-day default sample")
          for k, v in executors.items()],
        *(fixed_cost_rows(fixed) if fixed else []),
    ]
    if biggest:
        rows += [
            ("largest day: events", f"{biggest['events']:,}", f"one file, {biggest['log_bytes'] / 1e6:,.0f} MB"),
            ("  staging load", f"{biggest['staging_load_seconds']:.1f} s",
             f"{biggest['staging_over_floor']:.2f} x its floor ({biggest['floor_seconds']:.1f} s)"),
            ("  run (all assets + checks)", f"{biggest['run_seconds']:.1f} s",
             f"process wall {biggest['process_wall_seconds']:.1f} s"),
            ("  peak RSS", f"{biggest['peak_rss_mb']:,.0f} MB", "target <= 2,000 MB, default memory limit"),
        ]
    rows += [("skipped at this scale", "", s) for s in skipped]
    print("\n" + table(rows))
    print(f"\nwrote {a.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
