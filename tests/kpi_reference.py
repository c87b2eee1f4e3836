"""An independent pandas computation of every KPI, written from kpis.md, not from the engine's SQL.

Used by tests to check opsdash.metrics row for row.
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd

US = pd.Timedelta(microseconds=1)


def period_start(t: pd.Series, grain: str) -> pd.Series:
    t = pd.to_datetime(t)
    day = t.dt.normalize()
    if grain == "day":
        return day
    if grain == "week":  # ISO week: Monday start
        return day - pd.to_timedelta(day.dt.day_of_week, unit="D")
    if grain == "month":
        return day - pd.to_timedelta(day.dt.day - 1, unit="D")
    first_month = (day.dt.month - 1) // 3 * 3 + 1
    return pd.to_datetime(pd.DataFrame({"year": day.dt.year, "month": first_month, "day": 1}))


def next_start(p: pd.Timestamp, grain: str) -> pd.Timestamp:
    return p + {"day": pd.DateOffset(days=1), "week": pd.DateOffset(days=7), "month": pd.DateOffset(months=1),
                "quarter": pd.DateOffset(months=3)}[grain]


def known_at(table: str, df: pd.DataFrame, as_of: pd.Timestamp, loads: pd.DataFrame) -> pd.DataFrame:
    """The table as known at as_of: later events (and what they carry) blanked, rows not yet there dropped."""
    df = df.copy()
    day = as_of.normalize()
    if table == "claims":
        df = df[pd.to_datetime(df["received_date"]) <= day]
        sub = pd.to_datetime(df["submitted_date"]) <= day
        adj = pd.to_datetime(df["adjudicated_date"]) <= day
        for c in ("submitted_date", "clean_submission"):
            df[c] = df[c].where(sub)
        for c in ("adjudicated_date", "initial_outcome", "denial_reason", "paid_amount"):
            df[c] = df[c].where(adj)
    elif table == "qa_audits":
        df = df[pd.to_datetime(df["audit_date"]) <= day]
    elif table == "work_items":
        df = df[df["opened_at"] <= as_of]
        df["completed_at"] = df["completed_at"].where(df["completed_at"] <= as_of)
        with_column = loads.loc[loads["columns_present"].map(lambda cols: "completed_at" in list(cols)), "load_id"]
        df["has_completed"] = df["_load_id"].isin(with_column)
    else:
        df = df[df["offered_at"] <= as_of]
        ans = df["answered_at"] <= as_of
        df["answered_at"] = df["answered_at"].where(ans)
        df["abandoned_at"] = df["abandoned_at"].where(df["abandoned_at"] <= as_of)
        df["handle_seconds"] = df["handle_seconds"].where(ans)
        df["first_contact_resolved"] = df["first_contact_resolved"].where(ans)
    return df


def _secs(a: pd.Series, b: pd.Series) -> pd.Series:
    return (pd.to_datetime(b) - pd.to_datetime(a)).dt.total_seconds()


def row_terms(kpi: str, d: pd.DataFrame, as_of: pd.Timestamp, answer: float, short: float) -> pd.DataFrame:
    """Per row: t (period time), keep (row counts for this KPI), num, den or v."""
    out = pd.DataFrame(index=d.index)
    keep = pd.Series(True, index=d.index)
    if kpi == "claim_volume":
        out["t"] = d["received_date"]
    elif kpi in ("claim_turnaround_days", "claim_turnaround_p90_days"):
        out["t"] = d["submitted_date"]
        keep = d["submitted_date"].notna()
        out["v"] = (pd.to_datetime(d["submitted_date"]) - pd.to_datetime(d["received_date"])).dt.days
    elif kpi == "clean_claim_rate":
        out["t"] = d["submitted_date"]
        out["num"] = d["clean_submission"].eq(True)
        out["den"] = d["clean_submission"].notna()
    elif kpi == "initial_denial_rate":
        out["t"] = d["adjudicated_date"]
        out["num"] = d["initial_outcome"].eq("denied")
        out["den"] = d["initial_outcome"].notna()
    elif kpi == "error_rate":
        out["t"], out["num"], out["den"] = d["audit_date"], d["errors"], d["opportunities"]
    elif kpi == "accuracy_rate":
        out["t"], out["num"], out["den"] = d["audit_date"], d["errors"].eq(0), 1
    elif kpi == "critical_error_rate":
        out["t"] = d["audit_date"]
        out["num"] = d["critical_errors"].gt(0).fillna(False)
        out["den"] = d["critical_errors"].notna()
    elif kpi == "work_volume":
        out["t"] = d["opened_at"]
    elif kpi == "sla_adherence":
        has_due = d["due_at"].notna()
        out["t"] = d["due_at"].where(has_due, d["completed_at"].where(d["completed_at"].notna(), d["opened_at"]))
        done = d["completed_at"].notna()
        with_due = has_due & (done | (d["due_at"] <= as_of))
        without = ~has_due & d["sla_met"].notna() & (done | ~d["has_completed"])
        met = np.where(has_due, (d["completed_at"] <= d["due_at"]).fillna(False), d["sla_met"].eq(True))
        out["den"] = with_due | without
        out["num"] = out["den"] & met
    elif kpi == "turnaround_hours":
        out["t"] = d["completed_at"]
        keep = d["completed_at"].notna()
        out["v"] = _secs(d["opened_at"], d["completed_at"]) / 3600
    elif kpi in ("call_volume", "service_level", "abandonment_rate", "average_speed_of_answer_s",
                 "average_handle_time_s", "first_contact_resolution_rate"):
        out["t"] = d["offered_at"]
        short_ab = d["abandoned_at"].notna() & (_secs(d["offered_at"], d["abandoned_at"]) <= short)
        if kpi != "call_volume":
            keep = ~short_ab
        handled = d["answered_at"].notna() | d["abandoned_at"].notna()
        if kpi == "service_level":
            out["num"] = d["answered_at"].notna() & (_secs(d["offered_at"], d["answered_at"]) <= answer)
            out["den"] = handled
        elif kpi == "abandonment_rate":
            out["num"], out["den"] = d["abandoned_at"].notna(), handled
        elif kpi == "average_speed_of_answer_s":
            keep = keep & d["answered_at"].notna()
            out["v"] = _secs(d["offered_at"], d["answered_at"])
        elif kpi == "average_handle_time_s":
            keep = keep & d["answered_at"].notna() & d["handle_seconds"].notna()
            out["v"] = d["handle_seconds"]
        elif kpi == "first_contact_resolution_rate":
            out["num"] = d["first_contact_resolved"].eq(True)
            out["den"] = d["first_contact_resolved"].notna()
    else:
        raise KeyError(kpi)
    out["t"] = pd.to_datetime(out["t"])
    return out[keep & out["t"].notna()]


def _periods(lo: pd.Timestamp, hi: pd.Timestamp, grain: str | None) -> list[pd.Timestamp]:
    """Every period start from lo's period to hi's (one period starting at lo when there is no grain)."""
    if grain is None:
        return [lo]
    first, last = period_start(pd.Series([lo, hi]), grain)
    return list(pd.date_range(first, last, freq={"day": "D", "week": "7D", "month": "MS", "quarter": "3MS"}[grain]))


def _every_period_and_group(periods: list[pd.Timestamp], groups: pd.DataFrame, by: list[str]) -> pd.DataFrame:
    """One row per period and group (periods outer, groups in order of first appearance)."""
    frame = pd.DataFrame({"p": periods})
    return frame.merge(groups[by].reset_index(drop=True), how="cross") if by else frame


def reference(kpi: str, kind: str, table: str, raw: pd.DataFrame, loads: pd.DataFrame, grain: str | None,
              by: list[str], as_of: pd.Timestamp, start: dt.date | None = None, end: dt.date | None = None,
              where: dict[str, list[str]] | None = None, answer: float = 30, short: float = 5) -> pd.DataFrame:
    d = known_at(table, raw, as_of, loads)
    for col, vals in (where or {}).items():
        d = d[d[col].astype("string").isin(vals)]
    hi = min(pd.Timestamp(end) if end else as_of.normalize(), as_of.normalize())
    if kind == "backlog":
        return _backlog(kpi, d, grain, by, as_of, start, hi)
    terms = row_terms(kpi, d, as_of, answer, short)
    terms = terms.join(d[by]) if by else terms
    # Rows up to the given end (capped at as-of), else up to the end of as-of's own period: an item due after
    # as-of but already judged belongs to its due date's period.
    if end is not None or grain is None:
        row_end = hi + pd.Timedelta(days=1)
    else:
        row_end = next_start(period_start(pd.Series([as_of.normalize()]), grain)[0], grain)
    terms = terms[(terms["t"] < row_end) & ((terms["t"] >= pd.Timestamp(start)) if start else True)]
    if terms.empty:
        return pd.DataFrame()
    lo = pd.Timestamp(start) if start else terms["t"].min().normalize()
    terms = terms.assign(p=lo if grain is None else period_start(terms["t"], grain),
                         **{c: terms[c].astype(float) for c in ("num", "den", "v") if c in terms})
    groups = terms[by].drop_duplicates() if by else pd.DataFrame(index=[0])
    key = ["p", *by]
    g = terms.groupby(key, dropna=False, sort=False)
    agg = g.size().rename("_rows").to_frame()
    if kind == "ratio":
        agg["numerator"], agg["denominator"] = g["num"].sum(), g["den"].sum()
    elif kind in ("mean", "quantile"):
        agg["n"] = g["v"].count()
        if kind == "mean":
            agg["value"] = g["v"].agg(lambda x: x.dropna().mean())  # summed as a plain mean sums, not compensated
        else:
            q = 0.9 if kpi.endswith("p90_days") else 0.5
            # numpy's default is continuous (linear between the order statistics either side)
            agg["value"] = g["v"].agg(lambda x: float(np.quantile(x.dropna(), q)) if x.notna().any() else np.nan)
    out = _every_period_and_group(_periods(lo, hi, grain), groups, by).merge(
        agg.reset_index(), on=key, how="left")
    seen = out["_rows"].fillna(0) > 0
    if kind == "count":
        out["value"] = out["_rows"].where(seen)
    elif kind == "ratio":
        out["value"] = (out["numerator"] / out["denominator"]).where(out["denominator"].fillna(0) != 0)
    out["period_start"] = out["p"].dt.date
    extra = {"count": [], "ratio": ["numerator", "denominator"]}.get(kind, ["n"])
    return out[["period_start", *by, *extra, "value"]].astype({c: float for c in [*extra, "value"]})


def _backlog(kpi: str, d: pd.DataFrame, grain: str | None, by: list[str], as_of: pd.Timestamp,
             start: dt.date | None, hi: pd.Timestamp) -> pd.DataFrame:
    """Per period end e (the period's last instant, as-of when earlier): the rows in the backlog at e, counted
    over every row and every e at once."""
    t_in = pd.to_datetime(d["received_date"] if kpi == "unbilled_backlog" else d["due_at"])
    # A group appears once it has an entry by as-of (a due time must have passed: due_at < as_of).
    entered = (t_in < as_of) if kpi == "overdue_backlog" else (t_in <= as_of)
    d = d[t_in.notna()]
    if d.empty or not entered.any():
        return pd.DataFrame()
    lo = pd.Timestamp(start) if start else t_in[entered].min().normalize()
    periods = _periods(lo, hi, grain)
    nexts = [hi + pd.Timedelta(days=1)] if grain is None else [next_start(p, grain) for p in periods]
    ends = pd.DataFrame({"p": periods,
                         "e": [min(n - US, as_of, hi + pd.Timedelta(days=1) - US) for n in nexts]})
    x = d.merge(ends, how="cross")  # every row at every period end
    if kpi == "unbilled_backlog":
        seen = pd.to_datetime(x["received_date"]) <= x["e"]
        sub = pd.to_datetime(x["submitted_date"])
        x["_in"] = seen & (sub.isna() | (sub > x["e"]))
    else:
        seen = x["due_at"] < x["e"]
        x["_in"] = (x["opened_at"] <= x["e"]) & seen & (x["completed_at"].isna() | (x["completed_at"] > x["e"]))
    x["_seen"] = seen
    key = ["p", *by]
    agg = x.groupby(key, dropna=False, sort=False).agg(_in=("_in", "sum"), _seen=("_seen", "any")).reset_index()
    groups = d.loc[entered[entered].index, by].drop_duplicates() if by else pd.DataFrame(index=[0])
    out = _every_period_and_group(periods, groups, by).merge(agg, on=key, how="left")
    out["value"] = out["_in"].astype(float).where(out["_seen"].eq(True))
    out["period_start"] = out["p"].dt.date
    return out[["period_start", *by, "value"]]
