"""Data-quality rules as SQL selecting the offending rows: the count and the examples both come from it.

Generic rules are derived from the table definitions (keys, accepted values, ranges, references); the rest
are written out here. On a daily-partitioned table a rule looks only at the days just loaded.
"""

from __future__ import annotations

from dataclasses import dataclass

from sparkify_assets.day_window import key_predicate, time_predicate
from sparkify_assets.sql.dialect import Dialect, column_list, q
from sparkify_assets.tables import SONGPLAYS, STAGING_EVENTS, TIME, Table


@dataclass(frozen=True)
class Rule:
    table: Table  # the asset the check is attached to
    name: str
    description: str
    offending: str  # SELECT of the offending rows (identifying columns first)
    warn_only: bool = False
    also_reads: tuple[str, ...] = ()  # other tables the rule reads, which must be loaded first

    def count_sql(self) -> str:
        return f"SELECT COUNT(*) FROM ({self.offending}) offending"

    def examples_sql(self, limit: int = 5) -> str:
        return f"SELECT * FROM ({self.offending}) offending ORDER BY 1 LIMIT {int(limit)}"


def _scope(table: Table, d: Dialect, alias: str = "") -> str:
    return time_predicate(table, d, alias)


def key_rules(table: Table, d: Dialect) -> list[Rule]:
    keys = column_list(table.key)
    nulls = " OR ".join(f"{q(k)} IS NULL" for k in table.key)
    where = _scope(table, d)
    return [
        Rule(table, "key_not_null", f"No row of {table.name} has a null {' / '.join(table.key)}.",
             f"SELECT {keys} FROM {q(table.name)} WHERE ({nulls}) AND {where}"),
        Rule(table, "key_unique", f"Every {' / '.join(table.key)} appears once in {table.name}.",
             f"SELECT {keys}, COUNT(*) AS copies FROM {q(table.name)} WHERE {where} "
             f"GROUP BY {keys} HAVING COUNT(*) > 1"),
    ]


def column_rules(table: Table, d: Dialect) -> list[Rule]:
    """Accepted values, ranges and references, as declared on the columns. Text compares without trailing blanks
    on every engine (Dialect.text_key), as Redshift compares it: 'free ' is the accepted 'free' everywhere."""
    rules = []
    where = _scope(table, d)
    keys = column_list(table.key)
    for c in table.columns:
        col = q(c.name)
        if c.accepted:
            values = ", ".join("'" + v.replace("'", "''") + "'" for v in c.accepted)
            rules.append(Rule(table, f"{c.name}_accepted", f"{table.name}.{c.name} is one of {', '.join(c.accepted)}"
                              " or null.",
                              f"SELECT {keys}, {col} FROM {q(table.name)} "
                              f"WHERE {d.text_key(col)} NOT IN ({values}) AND {where}"))
        if c.value_range:
            lo, hi = c.value_range
            rules.append(Rule(table, f"{c.name}_in_range", f"{table.name}.{c.name} is between {lo} and {hi}.",
                              f"SELECT {keys}, {col} FROM {q(table.name)} "
                              f"WHERE ({col} < {int(lo)} OR {col} > {int(hi)}) AND {where}"))
        if c.references:
            ref_table, ref_col = c.references.split(".")
            text = c.type.startswith("VARCHAR")

            def same(ref: str, text: bool = text) -> str:
                return d.text_key(ref) if text else ref
            rules.append(Rule(
                table, f"{c.name}_in_{ref_table}",
                f"Every non-null {table.name}.{c.name} exists in {ref_table}.{ref_col}.",
                f"SELECT {column_list(table.key, 't.')}, t.{col} FROM {q(table.name)} t "
                f"WHERE t.{col} IS NOT NULL AND {_scope(table, d, 't')} "
                f"AND NOT EXISTS (SELECT 1 FROM {q(ref_table)} r WHERE {same(f'r.{q(ref_col)}')} = {same(f't.{col}')})",
                also_reads=(ref_table,),
            ))
    return rules


def not_empty(table: Table, d: Dialect, warn_only: bool) -> Rule:
    scope = " for the days loaded" if table.partition_column else ""
    return Rule(table, "not_empty", f"{table.name} has rows{scope} (the original pipeline's check).",
                f"SELECT 'no rows' AS problem WHERE NOT EXISTS "
                f"(SELECT 1 FROM {q(table.name)} WHERE {_scope(table, d)})", warn_only=warn_only)


def songplays_reconcile(d: Dialect) -> Rule:
    """The fact holds exactly the NextSong events: none lost in the join, none doubled by it."""
    return Rule(
        SONGPLAYS, "songplays_match_nextsong_events",
        "For the days loaded, songplays has exactly as many rows as staging_events has NextSong events.",
        f"""SELECT sp.n AS songplays, ev.n AS nextsong_events
FROM (SELECT COUNT(*) AS n FROM {q(SONGPLAYS.name)} WHERE {_scope(SONGPLAYS, d)}) sp,
     (SELECT COUNT(*) AS n FROM {q(STAGING_EVENTS.name)}
      WHERE {q("page")} = 'NextSong' AND {_scope(STAGING_EVENTS, d)}) ev
WHERE sp.n <> ev.n""",
    )


def time_covers_songplays(d: Dialect) -> Rule:
    return Rule(
        TIME, "start_times_in_time",
        "Every songplays.start_time of the days loaded has its row in time (and time has no other rows).",
        f"""SELECT sp.{q("start_time")}, 'missing from time' AS problem FROM {q(SONGPLAYS.name)} sp
WHERE {_scope(SONGPLAYS, d, "sp")}
  AND NOT EXISTS (SELECT 1 FROM {q(TIME.name)} t WHERE t.{q("start_time")} = sp.{q("start_time")})
UNION ALL
SELECT t.{q("start_time")}, 'not a songplays start_time' FROM {q(TIME.name)} t
WHERE {_scope(TIME, d, "t")}
  AND NOT EXISTS (SELECT 1 FROM {q(SONGPLAYS.name)} sp WHERE sp.{q("start_time")} = t.{q("start_time")})""",
    )


def match_rate_sql(d: Dialect) -> str:
    return (f"SELECT COUNT(*), COUNT({q('song_id')}) FROM {q(SONGPLAYS.name)} WHERE {_scope(SONGPLAYS, d)}")


def staged_counts_sql(table: Table, d: Dialect) -> str:
    """Rows now in a staging table and in quarantine for the days loaded, to reconcile with what was read."""
    rejects_scope = ("1 = 1" if table.partition_column is None
                     else key_predicate(d))
    return f"""SELECT (SELECT COUNT(*) FROM {q(table.name)} WHERE {_scope(table, d)}),
       (SELECT COUNT(*) FROM {q("rejected_records")}
        WHERE {q("target_table")} = {d.param("target_table")} AND {rejects_scope})"""
