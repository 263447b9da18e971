"""What a run imports before it starts: only what the configured source and warehouse need. Every run (CLI, sensor,
schedule, code server) imports the definitions first, and boto3, dagster_aws, redshift_connector and pandas cost
seconds that a local-folder + DuckDB run has no use for. Each case imports the definitions in a fresh interpreter."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

HEAVY = ("dagster_aws", "boto3", "botocore", "redshift_connector", "pandas", "tabulate")
PROBE = ("import json, sys\nimport sparkify_assets.definitions as d\ndefs = d.defs()\n"
         f"print(json.dumps({{'loaded': sorted(m for m in {HEAVY!r} if m in sys.modules),\n"
         "    'source': type(defs.resources['source']).__name__,\n"
         "    'warehouse': type(defs.resources['warehouse']).__name__}))")


def import_definitions(tmp: Path, **config: str) -> dict[str, object]:
    """Import the definitions in a new interpreter with only `config` among the project's variables."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SPARKIFY_", "REDSHIFT_"))}
    env.update({"SPARKIFY_DUCKDB_PATH": str(tmp / "warehouse.duckdb"), "PYTHONWARNINGS": "ignore", **config})
    proc = subprocess.run([sys.executable, "-c", PROBE], cwd=tmp, env=env, capture_output=True, text=True,
                          timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return json.loads(proc.stdout.strip().splitlines()[-1])


def test_local_duckdb_definitions_import_no_cloud_driver_or_pandas(tmp_path: Path) -> None:
    found = import_definitions(tmp_path, SPARKIFY_DATA_URL=str(tmp_path / "data"), SPARKIFY_WAREHOUSE="duckdb")
    assert (found["source"], found["warehouse"]) == ("LocalFolderSource", "DuckDBWarehouse")
    assert found["loaded"] == []


def test_s3_and_redshift_import_their_drivers_when_configured(tmp_path: Path) -> None:
    """The same probe sees the drivers once they are configured (so the local case above can fail), and never
    pandas: previews and check examples are formatted without it."""
    found = import_definitions(tmp_path, SPARKIFY_DATA_URL="s3://sparkify-test/raw", SPARKIFY_WAREHOUSE="redshift")
    assert (found["source"], found["warehouse"]) == ("S3Source", "RedshiftWarehouse")
    assert {"dagster_aws", "boto3", "redshift_connector"} <= set(found["loaded"])
    assert "pandas" not in found["loaded"] and "tabulate" not in found["loaded"]


# Importing a module builds nothing: no definitions, no environment read. A bad setting proves the second (reading
# it would fail), the modules loaded prove the first.
NOTHING_BUILT = ("import json, sys\nimport {module}\n"
                 "print(json.dumps(sorted(m for m in sys.modules if m.startswith(('dagster', 'sparkify_assets')))))")
BAD_ENV = {"SPARKIFY_WAREHOUSE": "oracle", "SPARKIFY_SCHEDULE_HOUR": "25", "SPARKIFY_START_DATE": "someday"}


def modules_after_import(module: str, tmp: Path) -> list[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SPARKIFY_", "REDSHIFT_"))}
    proc = subprocess.run([sys.executable, "-c", NOTHING_BUILT.format(module=module)], cwd=tmp,
                          env={**env, **BAD_ENV}, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return json.loads(proc.stdout.strip().splitlines()[-1])


def test_importing_the_tables_builds_no_definitions_and_reads_no_environment(tmp_path: Path) -> None:
    loaded = modules_after_import("sparkify_assets.tables", tmp_path)
    assert "sparkify_assets.definitions" not in loaded
    assert not [m for m in loaded if m == "dagster" or m.startswith("dagster.")], loaded


def test_the_sample_generator_does_not_load_the_definitions(tmp_path: Path) -> None:
    loaded = modules_after_import("sparkify_assets.sample_data.cli", tmp_path)
    assert "sparkify_assets.definitions" not in loaded and "dagster" not in loaded


def test_the_package_finds_its_lazy_definitions_without_building_them(tmp_path: Path) -> None:
    """What Dagster's loader does with `-m sparkify_assets`: `inspect.getmembers` finds `defs` (not yet built)."""
    probe = ("import inspect, json, sparkify_assets\n"
             "found = dict(inspect.getmembers(sparkify_assets))['defs']\n"
             "print(json.dumps([type(found).__name__, callable(found)]))")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SPARKIFY_", "REDSHIFT_"))}
    proc = subprocess.run([sys.executable, "-c", probe], cwd=tmp_path, env={**env, **BAD_ENV},
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert json.loads(proc.stdout.strip().splitlines()[-1]) == ["LazyDefinitions", True]


def test_the_webserver_and_daemon_side_of_the_service_loads_no_user_code(tmp_path: Path) -> None:
    """The instance file makes the webserver and the daemon import the run launcher and the run storage: they take
    the settings and Dagster's private names from sparkify_assets' foundation layer, never the definitions, the
    warehouse engines or the pipeline's drivers."""
    probe = ("import json, sys\nimport sparkify_service.launcher, sparkify_service.storage\n"
             "print(json.dumps(sorted(sys.modules)))")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SPARKIFY_", "REDSHIFT_"))}
    proc = subprocess.run([sys.executable, "-c", probe], cwd=tmp_path, env=env, capture_output=True, text=True,
                          timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    loaded = json.loads(proc.stdout.strip().splitlines()[-1])
    ours = [m for m in loaded if m.startswith("sparkify_assets")]
    assert ours == ["sparkify_assets", "sparkify_assets.dagster_internals", "sparkify_assets.settings"], ours
    assert [m for m in loaded if m.split(".")[0] in ("duckdb", "boto3", "redshift_connector", "pandas")] == []
