"""What each page shows, as frames and plain values: pages lay them out, this module computes them.

No Streamlit here. Every number comes from ``metrics.series`` (the catalogue), SPC from ``spc``, trends from
``trends``; a page never computes a KPI.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
import pandas as pd

from opsdash import catalog, labels, metrics, periods, queries, spc, trends
from opsdash.store import Store, StoreError

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
    side: str | None = None  # the latest values' side of the mean (H/L on the variation icon)

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
            return float(live.iloc[0]["target"]), f"{labels.possessive(f.vendors[0])} contract ({live.iloc[0]['level']} level)"
    return kpi.target, kpi.target_source


# -- SPC with events -----------------------------------------------------------------------------

EVENT_COLUMNS = queries.EVENT_COLUMNS


def events(store: Store, f: Filters, start: dt.date | None = None, end: dt.date | None = None) -> pd.DataFrame:
    """The events of the filters' vendors (every vendor in scope when none is picked) from start to end
    (default: the filters' range), oldest first. Columns: EVENT_COLUMNS. A store from before the events table
    (opened read-only, so not yet upgraded) has none."""
    try:
        df = queries.events(store, f.vendors, start or f.start, end or f.end)
    except StoreError:
        return pd.DataFrame(columns=list(EVENT_COLUMNS))
    df["event_date"] = pd.to_datetime(df["event_date"]).dt.date
    df["is_process_change"] = df["is_process_change"].fillna(False).astype(bool)
    return df


def events_for(ev: pd.DataFrame, kpi_id: str, f: Filters) -> pd.DataFrame:
    """The events that concern a chart of the KPI under the filters: events of every KPI or of this one, and of
    every process or of a process the chart includes (only KPIs of a table with processes or queues have one)."""
    kpi = catalog.get(kpi_id)
    col = catalog.PROCESS_COLUMN.get(kpi.table)
    picked = f.where(kpi.table).get(col, []) if col else []
    keep = ev["kpi"].isna() | (ev["kpi"] == kpi_id)
    keep &= ev["process"].isna() | (bool(col) & (not picked or ev["process"].isin(picked)))
    return ev[keep].reset_index(drop=True)


def events_on(ev: pd.DataFrame, periods: Any, grain: str | None) -> pd.DataFrame:
    """The events that fall within the periods a chart shows (first period's start to last period's end)."""
    starts = sorted({d for d in periods if d is not None and not pd.isna(d)})
    if ev.empty or not starts:
        return ev.iloc[0:0]
    last = period_end(starts[-1], grain) if grain else starts[-1]
    return ev[(ev["event_date"] >= starts[0]) & (ev["event_date"] <= last)].reset_index(drop=True)


def rebase_positions(periods: list[dt.date], ev: pd.DataFrame, grain: str | None) -> list[int]:
    """Where the process changes among `ev` start new limits: at the period each falls in (a change in the
    middle of a month starts that month's segment). Changes before the first or after the last period are
    no rebase of this chart."""
    if not len(periods) or ev.empty or grain is None:
        return []
    starts = pd.to_datetime(pd.Series(periods)).dt.date.tolist()
    last_end = period_end(starts[-1], grain)
    out = set()
    for d in ev.loc[ev["is_process_change"], "event_date"]:
        if starts[0] <= d <= last_end:
            out.add(int(np.searchsorted(np.array(starts, dtype="datetime64[D]"), np.datetime64(d, "D"),
                                        side="right")) - 1)
    return sorted(i for i in out if i > 0)


def xmr_for(kpi: catalog.Kpi, df: pd.DataFrame, ev: pd.DataFrame, grain: str | None) -> pd.DataFrame:
    """The XmR chart of a KPI's series (period_start, value), rebased at the process changes among `ev` and
    with limits clipped to what the KPI's unit allows."""
    return spc.xmr(df["value"].astype("Float64").astype(float).tolist(), direction=kpi.direction,
                   rebase=rebase_positions(list(df["period_start"]), ev, grain), bounds=spc.BOUNDS[kpi.unit])


@dataclass
class SpcView:
    """What a page needs to draw one SPC chart: the series, its chart, the events on it, the target."""

    kpi: catalog.Kpi
    series: pd.DataFrame
    chart: pd.DataFrame
    events: pd.DataFrame
    target: float | None
    target_source: str
    grain: str
    to_date: periods.Window | None = None  # the running period, drawn but outside the limits and the reading
    rebased: bool = True  # whether process changes among the events may start new limits (a chart of one vendor)

    @property
    def has_data(self) -> bool:
        return bool(self.series["value"].notna().any())

    @property
    def frame(self) -> pd.DataFrame:
        """The series with the chart's mean, limits and point type, for the chart's download (the period that
        runs to date has spc_to_date true and no point type)."""
        cols = ["mean", "lpl", "upl", "point_type", "to_date"]
        return self.series.join(self.chart[cols].add_prefix("spc_")) if len(self.chart) else self.series

    @property
    def kind(self) -> str:
        """What the chart is, for its title: an XmR chart, a run chart (too coarse throughout), or both."""
        typed = self.chart[~self.chart["to_date"].astype(bool)] if len(self.chart) else self.chart
        if typed.empty or typed["value"].isna().all():
            return f"no complete {self.grain} yet, so no process limits"
        coarse = typed["coarse"].dropna().astype(bool) if len(typed) else pd.Series(dtype=bool)
        if coarse.all() and len(coarse):
            return "run chart (too coarse for process limits)"
        return "XmR chart and run chart" if coarse.any() else "XmR chart with process limits"

    def words(self) -> str:
        """The reading of the latest period in words, with why a coarse chart is a run chart and where limits
        were recalculated or clipped."""
        if not len(self.chart):
            return "no data"
        parts = []
        if self.chart["point_type"].notna().any():
            parts.append(f"Latest complete {self.grain}: "
                         f"{spc.describe(self.chart).replace('points', self.grain + 's')}.")
        typed = self.chart.dropna(subset=["point_type"])
        if len(typed) and bool(typed["coarse"].iloc[-1]):
            last = typed[typed["segment"] == typed["segment"].iloc[-1]]["value"].to_numpy(dtype=float)
            step = spc.increment(last)
            steps = f"in steps of {catalog.format_value(self.kpi, step)}" if step else "without any change"
            parts.append(f"Its values move {steps}, too coarse against their variation for process limits "
                         "(Wheeler's test for chunky data), so this is a run chart around the median: it gives "
                         "no signals and no assurance.")
        changes = self.events[self.events["is_process_change"]] if len(self.events) else self.events
        if len(changes) and self.chart["segment"].max() > 0:
            when = ", ".join(f"{d:%d %b %Y}" for d in changes["event_date"])
            parts.append(f"The chart starts afresh (new mean and limits, runs counted anew) at the process "
                         f"change of {when}.")
        elif len(changes) and not self.rebased:
            whose = "; ".join(f"{v}, {d:%d %b %Y}" for v, d in zip(changes["vendor"], changes["event_date"]))
            parts.append(f"A vendor's process change ({whose}) is drawn but starts no new limits on a chart of "
                         "several vendors: the others' process did not change. Pick the vendor to see its chart "
                         "start afresh there.")
        clipped = [w for c, w in (("upl_at_bound", "upper"), ("lpl_at_bound", "lower")) if self.chart[c].any()]
        if clipped:
            edge = {"upper": catalog.format_value(self.kpi, spc.BOUNDS[self.kpi.unit][1]),
                    "lower": catalog.format_value(self.kpi, spc.BOUNDS[self.kpi.unit][0])}
            parts.append(" ".join(f"The {w} process limit lies beyond what is possible and is shown at "
                                  f"{edge[w]}." for w in clipped))
        if self.to_date is not None:
            parts.append(f"{periods.label(self.to_date.start, self.grain)} runs to date "
                         f"({periods.span(self.to_date)}): its point is drawn open and is not counted in the mean, "
                         "the limits or the reading until the period is complete.")
        return " ".join(parts)


def chart_target_words(view: SpcView, f: Filters) -> str:
    """Where the chart's target line comes from, or why there is none (with one vendor picked, its contract
    sets no level for the KPI; otherwise the catalogue has no default and a vendor's contract would)."""
    if view.target is not None:
        return f"Target {catalog.format_value(view.kpi, view.target)} from {view.target_source}."
    if len(f.vendors) == 1:
        return (f"No target line: {labels.possessive(f.vendors[0])} contract sets no level for {view.kpi.label.lower()} in force "
                f"at the end of the range, and the catalogue has no default target.")
    return "No target line: the catalogue has no default target; pick one vendor to see its contract's target."


def spc_view(store: Store, kpi_id: str, f: Filters, target: float | None | str = "contract", **kw: Any) -> SpcView:
    """One KPI's SPC chart under the filters, rebased at the process changes that concern it, limits clipped to
    the possible range; the target is the contract's in force (``"contract"``, see target_for) or as given."""
    kpi = catalog.get(kpi_id)
    df = series(store, kpi_id, f, **kw)
    cut = data_cut(store, kpi_id, f)
    # no period starting after the cut-off of the vendors picked
    split = periods.split_at_cut(df["period_start"], cut, f.grain)
    df = df[~split.after].reset_index(drop=True)
    running = split.running[~split.after].reset_index(drop=True)
    ev = events_on(events_for(events(store, f), kpi_id, f), df["period_start"], f.grain)
    complete = df[~running].reset_index(drop=True)
    single = one_vendor(store, f, kpi.table)
    chart = pd.DataFrame()
    if len(df):
        chart = with_to_date(xmr_for(kpi, complete, rebasing(store, f, ev, single=single), f.grain),
                             df[running]["value"])
    source = ""
    if target == "contract":
        target, source = target_for(store, kpi_id, f)
    w = periods.window(df[running]["period_start"].iloc[-1], f.grain, cut) if running.any() and cut else None
    return SpcView(kpi, df, chart, ev, target if not isinstance(target, str) else None, source, f.grain, w, single)


def with_to_date(chart: pd.DataFrame, values: pd.Series) -> pd.DataFrame:
    """The XmR chart of the complete periods, followed by the periods that run to date: their values, the last
    segment's mean and limits drawn on (unless that segment is a run chart), no point type, to_date true."""
    chart = chart.assign(to_date=False)
    if not len(values):
        return chart
    extra = pd.DataFrame({"value": values.astype("Float64").astype(float).to_numpy(), "to_date": True})
    if len(chart):
        last = chart.iloc[-1]
        extra["segment"] = last["segment"]
        if not bool(last["coarse"]):
            for col in ("mean", "lpl", "upl", "near_lpl", "near_upl"):
                extra[col] = last[col]
    for col in chart.columns.difference(extra.columns):
        extra[col] = False if chart[col].dtype == bool else np.nan if chart[col].dtype.kind == "f" else None
    return pd.concat([chart, extra[chart.columns]], ignore_index=True)


def data_cut(store: Store, kpi_id: str, f: Filters) -> dt.date | None:
    """The last day the KPI's figures can cover under the filters (metrics.data_cut: the latest event in its
    table of the vendors picked, or the range's end when earlier). None when there is no such row."""
    return metrics.data_cut(store, (catalog.get(kpi_id).table,), f.vendors, f.end)


def value_over(store: Store, kpi_id: str, f: Filters, w: periods.Window, *, as_known: bool = False) -> float | None:
    """The KPI over the days `w` covers (its start to its `through`), under the filters' dimensions. With
    `as_known`, as it stood at the end of `through` (a like-for-like window: a claim of 3 Oct paid on 30 Oct is
    no paid claim of 1-26 Oct as the store knew it on 26 Oct, as one of 3 Nov paid after 26 Nov is not yet)."""
    as_of = periods.end_of_day(w.through) if as_known else None
    df = series(store, kpi_id, replace(f, start=w.start, end=w.through), grain=None, as_of=as_of)
    return _f(df["value"].iloc[0]) if len(df) else None


def coverage_note(kpis: Any, through: Any, window: periods.Window) -> str:
    """Where some figures of a review cover fewer days than the period shown (a table's data ends earlier), which
    and how they are compared: 'Claims figures cover 1–26 Nov (the data ends on 26 Nov) and are compared with
    1–26 Oct.' Empty when every figure covers the window."""
    short: dict[str, dt.date] = {}
    for kpi_id, day in zip(kpis, through):
        if kpi_id in catalog.KPIS and day is not None and not pd.isna(day) and day < window.through:
            short.setdefault(catalog.KPIS[kpi_id].table, day)
    notes = []
    for table, day in sorted(short.items()):
        w = periods.window(window.start, window.grain, day)
        notes.append(f"{labels.value_word(table)} figures cover {periods.span(w)} (the data ends on "
                     f"{day.day} {day:%b %Y}) and are compared with {periods.span(periods.like_for_like(w))}.")
    return " ".join(notes)


def one_vendor(store: Store, f: Filters, table: str | None = None) -> bool:
    """Whether a chart under the filters is of one vendor's work: one picked, or only one with rows in the
    chart's table (every table when none is named) that this reader may see."""
    if len(f.vendors) == 1:
        return True
    if f.vendors:
        return False
    tables = (table,) if table else tuple(catalog.EVENT_TIMES)
    return len({v for t in tables for v in metrics.dimension_values(store, t, "vendor")}) == 1


def rebasing(store: Store, f: Filters, ev: pd.DataFrame, table: str | None = None,
             single: bool | None = None) -> pd.DataFrame:
    """The events that may rebase a chart under the filters: a vendor's process change starts new limits on a
    chart of that vendor alone (`single`, else one_vendor), never on one that adds up several vendors (the
    others' process did not change); there it is only drawn."""
    if ev.empty:
        return ev
    return ev if (one_vendor(store, f, table) if single is None else single) else ev.iloc[0:0]


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
    complete = df[periods.split_at_cut(df["period_start"], cut, f.grain).complete].reset_index(drop=True)
    known = complete[complete["value"].notna()]
    current = None
    cur_start = periods.start_of(cut, f.grain)
    if cur_start > last_complete and not (f.start and cur_start < f.start):
        w = periods.window(cur_start, f.grain, cut)
        now = value_over(store, kpi_id, f, w)
        if now is not None:
            lfl = periods.like_for_like(w)
            current = ToDate(w, now, lfl, value_over(store, kpi_id, f, lfl, as_known=True))
    if known.empty:
        target, source = target_for(store, kpi_id, f)
        return Tile(kpi, None, None, None, None, target, None, None, "no data", [], target_source=source,
                    current=current)
    chart = xmr_for(kpi, complete, rebasing(store, f, events_for(events(store, f), kpi_id, f), kpi.table), f.grain)
    t = trends.add_trends(complete, f.grain)
    last = t[t["value"].notna()].iloc[-1]
    start = last["period_start"]
    # The target in force at the end of the period shown, not today's.
    target, source = target_for(store, kpi_id, replace(f, end=periods.end(start, f.grain)))
    words = spc.describe(chart).replace("points", f"{f.grain}s") if len(chart) else "no data"
    return Tile(kpi, start, _f(last["value"]), _f(last["previous_value"]), _f(last["year_ago_value"]),
                target, spc.variation(chart), spc.assurance(chart, target, kpi.direction), words,
                [float(v) for v in known["value"].astype(float)], window=periods.window(start, f.grain, cut),
                target_source=source, current=current, side=spc.latest_side(chart) if len(chart) else None)


def split_tiles(tiles: list[Tile]) -> tuple[list[Tile], list[str]]:
    """The tiles with data for the selection, and the labels of those without (left out, named in a line)."""
    return [t for t in tiles if t.has_data], [t.kpi.label for t in tiles if not t.has_data]


def _latest_charts(store: Store, f: Filters,
                   kpis: tuple[str, ...]) -> Iterator[tuple[catalog.Kpi, str, pd.DataFrame, pd.DataFrame]]:
    """Per KPI and vendor: the vendor's series to the latest complete period and its chart (rebased at the
    vendor's own process changes)."""
    every = events(store, f)
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
            # The vendor's own cut-off decides which of its periods are complete (its data may end earlier).
            own = data_cut(store, kpi_id, replace(f, vendors=(vendor,)))
            if own is None:
                continue
            part = part[periods.split_at_cut(part["period_start"], own, f.grain).complete].reset_index(drop=True)
            if part.empty:
                continue
            ev = events_for(every[every["vendor"] == vendor], kpi_id, f)
            yield kpi, vendor, part, xmr_for(kpi, part, ev, f.grain)


def what_changed(store: Store, f: Filters, kpis: tuple[str, ...] = HEADLINE) -> pd.DataFrame:
    """Special-cause signals at the latest complete period, per KPI and vendor, concerns first, then the
    furthest from their mean (in process-limit widths). Values and means are numbers in the KPI's unit (rates
    as fractions; `unit` says which): formatting is the display's. A series too coarse for limits has no
    signal (see too_coarse)."""
    rows = []
    for kpi, vendor, part, chart in _latest_charts(store, f, kpis):
        typed = chart.dropna(subset=["point_type"])
        if typed.empty or not typed["special_cause"].iloc[-1]:
            continue
        i = typed.index[-1]
        if part["period_start"].iloc[i] != part["period_start"].iloc[-1]:
            continue  # the signal is not about the latest period
        width = (chart["upl"].iloc[i] - chart["mean"].iloc[i]) or np.nan
        rows.append({"kpi": kpi.id, "KPI": kpi.label, "vendor": vendor, "period": part["period_start"].iloc[i],
                     "value": float(chart["value"].iloc[i]), "mean": float(chart["mean"].iloc[i]),
                     "unit": kpi.unit, "signal": str(typed["point_type"].iloc[-1]),
                     "what": spc.describe(chart).replace("points", f"{f.grain}s"),
                     "_distance": abs(chart["value"].iloc[i] - chart["mean"].iloc[i]) / width})
    out = pd.DataFrame(rows, columns=["kpi", "KPI", "vendor", "period", "value", "mean", "unit", "signal", "what",
                                      "_distance"])
    out["_rank"] = out["signal"].map(SIGNAL_ORDER)
    out = out.sort_values(["_rank", "_distance"], ascending=[True, False]).drop(columns=["_rank", "_distance"])
    return out.reset_index(drop=True).astype({"value": float, "mean": float})


#: The "what changed" rows of queues and processes projected to miss (with_ahead): their KPI and signal codes.
AHEAD_KPI, AHEAD_SIGNAL = "staffing_ahead", "projected_miss"


def with_ahead(changed: pd.DataFrame, heads: pd.DataFrame, f: Filters, cuts: dict[str, dt.date]) -> pd.DataFrame:
    """`changed` (what_changed) with a row per queue or process projected to miss its contract level ahead, from
    the kept outlooks' headlines (capacity.outlook.kept_headlines), after the concerns: period is the day the
    miss begins, what says where, how and how sure the forecast is. Only the filter's vendors, and only while
    the filter's period reaches a vendor's latest data (a projection starts at its data cut-off, `cuts`); none
    under a facility filter (a queue or process is projected whole, not per facility)."""
    if f.facilities:
        return changed
    miss = heads[heads["status"] == "miss"]
    if f.vendors:
        miss = miss[miss["vendor"].isin(f.vendors)]
    if f.end is not None:
        miss = miss[[cuts.get(v) is not None and f.end >= cuts[v] - dt.timedelta(days=1) for v in miss["vendor"]]]
    if miss.empty:
        return changed
    part = {"contact": "queue", "back office": "back-office process"}
    rows = pd.DataFrame({
        "kpi": AHEAD_KPI, "KPI": labels.value_word(AHEAD_KPI), "vendor": miss["vendor"],
        "period": pd.to_datetime(miss["from_day"]), "value": np.nan, "mean": np.nan, "unit": None,
        "signal": AHEAD_SIGNAL,
        "what": [f"{labels.value_word(w)} {part.get(p, p)}: {text}" + (f" (the forecast it rests on: {acc})" if acc
                                                                       else "")
                 for w, p, text, acc in zip(miss["what"], miss["part"], miss["words"], miss["forecast_accuracy"],
                                            strict=True)]}).sort_values(["period", "vendor"])
    concerns = changed["signal"] == "concern"
    out = pd.concat([changed[concerns], rows, changed[~concerns]], ignore_index=True)
    return out.astype({"value": float, "mean": float})


def too_coarse(store: Store, f: Filters, kpis: tuple[str, ...] = HEADLINE) -> pd.DataFrame:
    """The KPI and vendor series whose latest period has no SPC reading because the series is too coarse for
    limits (so "what changed" cannot list them either way). Columns: kpi, KPI, vendor, what."""
    rows = []
    for kpi, vendor, _part, chart in _latest_charts(store, f, kpis):
        typed = chart.dropna(subset=["point_type"])
        if len(typed) and bool(typed["coarse"].iloc[-1]):
            rows.append({"kpi": kpi.id, "KPI": kpi.label, "vendor": vendor, "what": spc.describe(chart)})
    return pd.DataFrame(rows, columns=["kpi", "KPI", "vendor", "what"])


def attainment_summary(att: pd.DataFrame, as_of: dt.date | None = None,
                       cuts: dict[str, dt.date] | None = None) -> str:
    """Every vendor's contract levels at the latest month of an attainment frame (sla.attainment), in one line
    for people: 'Nov 2026: Helix Health Services 5 of 6 levels met; Meridian Revenue Partners 2 of 3 met.'
    Levels without data are not counted; a month the data (to `as_of`) does not cover whole reads 'Nov 2026 (to
    26 Nov)', and a vendor whose own data (`cuts`, metrics.data_cut) ends earlier in it says so. Names are data:
    the caller escapes the line for its medium."""
    from opsdash import sla

    if att.empty:
        return ""
    last = att["month"].max()
    first = pd.Timestamp(last).date()
    window = periods.window(first, "month", as_of) if as_of else None
    month = att[att["month"] == last]
    parts = []
    for vendor, part in month.groupby("vendor", sort=True):
        scored = int(part["status"].isin(("met", *sla.MISSED)).sum())
        met = int((part["status"] == "met").sum())
        text = f"{vendor} {met} of {scored} levels met" if scored else f"{vendor} no level with data"
        own = (cuts or {}).get(vendor)
        if own is not None and window is not None and first <= own < window.through:
            text += f" (data to {own.day} {own:%b})"
        parts.append(text)
    when = window.label if window else periods.label(first, "month")
    return f"{when}: " + "; ".join(parts) + "."


def freshness(store: Store, today: dt.date | None = None) -> pd.DataFrame:
    """Per data table: rows, the latest event, the last load, and whether the data is stale."""
    today = today or dt.date.today()
    rows = []
    for table in catalog.EVENT_TIMES:
        latest = metrics.default_as_of(store, table)
        age = (today - latest.date()).days if latest else None
        rows.append({"table": table, "rows": queries.row_count(store, table), "latest event": latest,
                     "last load": queries.last_load(store, table),
                     "days old": age, "stale": bool(age is not None and age > STALE_AFTER_DAYS)})
    return pd.DataFrame(rows)


def outside_window(store: Store) -> pd.DataFrame:
    """Rows left out of every figure because a date or time of theirs lies outside catalog.READ_FROM..READ_TO
    (queries.outside_window), with each load's file name. Columns: table, column, load, file, rows, earliest,
    latest."""
    out = queries.outside_window(store)
    names = queries.load_files(store)
    out.insert(3, "file", [names.get(i) for i in out["load"]])
    return out


# -- other pages ----------------------------------------------------------------------------------

def distribution(store: Store, f: Filters) -> pd.DataFrame:
    """Claims submitted in the range by whole days from receipt to submission (the turnaround KPI's own rows and
    value), counted in the store: columns days, claims."""
    kpi = catalog.KPIS["claim_turnaround_days"]
    df = queries.distribution(store, kpi.id, f.where(kpi.table), f.start, f.end)
    return df.rename(columns={"value": "days", "rows": "claims"})


def counts_by(store: Store, row_set: str, column: str, f: Filters) -> pd.DataFrame:
    """Rows of a catalogue row set (catalog.ROW_SETS) per value of a category under the filters, for Paretos:
    columns `column`, rows; most first."""
    return queries.counts_by(store, row_set, column, f.where(catalog.ROW_SETS[row_set].table), f.start, f.end)


def raw_rows(store: Store, table: str, f: Filters, limit: int = 1_000) -> tuple[pd.DataFrame, int]:
    """The stored rows under the filters (by the table's contract.LISTED_BY time), latest first (at most
    `limit`), and how many there are in all."""
    return queries.raw_rows(store, table, f.where(table), f.start, f.end, limit)


def calls_by_hour(store: Store, f: Filters, answer_threshold_s: float, short_abandon_s: float) -> pd.DataFrame:
    """Calls offered and service level by weekday (0 = Monday) and hour of offer, from the catalogue's own
    service-level conditions (the engine's grains are calendar periods, not hours of the week)."""
    df = queries.by_hour_of_week(store, "service_level", f.where("calls"), f.start, f.end,
                                 {"answer_threshold_s": float(answer_threshold_s),
                                  "short_abandon_s": float(short_abandon_s)})
    df = df.rename(columns={"rows": "offered"})
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


# -- what pages lay out (no Streamlit: each is tested on its own) ---------------------------------

#: How many periods the scorecard offers, latest first.
REVIEW_PERIODS = {"week": 26, "month": 24}
#: Months the SLA page scores when the date range does not say.
SLA_MONTHS = 12


def review_periods(latest: dt.date | dt.datetime | pd.Timestamp, grain: str) -> list[str]:
    """The codes of the periods a scorecard offers (2026-11, 2026-W48), latest first, up to the one holding the
    vendor's latest data."""
    return [periods.code(d, grain) for d in periods.latest(latest, grain, REVIEW_PERIODS[grain])]


def review_dates(period: str, grain: str, latest: dt.date | dt.datetime | pd.Timestamp) -> tuple[dt.date, dt.date]:
    """A scorecard period's first and last day, from its name; for a name that names no such period, the period
    holding the latest data up to that day (the sections below the scorecard still know which dates to show)."""
    try:
        _, start, end = periods.parse(str(period), grain)
    except periods.PeriodError:
        day = pd.Timestamp(latest).date()
        return periods.start_of(day, grain), day
    return start, end


def compared_words(window: periods.Window, before: periods.Window) -> str:
    """What a review period is compared with: like for like when it runs to date, else the whole previous one."""
    if window.partial:
        return (f"The {window.grain} runs to date ({periods.span(window)} {window.through.year}): compared like for "
                f"like with {periods.span(before)}, not the whole {window.grain}.")
    return f"Compared with {periods.label(before.start, window.grain)}."


def sla_months(start: dt.date | None, end: dt.date | None, latest: Any,
               today: dt.date | None = None) -> tuple[dt.date, dt.date]:
    """The SLA page's range: the filters' dates, else the last SLA_MONTHS months to the latest data (or today)."""
    if end is None:
        end = pd.Timestamp(latest).date() if latest is not None else (today or dt.date.today())
    if start is None:
        start = periods.shift(periods.start_of(end, "month"), "month", 1 - SLA_MONTHS)
    return start, end


def level_names(att: pd.DataFrame) -> pd.Series:
    """Each contract level of an attainment frame in words: 'SLA adherence · Prior authorisation · Stat (critical)'."""
    def part(v: Any) -> str:
        return f" · {labels.value_word(v)}" if isinstance(v, str) else ""

    return (att["label"] + att["process"].map(part) + att["priority"].map(part)
            + " (" + att["level"].map(labels.value_word).str.lower() + ")")


def missed_levels(att: pd.DataFrame) -> pd.DataFrame:
    """The levels missed (or below minimum) of an attainment frame, latest month first, then by vendor."""
    from opsdash import sla

    return att[att["status"].isin(sla.MISSED)].sort_values(["month", "vendor"], ascending=[False, True])


def missed_in_a_row(att: pd.DataFrame) -> pd.DataFrame:
    """The levels missed at the latest month of an attainment frame, longest run of misses first."""
    last = att[(att["month"] == att["month"].max()) & (att["consecutive_missed"] > 0)]
    return last.sort_values("consecutive_missed", ascending=False)


def stale_words(fresh: pd.DataFrame) -> str:
    """The tables whose data is stale (freshness), in one line for people; empty when none is."""
    stale = fresh[fresh["stale"]]
    return "; ".join(f"{labels.value_word(r['table'])} latest {r['latest event']:%d %b %Y} ({r['days old']} days old)"
                     for _, r in stale.iterrows())


def spc_title(view: SpcView, what: str | None = None) -> str:
    """An SPC chart's title: the KPI (of what, when narrowed), the grain and what kind of chart it is."""
    return f"{view.kpi.label}{f', {what},' if what else ''} by {view.grain}: {view.kind}"


def glossary_table() -> pd.DataFrame:
    """The KPI glossary as the Data page shows it (catalog.glossary in words for people; `id` for downloads)."""
    from opsdash import contract, labels

    return pd.DataFrame([{
        "KPI": k["label"], "id": k["id"], "definition": labels.prose(k["description"]),
        "table": contract.TABLES[k["table"]].label, "placed by": labels.prose(k["period_words"]),
        "unit": catalog.UNITS.get(k["unit"]) or k["unit"],
        "better when": {"higher": "higher", "lower": "lower"}.get(k["direction"], "neither (a volume)"),
        "default target": "Not set" if k["target"] is None else catalog.format_value(catalog.KPIS[k["id"]], k["target"]),
        "target source": k["target_source"]} for k in catalog.glossary()])


# -- denial risk (the Claims page) ---------------------------------------------------------------------------
def denial_card(cards: list[Any], f: Filters) -> Any:
    """The card the page shows: the vendor's own when the filter names one vendor (or the reader sees only one),
    else the pooled card when the reader may see it, else the first of the reader's vendors'."""
    if not cards:
        return None
    by = {c.vendor: c for c in cards}
    if len(f.vendors) == 1 and f.vendors[0] in by:
        return by[f.vendors[0]]
    if None in by:
        return by[None]
    named = [c for c in cards if not f.vendors or c.vendor in f.vendors] or cards
    return next((c for c in named if c.model is not None), named[0])  # one measured, where any is


def denial_work_list(scores: pd.DataFrame, f: Filters) -> pd.DataFrame:
    """The kept scores under the page's filters (vendor, facility, payer, claim type); dates do not apply (the
    claims are open now)."""
    keep = pd.Series(True, index=scores.index)
    for col, vals in (("vendor", f.vendors), ("facility", f.facilities), *f.extra):
        if vals and col in scores:
            keep &= scores[col].isin(vals)
    return scores.loc[keep, list(WORK_LIST_COLUMNS)].reset_index(drop=True)


#: The work list's columns, in the order a manager reads them: which claim, how much at risk, why, then the rest.
WORK_LIST_COLUMNS = ("vendor", "claim_id", "stage", "payer", "procedure_group", "billed_amount", "risk",
                     "expected_loss", "reasons", "facility", "claim_type", "received_date", "submitted_date")


def denial_status(card: Any, scores: pd.DataFrame, filtered: bool = True) -> tuple[str, str]:
    """What a manager reads first, as (the headline, the rest): how many open claims, how many dollars expected to
    be denied (risk x amount billed), split by stage (the risks of claims not yet billed have no outcome yet to be
    measured against), and where it concentrates. Plain text (the page sets the headline in bold)."""
    from opsdash.denials import kept, model

    if card.chosen == model.NONE:
        return "No denial risk is shown", f"{card.why}."
    if scores.empty:
        return ("No open claim" + (" under these filters" if filtered else ""),
                "every claim has had the payer's first decision.")
    at_risk = float(scores["expected_loss"].sum())
    head = f"{len(scores):,} open claims, ${at_risk:,.0f} expected to be denied (risk x amount billed)"
    parts = []
    for stage, note in ((kept.AWAITING, ""), (kept.UNBILLED, " if submitted as they stand")):
        part = scores[scores["stage"] == stage]
        if len(part):
            parts.append(f"{stage.lower()}: {len(part):,} claims, ${float(part['expected_loss'].sum()):,.0f}{note}")
    if at_risk > 0:
        top = float(scores.head(10)["expected_loss"].sum())
        parts.append(f"the {min(10, len(scores))} most at risk hold ${top:,.0f} ({top / at_risk:.0%})")
    return head, "; ".join(parts) + "."


def denial_model_words(card: Any) -> str:
    """The model beside its measured accuracy, in words: which model, why, how it did on months it did not learn
    from, what it reads and what it does not know."""
    from opsdash.denials import kept, model

    who = "" if card.vendor is None else f" on {labels.possessive(card.vendor)} claims"
    parts = [f"Risk from opsdash's {model.MODEL_WORDS[card.chosen]}: {card.why}."]
    if card.model is None and card.chosen != model.NONE:
        parts.append(f"Too few of {labels.possessive(card.vendor)} held-out claims were denied to measure it on "
                     f"them alone (at least {kept.MIN_VENDOR_DENIALS} needed).")
    if card.model is not None:
        parts.append(f"Measured{who}: {kept.held_out_words(card)}.")
        parts.append(f"Working the {card.capacity:.0f} riskiest claims a day would have caught "
                     f"{card.model.at_capacity.value_caught:.0%} of the denied dollars (the baseline "
                     f"{card.baseline.at_capacity.value_caught:.0%}).")
    parts.append(f"It reads only what is known at submission: {', '.join(card.features)}; never the vendor's own "
                 f"score. Trained {labels.date(card.trained_at[:10])} on decisions up to "
                 f"{'' if card.data_through is None else kept.day_words(card.data_through)}.")
    return " ".join(parts)


def reliability_curves(card: Any) -> list[tuple[str, pd.DataFrame]]:
    """opsdash's model and each vendor model audited on the card's claims, as (name, reliability frame)."""
    out = [("opsdash's model", card.model.reliability)] if card.model is not None else []
    return out + [(f"{a.model} ({labels.possessive(a.vendor)} own)", a.judged.reliability) for a in card.audits]


def card_whose(card: Any) -> str:
    """Whose claims a card measures: every vendor's (the pooled card) or one vendor's."""
    return "every vendor's" if card.vendor is None else labels.possessive(card.vendor)


def reliability_title(card: Any) -> str:
    first, end = card.held_out
    last = end - dt.timedelta(days=1)
    whose = card_whose(card)
    whose = whose[:1].upper() + whose[1:]
    return (f"Does the risk come true? {whose} claims submitted {first.day} {first:%b %Y} to "
            f"{last.day} {last:%b %Y}, held out from training")


def reliability_frame(curves: list[tuple[str, pd.DataFrame]]) -> pd.DataFrame:
    """The points of the reliability chart, for its download."""
    return pd.concat([r.assign(risk_model=name) for name, r in curves], ignore_index=True).rename(
        columns={"claims": "held_out_claims"})[["risk_model", "mean_score", "share_denied", "held_out_claims"]]


#: Open claims most at risk a review shows (the Vendor scorecard page, the review pack).
REVIEW_AT_RISK = 10


def _judged_row(j: Any) -> dict[str, Any]:
    """A model's measures on held-out claims (a measures.Judged) as one row of a table."""
    c = j.at_capacity
    return {"claims": j.claims, "denials": j.denied, "share_denied": j.share_denied, "mean_score": j.mean_score,
            "auroc": j.auroc, "auprc": j.auprc, "brier": j.brier, "calibration_slope": j.slope,
            "claims_a_day": c.capacity, "precision_at_capacity": c.precision, "recall_at_capacity": c.recall,
            "dollars_caught": c.value_caught}


#: The measures of a model on held-out claims, as the accuracy tables show them.
JUDGED_COLUMNS = ("claims", "denials", "share_denied", "mean_score", "auroc", "auprc", "brier", "calibration_slope",
                  "claims_a_day", "precision_at_capacity", "recall_at_capacity", "dollars_caught")
AUDIT_COLUMNS = ("vendor", "risk_model", "verdict", *JUDGED_COLUMNS)


def vendor_model_audit(audits: Any) -> pd.DataFrame:
    """Each vendor model audited (denials.vendors.VendorModel), with opsdash's baseline and gradient-boosted model
    on exactly the claims it scored, at the same capacity: three rows a model, its own first with its verdict."""
    from opsdash.denials import model, vendors

    rows = []
    for a in audits:
        rows.append({"vendor": a.vendor, "risk_model": f"{a.model} ({labels.possessive(a.vendor)} own)",
                     "verdict": vendors.verdict(a), **_judged_row(a.judged)})
        for name, j in ((model.MODEL_WORDS[model.BASELINE], a.baseline), (model.MODEL_WORDS[model.BOOSTED], a.opsdash)):
            rows.append({"vendor": a.vendor, "risk_model": f"opsdash's {name}, same claims", "verdict": None,
                         **_judged_row(j)})
    return pd.DataFrame(rows, columns=list(AUDIT_COLUMNS))


def audit_rule_words() -> str:
    """How the audit's verdicts are reached, from the rules' own figures."""
    from opsdash.denials import vendors

    return ("Each vendor's model beside opsdash's on exactly the held-out claims it scored, at that vendor's team "
            "capacity. It ranks better (or worse) than the baseline when the 90% interval of its AUROC gain over the "
            f"baseline lies above (or below) zero; it is calibrated when its slope is within {vendors.SLOPE_OK:g} of "
            f"1 and its mean risk within {vendors.MEAN_OK:.0%} of the share denied.")


def audited_vendors(cards: list[Any], card: Any, f: Filters) -> tuple[str, ...]:
    """The vendors whose own risk models a page judges: the card's vendor when the filter names it, else each of
    the reader's vendors under the filter (a reader of several vendors without the pooled card sees every one's)."""
    if card.vendor is not None and len(f.vendors) == 1:
        return (card.vendor,)
    return tuple(c.vendor for c in cards if c.vendor is not None and (not f.vendors or c.vendor in f.vendors))


def vendor_audits(cards: list[Any], shown: tuple[str, ...]) -> tuple[list[Any], list[tuple[str, str, int]]]:
    """The audits of the vendor models of `shown` vendors, and those too little denied to judge, each once,
    gathered from the cards (the pooled card holds every vendor's; a vendor's card its own)."""
    audits = {(a.vendor, a.model): a for c in cards for a in c.audits if a.vendor in shown}
    unjudged = {(u[0], u[1]): u for c in cards for u in getattr(c, "unjudged", ()) if u[0] in shown}
    return list(audits.values()), list(unjudged.values())


def vendor_model_gaps(audits: list[Any], unjudged: list[tuple[str, str, int]], held_out: Any,
                      shown: tuple[str, ...]) -> list[str]:
    """What the audit could not judge, in words: a vendor model with too few denials among the held-out claims it
    scored, or a vendor (of `shown`) that scored none of them."""
    from opsdash.denials import vendors

    if held_out is None:
        return []
    first, end = held_out
    months = f"{first:%b %Y} to {end - dt.timedelta(days=1):%b %Y}"
    out = [f"{m} ({labels.possessive(v)} own) is not judged: {'none' if n == 0 else f'only {n}'} of the held-out "
           f"claims it scored {'was' if n == 1 else 'were'} denied, and judging it needs at least "
           f"{vendors.MIN_DENIALS}." for v, m, n in unjudged]
    seen = {a.vendor for a in audits} | {u[0] for u in unjudged}
    out += [f"{v} sent no denial-risk score of its own with the claims submitted {months}, so it has no model "
            f"to judge." for v in shown if v not in seen]
    return out


def denial_accuracy_by_vendor(cards: list[Any], f: Filters) -> pd.DataFrame:
    """The model in use on each vendor's held-out claims (the vendors' cards the reader sees, under the vendor
    filter), beside the baseline on the same claims. A vendor with too few denials to measure is left out
    (``denial_unmeasured`` names it)."""
    rows = []
    for c in cards:
        if c.vendor is None or c.model is None or (f.vendors and c.vendor not in f.vendors):
            continue
        rows.append({"vendor": c.vendor, **_judged_row(c.model), "baseline_auroc": c.baseline.auroc,
                     "baseline_dollars_caught": c.baseline.at_capacity.value_caught})
    cols = ["vendor", "claims", "denials", "share_denied", "mean_score", "auroc", "baseline_auroc", "brier",
            "calibration_slope", "claims_a_day", "dollars_caught", "baseline_dollars_caught"]
    return pd.DataFrame(rows, columns=cols)


def denial_unmeasured(cards: list[Any], f: Filters) -> str:
    """The vendors (under the filter) whose held-out claims hold too few denials to measure the model on them."""
    from opsdash.denials import kept, model

    few = [c.vendor for c in cards if c.vendor is not None and c.model is None and c.chosen != model.NONE
           and (not f.vendors or c.vendor in f.vendors)]
    if not few:
        return ""
    return (f"Not measured on {', '.join(few)}: too few of {'its' if len(few) == 1 else 'their'} held-out claims "
            f"were denied (at least {kept.MIN_VENDOR_DENIALS} needed).")


#: Denials a payer needs among the held-out claims before its AUROC is shown (fewer make it a coin toss itself).
MIN_PAYER_DENIALS = 10


def denial_accuracy_by_payer(card: Any, f: Filters) -> pd.DataFrame:
    """The model in use on each payer's held-out claims (of the card's claims), beside the baseline, most claims
    first; the AUROC only where the payer had MIN_PAYER_DENIALS denials and a paid claim. The page's payer
    filter applies."""
    from opsdash.denials import model

    by = card.by_payer
    cols = ["payer", "claims", "denials", "share_denied", "mean_score", "auroc", "baseline_auroc", "brier"]
    if by is None or by.empty or card.chosen == model.NONE:
        return pd.DataFrame(columns=cols)
    by = by[by["by"] == "payer"]
    payers = dict(f.extra).get("payer")
    if payers:
        by = by[by["value"].isin(payers)]
    used = card.chosen
    measured = (by["denials"] >= MIN_PAYER_DENIALS) & (by["denials"] < by["claims"])
    out = pd.DataFrame({
        "payer": by["value"], "claims": by["claims"], "denials": by["denials"], "share_denied": by["share_denied"],
        "mean_score": by[f"{used}_mean_score"], "auroc": by[f"{used}_auroc"].where(measured),
        "baseline_auroc": by[f"{model.BASELINE}_auroc"].where(measured), "brier": by[f"{used}_brier"]})
    return out.sort_values(["claims", "payer"], ascending=[False, True]).reset_index(drop=True)


def benchmark_table(store: Store, vendor: str, through: dt.date) -> tuple[pd.DataFrame, str]:
    """The vendor's KPIs at this hospital against the same vendor at its other clients (the portfolio benchmark
    loaded with `opsdash lake benchmarks`), for its latest benchmarked month starting on or before `through`:
    kpi, here, the others' median and quartiles, how many were compared, where this figure lies among them
    (better/worse by the KPI's direction) and the share of them doing worse; and a sentence on what was compared.
    Empty, with no sentence, when none is loaded for the vendor."""
    rows = queries.benchmarks(store, vendor, through)
    if rows.empty:
        return pd.DataFrame(), ""
    order = {k: i for i, k in enumerate(catalog.KPIS)}
    rows = rows[rows["kpi"].isin(order)].sort_values("kpi", key=lambda k: k.map(order)).reset_index(drop=True)
    if rows.empty:  # only KPIs this version's catalogue no longer has (a file from another version of opsdash)
        return pd.DataFrame(), ""
    direction = rows["kpi"].map(lambda k: catalog.KPIS[k].direction)
    above, below = rows["value"] > rows["others_p75"], rows["value"] < rows["others_p25"]
    higher, lower = direction == "higher", direction == "lower"
    position = np.select([above & higher, below & higher, above & lower, below & lower, above, below],
                         ["better_than_most", "worse_than_most", "worse_than_most", "better_than_most",
                          "above_most", "below_most"], "like_most")
    worse = np.where(higher, rows["share_below"], np.where(lower, 1 - rows["share_below"], np.nan))
    # Where this figure lies comes right after it: the reading a person looks for first.
    out = pd.DataFrame({"kpi": rows["kpi"], "here": rows["value"], "position": position,
                        "others_median": rows["others_median"], "others_p25": rows["others_p25"],
                        "others_p75": rows["others_p75"], "doing_worse": worse,
                        "others": rows["others"].astype("Int64")})
    month = rows["period_start"].iloc[0]
    fewest, most = int(rows["others"].min()), int(rows["others"].max())
    clients = f"{fewest}" if fewest == most else f"{fewest} to {most}"
    made = pd.Timestamp(rows["computed_at"].max())
    words = (f"{vendor} at this hospital in {periods.label(month, 'month')}, against the same vendor at {clients} of "
             f"its other clients (the portfolio benchmark of {made.day} {made:%b %Y}). Other clients are never named, "
             f"and a KPI with fewer than {int(rows['min_others'].max())} other clients is not compared. Volumes and "
             "backlogs measure a hospital's size, so they are not compared.")
    return out, words
