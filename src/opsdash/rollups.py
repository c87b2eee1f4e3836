"""Daily roll-ups: a KPI's rows counted per day, breakdown and the few values the KPI reads.

Pages ask the same KPIs again and again over tables of millions of rows. A roll-up is the table compressed
to what one KPI needs: for each day of the KPI's period column, each combination of the table's dimensions
and each value of its keys (a ratio's two conditions, a whole-day quantile's value), how many rows there are
(``_c``) and, for summed ratios, the sums. Counts, ratios and quantiles computed from it are exactly those
computed from the rows. A backlog has two: its rows counted on the day they enter it and on the day they
leave it. The engine reads a roll-up only when as-of is at or after the table's latest event (the table as
it stands; a backlog still reads as-of's own day from the rows) and the store holds it; every load
refreshes the days it touched in its own transaction, and a store whose roll-ups were made by other
declarations rebuilds them when next opened through ``lifecycle.open_store`` or loaded into (until then, KPIs
whose roll-up it lacks are read from the rows). The declarations never change while the program runs, so
what they make is computed once.
"""

from __future__ import annotations

import functools
import hashlib
from dataclasses import dataclass

from opsdash import catalog
from opsdash.catalog import Kpi
from opsdash.store import Tx
from opsdash.store import quote_ident as qi

META_KEY = "rollups"


@dataclass(frozen=True)
class Rollup:
    table: str
    period: str  # SQL over the table: the time that places a row in a day
    rows: str  # SQL condition: the rows the KPI reads
    keys: tuple[tuple[str, str], ...]  # (column, SQL over the row): grouped on
    sums: tuple[tuple[str, str], ...]  # (column, SQL over the row): summed
    numerator: str | None = None  # ratio conditions: SQL over a roll-up row (may use $as_of and `_den`)
    denominator: str | None = None

    @property
    def name(self) -> str:
        """Named by its definition, so KPIs reading the same roll-up (a median and a 90th percentile) share it."""
        text = repr((self.table, self.period, self.rows, self.keys, self.sums, catalog.in_window(self.table)))
        return f"_rollup_{self.table}_{hashlib.sha256(text.encode()).hexdigest()[:10]}"

    def select(self, days: str | None = None) -> str:
        """The roll-up's rows from its table; with `days` (SQL yielding `_day`), only those days."""
        dims = [qi(d) for d in catalog.DIMENSIONS[self.table]]
        inner = ", ".join([f"CAST({self.period} AS DATE) AS _day", *dims,
                           *(f"({sql}) AS {qi(name)}" for name, sql in (*self.keys, *self.sums))])
        only = f" AND CAST({self.period} AS DATE) IN (SELECT _day FROM {days})" if days else ""
        group = ", ".join(["_day", *dims, *(qi(name) for name, _ in self.keys)])
        sums = "".join(f", sum({qi(name)}) AS {qi(name)}" for name, _ in self.sums)
        return (f"SELECT {group}{sums}, count(*) AS _c FROM (SELECT {inner} FROM {qi(self.table)} "
                f"WHERE ({self.period}) IS NOT NULL AND ({self.rows}) AND {catalog.in_window(self.table)}{only}) "
                f"GROUP BY {group}")


def _free(*sql: str | None) -> bool:
    """SQL that names no query-time parameter, so it can be computed once at load."""
    return not any(s and "$" in s for s in sql)


def for_kpi(kpi: Kpi) -> Rollup | None:
    """The roll-up a KPI is computed from when the table stands as loaded, or None (computed from the rows)."""
    rows = kpi.rows or "true"
    if kpi.rollup_keys:
        return Rollup(kpi.table, kpi.period, rows, kpi.rollup_keys, (),
                      kpi.rollup_numerator, kpi.rollup_denominator)
    if not _free(kpi.period, kpi.rows, kpi.numerator, kpi.denominator, kpi.value):
        return None
    if kpi.kind == "count":
        return Rollup(kpi.table, kpi.period, rows, (), ())
    if kpi.kind == "ratio" and kpi.sums:
        return Rollup(kpi.table, kpi.period, rows, (), (
            ("_num", f"coalesce(CAST({kpi.numerator} AS BIGINT), 0)"),
            ("_den", f"coalesce(CAST({kpi.denominator} AS BIGINT), 0)")))
    if kpi.kind == "ratio":
        # Two true/false keys (the numerator may build on `_den`), so the roll-up stays small.
        return Rollup(kpi.table, kpi.period, rows,
                      (("_den", f"coalesce({kpi.denominator}, false)"), ("_num", f"coalesce({kpi.numerator}, false)")),
                      (), "_num", "_den")
    if kpi.kind == "quantile" and kpi.discrete:
        return Rollup(kpi.table, kpi.period, rows, (("_v", str(kpi.value)),), ())
    return None


