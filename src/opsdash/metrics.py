"""Compile a KPI request to SQL, run it through the store, return a tidy frame.

``series()`` is the one way numbers are computed: every page, export, report and command calls it.
User input reaches SQL only as bound parameters; identifiers come from the catalogue's allow-lists.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from opsdash import catalog, contract, periods, queries, rollups
from opsdash.catalog import Kpi
from opsdash.store import Store
from opsdash.store import quote_ident as qi

NULL_KEY = "\x00"  # stands in for an empty breakdown value inside ASOF joins (which match on equality)


def _known(table: contract.Table, column: str) -> str:
    """SQL: the event of `column` has happened by $as_of (a DATE compares with as-of's day)."""
    day = table.event_kind(column) == contract.ColType.DATE
    return f"{qi(column)} <= {'CAST($as_of AS DATE)' if day else '$as_of'}"


def as_of_view(name: str) -> str:
    """How a table looks as known at $as_of, generated from its events (contract.Table.events): rows that arrived
    by then, later events and what they carry blanked. Rows outside the reported dates are not there at all."""
    table = contract.TABLES[name]
    arrival, *later = table.events
    blanks = [f"CASE WHEN {_known(table, e.column)} THEN {qi(c)} END AS {qi(c)}"
              for e in later for c in (e.column, *e.carries)]
    replace = f" REPLACE ({', '.join(blanks)})" if blanks else ""
    return (f"SELECT *{replace} FROM {qi(name)} WHERE {_known(table, arrival.column)} "
            f"AND {catalog.in_window(name)}")


#: Each KPI table as known at $as_of, and as it is when as-of is at or after its latest event (nothing to blank).
AS_OF_VIEWS: dict[str, str] = {t: as_of_view(t) for t in contract.EVENT_COLUMNS}
LATEST_VIEWS: dict[str, str] = {t: f"SELECT * FROM {qi(t)} WHERE {catalog.in_window(t)}" for t in contract.EVENT_COLUMNS}


class MetricsError(ValueError):
    """A request that cannot be answered as asked; the message lists what is valid."""


@dataclass(frozen=True)
class Request:
    kpi: str
    grain: str | None = "month"  # None: one value over the whole range
    by: tuple[str, ...] = ()
    where: Mapping[str, Sequence[str]] = field(default_factory=dict)
    start: dt.date | None = None
    end: dt.date | None = None
    as_of: dt.datetime | None = None
    answer_threshold_s: float = catalog.ANSWER_THRESHOLD_S
    short_abandon_s: float = catalog.SHORT_ABANDON_S


def validate(req: Request) -> Kpi:
    if req.kpi not in catalog.KPIS:
        raise MetricsError(f"unknown KPI {req.kpi!r}; expected one of {', '.join(catalog.KPIS)}")
    kpi = catalog.KPIS[req.kpi]
    if req.grain is not None and req.grain not in catalog.GRAINS:
        raise MetricsError(f"unknown grain {req.grain!r}; expected one of {', '.join(catalog.GRAINS)}")
    dims = catalog.DIMENSIONS[kpi.table]
    for col in (*req.by, *req.where):
        if col not in dims:
            raise MetricsError(f"{kpi.id} cannot be broken down or filtered by {col!r}; "
                               f"expected one of {', '.join(dims)}")
    if len(set(req.by)) != len(req.by):
        raise MetricsError("a breakdown column is named twice")
    if req.start and req.end and req.start > req.end:
        raise MetricsError(f"the range starts ({req.start}) after it ends ({req.end})")
    for name in ("answer_threshold_s", "short_abandon_s"):
        if getattr(req, name) < 0:
            raise MetricsError(f"{name} must be 0 or more")
    return kpi


# Per store file, vendor scope, table, vendors and latest load: data only ever changes through a load.
_LATEST: dict[tuple[str, Any, str, tuple[str, ...], Any], dt.datetime | None] = {}


def _latest(store: Store, table: str, vendors: Sequence[str] = ()) -> dt.datetime | None:
    """The latest event time in the table, of `vendors` (every vendor this store's reader may see when none)."""
    version = store.fetchone("SELECT max(load_id), count(*) FROM loads")
    key = (str(store.path.resolve()), store.scope, table, tuple(sorted(vendors)), version)
    if key not in _LATEST:
        # Rows outside the dates opsdash reports on are not counted, so they cannot move as-of either (a
        # placeholder 9999-12-31 would otherwise stretch every chart over eight thousand years).
        cols = ", ".join(f"max(CAST({qi(c)} AS TIMESTAMP))" for c in catalog.EVENT_TIMES[table])
        w = queries.Where().rows(catalog.in_window(table)).dimensions({"vendor": vendors} if vendors else {})
        row = store.fetchone(f"SELECT greatest({cols}) FROM {qi(table)} WHERE {w.sql}", w.params)
        _LATEST[key] = row[0] if row else None
    return _LATEST[key]


def default_as_of(store: Store, table: str) -> dt.datetime | None:
    """The latest event time in the table that this store's reader may see (received/submitted/... never a due
    time)."""
    return _latest(store, table)


def data_cut(store: Store, tables: Sequence[str], vendors: Sequence[str] = (), end: dt.date | None = None
             ) -> dt.date | None:
    """The data cut-off, the one rule every view, pack and command uses to tell a complete period from one that
    runs to date: the day of the latest event among `tables` of `vendors` (every vendor this reader may see when
    none is named), or `end` when that is earlier. None when those tables hold no row of those vendors.

    A vendor's own data decides: when its claims end on 26 Nov and another vendor's calls on 30 Nov, its
    November claims run to date (compared like for like), whatever the rest of the store holds."""
    days = [t.date() for t in (_latest(store, table, vendors) for table in tables) if t is not None]
    cut = max(days, default=None)
    return None if cut is None else min(cut, end) if end else cut


#: Read daily roll-ups where they apply (tests turn this off to check both paths give the same figures).
USE_ROLLUPS = True


def rollups_in_store(store: Store, *wanted: rollups.Rollup | None) -> set[str]:
    """Which of these roll-ups the store holds, by name, in one look at the catalogue. A roll-up's name is a hash
    of its declaration, and a store brought up to date (lifecycle.prepare, or a load) drops roll-ups it does not
    declare, so one that exists is kept by every load."""
    names = [r.name for r in wanted if r is not None]
    if not names:
        return set()
    return {n for (n,) in store.fetchall("SELECT table_name FROM duckdb_tables() WHERE NOT temporary "
                                         "AND list_contains(?, table_name)", [names])}


def rollup_in_store(store: Store, rollup: rollups.Rollup | None) -> bool:
    """Whether the store holds this roll-up (see rollups_in_store)."""
    return rollup is not None and rollup.name in rollups_in_store(store, rollup)


def _loads_without_completed_at(store: Store) -> list[int]:
    """Loads of work items whose file had no completed_at column (their sla_met verdicts always count)."""
    rows = store.fetchall("SELECT load_id FROM loads WHERE table_name = 'work_items' "
                          "AND NOT list_contains(columns_present, 'completed_at')")
    return [r[0] for r in rows]


def _params(req: Request, as_of: dt.datetime) -> dict[str, Any]:
    p: dict[str, Any] = {"as_of": as_of, "answer_threshold_s": float(req.answer_threshold_s),
                         "short_abandon_s": float(req.short_abandon_s), "start": req.start, "end": req.end}
    return {**p, **_dimensions(req).params}


def _dimensions(req: Request) -> queries.Where:
    """The request's breakdown filters, bound as $w0, $w1, ... (the same names in the SQL and the parameters)."""
    return queries.Where("w").dimensions(req.where)


def _filtered(kpi: Kpi, req: Request, latest: bool = False, rollup: rollups.Rollup | None = None,
              prefix: str = "") -> str:
    where = _dimensions(req).sql
    view = (f"SELECT * FROM {qi(rollup.name)}" if rollup
            else (LATEST_VIEWS if latest else AS_OF_VIEWS)[kpi.table])
    return (f"{prefix}src AS NOT MATERIALIZED ({view}), "
            f"{prefix}f AS NOT MATERIALIZED (SELECT * FROM {prefix}src WHERE {where})")


def _periods(grain: str | None) -> str:
    """Periods of the range `rng(lo, hi)`, each with its exclusive end."""
    if grain is None:
        return "periods AS (SELECT CAST(lo AS DATE) AS period_start, CAST(hi AS TIMESTAMP) + INTERVAL 1 DAY AS next_start FROM rng)"
    step, unit = periods.sql_step(grain), periods.sql_unit(grain)
    return (f"periods AS (SELECT CAST(p AS DATE) AS period_start, CAST(p AS TIMESTAMP) + {step} AS next_start "
            f"FROM rng, unnest(generate_series(CAST(date_trunc('{unit}', lo) AS TIMESTAMP), "
            f"CAST(date_trunc('{unit}', hi) AS TIMESTAMP), {step})) AS g(p))")


def _row_end(grain: str | None, has_end: bool) -> str:
    """Exclusive upper bound on row times: the given end (capped at as-of), else the end of as-of's period.

    An item due after as-of but already judged (completed early) belongs to its due date's period, which may be
    the current one; an explicit end cuts exactly. (Which form applies is decided here, not per row.)
    """
    as_of_day = "CAST($as_of AS DATE)"
    if has_end:
        return f"CAST(least(CAST($end AS DATE), {as_of_day}) AS TIMESTAMP) + INTERVAL 1 DAY"
    if grain:
        return f"CAST(date_trunc('{periods.sql_unit(grain)}', {as_of_day}) AS TIMESTAMP) + {periods.sql_step(grain)}"
    return f"CAST({as_of_day} AS TIMESTAMP) + INTERVAL 1 DAY"


def compile_sql(kpi: Kpi, req: Request, latest: bool = False, rollup: rollups.Rollup | None = None,
                backlog: tuple[rollups.Rollup, rollups.Rollup] | None = None) -> str:
    """The SQL for a request (named parameters: $as_of, $start, $end, $w0.., thresholds).

    The rows (or, given one, the KPI's daily roll-up, only valid when `latest`) are scanned once into a small
    per-period aggregate; the range, the empty periods and the groups are worked out on that aggregate.
    A backlog may be given its two roll-ups (entries and exits per day), also only when `latest`.
    """
    dims = [qi(c) for c in req.by]
    dim_list = "".join(f", {d}" for d in dims)
    if kpi.kind == "backlog":
        return _backlog_sql(kpi, req, dims, latest, backlog)
    period, rows = ("_day", "true") if rollup else (kpi.period, kpi.rows or "true")
    # A roll-up row stands for `_c` rows.
    n_rows = "sum(_c)" if rollup else "count(*)"
    # Counts, ratios and means are summed per day first and the days rolled up into the asked periods
    # (exact, and twice as fast as truncating every row's time); quantiles need the rows themselves.
    two_level = kpi.kind != "quantile"
    if kpi.kind == "ratio" and kpi.sums:
        exprs = ("_num, _den" if rollup else f"coalesce(CAST({kpi.numerator} AS BIGINT), 0) AS _num, "
                 f"coalesce(CAST({kpi.denominator} AS BIGINT), 0) AS _den")
        day_aggs = "sum(_num) AS _num, sum(_den) AS _den"
        aggs = "sum(_num) AS numerator, sum(_den) AS denominator"
        out = "a.numerator, a.denominator, CAST(a.numerator AS DOUBLE) / nullif(a.denominator, 0) AS value"
    elif kpi.kind == "ratio":
        # Conditions are counted; an unknown one does not count (clean_submission unknown is not a clean claim).
        num, den = (rollup.numerator, rollup.denominator) if rollup else (kpi.numerator, kpi.denominator)
        exprs = f"({den}) AS _den, ({num}) AS _num"  # _num may build on _den
        if rollup:
            exprs += ", _c"
        day_aggs = (f"coalesce({n_rows} FILTER (WHERE _num), 0) AS _num, "
                    f"coalesce({n_rows} FILTER (WHERE _den), 0) AS _den")
        aggs = "sum(_num) AS numerator, sum(_den) AS denominator"
        out = "a.numerator, a.denominator, CAST(a.numerator AS DOUBLE) / nullif(a.denominator, 0) AS value"
    elif kpi.kind == "count":
        exprs = "_c" if rollup else "1 AS _one"
        day_aggs, aggs, out = f"{n_rows} AS _n", "sum(_n) AS value", "a.value"
    elif kpi.kind == "mean":
        exprs = f"CAST({kpi.value} AS DOUBLE) AS _v"
        day_aggs = "sum(_v) AS _sum, count(_v) AS _n"
        aggs, out = "sum(_n) AS n, sum(_sum) / nullif(sum(_n), 0) AS value", "a.n, a.value"
    else:  # quantile
        exprs = "CAST(_v AS DOUBLE) AS _v, _c" if rollup else f"CAST({kpi.value} AS DOUBLE) AS _v"
        day_aggs = ""
        aggs = f"count(_v) AS n, quantile_cont(_v, {float(kpi.quantile or 0.5)!r}) AS value"
        out = "a.n, a.value"
    t = "_day" if two_level or kpi.discrete else "_t"
    bucket = "TIMESTAMP '1970-01-01'" if req.grain is None else f"date_trunc('{periods.sql_unit(req.grain)}', {t})"
    first = f", min({t}) AS _first" if req.grain is None and req.start is None else ""
    lo = ("CAST(min(_first) AS DATE)" if first else "CAST(min(period_start) AS DATE)")
    on_period = "true" if req.grain is None else "CAST(a.period_start AS DATE) = p.period_start"
    start_cond = f" AND ({period}) >= CAST($start AS DATE)" if req.start is not None else ""
    join_dims = "".join(f" AND a.{d} IS NOT DISTINCT FROM g.{d}" for d in dims)
    # Range ends fall on midnights, so a roll-up's day is cut exactly as its rows' times would be.
    rows_sql = (f"SELECT {period} AS _t{dim_list}, {exprs} FROM f "
                f"WHERE ({period}) IS NOT NULL AND ({rows}){start_cond} "
                f"AND ({period}) < {_row_end(req.grain, req.end is not None)}")
    if two_level:
        base = (f"base AS (SELECT CAST(_t AS DATE) AS _day{dim_list}, {day_aggs} FROM ({rows_sql}) GROUP BY ALL),\n"
                f"agg AS (SELECT {bucket} AS period_start{dim_list}, {aggs}{first} FROM base GROUP BY ALL)")
    elif kpi.discrete:
        # Exact continuous quantile from a frequency table of (period, group, value): position q*(n-1), linear
        # between the order statistics either side, as quantile_cont does; few distinct values make it cheap.
        q = float(kpi.quantile or 0.5)
        part = ", ".join(["period_start", *dims])
        first_day = ", min(_day) AS _dfirst" if first else ""
        base = (f"base AS (SELECT CAST(_t AS DATE) AS _day{dim_list}, _v, {n_rows} AS _c FROM ({rows_sql}) "
                f"WHERE _v IS NOT NULL GROUP BY ALL),\n"
                f"freq AS (SELECT {bucket} AS period_start{dim_list}, _v, sum(_c) AS _c{first_day} "
                f"FROM base GROUP BY ALL),\n"
                f"cum AS (SELECT *, sum(_c) OVER (PARTITION BY {part} ORDER BY _v) AS _cum, "
                f"sum(_c) OVER (PARTITION BY {part}) AS _n FROM freq),\n"
                f"agg AS (SELECT period_start{dim_list}, any_value(_n) AS n, "
                f"min(_v) FILTER (WHERE _cum >= floor({q!r} * (_n - 1)) + 1) AS _lo, "
                f"min(_v) FILTER (WHERE _cum >= ceil({q!r} * (_n - 1)) + 1) AS _hi, "
                f"any_value({q!r} * (_n - 1)) AS _pos{', min(_dfirst) AS _first' if first else ''} FROM cum GROUP BY ALL)")
        out = "a.n, a._lo + (a._pos - floor(a._pos)) * (a._hi - a._lo) AS value"
    else:
        base = (f"base AS ({rows_sql}),\n"
                f"agg AS (SELECT {bucket} AS period_start{dim_list}, {aggs}{first} FROM base GROUP BY ALL)")
    return f"""
WITH {_filtered(kpi, req, latest, rollup)},
{base},
rng AS (SELECT {"CAST($start AS DATE)" if req.start is not None else lo} AS lo,
               least(coalesce(CAST($end AS DATE), CAST($as_of AS DATE)), CAST($as_of AS DATE)) AS hi
        {"" if req.start is not None else "FROM agg"}),
{_periods(req.grain)},
groups AS ({f"SELECT DISTINCT 1 AS _g{dim_list} FROM agg" if dims else "SELECT 1 AS _g"})
SELECT p.period_start{"".join(f", g.{d}" for d in dims)}, {out}
FROM periods p CROSS JOIN groups g LEFT JOIN agg a ON {on_period}{join_dims}
WHERE p.period_start IS NOT NULL
ORDER BY {"".join(f"g.{d} NULLS LAST, " for d in dims)}p.period_start"""


def _backlog_sql(kpi: Kpi, req: Request, dims: list[str], latest: bool = False,
                 rollup: tuple[rollups.Rollup, rollups.Rollup] | None = None) -> str:
    """Backlog at each period's end e: rows in by e minus rows out by e.

    Entries and exits are counted per day (every e is the last instant of a day, or as-of with later events
    left out), then summed up to each period's end through an ASOF join. A due time counts only once passed
    (due_at < e), so it enters a microsecond later; a row leaves on the later of its entry and exit days.
    A group appears once it has an entry by as-of; before its first entry its backlog is empty (null).
    Given the backlog's roll-ups (only when `latest`), the days before as-of's are read from them and as-of's
    own day from the rows: which of its entries and exits count depends on the time of day as-of falls at.
    """
    key = [f"coalesce(CAST({d} AS VARCHAR), '{NULL_KEY}') AS {d}" for d in dims]
    key_list = "".join(f", {k}" for k in key)
    dim_list = "".join(f", {d}" for d in dims)
    t_in, t_out = qi(kpi.backlog_in or ""), qi(kpi.backlog_out or "")
    enter, leave = rollups.backlog_times(kpi)
    # The contract says whether the backlog's events are dates (claims) or timestamps (work items).
    is_date = contract.TABLES[kpi.table].event_kind(kpi.backlog_in or "") == contract.ColType.DATE
    cut = "CAST($as_of AS DATE)" if is_date else "CAST($as_of AS TIMESTAMP)"
    in_ok = f"{t_in} {'<' if kpi.backlog_in == 'due_at' else '<='} {cut}"
    out_ok = f"{t_out} IS NOT NULL AND {t_out} <= {cut}"
    entered_today = left_today = ""
    if rollup:  # rows entering or leaving on as-of's day, on plain columns so the scan can skip earlier days
        day = "CAST($as_of AS DATE)" if is_date else "CAST(CAST($as_of AS DATE) AS TIMESTAMP)"
        day_in = f"{day} - INTERVAL 1 MICROSECOND" if kpi.backlog_in == "due_at" else day
        entered_today, left_today = f" AND {t_in} >= {day_in}", f" AND ({t_in} >= {day_in} OR {t_out} >= {day})"
        parts = [(p, f"SELECT _day{key_list}, {sign}sum(_c) AS _n FROM {p}f WHERE _day < CAST($as_of AS DATE) "
                     f"GROUP BY ALL UNION ALL ") for p, sign in (("in_", ""), ("out_", "-"))]
        sources = "".join(f", {_filtered(kpi, req, latest, r, p)}" for r, (p, _) in zip(rollup, parts))
        from_rollup = [sql for _, sql in parts]
    else:
        sources, from_rollup = "", ["", ""]
    asof = "".join(f"g.{d} = lv.{d} AND " for d in dims)
    return f"""
WITH {_filtered(kpi, req, latest)}{sources},
ins AS MATERIALIZED ({from_rollup[0]}SELECT CAST({enter} AS DATE) AS _day{key_list}, count(*) AS _n FROM f
        WHERE {in_ok}{entered_today} GROUP BY ALL),
daily AS (SELECT _day{dim_list}, sum(_n) AS _n FROM (
            SELECT * FROM ins
            UNION ALL
            {from_rollup[1]}SELECT CAST({leave} AS DATE) AS _day{key_list}, -count(*) AS _n FROM f
            WHERE {in_ok} AND {out_ok}{left_today} GROUP BY ALL) GROUP BY ALL),
lv AS (SELECT _day{dim_list}, sum(_n) OVER ({f"PARTITION BY {', '.join(dims)} " if dims else ""}ORDER BY _day) AS level
       FROM daily),
first_in AS (SELECT min(_day) AS first_day FROM ins),
rng AS (SELECT coalesce(CAST($start AS DATE), first_day) AS lo,
               least(coalesce(CAST($end AS DATE), CAST($as_of AS DATE)), CAST($as_of AS DATE)) AS hi FROM first_in),
{_periods(req.grain)},
ends AS (SELECT period_start, least(next_start - INTERVAL 1 MICROSECOND, CAST($as_of AS TIMESTAMP),
                                    CAST(rng.hi AS TIMESTAMP) + INTERVAL 1 DAY - INTERVAL 1 MICROSECOND) AS e
         FROM periods, rng),
groups AS (SELECT DISTINCT 1 AS _g{dim_list} FROM ins)
SELECT x.period_start{"".join(f", nullif(x.{d}, '{NULL_KEY}') AS {d}" for d in dims)}, CAST(x.level AS BIGINT) AS value FROM (
  SELECT p.period_start{"".join(f", g.{d}" for d in dims)}, lv.level
  FROM (SELECT period_start, CAST(e AS DATE) AS e_day FROM ends) p CROSS JOIN groups g
  ASOF LEFT JOIN lv ON {asof}p.e_day >= lv._day) x
WHERE x.period_start IS NOT NULL
ORDER BY {"".join(f"nullif(x.{d}, '{NULL_KEY}') NULLS LAST, " for d in dims)}x.period_start"""


def series(store: Store, kpi_id: str, *, grain: str | None = "month", by: Sequence[str] = (),
           where: Mapping[str, Sequence[str]] | None = None, start: dt.date | None = None,
           end: dt.date | None = None, as_of: dt.datetime | None = None, answer_threshold_s: float = catalog.ANSWER_THRESHOLD_S,
           short_abandon_s: float = catalog.SHORT_ABANDON_S) -> pd.DataFrame:
    """A KPI by period (and breakdown): period_start, the breakdown columns, [numerator, denominator | n], value.

    Every period of the range appears for every breakdown group; a period with no rows has a null value.
    """
    start, end, as_of = clamp_to_window(start, end, as_of)
    req = Request(kpi_id, grain, tuple(by), dict(where or {}), start, end, as_of, answer_threshold_s, short_abandon_s)
    kpi = validate(req)
    latest = default_as_of(store, kpi.table)
    cut = req.as_of or latest
    if cut is None:  # an empty table
        return pd.DataFrame(columns=columns(kpi, req.by))
    # At or after the latest event, the table as known at as-of is the table itself: skip blanking columns,
    # and read the KPI's daily roll-up when it has one.
    is_latest = latest is not None and cut >= latest
    rollup = rollups.for_kpi(kpi) if is_latest and USE_ROLLUPS else None
    backlog = rollups.for_backlog(kpi) if is_latest and USE_ROLLUPS else None
    held = rollups_in_store(store, rollup, *(backlog or ()))  # one look at the catalogue per call
    rollup = rollup if rollup is not None and rollup.name in held else None
    backlog = backlog if backlog and all(r.name in held for r in backlog) else None
    sql = compile_sql(kpi, req, latest=is_latest, rollup=rollup, backlog=backlog)
    all_params = _params(req, cut)
    if "$loads_without_completed_at" in sql:
        all_params["loads_without_completed_at"] = _loads_without_completed_at(store)
    params = {k: v for k, v in all_params.items() if f"${k}" in sql}
    df = store.query(sql, params)
    df["period_start"] = pd.to_datetime(df["period_start"]).dt.date
    for col in ("numerator", "denominator", "n") + (("value",) if kpi.kind in ("count", "backlog") else ()):
        if col in df:
            df[col] = df[col].astype("Int64")  # counts stay whole numbers; empty periods are <NA>
    return df[columns(kpi, req.by)]


def clamp_to_window(start: dt.date | None, end: dt.date | None,
                    as_of: dt.datetime | None) -> tuple[dt.date | None, dt.date | None, dt.datetime | None]:
    """A range and as-of asked for beyond the dates opsdash reports on, cut to them: no row lies outside,
    and periods of centuries (or of year 9999, which Python cannot follow) would only be empty."""
    lo, hi = catalog.READ_FROM, catalog.READ_TO
    last = dt.datetime.combine(hi, dt.time.max)
    if start is not None:
        start = min(max(start, lo), hi)
    if end is not None:
        end = min(max(end, lo), hi)
    if as_of is not None:
        as_of = min(max(as_of, dt.datetime.combine(lo, dt.time())), last)
    return start, end, as_of


def columns(kpi: Kpi, by: Sequence[str]) -> list[str]:
    extra = ["numerator", "denominator"] if kpi.kind == "ratio" else ["n"] if kpi.kind in ("quantile", "mean") else []
    return ["period_start", *by, *extra, "value"]


def total(store: Store, kpi_id: str, start: dt.date, end: dt.date, **kw: Any) -> float | None:
    """One value of a KPI over a date range (inclusive), e.g. a vendor's reported month."""
    df = series(store, kpi_id, grain=None, start=start, end=end, **kw)
    if df.empty or pd.isna(df["value"].iloc[0]):
        return None
    return float(df["value"].iloc[0])


def dimension_values(store: Store, table: str, column: str) -> list[str]:
    """The distinct values of a breakdown column (for messages and pickers)."""
    if column not in catalog.DIMENSIONS.get(table, ()):
        raise MetricsError(f"{column!r} is not a dimension of {table}")
    return queries.distinct_values(store.fetchall, [(table, column)])


def to_date(store: Store, kpi_id: str, *, grain: str = "month", as_of: dt.datetime | None = None,
            where: Mapping[str, Sequence[str]] | None = None, **kw: Any) -> dict[str, Any]:
    """This period to date against the same number of days of the previous period.

    E.g. on 26 November: 1-26 November against 1-26 October (a shorter previous month is taken whole).
    """
    kpi = catalog.get(kpi_id)
    cut = as_of or default_as_of(store, kpi.table)
    if cut is None:
        return {"current": None, "previous": None}
    today = cut.date()
    now = periods.window(periods.start_of(today, grain), grain, today)
    before = periods.like_for_like(now)
    start, prev_start, prev_end = now.start, before.start, before.through
    current = total(store, kpi_id, start, today, as_of=cut, where=where, **kw)
    # The previous days as they stood at the end of their last day: what was still open then counts as open.
    previous = total(store, kpi_id, prev_start, prev_end, as_of=periods.end_of_day(prev_end),
                     where=where, **kw)
    change = None if current is None or previous is None else current - previous
    return {"current": current, "current_range": (start, today), "previous": previous,
            "previous_range": (prev_start, prev_end), "change": change,
            "change_pct": (change / abs(previous)) if change is not None and previous else None}
