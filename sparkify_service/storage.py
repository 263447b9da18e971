"""Dagster's PostgreSQL storage, accepting the URL operators write: `postgresql://user:password@host:port/db`.

SQLAlchemy 2.1 maps a plain `postgresql://` URL to the psycopg 3 driver, while dagster-postgres installs psycopg2:
used as written, the instance fails at start-up with `No module named 'psycopg'`. This class names the driver that
is installed and changes nothing else; an explicit driver in the URL (`postgresql+...://`) is left as it is.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from dagster._serdes import ConfigurableClassData
from dagster_postgres import DagsterPostgresStorage
from dagster_postgres.utils import get_token_provider_from_config, pg_url_from_config

INSTALLED_DRIVER = "postgresql+psycopg2"


def with_installed_driver(url: str) -> str:
    scheme, sep, rest = url.partition("://")
    if sep and scheme in ("postgresql", "postgres"):
        return f"{INSTALLED_DRIVER}://{rest}"
    return url


class PostgresStorage(DagsterPostgresStorage):
    """`storage: custom:` with this class and the same config as `storage: postgres:`."""

    @classmethod
    def from_config_value(  # type: ignore[override]
        cls, inst_data: ConfigurableClassData | None, config_value: Mapping[str, Any]
    ) -> PostgresStorage:
        return cls(
            inst_data=inst_data,
            postgres_url=with_installed_driver(pg_url_from_config(config_value)),
            should_autocreate_tables=config_value.get("should_autocreate_tables", True),
            token_provider=get_token_provider_from_config(config_value),
        )
