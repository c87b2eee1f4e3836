"""Contract service levels: attainment, service credits, the vendor scorecard, and reconciliation of what
vendors report against what opsdash measures. Every value comes from opsdash.metrics."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from opsdash import catalog, metrics, periods, queries
from opsdash.settings import Settings
from opsdash.store import Store

STATUSES = ("met", "missed", "below_minimum", "no_data", "not_scored", "unknown_kpi")
MISSED = ("missed", "below_minimum")
TOLERANCE_FRACTION = 0.005  # 0.5 percentage points, for rates
TOLERANCE_RELATIVE = 0.01  # 1 % of the measured value, for everything else
KEY = ["kpi", "process", "priority"]


class SlaError(ValueError):
    """A request that cannot be scored (unknown vendor or period); the message says what is valid."""


def parse_period(text: str, grain: str | None = None) -> tuple[str, dt.date, dt.date]:
    """'2026-10' (month), '2026-W43' (ISO week) or '2026-Q3' (quarter) -> (grain, first day, last day)."""
    try:
        found, start, end = periods.parse(text, grain)
    except periods.PeriodError as exc:
        raise SlaError(str(exc)) from None
    if found == "day":
        raise SlaError(f"period {text!r} is a day; a scorecard covers a month (2026-10), an ISO week (2026-W43) "
                       "or a quarter (2026-Q3)")
    return found, start, end


def vendors(store: Store) -> list[str]:
    return queries.vendors(store)


def targets_for(store: Store, vendor: str) -> pd.DataFrame:
    df = queries.targets(store, vendor)
    df["effective_from"] = pd.to_datetime(df["effective_from"])
    df["effective_to"] = pd.to_datetime(df["effective_to"])
    return df


def applicable(targets: pd.DataFrame, start: dt.date, end: dt.date) -> pd.DataFrame:
    """Levels in force during [start, end]: a vendor's own row over '*'; of several, the latest in force."""
    lo, hi = pd.Timestamp(start), pd.Timestamp(end)
    t = targets[(targets["effective_from"] <= hi) &
                (targets["effective_to"].isna() | (targets["effective_to"] >= lo))].copy()
    if t.empty:
        return t
    t["_own"] = t["vendor"] != "*"
    t["_key"] = t[KEY].astype(object).where(t[KEY].notna(), "").astype(str).agg("|".join, axis=1)
    t = t.sort_values(["_own", "effective_from"]).groupby("_key", sort=False).tail(1)
    return t.drop(columns=["_own", "_key"]).sort_values(["kpi", "process", "priority"], na_position="first")


def restriction(kpi: catalog.Kpi, vendor: str, process: Any, priority: Any) -> dict[str, list[str]]:
    where = {"vendor": [vendor]}
    if isinstance(process, str) and process:
        col = catalog.PROCESS_COLUMN.get(kpi.table)
        if col is None:
            raise SlaError(f"{kpi.id} cannot be restricted to a process ({process})")
        where[col] = [process]
    if isinstance(priority, str) and priority:
        if kpi.table != "work_items":
            raise SlaError(f"{kpi.id} cannot be restricted to a priority ({priority})")
        where["priority"] = [priority]
    return where


def _tables_with_rows(store: Store, vendor: str) -> set[str]:
    return {t for t in catalog.DIMENSIONS if queries.has_rows(store, t, vendor)}


def status(kpi: catalog.Kpi, value: float | None, target: float, minimum: float | None) -> str:
    if value is None or pd.isna(value):
        return "no_data"
    if kpi.direction == "neutral":
        return "not_scored"
    better = value >= target if kpi.direction == "higher" else value <= target
    if better:
        return "met"
    if minimum is not None and not pd.isna(minimum):
        if (value < minimum) if kpi.direction == "higher" else (value > minimum):
            return "below_minimum"
    return "missed"


@dataclass
class Scorecard:
    vendor: str
    period: str
    grain: str
    start: dt.date
    end: dt.date
    levels: pd.DataFrame
    summary: dict[str, Any] = field(default_factory=dict)


