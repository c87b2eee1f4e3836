"""The KPI catalogue on Apache Spark, over an opsdash lake (opsdash.lake): the same declarations, the same numbers.

``series()`` answers what ``metrics.series`` answers - every KPI, grain, breakdown, filter and as-of rule - with
the rows scanned and aggregated by Spark. The catalogue's fragments are rendered for Spark by
``opsdash.spark.translate`` (a closed table; anything else fails loudly) and the query around them follows
metrics.compile_sql step by step:

- the table as known at as-of: rows that arrived by then, later events and what they carry blanked, rows outside
  the reported dates left out (metrics.as_of_view);
- a row's period from the KPI's period time, cut at the range's start and at the end of as-of's period (or the
  range's end);
- counts, ratios (conditions counted, or amounts summed) and means aggregated per period and group; quantiles
  exact (Spark's ``percentile``, linear between order statistics as DuckDB's ``quantile_cont``; no approximate
  percentile stands in); a backlog from entries and exits per day;
- weeks start on ISO Mondays (``date_trunc('WEEK', …)`` on both engines).

Spark returns one row per period and group that has rows (per day and group, for a backlog): a few thousand
at most. The driver lays them on the calendar as metrics does in SQL: every period of the range for every group,
an empty period with no value, a backlog's level carried to each period's end.
"""

from __future__ import annotations

import bisect
import datetime as dt
import itertools
import math
import os
import warnings
from collections.abc import Mapping, Sequence
from decimal import ROUND_FLOOR, Decimal
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from opsdash import catalog, contract, lake, metrics, periods, rollups
from opsdash.catalog import Kpi
from opsdash.spark.translate import Renderer, TranslationError, string

#: The Spark master a session starts with unless one is given (a cluster's URL, or local[N] for N cores).
MASTER_ENV = "OPSDASH_SPARK_MASTER"
_SPARK_TYPES = {contract.ColType.TEXT: "STRING", contract.ColType.DATE: "DATE",
                contract.ColType.TIMESTAMP: "TIMESTAMP_NTZ", contract.ColType.BOOL: "BOOLEAN",
                contract.ColType.INT: "BIGINT", contract.ColType.NUMBER: "DOUBLE"}
_LINEAGE_TYPES = {"BIGINT": "BIGINT"}
_views = itertools.count()


class SparkUnavailable(RuntimeError):
    """pyspark or a Java runtime is missing: what to install."""


def session(master: str | None = None, app: str = "opsdash") -> Any:
    """A Spark session for opsdash: the one already running in this process (spark-submit's, a notebook's) or a
    new one on `master` (default $OPSDASH_SPARK_MASTER, else local[*]). Times are read as they are written
    (UTC session time zone, zone-less TIMESTAMP_NTZ columns) and partition values stay text."""
    # pyspark warns that it does not fully support pandas 3 at import; opsdash never hands it a pandas frame (the
    # aggregates come back as rows), so the warning says nothing about these numbers.
    warnings.filterwarnings("ignore", message="PySpark does not yet fully support pandas", category=FutureWarning)
    try:
        from pyspark.sql import SparkSession
    except ImportError as exc:
        raise SparkUnavailable("the Spark engine needs pyspark: pip install 'opsdash[spark]' (and a Java 17+ "
                               "runtime, e.g. Debian's default-jre-headless)") from exc
    builder = SparkSession.builder.appName(app)
    # spark-submit starts Python with a gateway to its own JVM, whose --master and --conf hold; so does a session
    # already running in this process.
    submitted = bool(os.environ.get("PYSPARK_GATEWAY_PORT"))
    if SparkSession.getActiveSession() is None and not submitted:
        master = master or os.environ.get(MASTER_ENV) or "local[*]"
        builder = builder.master(master)
        if master.startswith("local"):
            # One machine: the driver, its block manager and no web UI listen on loopback only.
            os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
            builder = (builder.config("spark.driver.bindAddress", "127.0.0.1")
                       .config("spark.driver.host", "127.0.0.1").config("spark.ui.enabled", "false"))
    try:
        spark = (builder.config("spark.sql.session.timeZone", "UTC")
                 .config("spark.sql.sources.partitionColumnTypeInference.enabled", "false")
                 .config("spark.sql.parquet.mergeSchema", "true")
                 .config("spark.ui.showConsoleProgress", "false")
                 .getOrCreate())
    except Exception as exc:  # the JVM did not start: say what to install
        if "JAVA_HOME" in str(exc) or "Java gateway" in str(exc) or "java" in str(exc).lower():
            raise SparkUnavailable(f"Spark could not start ({str(exc).splitlines()[0]}): it needs a Java 17+ "
                                   "runtime, e.g. Debian's default-jre-headless") from exc
        raise
    # Settings the lake's meaning depends on, also on a session that was already running.
    spark.conf.set("spark.sql.session.timeZone", "UTC")
    spark.conf.set("spark.sql.sources.partitionColumnTypeInference.enabled", "false")
    return spark


