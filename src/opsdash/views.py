"""What each page shows, as frames and plain values: pages lay them out, this module computes them.

No Streamlit here. Every number comes from ``metrics.series`` (the catalogue), SPC from ``spc``, trends from
``trends``; a page never computes a KPI.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
import pandas as pd

from opsdash import catalog, metrics, periods, spc, trends
from opsdash.store import Store
from opsdash.store import quote_ident as qi

#: Headline KPIs of the overview, in reading order: money first, then quality, service and access.
HEADLINE = ("clean_claim_rate", "initial_denial_rate", "claim_turnaround_days", "unbilled_backlog",
            "accuracy_rate", "sla_adherence", "service_level", "abandonment_rate")
#: Data older than this (latest event against today) is flagged as stale.
STALE_AFTER_DAYS = 7
#: Rank of a signal in "what changed": concerns first.
SIGNAL_ORDER = {"concern": 0, "neutral": 1, "improvement": 2}


@dataclass(frozen=True)
class Filters:
    """The sidebar's filters. Dimensions apply to the tables that have them (calls have no facility)."""

    start: dt.date | None = None
    end: dt.date | None = None
    grain: str = "month"
    vendors: tuple[str, ...] = ()
    facilities: tuple[str, ...] = ()
    extra: tuple[tuple[str, tuple[str, ...]], ...] = field(default=())  # (column, values) of the page's own

    def where(self, table: str) -> dict[str, list[str]]:
        dims = catalog.DIMENSIONS.get(table, ())
        out: dict[str, list[str]] = {}
        for col, vals in (("vendor", self.vendors), ("facility", self.facilities), *self.extra):
            if vals and col in dims:
                out[col] = list(vals)
        return out

    def as_dict(self) -> dict[str, Any]:
        """For download headers and file names."""
        d: dict[str, Any] = {"from": self.start, "to": self.end, "grain": self.grain,
                             "vendor": list(self.vendors), "facility": list(self.facilities)}
        d.update({c: list(v) for c, v in self.extra})
        return d

    def with_extra(self, **dims: tuple[str, ...] | list[str]) -> Filters:
        extra = dict(self.extra)
        extra.update({k: tuple(v) for k, v in dims.items()})
        return Filters(self.start, self.end, self.grain, self.vendors, self.facilities,
                       tuple((k, v) for k, v in extra.items() if v))


def series(store: Store, kpi_id: str, f: Filters, by: tuple[str, ...] = (), grain: str | None = "",
           **kw: Any) -> pd.DataFrame:
    """The KPI under the filters (grain "" means the filters' grain; None the whole range)."""
    kpi = catalog.get(kpi_id)
    by = tuple(b for b in by if b in catalog.DIMENSIONS[kpi.table])
    return metrics.series(store, kpi_id, grain=f.grain if grain == "" else grain, by=by, where=f.where(kpi.table),
                          start=f.start, end=f.end, **kw)


def period_end(start: dt.date, grain: str) -> dt.date:
    """The last day of the period of `grain` starting on `start`."""
    return periods.end(start, grain)


# -- overview -----------------------------------------------------------------------------------

#: A tile's status against the target in force, in reading order.
STATUSES = ("on_target", "off_target", "no_target")


def status(value: float | None, target: float | None, direction: str) -> str:
    """On target when the value meets the target the way the KPI is better (>= when higher is better, <= when
    lower); no target when there is none, no value, or the KPI has no better direction."""
    if value is None or target is None or direction not in ("higher", "lower") or pd.isna(value) or pd.isna(target):
        return "no_target"
    met = value >= target if direction == "higher" else value <= target
    return "on_target" if met else "off_target"


def target_words(kpi: catalog.Kpi, target: float | None) -> str:
    """'target ≤ 5.0%' (lower is better), 'target ≥ 95.0%' (higher), 'target not set' (not the status's own
    words: a tile shows exactly one of On target / Off target / No target)."""
    if target is None or pd.isna(target):
        return "target not set"
    sign = {"higher": "≥ ", "lower": "≤ "}.get(kpi.direction, "")
    return f"target {sign}{catalog.format_value(kpi, target)}"


