"""Read whole tables back out of a DuckDB warehouse file, for comparisons that cover every row."""

from __future__ import annotations

from collections.abc import Collection
from pathlib import Path
from typing import Any

import duckdb
import pandas as pd

from sparkify_assets.tables import ALL_TABLES, REJECTED_RECORDS, SOURCE_VERSIONS


def table(db: Path, name: str) -> pd.DataFrame:
    with duckdb.connect(str(db), read_only=True) as con:
        return con.execute(f'SELECT * FROM "{name}"').df()


def snapshot(db: Path, names: Collection[str] | None = None) -> dict[str, list[tuple[Any, ...]]]:
    """Every table's rows (or those of the tables named), sorted; run ids left out (they differ between runs), and
    source_versions unless named (its versions are where the files were read, an S3 ETag or a local mtime)."""
    out = {}
    with duckdb.connect(str(db), read_only=True) as con:
        for t in ALL_TABLES:
            if (t.name not in names) if names is not None else t is SOURCE_VERSIONS:
                continue
            cols = [c for c in t.column_names if not (t is REJECTED_RECORDS and c == "run_id")]
            select = ", ".join(f'"{c}"' for c in cols)
            out[t.name] = sorted(con.execute(f'SELECT {select} FROM "{t.name}"').fetchall(), key=repr)
    return out