def _literal(value: Any) -> str:
    """A Python value as a typed Spark literal (only opsdash's own values: times, dates, numbers)."""
    if value is None:
        return "NULL"
    if isinstance(value, dt.datetime):
        return f"TIMESTAMP_NTZ '{value:%Y-%m-%d %H:%M:%S.%f}'"
    if isinstance(value, dt.date):
        return f"DATE '{value:%Y-%m-%d}'"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return f"CAST('{value!r}' AS DOUBLE)"
    raise TypeError(f"no Spark literal for {type(value).__name__}")


class Lake:
    """One tenant of an opsdash lake, read by Spark: each contract table as a view with every contract column
    (a column no file of the tenant has is there, empty), the lineage columns, and its vendor."""

    def __init__(self, spark: Any, path: str | os.PathLike[str], tenant: str | None = None,
                 every_tenant: bool = False) -> None:
        """One tenant's tables; with `every_tenant`, every tenant's at once, each row with its `tenant` (for the
        portfolio job, opsdash.spark.portfolio, which never shows a tenant another's rows)."""
        self.spark = spark
        self.every_tenant = every_tenant
        # A local or mounted directory, or a URI Spark reads through Hadoop (hdfs://, s3a://, abfss://, gs://).
        self.uri = str(path).rstrip("/")
        self.remote = "://" in self.uri or self.uri.startswith("hdfs:")
        self.path = Path(self.uri) if not self.remote else None
        if self.path is not None and not every_tenant:
            known = lake.tenants(self.path)
            if tenant is None:
                if len(known) != 1:
                    raise lake.LakeError(f"{self.uri}: name a tenant; the lake holds "
                                         f"{', '.join(known) if known else 'none (run opsdash lake export first)'}")
                tenant = known[0]
            if tenant not in known:
                raise lake.LakeError(f"{self.uri}: no tenant {tenant!r}; the lake holds {', '.join(known) or 'none'}")
        elif tenant is None and not every_tenant:
            raise lake.LakeError(f"{self.uri}: name the tenant to read (--tenant)")
        self.tenant = "" if every_tenant else lake.check_tenant(tenant or "")
        self.views: dict[str, str] = {}
        n = next(_views)
        self.views["loads"] = f"opsdash_{n}_loads"
        loads = self._read(self._under(lake.LOADS), f"{self.uri}/{lake.LOADS}")
        if loads is None:
            raise lake.LakeError(f"{self.uri}: no tenant {tenant!r} (no {lake.LOADS}/tenant={tenant})")
        loads.createOrReplaceTempView(self.views["loads"])
        for table in lake.TABLES:
            self.views[table] = f"opsdash_{n}_{table}"
            self._register(table, self.views[table])
        self._latest: dict[tuple[str, tuple[str, ...]], dt.datetime | None] = {}

    def _under(self, table: str) -> str:
        """Where the tenant's files of `table` are (every tenant's, for the portfolio)."""
        return f"{self.uri}/{table}" + ("" if self.every_tenant else f"/tenant={self.tenant}")

    def _read(self, where: str, base: str) -> Any:
        """The Parquet files under `where` (partition columns from `base` down), or None when there are none."""
        if not self.remote and not Path(where).exists():
            return None
        try:
            return self.spark.read.option("basePath", base).option("mergeSchema", "true").parquet(where)
        except Exception as exc:  # a remote path that does not exist
            if "PATH_NOT_FOUND" in str(exc) or "does not exist" in str(exc):
                return None
            raise

    def _register(self, table: str, name: str) -> None:
        spec = contract.TABLES[table]
        wanted = [(c.name, _SPARK_TYPES[c.type]) for c in spec.columns] + list(contract.LINEAGE_COLUMNS)
        if self.every_tenant:
            wanted.append(("tenant", "STRING"))
        df = self._read(self._under(table), f"{self.uri}/{table}")
        have = set(df.columns) if df is not None else set()
        if df is None:  # the tenant has no row of this table: an empty view of the same shape
            df = self.spark.range(0)
        cols = [f"`{c}`" if c in have else f"CAST(NULL AS {t}) AS `{c}`" for c, t in wanted]
        df.selectExpr(*cols).createOrReplaceTempView(name)

    # -- what metrics asks a store -------------------------------------------------------------------
    def latest(self, table: str, vendors: Sequence[str] = ()) -> dt.datetime | None:
        """The latest event time in the table (of `vendors`), inside the reported dates (metrics._latest)."""
        key = (table, tuple(sorted(vendors)))
        if key not in self._latest:
            cond = self.in_window(table)
            args: dict[str, Any] = {}
            if vendors:
                cond += f" AND `vendor` IN ({', '.join(_bind(args, 'v', v) for v in vendors)})"
            row = self._sql(f"SELECT {latest_event(table)} FROM {self.views[table]} WHERE {cond}", args).collect()
            self._latest[key] = row[0][0] if row else None
        return self._latest[key]

    def in_window(self, table: str) -> str:
        """Spark SQL: the row's dates and times are inside the reported dates (catalog.in_window)."""
        return self._renderer(table, {})(catalog.in_window(table))

    def data_cut(self, tables: Sequence[str], vendors: Sequence[str] = (), end: dt.date | None = None
                 ) -> dt.date | None:
        """metrics.data_cut, on the lake."""
        days = [t.date() for t in (self.latest(table, vendors) for table in tables) if t is not None]
        cut = max(days, default=None)
        return None if cut is None else min(cut, end) if end else cut

    def dimension_values(self, table: str, column: str) -> list[str]:
        if column not in catalog.DIMENSIONS.get(table, ()):
            raise metrics.MetricsError(f"{column!r} is not a dimension of {table}")
        rows = self._sql(f"SELECT DISTINCT CAST(`{column}` AS STRING) FROM {self.views[table]} "
                         f"WHERE `{column}` IS NOT NULL", {}).collect()
        return sorted(r[0] for r in rows)

    def loads_without_completed_at(self) -> str:
        """Spark SQL: the array of loads of work items whose file had no completed_at column (their sla_met
        verdicts always count). Load ids are a store's own, so across tenants a load is 'tenant:id'."""
        key = "concat(tenant, ':', CAST(load_id AS STRING))" if self.every_tenant else "load_id"
        rows = self._sql(f"SELECT {key} FROM {self.views['loads']} WHERE table_name = 'work_items' "
                         "AND NOT array_contains(columns_present, 'completed_at')", {}).collect()
        if not rows:
            return f"CAST(array() AS ARRAY<{'STRING' if self.every_tenant else 'BIGINT'}>)"
        items = sorted(r[0] for r in rows)
        return f"array({', '.join(string(i) if self.every_tenant else str(int(i)) for i in items)})"

    def _renderer(self, table: str, params: Mapping[str, str], aliases: Mapping[str, str] | None = None) -> Renderer:
        names = {*contract.TABLES[table].column_names, *(n for n, _ in contract.LINEAGE_COLUMNS)}
        if self.every_tenant:  # a row's load, told apart from another tenant's load of the same number
            aliases = {"_load_id": "concat(`tenant`, ':', CAST(`_load_id` AS STRING))", **(aliases or {})}
        return Renderer(names, params, aliases)

    def _sql(self, sql: str, args: Mapping[str, Any]) -> Any:
        return self.spark.sql(sql, args=dict(args)) if args else self.spark.sql(sql)