def scorecard(store: Store, vendor: str, period: str, *, grain: str | None = None, settings: Settings | None = None,
              as_of: dt.datetime | None = None, **kpi_args: Any) -> Scorecard:
    """Every contract level in force for a vendor in a period: value, status, credit, consecutive misses."""
    known = vendors(store)
    if vendor not in known:
        raise SlaError(f"unknown vendor {vendor!r}; expected one of {', '.join(known) or '(none loaded)'}")
    grain, start, end = parse_period(period, grain)
    settings = settings or Settings()
    targets = targets_for(store, vendor)
    rows = []
    sends = _tables_with_rows(store, vendor)
    for _, lv in applicable(targets, start, end).iterrows():
        kpi = catalog.KPIS.get(lv["kpi"])
        if lv["vendor"] == "*" and kpi is not None and kpi.table not in sends:
            continue  # an all-vendors level does not apply to a vendor that never sends that kind of data
        rows.append(_score_level(store, vendor, lv, targets, grain, start, end, as_of, kpi_args))
    levels = pd.DataFrame(rows, columns=["kpi", "label", "unit", "direction", "process", "priority", "level", "target",
                                         "minimum", "value", "status", "consecutive_missed", "credit_pct", "credit",
                                         "scope"])
    at_risk = settings.at_risk.get(vendor)
    monthly = grain == "month"
    missed_critical = levels[(levels["level"] == "critical") & levels["status"].isin(MISSED)]
    if monthly:
        pct = float(missed_critical["credit_pct"].fillna(0).sum())
        levels.loc[missed_critical.index, "credit"] = ((missed_critical["credit_pct"].fillna(0) * at_risk).round(2)
                                                       if at_risk is not None else None)
        due = round(min(pct * at_risk, at_risk), 2) if at_risk is not None else None
    else:
        pct, due = None, None
    scored = levels[levels["status"].isin(("met", *MISSED))]
    summary = {
        "vendor": vendor, "period": period, "grain": grain, "start": start, "end": end,
        "levels_met": int((scored["status"] == "met").sum()), "levels_scored": int(len(scored)),
        "levels_without_data": int((levels["status"] == "no_data").sum()),
        "critical_missed": int(len(missed_critical)),
        "credit_pct_total": pct, "credits_due": due, "at_risk": at_risk, "currency": settings.currency,
        "credits_capped": bool(at_risk is not None and pct is not None and pct > 1),
        "note": None if monthly else "service credits are monthly: see the month's scorecard",
    }
    return Scorecard(vendor, period, grain, start, end, levels, summary)


def _score_level(store: Store, vendor: str, lv: pd.Series, targets: pd.DataFrame, grain: str, start: dt.date,
                 end: dt.date, as_of: dt.datetime | None, kpi_args: dict[str, Any]) -> dict[str, Any]:
    base = {"kpi": lv["kpi"], "process": _none(lv["process"]), "priority": _none(lv["priority"]),
            "level": lv["level"], "target": lv["target"], "minimum": _none(lv["minimum"]),
            "credit_pct": _none(lv["credit_pct"]) if lv["level"] == "critical" else None, "credit": None,
            "scope": "all vendors" if lv["vendor"] == "*" else "vendor"}
    if lv["kpi"] not in catalog.KPIS:
        return {**base, "label": lv["kpi"], "unit": None, "direction": None, "value": None,
                "status": "unknown_kpi", "consecutive_missed": None}
    kpi = catalog.KPIS[lv["kpi"]]
    where = restriction(kpi, vendor, lv["process"], lv["priority"])
    # One series from the earliest level of this key to the period: the value now and the misses before it.
    same = targets[(targets["kpi"] == lv["kpi"]) & (targets["process"].fillna("") == (base["process"] or "")) &
                   (targets["priority"].fillna("") == (base["priority"] or ""))]
    history = metrics.series(store, kpi.id, grain=grain, where=where, start=min(same["effective_from"].min().date(), start),
                             end=end, as_of=as_of, **kpi_args)
    by_period = dict(zip(history["period_start"], history["value"]))
    value = _none(by_period.get(start))
    state = status(kpi, value, lv["target"], lv["minimum"])
    streak = 0
    if state in MISSED:
        for p in sorted((p for p in by_period if p <= start), reverse=True):
            rule = applicable(same, p, periods.end(p, grain))
            if rule.empty or status(kpi, _none(by_period[p]), rule.iloc[0]["target"],
                                    rule.iloc[0]["minimum"]) not in MISSED:
                break
            streak += 1
    return {**base, "label": kpi.label, "unit": kpi.unit, "direction": kpi.direction, "value": value,
            "status": state, "consecutive_missed": streak}


