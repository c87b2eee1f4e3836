"""The weekly review pack's content, computed once and written in every format (HTML, Excel, PDF).

Every number comes from the same functions as the dashboard's Vendor scorecard page (sla.scorecard,
views.tile, views.what_changed, sla.reconcile, views.counts_by), so the pack and the screen agree.
Work-item ids appear in the breaches table; no other row-level data, and never a patient identifier (the
store holds none: the loader drops such columns).
"""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
from dataclasses import dataclass, field
from typing import Any

import pandas as pd
import plotly.graph_objects as go

from opsdash import catalog, charts, icons, metrics, sla, views
from opsdash.settings import Settings
from opsdash.store import Store

#: Periods of history on each trend chart (the review period is the last).
TREND_PERIODS = {"week": 26, "month": 24}
TOP = 5
BREACHES = 20


class ReportError(ValueError):
    """A pack that cannot be made as asked; the message says why and what would work."""


class NoDataError(ReportError):
    """The vendor sent nothing dated in the period."""


@dataclass
class Table:
    title: str
    frame: pd.DataFrame
    note: str = ""
    units: dict[str, str] = field(default_factory=dict)  # column -> unit ("%", "days", ...) for Excel formats


@dataclass
class Chart:
    title: str
    figure: go.Figure
    frame: pd.DataFrame


@dataclass
class Pack:
    vendor: str
    period: str
    grain: str
    start: dt.date
    end: dt.date
    generated: dt.datetime
    summary: dict[str, Any]
    freshness: pd.DataFrame
    tables: dict[str, Table]
    charts: list[Chart]
    settings: dict[str, Any]
    raw_levels: pd.DataFrame  # the scorecard's levels with numbers, as sla.scorecard gives them

    @property
    def stem(self) -> str:
        return file_stem(self.vendor, self.period)


def file_stem(vendor: str, period: str) -> str:
    """opsdash-review_<vendor>_<period>, in plain ASCII (accents dropped), stable from run to run."""
    ascii_name = unicodedata.normalize("NFKD", vendor).encode("ascii", "ignore").decode()
    safe = re.sub(r"[^A-Za-z0-9.]+", "-", ascii_name).strip("-") or "vendor"
    return f"opsdash-review_{safe}_{period}"


def build(store: Store, vendor: str, period: str, *, grain: str | None = None,
          settings: Settings | None = None) -> Pack:
    settings = settings or Settings()
    known = sla.vendors(store)
    if vendor not in known:
        raise ReportError(f"unknown vendor {vendor!r}; expected one of {', '.join(known) or '(none loaded)'}")
    try:
        grain, start, end = sla.parse_period(period, grain)
    except sla.SlaError as exc:
        raise ReportError(str(exc)) from exc
    if grain not in TREND_PERIODS:
        raise ReportError(f"review packs are weekly or monthly, not by {grain}")
    if not _has_rows(store, vendor, start, end):
        raise NoDataError(f"no data for {vendor} in {period} ({start} to {end}): nothing was loaded for that "
                          "vendor in those dates")
    card = sla.scorecard(store, vendor, period, grain=grain, settings=settings)
    f = views.Filters(None, end, grain, (vendor,))
    tables: dict[str, Table] = {}

    levels = card.levels
    shown = views.formatted(levels)[["label", "process", "priority", "level", "target", "minimum", "value", "status",
                                     "consecutive_missed", "credit_pct", "credit"]]
    tables["scorecard"] = Table("Contract service levels", shown,
                                "Status against the level in force in the period; credits for missed critical "
                                "levels, capped at the monthly amount at risk.")
    tables["headline"] = Table("Headline KPIs", _headline(store, vendor, f, start),
                               f"The {grain} under review against the previous one; SPC after NHS Making Data Count.")
    signals = views.what_changed(store, f)
    tables["signals"] = Table("Special-cause signals of the period", signals.drop(columns=["kpi"]),
                              "" if len(signals) else "No special-cause signal in this period.")
    pf = views.Filters(start, end, grain, (vendor,))
    tables["errors"] = Table("Top error categories", views.counts_by(store, "qa_audits", "error_category", pf,
                                                                      "audit_date", "errors > 0").head(TOP)
                             .rename(columns={"rows": "audits with errors"}))
    tables["denials"] = Table("Top denial reasons", views.counts_by(store, "claims", "denial_reason", pf,
                                                                     "adjudicated_date", "initial_outcome = 'denied'")
                              .head(TOP).rename(columns={"rows": "denied claims"}))
    tables["breaches"] = Table(f"SLA breaches of the period (top {BREACHES}, latest due first)",
                               _breaches(store, vendor, start, end),
                               "Work items due in the period and completed after their due time, or still open past it.")
    ev = views.events(store, pf, start, end)
    shown_ev = pd.DataFrame({
        "date": ev["event_date"],
        "KPI": [catalog.KPIS[k].label if k in catalog.KPIS else "every KPI" for k in ev["kpi"]],
        "process": [p if isinstance(p, str) and p else "every process" for p in ev["process"]],
        "what happened": ev["description"], "process change": ev["is_process_change"].map({True: "yes", False: "no"})})
    tables["events"] = Table("Events in the period", shown_ev,
                             "A process change starts new SPC limits from its period." if len(ev) else
                             "No event recorded for the period.")
    rec = sla.reconcile(store, vendor)
    rec = rec[(rec["period_start"] <= end) & (rec["period_end"] >= start)] if len(rec) else rec
    tables["reconciliation"] = Table("Reported against measured", rec.reset_index(drop=True),
                                     "Discrepancies first: beyond 0.5 points for rates, 1% otherwise.")
    tables["actions"] = Table("Actions agreed", pd.DataFrame({"action": [""] * 5, "owner": [""] * 5,
                                                              "due": [""] * 5, "status": [""] * 5}),
                              "To fill in during the meeting.")
    used = sorted(set(levels["kpi"]) | set(tables["headline"].frame["kpi"]))
    tables["definitions"] = Table("KPI definitions used", pd.DataFrame([{
        "KPI": catalog.KPIS[k].label, "id": k, "definition": catalog.KPIS[k].description,
        "unit": catalog.UNITS.get(catalog.KPIS[k].unit) or catalog.KPIS[k].unit,
        "better when": catalog.KPIS[k].direction, "target source": catalog.KPIS[k].target_source}
        for k in used if k in catalog.KPIS]))
    fresh = views.freshness(store)
    return Pack(vendor, period, grain, start, end, dt.datetime.now().replace(microsecond=0), card.summary, fresh,
                tables, _charts(store, levels, vendor, grain, end), {
                    "vendor": vendor, "period": period, "grain": grain, "from": start, "to": end,
                    "answer threshold (s)": 30, "short-abandon window (s)": 5, "currency": settings.currency,
                    "amount at risk": settings.at_risk.get(vendor), "settings file": settings.source or "(none)",
                    "store": str(store.path)}, levels)


