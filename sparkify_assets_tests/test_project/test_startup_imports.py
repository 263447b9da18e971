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
PROBE = ("import json, sys\nimport sparkify_assets.definitions as d\n"
         f"print(json.dumps({{'loaded': sorted(m for m in {HEAVY!r} if m in sys.modules),\n"
         "    'source': type(d.defs.resources['source']).__name__,\n"
         "    'warehouse': type(d.defs.resources['warehouse']).__name__}))")


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