def _none(v: Any) -> Any:
    return None if v is None or (isinstance(v, float) and pd.isna(v)) or v is pd.NA else v


def reconcile(store: Store, vendor: str | None = None, *, as_of: dt.datetime | None = None,
              **kpi_args: Any) -> pd.DataFrame:
    """Each reported_kpis row beside the value measured from the raw rows for the same vendor, KPI, process
    and dates; flagged when they differ beyond tolerance (0.5 points for rates, 1% otherwise) or the raw
    rows are missing. Discrepancies first."""
    rep = queries.reported(store, vendor)
    if vendor and rep.empty and vendor not in vendors(store):
        raise SlaError(f"unknown vendor {vendor!r}; expected one of {', '.join(vendors(store))}")
    rep["period_start"] = pd.to_datetime(rep["period_start"]).dt.date
    rep["period_end"] = pd.to_datetime(rep["period_end"]).dt.date
    measured: list[float | None] = []
    cache: dict[tuple[Any, ...], dict[dt.date, Any]] = {}
    for r in rep.itertuples():
        if r.kpi not in catalog.KPIS:
            measured.append(None)
            continue
        kpi = catalog.KPIS[r.kpi]
        where = restriction(kpi, r.vendor, r.process, None)
        whole_month = (r.period_start == periods.start_of(r.period_start, "month")
                       and r.period_end == periods.end(r.period_start, "month"))
        if whole_month:  # one monthly series per vendor, KPI and process serves all its months
            key = (r.kpi, r.vendor, r.process)
            if key not in cache:
                s = metrics.series(store, r.kpi, grain="month", where=where, as_of=as_of, **kpi_args)
                cache[key] = dict(zip(s["period_start"], s["value"]))
            measured.append(_none(cache[key].get(r.period_start)))
        else:
            measured.append(metrics.total(store, r.kpi, r.period_start, r.period_end, where=where, as_of=as_of,
                                          **kpi_args))
    rep["measured"] = pd.array(measured, dtype="Float64")
    rep["difference"] = rep["reported"] - rep["measured"]
    unit = rep["kpi"].map(lambda k: catalog.KPIS[k].unit if k in catalog.KPIS else None)
    too_far = [(_far(u, d, m)) for u, d, m in zip(unit, rep["difference"], rep["measured"])]
    rep["flag"] = ["unknown_kpi" if pd.isna(u) else "no_raw_data" if pd.isna(m) else "discrepancy" if far else "ok"
                   for u, m, far in zip(unit, rep["measured"], too_far)]
    rep["_order"] = rep["flag"].map({"discrepancy": 0, "no_raw_data": 1, "unknown_kpi": 2, "ok": 3})
    rep["_size"] = rep["difference"].abs().fillna(0)
    return rep.sort_values(["_order", "_size"], ascending=[True, False]).drop(columns=["_order", "_size"]).reset_index(drop=True)


def _far(unit: str | None, diff: Any, measured: Any) -> bool:
    if pd.isna(unit) or pd.isna(diff) or pd.isna(measured):
        return False
    if unit == "fraction":
        return abs(diff) > TOLERANCE_FRACTION
    return abs(diff) > TOLERANCE_RELATIVE * abs(measured)


