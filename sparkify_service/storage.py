"""Dagster's PostgreSQL storage, accepting the URL operators write: `postgresql://user:password@host:port/db`;
and the one place every process using the service's instance runs our code, whoever started the run.

SQLAlchemy 2.1 maps a plain `postgresql://` URL to the psycopg 3 driver, while dagster-postgres installs psycopg2:
used as written, the instance fails at start-up with `No module named 'psycopg'`. This class names the driver that
is installed. Dagster's stock config can name it too (`storage: postgres: postgres_db: scheme: postgresql+psycopg2`,
tried with 1.13.27: it works), but only with the URL given in parts (user, password, host, port, database, each
its own value); operators, `make serve` and `sparkify_service.shell` give the one URL, so the driver is named here,
in the class that the run tags below need anyway.

A run started from a shell (`dagster asset materialize`) executes in the shell's own process, never seen by the
service's launcher: run monitoring then had no worker to check and failed the live run, and the run skipped the
queue and its pools. The storage is loaded by that process too, so its run storage records, as the run starts,
which process executes it (sparkify_service/workers.py), and has a shell run wait for its pools
(sparkify_service/shell_runs.py) as the queue would have made it.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from dagster import DagsterEvent, DagsterEventType, RunsFilter
from dagster_postgres import DagsterPostgresStorage, PostgresRunStorage

from sparkify_assets.dagster_internals import ConfigurableClassData
from sparkify_service import shell_runs
from sparkify_service.workers import SHELL_RUN_TAG, WORKER_PID_TAG, own_tags

INSTALLED_DRIVER = "postgresql+psycopg2"


def with_installed_driver(url: str) -> str:
    scheme, sep, rest = url.partition("://")
    if sep and scheme in ("postgresql", "postgres"):
        return f"{INSTALLED_DRIVER}://{rest}"
    return url


class WorkerRecordingRunStorage(PostgresRunStorage):
    """PostgreSQL run storage that tags a starting run with the process executing it."""

    def handle_run_event(self, run_id: str, event: DagsterEvent, update_timestamp: datetime | None = None) -> None:
        if event.event_type != DagsterEventType.RUN_START:
            super().handle_run_event(run_id, event, update_timestamp)
            return
        (run,) = self.get_runs(filters=RunsFilter(run_ids=[run_id])) or (None,)
        tags = own_tags()
        # The service's launcher tagged its worker with this pid at launch: the queue already gave it its pools.
        from_shell = run is not None and run.tags.get(WORKER_PID_TAG) != tags[WORKER_PID_TAG]
        if from_shell:
            tags[SHELL_RUN_TAG] = "true"
        self.add_run_tags(run_id, tags)  # before STARTED: run monitoring never sees a started run it cannot check
        super().handle_run_event(run_id, event, update_timestamp)
        if from_shell and self.has_instance:
            shell_runs.wait_for_pools(self._instance, run_id)


class PostgresStorage(DagsterPostgresStorage):
    """`storage: custom:` with this class and the same config as `storage: postgres:`."""

    def __init__(self, postgres_url: str, should_autocreate_tables: bool = True,
                 inst_data: ConfigurableClassData | None = None, token_provider: Any = None) -> None:
        super().__init__(postgres_url, should_autocreate_tables, inst_data=inst_data, token_provider=token_provider)
        self._run_storage = WorkerRecordingRunStorage(postgres_url, should_autocreate_tables,
                                                      token_provider=token_provider)

    @classmethod
    def from_config_value(  # type: ignore[override]
        cls, inst_data: ConfigurableClassData | None, config_value: Mapping[str, Any]
    ) -> PostgresStorage:
        from dagster_postgres.utils import get_token_provider_from_config, pg_url_from_config

        return cls(
            inst_data=inst_data,
            postgres_url=with_installed_driver(pg_url_from_config(config_value)),
            should_autocreate_tables=config_value.get("should_autocreate_tables", True),
            token_provider=get_token_provider_from_config(config_value),
        )