@dataclass
class ToDate:
    """The current period so far, against the same days of the previous period (never the whole of it)."""

    window: periods.Window
    value: float | None
    previous_window: periods.Window
    previous: float | None

    @property
    def change(self) -> float | None:
        return None if self.value is None or self.previous is None else self.value - self.previous


@dataclass
class Tile:
    """A headline KPI at the latest complete period (`period`), with its status against the target in force
    then, its change on the period before, the SPC reading of the complete periods, and the current period
    to date (`current`) when it runs past the latest complete one."""

    kpi: catalog.Kpi
    period: dt.date | None
    value: float | None
    previous: float | None
    year_ago: float | None
    target: float | None
    variation: str | None
    assurance: str | None
    words: str
    spark: list[float]
    window: periods.Window | None = None
    target_source: str = ""
    current: ToDate | None = None

    @property
    def status(self) -> str:
        return status(self.value, self.target, self.kpi.direction)

    @property
    def has_data(self) -> bool:
        return self.value is not None or (self.current is not None and self.current.value is not None)

    @property
    def previous_period(self) -> dt.date | None:
        return periods.previous(self.period, self.window.grain) if self.period and self.window else None

    @property
    def change(self) -> float | None:
        return None if self.value is None or self.previous is None else self.value - self.previous

    @property
    def change_vs_year_ago(self) -> float | None:
        return None if self.value is None or self.year_ago is None else self.value - self.year_ago


def _f(v: Any) -> float | None:
    return None if v is None or pd.isna(v) else float(v)


def target_for(store: Store, kpi_id: str, f: Filters) -> tuple[float | None, str]:
    """The target to draw: for one vendor, its contract's level for the KPI (not restricted to a process or
    priority) in force at the range's end or today; otherwise the catalogue's default. With where it comes from."""
    from opsdash import sla

    kpi = catalog.get(kpi_id)
    if len(f.vendors) == 1:
        targets = sla.targets_for(store, f.vendors[0])
        own = targets[(targets["kpi"] == kpi_id) & targets["process"].isna() & targets["priority"].isna()]
        when = f.end or dt.date.today()
        live = sla.applicable(own, when, when)
        if not live.empty:
            return float(live.iloc[0]["target"]), f"{f.vendors[0]}'s contract ({live.iloc[0]['level']} level)"
    return kpi.target, kpi.target_source


def data_cut(store: Store, kpi_id: str, f: Filters) -> dt.date | None:
    """The last day the KPI's figures can cover under the filters: the latest event in its table, or the
    range's end when earlier. None when the table is empty."""
    latest = metrics.default_as_of(store, catalog.get(kpi_id).table)
    if latest is None:
        return None
    return min(latest.date(), f.end) if f.end else latest.date()


def value_over(store: Store, kpi_id: str, f: Filters, w: periods.Window) -> float | None:
    """The KPI over the days `w` covers (its start to its `through`), under the filters' dimensions."""
    df = series(store, kpi_id, replace(f, start=w.start, end=w.through), grain=None)
    return _f(df["value"].iloc[0]) if len(df) else None