def attainment(store: Store, start: dt.date, end: dt.date, *, vendors_: list[str] | None = None,
               settings: Settings | None = None, **kpi_args: Any) -> pd.DataFrame:
    """Every vendor's contract levels month by month over [start, end]: the month's value and status under the
    level in force that month, consecutive months missed, and each missed critical level's credit (as in the
    scorecard: a month's total is capped at the at-risk amount by whoever adds them up, see ``credits_due``).

    One engine series per vendor and level, not one scorecard per month: the SLA page's heatmap in one pass.
    Columns: vendor, month, kpi, label, unit, process, priority, level, target, minimum, value, status,
    consecutive_missed, credit_pct, credit.
    """
    settings = settings or Settings()
    first = periods.start_of(start, "month")
    months = periods.between(first, end, "month")
    rows: list[dict[str, Any]] = []
    for vendor in vendors_ or vendors(store):
        targets = targets_for(store, vendor)
        sends = _tables_with_rows(store, vendor)
        in_range = applicable(targets, first, end)
        for _, lv in in_range.iterrows():
            kpi = catalog.KPIS.get(lv["kpi"])
            if kpi is None or (lv["vendor"] == "*" and kpi.table not in sends):
                continue
            same = targets[(targets["kpi"] == lv["kpi"]) & (targets["process"].fillna("") == (_none(lv["process"]) or "")) &
                           (targets["priority"].fillna("") == (_none(lv["priority"]) or ""))]
            hist = metrics.series(store, kpi.id, grain="month", where=restriction(kpi, vendor, lv["process"], lv["priority"]),
                                  start=first, end=end, **kpi_args)
            values = dict(zip(hist["period_start"], hist["value"]))
            rules = same.to_dict("records")
            streak = 0
            for m in months:
                m_end = periods.end(m, "month")
                r = _rule_in_force(rules, m, m_end)
                if r is None:
                    continue
                value = _none(values.get(m))
                state = status(kpi, value, r["target"], _none(r["minimum"]))
                streak = streak + 1 if state in MISSED else 0
                rows.append({"vendor": vendor, "month": m, "kpi": kpi.id, "label": kpi.label, "unit": kpi.unit,
                             "process": _none(r["process"]), "priority": _none(r["priority"]), "level": r["level"],
                             "target": r["target"], "minimum": _none(r["minimum"]), "value": value, "status": state,
                             "consecutive_missed": streak,
                             "credit_pct": _none(r["credit_pct"]) if r["level"] == "critical" else None})
    cols = ["vendor", "month", "kpi", "label", "unit", "process", "priority", "level", "target", "minimum", "value",
            "status", "consecutive_missed", "credit_pct", "credit"]
    out = pd.DataFrame(rows, columns=cols[:-1])
    out["credit"] = None
    if out.empty:
        return pd.DataFrame(columns=cols)
    missed = (out["level"] == "critical") & out["status"].isin(MISSED)
    for (vendor, _month), idx in out[missed].groupby(["vendor", "month"]).groups.items():
        at_risk = settings.at_risk.get(vendor)
        if at_risk is None:
            continue
        out.loc[idx, "credit"] = (out.loc[idx, "credit_pct"].fillna(0).astype(float) * at_risk).round(2)
    return out[cols]


def _rule_in_force(rules: list[dict[str, Any]], start: dt.date, end: dt.date) -> dict[str, Any] | None:
    """Of one level's rows, the one in force during [start, end], as ``applicable`` picks it (a vendor's own
    row over '*', then the latest effective_from); plain Python, as it runs once per month and level."""
    lo, hi = pd.Timestamp(start), pd.Timestamp(end)
    live = [r for r in rules if r["effective_from"] <= hi and (pd.isna(r["effective_to"]) or r["effective_to"] >= lo)]
    return max(live, key=lambda r: (r["vendor"] != "*", r["effective_from"])) if live else None


def credits_due(attained: pd.DataFrame, settings: Settings) -> pd.DataFrame:
    """Per vendor and month with a missed critical level: levels missed, credit % and the amount due, capped
    at the vendor's monthly amount at risk (None without one)."""
    missed = attained[(attained["level"] == "critical") & attained["status"].isin(MISSED)]
    rows = []
    for (vendor, month), part in missed.groupby(["vendor", "month"], sort=True):
        pct = float(part["credit_pct"].fillna(0).sum())
        at_risk = settings.at_risk.get(vendor)
        rows.append({"vendor": vendor, "month": month, "levels_missed": len(part), "credit_pct": pct,
                     "at_risk": at_risk, "credit_due": None if at_risk is None else round(min(pct, 1.0) * at_risk, 2),
                     "capped": pct > 1})
    return pd.DataFrame(rows, columns=["vendor", "month", "levels_missed", "credit_pct", "at_risk", "credit_due", "capped"])