def latest_event(table: str) -> str:
    """Spark SQL aggregate: the latest event time of the rows (never a due time), as metrics._latest takes it."""
    cols = [f"max(CAST(`{c}` AS TIMESTAMP_NTZ))" for c in catalog.EVENT_TIMES[table]]
    return f"greatest({', '.join(cols)})" if len(cols) > 1 else cols[0]


def _bind(args: dict[str, Any], prefix: str, value: Any) -> str:
    name = f"{prefix}{len(args)}"
    args[name] = value
    return f":{name}"


def _source(lk: Lake, kpi: Kpi, r: Renderer, latest: bool) -> str:
    """The KPI's table as known at as-of (metrics.as_of_view), or as it stands when as-of is at or after its latest
    event (metrics.LATEST_VIEWS)."""
    table = contract.TABLES[kpi.table]
    window = r(catalog.in_window(kpi.table))
    if latest:
        return f"SELECT * FROM {lk.views[kpi.table]} WHERE {window}"
    arrival, *later = table.events
    blanked = {c: e.column for e in later for c in (e.column, *e.carries)}
    cols = [f"CASE WHEN {r(metrics._known(table, blanked[c]))} THEN `{c}` END AS `{c}`" if c in blanked else f"`{c}`"
            for c in (*table.column_names, *(n for n, _ in contract.LINEAGE_COLUMNS))]
    return (f"SELECT {', '.join(cols)} FROM {lk.views[kpi.table]} "
            f"WHERE {r(metrics._known(table, arrival.column))} AND {window}")


