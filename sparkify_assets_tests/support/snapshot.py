"""The definitions of each engine as a stable, sorted text, so a structural change shows up in review as a diff of
sparkify_assets_tests/snapshots/<engine>.yaml.

Rendered from what Dagster resolves (the asset graph, the job, schedule and sensor definitions, the top-level
resources), never from our own lists, so what the snapshot shows is what Dagster, and so the UI, sees. Each engine
is built in a fresh interpreter with a fixed environment (FIXED_ENV over a minimal one): nothing the caller has
set, and nothing a module read when it was first imported, can change the text.

    python -m sparkify_assets_tests.support.snapshot            # rewrite both snapshot files
    SPARKIFY_UPDATE_SNAPSHOTS=1 pytest sparkify_assets_tests/test_project/test_definitions_snapshot.py   # same

Building must not connect: the DuckDB warehouse points at a path that is never opened, the Redshift warehouse
holds placeholder, non-secret settings, and the S3 source is never listed.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import yaml

ENGINES = ("duckdb", "redshift")
SNAPSHOTS = Path(__file__).resolve().parents[1] / "snapshots"
ROOT = Path(__file__).resolve().parents[2]

# Every SPARKIFY_* variable that shapes the definitions, set to a documented value (docs: README "Configuration").
# The alert webhook is a placeholder on a closed port, set so the alert sensors are part of the snapshot.
FIXED_ENV = {
    "SPARKIFY_START_DATE": "2018-11-01",
    "SPARKIFY_END_DATE": "2018-11-30",
    "SPARKIFY_SCHEDULE": "off",
    "SPARKIFY_SCHEDULE_HOUR": "1",
    "SPARKIFY_SENSOR": "auto",
    "SPARKIFY_SENSOR_MAX_RUNS": "100",
    "SPARKIFY_SENSOR_INTERVAL_SECONDS": "30",
    "SPARKIFY_ALERT_WEBHOOK_URL": "http://127.0.0.1:9/snapshot-placeholder",
    "SPARKIFY_FRESHNESS_HOURS": "6",
}
# What a fresh interpreter needs from the caller's environment to start at all; nothing else is passed.
PASSED_THROUGH = ("PATH", "HOME", "LANG", "LC_ALL", "TMPDIR", "VIRTUAL_ENV", "SYSTEMROOT")


def snapshot_path(engine: str) -> Path:
    return SNAPSHOTS / f"{engine}.yaml"


def render_in_fresh_interpreter(engine: str) -> str:
    """The snapshot text of `engine`, built in a new interpreter with FIXED_ENV only."""
    env = {k: os.environ[k] for k in PASSED_THROUGH if k in os.environ}
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(ROOT), os.environ.get("PYTHONPATH")) if p)
    env.update(FIXED_ENV)
    command = [sys.executable, "-W", "ignore", "-m", "sparkify_assets_tests.support.snapshot", "--print", engine]
    done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=300, check=False, cwd=ROOT)
    if done.returncode != 0:
        raise RuntimeError(f"rendering the {engine} snapshot failed ({done.returncode}):\n{done.stderr[-4000:]}")
    return done.stdout


def build(engine: str) -> Any:
    """The project's definitions for `engine` on placeholder resources that are never connected."""
    from sparkify_assets.definitions import build_definitions

    if engine == "duckdb":
        from sparkify_assets.resources.duckdb_warehouse import DuckDBWarehouse
        from sparkify_assets.resources.source import LocalFolderSource

        return build_definitions(source=LocalFolderSource(root="/nonexistent/sparkify-snapshot/data"),
                                 warehouse=DuckDBWarehouse(path="/nonexistent/sparkify-snapshot/warehouse.duckdb"))
    if engine == "redshift":
        from dagster_aws.s3 import S3Resource

        from sparkify_assets.resources.redshift_warehouse import RedshiftWarehouse
        from sparkify_assets.resources.s3_source import S3Source

        return build_definitions(
            source=S3Source(s3=S3Resource(region_name="us-west-2"), bucket="snapshot-placeholder", prefix=""),
            warehouse=RedshiftWarehouse(host="redshift.invalid", database="dev", user="snapshot",
                                        iam_role_arn="arn:aws:iam::000000000000:role/snapshot-placeholder"))
    raise ValueError(f"no engine {engine!r}: one of {ENGINES}")