def breaches(store: Store, vendor: str, start: dt.date, end: dt.date, *, as_of: dt.datetime | None = None,
             limit: int | None = None) -> pd.DataFrame:
    """Work items due in [start, end] and completed after their due time, or still open past it at the data
    cut-off (`as_of`, by default the latest work-item event): latest due first. An open item's hours late run
    to the cut-off. Columns: item_id, process, priority, due_at, completed_at (empty while open), still_open,
    hours_late; the cut-off is kept in ``attrs["as_of"]``."""
    as_of = as_of or metrics.default_as_of(store, "work_items")
    if as_of is None:
        df = pd.DataFrame(columns=queries.BREACH_COLUMNS)
    else:
        df = queries.breaches(store, vendor, start, end, as_of, limit)
    df.attrs["as_of"] = as_of
    return df


def breach_count(store: Store, vendor: str, start: dt.date, end: dt.date, *,
                 as_of: dt.datetime | None = None) -> tuple[int, int]:
    """(breaches, of which still open) among the work items due in [start, end], as ``breaches`` lists them."""
    as_of = as_of or metrics.default_as_of(store, "work_items")
    return (0, 0) if as_of is None else queries.breach_count(store, vendor, start, end, as_of)


def _level_key(df: pd.DataFrame) -> pd.Series:
    return df["kpi"] + "|" + df["process"].fillna("").astype(str) + "|" + df["priority"].fillna("").astype(str)


def with_previous(store: Store, card: Scorecard, vendor: str, grain: str,
                  settings: Settings | None = None) -> pd.DataFrame:
    """The scorecard's levels with the previous period's value and the change as printed (13.4% against 8.7%
    is +4.7 points), credit figures only where a credit is due (a missed critical level, monthly). Each level is
    compared like for like by its own data (metrics.data_cut of the vendor's table): a level whose data runs to
    date is compared with the previous period scored to the same day, as it stood then. `through` is the last
    day a level's value covers."""
    from opsdash import labels

    levels = card.levels.copy()
    tables = [catalog.KPIS[k].table if k in catalog.KPIS else None for k in levels["kpi"]]
    windows = {t: data_window(store, vendor, card.start, grain, (t,)) for t in set(tables) if t}
    # The previous period is scored once per cut-off its levels need (as it stood at the end of the same days
    # when a level's data runs to date, else whole).
    cut_of = {t: periods.end_of_day(periods.like_for_like(w).through) if w.partial else None
              for t, w in windows.items()}
    previous = periods.code(periods.previous(card.start, grain), grain)
    previous_by_cut: dict[Any, dict[str, Any]] = {}
    for cut in set(cut_of.values()):
        prev = scorecard(store, vendor, previous, grain=grain, settings=settings, as_of=cut)
        previous_by_cut[cut] = dict(zip(_level_key(prev.levels), prev.levels["value"])) if len(prev.levels) else {}
    levels["previous"] = [previous_by_cut.get(cut_of.get(t), {}).get(k) for k, t in zip(_level_key(levels), tables)]
    levels["through"] = [windows[t].through if t else card.end for t in tables]
    levels["change"] = [labels.shown_change(k, v, p) for k, v, p in zip(levels["kpi"], levels["value"],
                                                                         levels["previous"])]
    due = (levels["level"] == "critical") & levels["status"].isin(MISSED) & (grain == "month")
    levels["credit_pct"] = levels["credit_pct"].where(due, None)
    levels["credit"] = levels["credit"].where(due, None)
    return levels


def data_window(store: Store, vendor: str, start: dt.date, grain: str,
                tables: tuple[str, ...] | None = None) -> periods.Window:
    """A review period as the vendor's data in `tables` (default: every table) covers it: to date when that data
    ends within it, whole when it ends after it or before it starts (periods.covered; metrics.data_cut)."""
    cut = metrics.data_cut(store, tables or tuple(catalog.EVENT_TIMES), (vendor,))
    return periods.covered(start, grain, cut)