def _filtered(lk: Lake, kpi: Kpi, req: metrics.Request, r: Renderer, latest: bool, args: dict[str, Any]) -> str:
    conds = [f"CAST(`{col}` AS STRING) IN ({', '.join(_bind(args, 'w', str(v)) for v in values)})" if values
             else "false" for col, values in req.where.items()]  # no value asked for: no row, as in metrics
    return f"SELECT * FROM ({_source(lk, kpi, r, latest)}) src WHERE {' AND '.join(conds) or 'true'}"


def _row_end(req: metrics.Request, as_of: dt.datetime) -> dt.datetime:
    """metrics._row_end, worked out here: the exclusive upper bound on row times."""
    day = as_of.date()
    if req.end is not None:
        return dt.datetime.combine(min(req.end, day) + dt.timedelta(days=1), dt.time())
    if req.grain:
        return dt.datetime.combine(periods.shift(periods.start_of(day, req.grain), req.grain, 1), dt.time())
    return dt.datetime.combine(day + dt.timedelta(days=1), dt.time())


def compile_aggregate(lk: Lake, kpi: Kpi, req: metrics.Request, as_of: dt.datetime, latest: bool,
                      args: dict[str, Any]) -> str:
    """Spark SQL: one row per period and group with rows (period_start, the groups, the KPI's aggregates, and
    _first, the first day with rows)."""
    params = _params(lk, req, as_of)
    r = lk._renderer(kpi.table, params)
    dims = "".join(f", `{c}`" for c in req.by)
    period, rows = r(kpi.period), r(kpi.rows or "true")
    if kpi.kind == "ratio" and kpi.sums:
        exprs = (f"coalesce(CAST(bround({r(kpi.numerator or '')}) AS BIGINT), 0) AS _num, "
                 f"coalesce(CAST(bround({r(kpi.denominator or '')}) AS BIGINT), 0) AS _den")
        aggs = "sum(_num) AS numerator, sum(_den) AS denominator"
    elif kpi.kind == "ratio":
        den = r(kpi.denominator or "")
        num = lk._renderer(kpi.table, params, {"_den": den})(kpi.numerator or "")
        exprs = f"{den} AS _den, {num} AS _num"
        aggs = "count(*) FILTER (WHERE _num) AS numerator, count(*) FILTER (WHERE _den) AS denominator"
    elif kpi.kind == "count":
        exprs, aggs = "1 AS _one", "count(*) AS value"
    elif kpi.kind == "mean":
        exprs, aggs = f"CAST({r(kpi.value or '')} AS DOUBLE) AS _v", "count(_v) AS n, sum(_v) AS _sum"
    elif kpi.kind == "quantile":
        exprs = f"CAST({r(kpi.value or '')} AS DOUBLE) AS _v"
        aggs = "count(_v) AS n"
    else:
        raise TranslationError(f"{kpi.id}: no Spark aggregate for a KPI of kind {kpi.kind!r}")
    bucket = ("DATE '1970-01-01'" if req.grain is None
              else f"CAST(date_trunc('{periods.sql_unit(req.grain).upper()}', _t) AS DATE)")
    start = f" AND ({period}) >= {_literal(req.start)}" if req.start is not None else ""
    # A discrete quantile's frequency table (metrics) holds only rows with a value: so here.
    valued = " AND _v IS NOT NULL" if kpi.kind == "quantile" and kpi.discrete else ""
    inner = (f"SELECT {period} AS _t{dims}, {exprs} FROM ({_filtered(lk, kpi, req, r, latest, args)}) f "
             f"WHERE ({period}) IS NOT NULL AND ({rows}){start} AND ({period}) < {_literal(_row_end(req, as_of))}")
    plain = (f"SELECT {bucket} AS period_start{dims}, {aggs}, min(CAST(_t AS DATE)) AS _first "
             f"FROM ({inner}) x WHERE true{valued} GROUP BY ALL")
    if kpi.kind != "quantile":
        return plain
    # The exact quantile: the two order statistics either side of position q*(n-1), found by rank; the driver
    # interpolates between them with DuckDB's own arithmetic (lo + (pos - floor(pos)) * (hi - lo)), so the value
    # is the same double, not one a different formula rounds otherwise (Spark's percentile does).
    q = quantile_literal(kpi)
    part = ", ".join(["period_start", *(f"`{c}`" for c in req.by)])
    # One pass over the rows: n and _first (as in `plain`) come from the ranked rows themselves, nulls ranked last.
    return f"""
WITH x AS (SELECT {bucket} AS period_start{dims}, _t, _v FROM ({inner}) i WHERE true{valued}),
ranked AS (SELECT {part}, _t, _v, row_number() OVER (PARTITION BY {part} ORDER BY _v ASC NULLS LAST) AS _r,
                  count(_v) OVER (PARTITION BY {part}) AS _k FROM x)
SELECT {part}, count(_v) AS n, min(CAST(_t AS DATE)) AS _first,
       min(_v) FILTER (WHERE _r = floor({q} * (_k - 1)) + 1) AS _lo,
       min(_v) FILTER (WHERE _r = ceil({q} * (_k - 1)) + 1) AS _hi
FROM ranked GROUP BY {part}"""


