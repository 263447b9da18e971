"""Analysts read while `make serve` loads through its sensor (issue 19): the service's runs never wait on a reader
holding the published file, readers never see an error or half a run, and afterwards a new connection holds the
days loaded as computed from the raw files. Few days: each sensor run costs a worker process start."""

from __future__ import annotations

import time
import uuid
from pathlib import Path

import pytest
from dagster import DagsterInstance, DagsterRunStatus

from sparkify_assets_tests.conftest import NOVEMBER
from sparkify_assets_tests.support.postgres import running_postgres
from sparkify_assets_tests.support.service import poll, running_service
from sparkify_assets_tests.support.webserver import free_port
from sparkify_assets_tests.test_automation.test_automation_local import copy_sample
from sparkify_assets_tests.test_resources.test_readers import observations, reader
from sparkify_assets_tests.test_service.test_service import assert_tables_equal_the_raw_files, loaded_days, settled

LIMIT_S = 300.0  # a hang guard only


def test_service_sensor_loads_while_analysts_read(real_sample: Path, tmp_path: Path,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    password = f"pw-{uuid.uuid4().hex}"
    with running_postgres(database="dagster", user="dagster", password=password) as pg:
        url = f"postgresql://dagster:{password}@127.0.0.1:{pg.direct_port}/dagster"
        monkeypatch.setenv("DAGSTER_POSTGRES_URL", url)  # for this test's own look at the instance
        # Copies, not links: the sensor finds new files by their modification time, and a link has the sample's.
        data = copy_sample(real_sample, tmp_path / "data", NOVEMBER[:1])
        home, db, port = tmp_path / "dagster_home", tmp_path / "warehouse.duckdb", free_port()
        env = {"DAGSTER_HOME": str(home), "SPARKIFY_PORT": str(port),
               "DAGSTER_POSTGRES_URL": url,
               "SPARKIFY_DATA_URL": str(data), "SPARKIFY_DUCKDB_PATH": str(db),
               "SPARKIFY_END_DATE": NOVEMBER[2].isoformat(), "SPARKIFY_WAREHOUSE": "duckdb", "SPARKIFY_SENSOR": "on",
               "SPARKIFY_SENSOR_INTERVAL_SECONDS": "2"}
        with running_service(env, home, port, tmp_path / "service.log") as service, \
                DagsterInstance.from_config(str(home)) as instance:
            poll(lambda: loaded_days(instance) == {NOVEMBER[0].isoformat()} and settled(instance, 2) and db.exists(),
                 "the first day loaded and published", LIMIT_S, service)
            with reader(db, tmp_path, "hold") as held, reader(db, tmp_path, "reconnect") as fresh:
                copy_sample(real_sample, tmp_path / "more", NOVEMBER[1:3])
                for day in sorted((tmp_path / "more" / "log_data").rglob("*.json")):
                    target = data / day.relative_to(tmp_path / "more")
                    target.parent.mkdir(parents=True, exist_ok=True)
                    day.replace(target)
                poll(lambda: loaded_days(instance) == {d.isoformat() for d in NOVEMBER[:3]} and settled(instance, 4),
                     "two more days loaded by the sensor's runs", LIMIT_S, service)
                time.sleep(2)  # both readers observe the last publish
            held_rows, fresh_rows = observations(held), observations(fresh)
            runs = instance.get_runs()
            assert {r.status for r in runs} == {DagsterRunStatus.SUCCESS}, [(r.job_name, r.status) for r in runs]
            assert "Conflicting lock" not in service.log()
    assert not [r for r in held_rows + fresh_rows if "error" in r]
    assert {r["staging_days"] for r in held_rows} == {1}  # the held connection keeps its state
    states = [(r["staging_days"], r["songplay_days"], r["time_days"]) for r in fresh_rows]
    assert set(states) <= {(1, 1, 1), (2, 2, 2), (3, 3, 3)} and states[-1] == (3, 3, 3), set(states)
    assert_tables_equal_the_raw_files(db, data)