def render(defs: Any) -> str:
    """Sorted YAML of what Dagster resolved from `defs`."""
    graph = defs.resolve_asset_graph()
    repo = defs.get_repository_def()
    assets = {}
    for key in graph.get_all_asset_keys():
        node = graph.get(key)
        assets[key.to_user_string()] = {
            "deps": sorted(k.to_user_string() for k in node.parent_keys),
            "group": node.group_name,
            "kinds": sorted(node.kinds),
            "pools": sorted(node.pools or ()),
            "partitions": _partitions(node.partitions_def),
            "materializable": node.is_materializable,
        }
    checks = {}
    for check_key in graph.asset_check_keys:
        check = graph.get(check_key)
        checks[check_key.to_user_string()] = {
            "asset": check_key.asset_key.to_user_string(),
            "blocking": bool(check.blocking),
        }
    jobs = {}
    for job in defs.resolve_all_job_defs():
        # A job's asset graph holds its selection as subsetted assets definitions: the executable ones are what
        # a run of the job materializes and checks.
        executed = [a for a in job.asset_layer.asset_graph.assets_defs if a.is_executable]
        jobs[job.name] = {
            "assets": sorted(k.to_user_string() for a in executed for k in a.keys),
            "checks": sorted(k.to_user_string() for a in executed for k in a.check_keys),
            "partitions": _partitions(job.partitions_def),
        }
    schedules = {
        s.name: {
            "cron": s.cron_schedule,
            "timezone": s.execution_timezone,
            "job": s.job_name,
            "default_status": s.default_status.value,
        }
        for s in repo.schedule_defs
    }
    sensors = {
        s.name: {
            "type": f"{type(s).__name__} ({s.sensor_type.value})",
            "default_status": s.default_status.value,
            "interval_seconds": s.minimum_interval_seconds,
            "jobs": sorted(t.job_name for t in s.targets) if s.has_jobs else [],
        }
        for s in repo.sensor_defs
    }
    resources = {key: _type_name(getattr(r, "configurable_resource_cls", None) or type(r))
                 for key, r in repo.get_top_level_resources().items()}
    document = {"assets": assets, "checks": checks, "jobs": jobs, "schedules": schedules, "sensors": sensors,
                "resources": resources}
    return yaml.safe_dump(document, sort_keys=True, default_flow_style=False, width=120)


def _type_name(cls: type) -> str:
    return f"{cls.__module__}.{cls.__qualname__}"


def _partitions(partitions_def: Any) -> dict[str, Any] | None:
    if partitions_def is None:
        return None
    found: dict[str, Any] = {"type": type(partitions_def).__name__}
    if hasattr(partitions_def, "start") and hasattr(partitions_def, "timezone"):  # time windows
        found["start"] = partitions_def.start.date().isoformat()
        found["end"] = partitions_def.end.date().isoformat() if partitions_def.end else None
        found["timezone"] = partitions_def.timezone
        found["cron"] = partitions_def.cron_schedule
    else:
        found["keys"] = sorted(partitions_def.get_partition_keys())
    return found


def main(argv: list[str]) -> int:
    if argv[:1] == ["--print"]:
        sys.stdout.write(render(build(argv[1])))
        return 0
    SNAPSHOTS.mkdir(exist_ok=True)
    for engine in ENGINES:
        snapshot_path(engine).write_text(render_in_fresh_interpreter(engine))
        print(f"wrote {snapshot_path(engine).relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