def quantile_literal(kpi: Kpi) -> str:
    """The KPI's quantile as DuckDB computes its position with it: a DECIMAL in metrics' frequency-table path for
    whole-day values (the SQL literal 0.9), a DOUBLE inside quantile_cont."""
    q = float(kpi.quantile or 0.5)
    return f"{q!r}BD" if kpi.discrete else _literal(q)


def interpolate(kpi: Kpi, lo: float, hi: float, n: int) -> float:
    """The quantile between the order statistics either side of its position q*(n-1): lo + (position -
    floor(position)) * (hi - lo). For a discrete KPI the position is a DECIMAL, as in metrics' SQL, and the value
    is the same double DuckDB gives. Otherwise the position is a DOUBLE, as in DuckDB's quantile_cont, whose own
    rounding is not reproduced bit for bit: the values agree within a few units in the last place."""
    q = float(kpi.quantile or 0.5)
    if kpi.discrete:
        pos = Decimal(repr(q)) * (n - 1)
        frac = float(pos - pos.to_integral_value(rounding=ROUND_FLOOR))
    else:
        x = (n - 1) * q
        frac = x - math.floor(x)
    return lo + frac * (hi - lo)


def compile_backlog(lk: Lake, kpi: Kpi, req: metrics.Request, as_of: dt.datetime, latest: bool,
                    args: dict[str, Any]) -> str:
    """Spark SQL: a backlog's entries (positive) and exits (negative) per day and group (metrics._backlog_sql)."""
    r = lk._renderer(kpi.table, _params(lk, req, as_of))
    dims = "".join(f", `{c}`" for c in req.by)
    t_in, t_out = f"`{kpi.backlog_in}`", f"`{kpi.backlog_out}`"
    enter, leave = (r(x) for x in rollups.backlog_times(kpi))
    is_date = contract.TABLES[kpi.table].event_kind(kpi.backlog_in or "") == contract.ColType.DATE
    cut = _literal(as_of.date()) if is_date else _literal(as_of)
    in_ok = f"{t_in} {'<' if kpi.backlog_in == 'due_at' else '<='} {cut}"
    out_ok = f"{t_out} IS NOT NULL AND {t_out} <= {cut}"
    f = _filtered(lk, kpi, req, r, latest, args)
    # One scan of the rows: each gives an entry, and an exit when it has left by the cut (`_keep`).
    return (f"SELECT _day{dims}, sum(_d) AS _n, _in FROM ("
            f"SELECT {dims.lstrip(', ')}{', ' if dims else ''}"
            f"stack(2, CAST({enter} AS DATE), 1, true, true, CAST({leave} AS DATE), -1, false, {out_ok}) "
            f"AS (_day, _d, _in, _keep) FROM ({f}) f WHERE {in_ok}) e WHERE _keep GROUP BY ALL")