def tile(store: Store, kpi_id: str, f: Filters) -> Tile:
    """A headline KPI at the latest complete period with a value, its changes, SPC reading (of complete periods
    only) and sparkline; the current period to date against the same days of the previous one."""
    kpi = catalog.get(kpi_id)
    cut = data_cut(store, kpi_id, f)
    df = series(store, kpi_id, f) if cut is not None else pd.DataFrame(columns=["period_start", "value"])
    if cut is None or df.empty:
        target, source = target_for(store, kpi_id, f)
        return Tile(kpi, None, None, None, None, target, None, None, "no data", [], target_source=source)
    last_complete = periods.latest_complete(cut, f.grain)
    complete = df[df["period_start"] <= last_complete].reset_index(drop=True)
    known = complete[complete["value"].notna()]
    current = None
    cur_start = periods.start_of(cut, f.grain)
    if cur_start > last_complete and not (f.start and cur_start < f.start):
        w = periods.window(cur_start, f.grain, cut)
        now = value_over(store, kpi_id, f, w)
        if now is not None:
            lfl = periods.like_for_like(w)
            current = ToDate(w, now, lfl, value_over(store, kpi_id, f, lfl))
    if known.empty:
        target, source = target_for(store, kpi_id, f)
        return Tile(kpi, None, None, None, None, target, None, None, "no data", [], target_source=source,
                    current=current)
    chart = spc.xmr(complete["value"].astype(float).tolist(), direction=kpi.direction)
    t = trends.add_trends(complete, f.grain)
    last = t[t["value"].notna()].iloc[-1]
    start = last["period_start"]
    # The target in force at the end of the period shown, not today's.
    target, source = target_for(store, kpi_id, replace(f, end=periods.end(start, f.grain)))
    words = spc.describe(chart).replace("points", f"{f.grain}s") if len(chart) else "no data"
    return Tile(kpi, start, _f(last["value"]), _f(last["previous_value"]), _f(last["year_ago_value"]),
                target, spc.variation(chart), spc.assurance(chart, target, kpi.direction), words,
                [float(v) for v in known["value"].astype(float)], window=periods.window(start, f.grain, cut),
                target_source=source, current=current)


def split_tiles(tiles: list[Tile]) -> tuple[list[Tile], list[str]]:
    """The tiles with data for the selection, and the labels of those without (left out, named in a line)."""
    return [t for t in tiles if t.has_data], [t.kpi.label for t in tiles if not t.has_data]


def what_changed(store: Store, f: Filters, kpis: tuple[str, ...] = HEADLINE) -> pd.DataFrame:
    """Special-cause signals at the latest complete period, per KPI and vendor, concerns first, then the
    furthest from their mean (in process-limit widths). Values and means are numbers in the KPI's unit (rates
    as fractions; `unit` says which): formatting is the display's."""
    rows = []
    for kpi_id in kpis:
        kpi = catalog.get(kpi_id)
        cut = data_cut(store, kpi_id, f)
        if cut is None:
            continue
        last_complete = periods.latest_complete(cut, f.grain)
        if f.start and last_complete < periods.start_of(f.start, f.grain):
            continue
        df = series(store, kpi_id, replace(f, end=periods.end(last_complete, f.grain)), by=("vendor",))
        if df.empty:
            continue
        for vendor, part in df.groupby("vendor", sort=True):
            part = part.reset_index(drop=True)
            chart = spc.xmr(part["value"].astype(float).tolist(), direction=kpi.direction)
            typed = chart.dropna(subset=["point_type"])
            if typed.empty or not typed["special_cause"].iloc[-1]:
                continue
            i = typed.index[-1]
            if part["period_start"].iloc[i] != part["period_start"].iloc[-1]:
                continue  # the signal is not about the latest period
            width = (chart["upl"].iloc[i] - chart["mean"].iloc[i]) or np.nan
            rows.append({"kpi": kpi_id, "KPI": kpi.label, "vendor": vendor, "period": part["period_start"].iloc[i],
                         "value": float(chart["value"].iloc[i]), "mean": float(chart["mean"].iloc[i]),
                         "unit": kpi.unit, "signal": str(typed["point_type"].iloc[-1]),
                         "what": spc.describe(chart).replace("points", f"{f.grain}s"),
                         "_distance": abs(chart["value"].iloc[i] - chart["mean"].iloc[i]) / width})
    out = pd.DataFrame(rows, columns=["kpi", "KPI", "vendor", "period", "value", "mean", "unit", "signal", "what",
                                      "_distance"])
    out["_rank"] = out["signal"].map(SIGNAL_ORDER)
    out = out.sort_values(["_rank", "_distance"], ascending=[True, False]).drop(columns=["_rank", "_distance"])
    return out.reset_index(drop=True).astype({"value": float, "mean": float})