def _has_rows(store: Store, vendor: str, start: dt.date, end: dt.date) -> bool:
    for table, cols in catalog.EVENT_TIMES.items():
        cond = " OR ".join(f"CAST({c} AS DATE) BETWEEN ? AND ?" for c in cols)
        params: list[Any] = [vendor]
        for _ in cols:
            params += [start, end]
        row = store.fetchone(f"SELECT count(*) > 0 FROM (SELECT 1 FROM {table} WHERE vendor = ? AND ({cond}) "
                             f"AND {catalog.in_window(table)} LIMIT 1)", params)
        if row and row[0]:
            return True
    return False


def _headline(store: Store, vendor: str, f: views.Filters, start: dt.date) -> pd.DataFrame:
    rows = []
    for kpi_id in views.HEADLINE:
        t = views.tile(store, kpi_id, f)
        if t.period != start:
            continue  # no value for the period under review (the vendor does not send that kind of data)
        rows.append({"kpi": kpi_id, "KPI": t.kpi.label, "value": t.value, "previous": t.previous,
                     "change": t.change, "target": t.target,
                     "variation": views.reading_words(t.variation, icons.VARIATION_WORDS),
                     "assurance": views.reading_words(t.assurance, icons.ASSURANCE_WORDS), "in words": t.words})
    return pd.DataFrame(rows, columns=["kpi", "KPI", "value", "previous", "change", "target", "variation",
                                       "assurance", "in words"])


def _breaches(store: Store, vendor: str, start: dt.date, end: dt.date) -> pd.DataFrame:
    as_of = metrics.default_as_of(store, "work_items")
    return store.query(
        "SELECT item_id, process, priority, due_at, completed_at, "
        "round(epoch(coalesce(completed_at, ?) - due_at) / 3600.0, 1) AS hours_late "
        f"FROM work_items WHERE vendor = ? AND CAST(due_at AS DATE) BETWEEN ? AND ? AND {catalog.in_window('work_items')} "
        "AND (completed_at > due_at OR (completed_at IS NULL AND due_at <= ?)) "
        f"ORDER BY due_at DESC LIMIT {BREACHES}", [as_of, vendor, start, end, as_of])


def _charts(store: Store, levels: pd.DataFrame, vendor: str, grain: str, end: dt.date) -> list[Chart]:
    out = []
    critical = levels[levels["level"] == "critical"]
    for lv in critical.itertuples():
        kpi = catalog.KPIS.get(lv.kpi)
        if kpi is None:
            continue
        where = sla.restriction(kpi, vendor, lv.process, lv.priority)
        first = (pd.Timestamp(end) - pd.DateOffset(**{("weeks" if grain == "week" else "months"):
                                                       TREND_PERIODS[grain] - 1})).date()
        df = metrics.series(store, kpi.id, grain=grain, where=where, start=first, end=end)
        if not df["value"].notna().any():
            continue
        one = views.Filters(vendors=(vendor,)).with_extra(**{k: v for k, v in where.items() if k != "vendor"})
        ev = views.events_on(views.events_for(views.events(store, one), kpi.id, one), df["period_start"], grain)
        chart = views.xmr_for(kpi, df, ev, grain)
        scope = " · ".join(str(x) for x in (lv.process, lv.priority) if isinstance(x, str) and x)
        title = f"{kpi.label}{' · ' + scope if scope else ''}: {grain}ly XmR chart, target {catalog.format_value(kpi, lv.target)}"
        fig = charts.spc(chart, df["period_start"], kpi, target=float(lv.target), title=title, events=ev)
        out.append(Chart(title, fig, df.join(chart[["mean", "lpl", "upl", "point_type"]].add_prefix("spc_"))))
    return out