def _params(lk: Lake, req: metrics.Request, as_of: dt.datetime) -> dict[str, str]:
    p = {"as_of": _literal(as_of), "answer_threshold_s": _literal(float(req.answer_threshold_s)),
         "short_abandon_s": _literal(float(req.short_abandon_s))}
    kpi = catalog.KPIS[req.kpi]
    if any("$loads_without_completed_at" in (x or "") for x in (kpi.numerator, kpi.denominator, kpi.rows)):
        p["loads_without_completed_at"] = lk.loads_without_completed_at()
    return p


def _calendar(req: metrics.Request, lo: dt.date | None, as_of: dt.datetime) -> list[dt.date]:
    """The periods of the range (metrics._periods): from lo's period to hi's, hi being the range's end capped at
    as-of's day."""
    if lo is None:
        return []
    hi = min(req.end or as_of.date(), as_of.date())
    if req.grain is None:
        return [lo]
    out, p = [], periods.start_of(lo, req.grain)
    last = periods.start_of(hi, req.grain)
    while p <= last:
        out.append(p)
        p = periods.shift(p, req.grain, 1)
    return out


def series(lk: Lake, kpi_id: str, *, grain: str | None = "month", by: Sequence[str] = (),
           where: Mapping[str, Sequence[str]] | None = None, start: dt.date | None = None,
           end: dt.date | None = None, as_of: dt.datetime | None = None,
           answer_threshold_s: float = catalog.ANSWER_THRESHOLD_S,
           short_abandon_s: float = catalog.SHORT_ABANDON_S) -> pd.DataFrame:
    """metrics.series on Spark: the same columns, periods, groups and values for the same data."""
    start, end, as_of = metrics.clamp_to_window(start, end, as_of)
    req = metrics.Request(kpi_id, grain, tuple(by), dict(where or {}), start, end, as_of, answer_threshold_s,
                          short_abandon_s)
    kpi = metrics.validate(req)
    latest = lk.latest(kpi.table)
    cut = req.as_of or latest
    cols = metrics.columns(kpi, req.by)
    if cut is None:
        return pd.DataFrame(columns=cols)
    is_latest = latest is not None and cut >= latest
    args: dict[str, Any] = {}
    if kpi.kind == "backlog":
        rows = lk._sql(compile_backlog(lk, kpi, req, cut, is_latest, args), args).collect()
        df = _backlog_frame(kpi, req, rows, cut)
    else:
        rows = lk._sql(compile_aggregate(lk, kpi, req, cut, is_latest, args), args).collect()
        df = _aggregate_frame(kpi, req, rows, cut)
    for col in ("numerator", "denominator", "n") + (("value",) if kpi.kind in ("count", "backlog") else ()):
        if col in df:
            df[col] = df[col].astype("Int64")
    if "value" in df and kpi.kind not in ("count", "backlog"):
        df["value"] = df["value"].astype("float64")
    if len(df):  # text as DuckDB hands it to pandas: a string column, an empty value NaN
        for col in req.by:
            df[col] = df[col].astype(pd.StringDtype(na_value=np.nan))
    return df[cols].reset_index(drop=True)