def freshness(store: Store, today: dt.date | None = None) -> pd.DataFrame:
    """Per data table: rows, the latest event, the last load, and whether the data is stale."""
    today = today or dt.date.today()
    rows = []
    for table in catalog.EVENT_TIMES:
        n = store.fetchone(f"SELECT count(*) FROM {qi(table)}")[0]  # type: ignore[index]
        latest = metrics.default_as_of(store, table)
        last = store.fetchone(f"SELECT max(finished_at) FROM loads WHERE table_name = ? "
                              f"AND {catalog.timestamp_within('finished_at')}", [table])
        age = (today - latest.date()).days if latest else None
        rows.append({"table": table, "rows": n, "latest event": latest, "last load": last[0] if last else None,
                     "days old": age, "stale": bool(age is not None and age > STALE_AFTER_DAYS)})
    return pd.DataFrame(rows)


def outside_window(store: Store) -> pd.DataFrame:
    """Rows left out of every figure because a date or time of theirs lies outside catalog.READ_FROM..READ_TO:
    per table, column and load, how many and the earliest and latest such value as stored (as text: a year
    such as 5881580 has no Python date). Columns: table, column, load, file, rows, earliest, latest."""
    from opsdash import contract

    parts = []
    for table in contract.TABLES:
        for col in catalog.time_columns(table):
            c = qi(col)
            parts.append(f"SELECT '{table}' AS \"table\", '{col}' AS \"column\", _load_id AS load, count(*) AS rows, "
                         f"CAST(min({c}) AS VARCHAR) AS earliest, CAST(max({c}) AS VARCHAR) AS latest "
                         f"FROM {qi(table)} WHERE NOT {catalog.within(col, table)} GROUP BY _load_id")
    out = store.query(" UNION ALL ".join(parts) + " ORDER BY 1, 2, 3")
    names = dict(store.fetchall("SELECT load_id, file_name FROM loads")) if store.scope.everything else {}
    out.insert(3, "file", [names.get(i) for i in out["load"]])
    return out


def outside_rows(store: Store) -> dict[str, int]:
    """Per table, the rows left out (a row with several such values counts once); tables with none omitted."""
    from opsdash import contract

    counts = {t: store.fetchone(f"SELECT count(*) FROM {qi(t)} WHERE NOT ({catalog.in_window(t)})")[0]  # type: ignore[index]
              for t in contract.TABLES}
    return {t: int(n) for t, n in counts.items() if n}


# -- other pages ----------------------------------------------------------------------------------

def distribution(store: Store, f: Filters) -> pd.DataFrame:
    """Claims submitted in the range by whole days from receipt to submission (the turnaround KPI's rows),
    counted in the store: columns days, claims."""
    where, params = _where_sql("claims", f, "submitted_date")
    return store.query(f"SELECT date_diff('day', received_date, submitted_date) AS days, count(*) AS claims "
                       f"FROM claims WHERE submitted_date IS NOT NULL AND {where} GROUP BY 1 ORDER BY 1", params)


def counts_by(store: Store, table: str, column: str, f: Filters, time_col: str, condition: str = "true") -> pd.DataFrame:
    """Rows per value of a category (denial reasons, error categories) under the filters, for Paretos."""
    if column not in catalog.DIMENSIONS[table]:
        raise ValueError(f"{column!r} is not a dimension of {table}")
    where, params = _where_sql(table, f, time_col)
    return store.query(f"SELECT {qi(column)} AS {qi(column)}, count(*) AS rows FROM {qi(table)} "
                       f"WHERE {qi(column)} IS NOT NULL AND ({condition}) AND {where} GROUP BY 1 ORDER BY 2 DESC",
                       params)