def backlog_times(kpi: Kpi) -> tuple[str, str]:
    """SQL over a row of a backlog KPI's table: when the row enters the backlog, and when it leaves it (the later
    of its entry and its exit, so it never leaves before it enters). A due time counts only once passed, so an
    item enters a microsecond after it."""
    t_in, t_out = kpi.backlog_in or "", kpi.backlog_out or ""
    enter = f"({t_in} + INTERVAL 1 MICROSECOND)" if t_in == "due_at" else t_in
    return enter, f"greatest({enter}, {t_out})"


def for_backlog(kpi: Kpi) -> tuple[Rollup, Rollup] | None:
    """A backlog's two roll-ups, rows entering it per day and rows leaving it per day; the backlog at the end of
    a day is the sum of entries less exits up to that day. None for other KPIs."""
    if kpi.kind != "backlog":
        return None
    enter, leave = backlog_times(kpi)
    return (Rollup(kpi.table, enter, "true", (), ()),
            Rollup(kpi.table, leave, f"{kpi.backlog_in} IS NOT NULL AND {kpi.backlog_out} IS NOT NULL", (), ()))


def all_rollups() -> dict[str, Rollup]:
    """Every roll-up the catalogue needs, by name."""
    return _made_from(tuple(catalog.KPIS.values()))[0]


def for_table(table: str) -> list[Rollup]:
    return [r for r in all_rollups().values() if r.table == table]


def signature() -> str:
    """What the stored roll-ups were made from: a store with another signature rebuilds them."""
    return _made_from(tuple(catalog.KPIS.values()))[1]


@functools.cache
def _made_from(kpis: tuple[Kpi, ...]) -> tuple[dict[str, Rollup], str]:
    """The roll-ups these declarations need and their signature, computed once per set of declarations (each
    load asks for them; a test that declares another KPI gets its own)."""
    found = [for_kpi(k) for k in kpis] + [r for k in kpis for r in for_backlog(k) or ()]
    made = {r.name: r for r in found if r is not None}
    text = repr(sorted((r.name, r.select()) for r in made.values()))
    return made, hashlib.sha256(text.encode()).hexdigest()[:16]


def ensure(tx: Tx) -> bool:
    """Build every roll-up from scratch when the store's were made by other declarations (or never); whether it
    did."""
    row = tx.fetchone("SELECT value FROM meta WHERE key = ?", [META_KEY])
    if row and row[0] == signature():
        return False
    for (name,) in tx.fetchall("SELECT table_name FROM duckdb_tables() WHERE NOT temporary "
                               "AND starts_with(table_name, '_rollup_')"):
        tx.execute(f"DROP TABLE {qi(name)}")
    for name, r in all_rollups().items():
        tx.execute(f"CREATE TABLE {qi(name)} AS {r.select()}")
    tx.execute("INSERT OR REPLACE INTO meta VALUES (?, ?)", [META_KEY, signature()])
    return True


def capture_days(tx: Tx, table: str, rows_sql: str) -> bool:
    """Before rows of `table` are deleted: keep the days they hold in each roll-up (temp table `_rollup_gone`).

    `rows_sql` selects the rows about to go (as `t`). Returns whether anything was kept (pass it to refresh).
    """
    rollups = for_table(table)
    if not rollups:
        return False
    days = ", ".join(f"CAST({r.period} AS DATE) AS d{i}" for i, r in enumerate(rollups))
    tx.execute(f"CREATE OR REPLACE TEMP TABLE _rollup_gone AS SELECT DISTINCT {days} FROM ({rows_sql})")
    return True


def refresh(tx: Tx, table: str, load_id: int, captured: bool) -> None:
    """After a load: recompute the roll-ups' days that lost rows (captured first) or gained rows of this load.
    A store without this catalogue's roll-ups (opened by ``Store`` rather than ``lifecycle.open_store``) gets them
    built here, from the table as this load leaves it (nothing then to refresh)."""
    if ensure(tx):
        tx.execute("DROP TABLE IF EXISTS _rollup_gone")
        return
    for i, r in enumerate(for_table(table)):
        old = f"SELECT d{i} AS _day FROM _rollup_gone WHERE d{i} IS NOT NULL UNION " if captured else ""
        tx.execute(f"CREATE OR REPLACE TEMP TABLE _rollup_days AS {old}SELECT DISTINCT CAST({r.period} AS DATE) "
                   f"AS _day FROM {qi(table)} WHERE _load_id = ? AND ({r.period}) IS NOT NULL", [load_id])
        tx.execute(f"DELETE FROM {qi(r.name)} WHERE _day IN (SELECT _day FROM _rollup_days)")
        tx.execute(f"INSERT INTO {qi(r.name)} {r.select('_rollup_days')}")
    tx.execute("DROP TABLE IF EXISTS _rollup_days")
    tx.execute("DROP TABLE IF EXISTS _rollup_gone")