def _grid(req: metrics.Request, calendar: list[dt.date], groups: list[tuple[Any, ...]]) -> pd.DataFrame:
    rows = [(p, *g) for g in groups for p in calendar]
    grid = pd.DataFrame(rows, columns=["period_start", *req.by], dtype=object)
    if req.by:  # metrics orders by the groups (nulls last), then the period
        grid = grid.sort_values([*req.by, "period_start"], na_position="last", kind="stable")
    return grid.reset_index(drop=True)


def _aggregate_frame(kpi: Kpi, req: metrics.Request, rows: list[Any], as_of: dt.datetime) -> pd.DataFrame:
    found = pd.DataFrame([r.asDict() for r in rows], columns=["period_start", *req.by, "numerator", "denominator",
                                                              "n", "value", "_sum", "_first", "_lo", "_hi"])
    lo = req.start or (min(found["_first"]) if len(found) else None)
    groups = sorted({tuple(r[c] for c in req.by) for r in rows}, key=_null_last) if req.by else [()]
    grid = _grid(req, _calendar(req, lo, as_of), groups)
    found["period_start"] = (req.start or lo) if req.grain is None and len(found) else found["period_start"]
    if kpi.kind == "quantile":
        found["value"] = [None if lo is None or hi is None or not n else interpolate(kpi, lo, hi, int(n))
                          for lo, hi, n in zip(found["_lo"], found["_hi"], found["n"])]
    elif kpi.kind == "mean":
        found["value"] = [s / n if n else None for s, n in zip(found["_sum"], found["n"])]
    elif kpi.kind == "ratio":
        found["value"] = [num / den if den else None for num, den in zip(found["numerator"], found["denominator"])]
    keys = ["period_start", *req.by]
    out = (grid.merge(found.drop(columns=["_sum", "_first", "_lo", "_hi"]), on=keys, how="left") if len(grid)
           else grid)
    for c in ("numerator", "denominator", "n", "value"):
        if c not in out:
            out[c] = pd.Series(dtype="float64")
    return out


def _null_last(key: tuple[Any, ...]) -> tuple[Any, ...]:
    return tuple((v is None, "" if v is None else v) for v in key)


def _backlog_frame(kpi: Kpi, req: metrics.Request, rows: list[Any], as_of: dt.datetime) -> pd.DataFrame:
    daily = pd.DataFrame([r.asDict() for r in rows], columns=["_day", *req.by, "_n", "_in"])
    entries = daily[daily["_in"]]
    lo = req.start or (min(entries["_day"]) if len(entries) else None)
    groups = sorted({tuple(r[c] for c in req.by) for r in rows if r["_in"]}, key=_null_last)
    calendar = _calendar(req, lo, as_of)
    grid = _grid(req, calendar, groups)
    if not len(grid):
        return grid.assign(value=pd.Series(dtype="Int64"))
    hi = min(req.end or as_of.date(), as_of.date())
    last_instant = dt.timedelta(microseconds=1)
    ends = {}
    for p in calendar:  # each period's end: its last instant, as-of, or the range's end, whichever comes first
        nxt = dt.datetime.combine(periods.shift(p, req.grain, 1) if req.grain else hi + dt.timedelta(days=1),
                                  dt.time())
        ends[p] = min(nxt - last_instant, as_of, dt.datetime.combine(hi + dt.timedelta(days=1), dt.time())
                      - last_instant).date()
    levels: dict[tuple[Any, ...], tuple[list[dt.date], list[int]]] = {}
    for key, part in (daily.groupby(list(req.by), dropna=False, sort=False) if req.by else [((), daily)]):
        key = key if isinstance(key, tuple) else (key,)
        key = tuple(None if pd.isna(v) else v for v in key)
        per_day = part.groupby("_day")["_n"].sum().sort_index()
        levels[key] = (list(per_day.index), list(per_day.cumsum()))
    values = []
    for rec in grid.itertuples(index=False):
        key = tuple(getattr(rec, c) for c in req.by) if req.by else ()
        key = tuple(None if v is None or (isinstance(v, float) and v != v) else v for v in key)
        e_day = ends[rec.period_start]
        days, running = levels.get(key, ([], []))
        at = bisect.bisect_right(days, e_day)  # the last level on or before the period's end (an ASOF join)
        values.append(int(running[at - 1]) if at else None)
    return grid.assign(value=values)
