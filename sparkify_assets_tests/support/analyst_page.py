"""docs/analysts.md as data: each ```sql block with the answer table under it, and one way to print a result.

    python -m sparkify_assets_tests.support.analyst_page WAREHOUSE.duckdb   # prints each answer as the page shows it

The page's answers are checked by test_analysts_doc.py on both engines (and against the raw files where an
independent computation is simple); printing is for whoever edits the page.
"""

from __future__ import annotations

import re
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sparkify_assets_tests.support.redshift import norm

PAGE = Path(__file__).resolve().parents[2] / "docs" / "analysts.md"
_BLOCK = re.compile(r"```sql\n(.*?)```", re.S)


@dataclass(frozen=True)
class Query:
    title: str  # the heading it is under
    sql: str  # as written in the page
    header: list[str]
    rows: list[list[str]]


def cell(value: Any) -> str:
    """How the page writes a value, whichever engine and driver returned it."""
    value = norm(value)
    if value is None:
        return "NULL"
    if isinstance(value, float):
        return f"{value:.2f}"
    return str(value).replace("T", " ") if isinstance(value, str) and re.fullmatch(r"\d{4}-\d\d-\d\dT.*", value) \
        else str(value).replace("|", "\\|")


def answer_table(columns: list[str], rows: list[tuple[Any, ...]]) -> str:
    lines = ["| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
    lines += ["| " + " | ".join(cell(v) for v in row) + " |" for row in rows]
    return "\n".join(lines)


def _table_after(text: str) -> tuple[list[str], list[list[str]]]:
    """The first markdown table in `text` (the answer under a query)."""
    lines = [ln.strip() for ln in text.splitlines()]
    start = next(i for i, ln in enumerate(lines) if ln.startswith("|"))
    table = []
    for ln in lines[start:]:
        if not ln.startswith("|"):
            break
        table.append([c.strip() for c in re.split(r"(?<!\\)\|", ln.strip("|"))])
    return table[0], table[2:]


def queries(page: Path = PAGE) -> list[Query]:
    text = page.read_text()
    found = []
    blocks = list(_BLOCK.finditer(text))
    for n, block in enumerate(blocks):
        end = blocks[n + 1].start() if n + 1 < len(blocks) else len(text)
        title = re.findall(r"^### (.+)$", text[:block.start()], re.M)[-1]
        header, rows = _table_after(text[block.end():end])
        found.append(Query(title, block.group(1), header, rows))
    return found


if __name__ == "__main__":
    import duckdb

    with duckdb.connect(sys.argv[1], read_only=True) as con:
        for q in queries():
            cursor = con.execute(q.sql)
            print(f"### {q.title}\n{q.sql}\n{answer_table([d[0] for d in cursor.description], cursor.fetchall())}\n")