def _where_sql(table: str, f: Filters, time_col: str) -> tuple[str, dict[str, Any]]:
    """A WHERE condition for the filters, with named parameters ($f0, $f1, ...)."""
    conds, params = [catalog.in_window(table)], {}  # rows outside the reported dates are in no view
    for i, (col, vals) in enumerate(f.where(table).items()):
        conds.append(f"list_contains($f{i}, CAST({qi(col)} AS VARCHAR))")
        params[f"f{i}"] = list(vals)
    if f.start:
        conds.append(f"CAST({qi(time_col)} AS DATE) >= $start")
        params["start"] = f.start
    if f.end:
        conds.append(f"CAST({qi(time_col)} AS DATE) <= $end")
        params["end"] = f.end
    return (" AND ".join(conds) or "true"), params


def raw_rows(store: Store, table: str, f: Filters, time_col: str, limit: int = 1_000) -> tuple[pd.DataFrame, int]:
    """The stored rows under the filters, latest first (at most `limit`), and how many there are in all."""
    from opsdash import contract

    if table not in contract.TABLES:
        raise ValueError(f"unknown table {table!r}")
    where, params = _where_sql(table, f, time_col)
    total = store.fetchone(f"SELECT count(*) FROM {qi(table)} WHERE {where}", params)[0]  # type: ignore[index]
    cols = ", ".join(qi(c) for c in contract.TABLES[table].column_names)
    df = store.query(f"SELECT {cols} FROM {qi(table)} WHERE {where} ORDER BY {qi(time_col)} DESC LIMIT {int(limit)}",
                     params)
    return df, int(total)


def calls_by_hour(store: Store, f: Filters, answer_threshold_s: float, short_abandon_s: float) -> pd.DataFrame:
    """Calls offered and service level by weekday (0 = Monday) and hour of offer, from the catalogue's own
    service-level conditions (the engine's grains are calendar periods, not hours of the week)."""
    sl = catalog.KPIS["service_level"]
    where, params = _where_sql("calls", f, "offered_at")
    sql = (f"SELECT isodow(offered_at) - 1 AS weekday, hour(offered_at) AS hour, count(*) AS offered, "
           f"count(*) FILTER (WHERE ({sl.rows}) AND ({sl.denominator})) AS denominator, "
           f"count(*) FILTER (WHERE ({sl.rows}) AND ({sl.denominator}) AND ({sl.numerator})) AS numerator "
           f"FROM calls WHERE {where} GROUP BY ALL ORDER BY 1, 2")
    df = store.query(sql, {**params, "answer_threshold_s": float(answer_threshold_s),
                           "short_abandon_s": float(short_abandon_s)})
    df["service_level"] = df["numerator"] / df["denominator"].where(df["denominator"] > 0)
    return df


def formatted(df: pd.DataFrame, kpi_col: str = "kpi",
              columns: tuple[str, ...] = ("target", "minimum", "value", "previous")) -> pd.DataFrame:
    """A table whose rows hold different KPIs, with each value written in its row's unit (95.4%, 3.2 days,
    1,234); a `change` column is written signed, in points for rates. Credits stay numbers."""
    out = df.copy()
    # A stored level naming no catalogued KPI (only a store written around the loader holds one) is shown as
    # stored, unformatted: it is scored "unknown_kpi", and must not take the table down.
    for col in columns:
        if col in out:
            out[col] = [catalog.format_value(catalog.KPIS[k], None if pd.isna(v) else float(v))
                        if k in catalog.KPIS else (None if pd.isna(v) else f"{float(v):g}")
                        for k, v in zip(out[kpi_col], out[col])]
    if "change" in out:
        out["change"] = [None if pd.isna(v) or k not in catalog.KPIS else catalog.format_change(catalog.KPIS[k], v)
                         for k, v in zip(out[kpi_col], out["change"])]
    if "credit_pct" in out:
        out["credit_pct"] = [None if pd.isna(v) else f"{float(v) * 100:.1f}%" for v in out["credit_pct"]]
    return out

