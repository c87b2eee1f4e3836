"""Contact-centre staffing ahead: per queue and half-hour, the agents the forecast calls need against the agents
the vendor's plan puts on the phones (issue 14, item 3).

For every planned half-hour within the forecast's horizon:

- **calls**: the queue's daily forecast (capacity.volumes) spread over the day by the queue's measured
  arrival profile (share of each weekday's calls per half-hour, over the PROFILE_WEEKS before the cut-off);
  also at the forecast's 80% upper bound;
- **handle time and patience** measured over the same weeks: the mean handle time of answered calls, and
  mean patience estimated from abandons (erlang.patience_s: time waited over calls that hung up);
- **required agents**: the fewest that reach the contract's service level in force (its answer threshold is
  the KPI's), by Erlang C and by Erlang A (callers hang up);
- **net agents**: scheduled x (1 - shrinkage); the expected service level and abandonment at that level by
  Erlang A (a fractional agent count is interpolated between the two whole counts around it); Erlang C when
  no caller was measured hanging up;
- **short** when the service level expected at the net agents misses the target in force that day.

Plans are read from each vendor's data cut-off day (the first day forecast, partly past).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from opsdash import catalog, metrics, periods, queries, sla
from opsdash.capacity import erlang, volumes
from opsdash.store import Store

#: Weeks of measured calls behind the arrival profile, handle time and patience.
PROFILE_WEEKS = 8
INTERVAL_S = 1800  # the profile's and the plans' interval: half an hour


@dataclass
class QueueStaffing:
    """One queue's intervals ahead (a frame, one row each) and what they rest on."""

    vendor: str
    queue: str
    intervals: pd.DataFrame
    aht_s: float
    patience_s: float
    abandons: int
    forecast_words: str
    target: float  # the lowest in force over the intervals (each interval's own is in `intervals`)
    target_source: str
    notes: list[str] = field(default_factory=list)


def _targets(store: Store, vendor: str, queue: str, days: list[dt.date]) -> tuple[dict[dt.date, float], str]:
    """The service-level target in force on each day (the contract's for the queue, else its vendor-wide one,
    else the catalogue's default) and where it comes from."""
    levels = sla.targets_for(store, vendor)
    out: dict[dt.date, float] = {}
    sources = set()
    for day in days:
        sl = sla.applicable(levels, day, day)
        sl = sl[sl["kpi"] == "service_level"]
        own = sl[sl["process"] == queue]
        pick = own if len(own) else sl[sl["process"].isna()]
        if len(pick):
            out[day] = float(pick["target"].iloc[-1])
            sources.add("the contract's service level")
        else:
            out[day] = float(catalog.KPIS["service_level"].target)
            sources.add("no contract level: the catalogue's default")
    return out, " and ".join(sorted(sources))


def _expected(net: np.ndarray, calls: np.ndarray, aht: float, patience: float | None) -> tuple[np.ndarray, np.ndarray]:
    """The service level and abandonment (as the KPIs) expected at fractional net agents, linear between the
    whole counts around them: Erlang A, or Erlang C (no abandonment) when no caller was measured hanging up."""
    lo, hi = np.floor(net).astype(np.int64), np.ceil(net).astype(np.int64)
    frac = net - lo
    if patience is None:
        a = erlang.offered_load(calls, INTERVAL_S, aht)
        sl_lo = erlang.service_level_c(lo, a, aht, catalog.ANSWER_THRESHOLD_S)
        sl_hi = erlang.service_level_c(hi, a, aht, catalog.ANSWER_THRESHOLD_S)
        return sl_lo + frac * (sl_hi - sl_lo), np.zeros(net.shape)
    x = erlang.erlang_a(lo, calls, INTERVAL_S, aht, patience, catalog.ANSWER_THRESHOLD_S, catalog.SHORT_ABANDON_S)
    y = erlang.erlang_a(hi, calls, INTERVAL_S, aht, patience, catalog.ANSWER_THRESHOLD_S, catalog.SHORT_ABANDON_S)
    return (x.service_level + frac * (y.service_level - x.service_level),
            x.abandonment_rate + frac * (y.abandonment_rate - x.abandonment_rate))


def staffing(store: Store, vendors: tuple[str, ...] = ()) -> list[QueueStaffing]:
    """Every queue with a contact-centre plan from its vendor's cut-off day on and a forecast of its calls. Each
    vendor's own data cut-off decides (metrics.data_cut)."""
    out = []
    for vendor in (vendors or tuple(queries.vendors(store))):
        out.extend(vendor_staffing(store, vendor))
    return out


def vendor_staffing(store: Store, vendor: str, daily: list | None = None) -> list[QueueStaffing]:
    """One vendor's queues; `daily`: its daily forecasts already made (capacity.volumes.forecasts at "day")."""
    cut = metrics.data_cut(store, ("calls",), (vendor,))
    if cut is None:
        return []
    first, last = cut - dt.timedelta(weeks=PROFILE_WEEKS), cut - dt.timedelta(days=1)
    profile = queries.call_profile(store, (vendor,), first, last)
    handling = queries.call_handling(store, (vendor,), first, last)
    results = [r for r in (daily if daily is not None else volumes.forecasts(store, "day", ("call_volume",),
                                                                             (vendor,))) if r[0] == "call_volume"]
    plans = queries.queue_plans(store, (vendor,), cut, cut + dt.timedelta(days=7 * 13))
    out = []
    for queue, plan in plans.groupby("queue", sort=True):
        series = f"{vendor} / {queue}" if queue else vendor
        f = next((f for _k, _h, f in results if f.series == series), None)
        h = handling[handling["queue"] == queue]
        why = (f"no forecast of its calls: {f.reason}" if f is not None and f.status != "ok" else
               "no forecast of its calls: no calls measured" if f is None else
               "no answered call in the weeks before the cut-off" if h.empty or not h["answered"].iloc[0] else
               "the answered calls' handle time is 0" if not h["aht_s"].iloc[0] > 0 else "")
        if why:
            out.append(QueueStaffing(vendor, queue, pd.DataFrame(), float("nan"), float("nan"), 0, "", float("nan"),
                                     "", [f"no staffing figures: {why}"]))
            continue
        prof = profile[profile["queue"] == queue]
        share = prof.set_index(["weekday", "slot"])["calls"] / prof.groupby("weekday")["calls"].transform("sum").to_numpy()
        aht = float(h["aht_s"].iloc[0])
        abandons = int(h["abandoned"].iloc[0])
        waited = float(h["waited_s"].iloc[0])
        # No abandon measured (or none that waited): Erlang C, the limit of infinite patience.
        patience = erlang.patience_s(abandons, waited) if abandons and waited > 0 else None
        days = f.points.assign(day=pd.to_datetime(f.points["ds"]).dt.date).set_index("day")
        p = plan.assign(ts=pd.to_datetime(plan["interval_start"]))
        notes = []
        other = int((p["interval_minutes"] != 30).sum())
        if other:
            notes.append(f"{other:,} planned intervals of other lengths than 30 minutes are not used (the arrival "
                         "profile is per half-hour)")
        p = p[(p["interval_minutes"] == 30) & p["ts"].dt.date.isin(days.index)]
        if p.empty:
            out.append(QueueStaffing(vendor, queue, pd.DataFrame(), aht, float("nan"), abandons, f.reason,
                                     float("nan"), "", [*notes, "no staffing figures: no planned half-hour inside "
                                                        "the forecast's 13 weeks"]))
            continue
        day = p["ts"].dt.date
        key = list(zip(p["ts"].dt.day_of_week, p["ts"].dt.hour * 60 + p["ts"].dt.minute, strict=True))
        s = np.array([share.get(k, 0.0) for k in key])
        calls = days.loc[day, "mean"].to_numpy() * s
        calls_hi = days.loc[day, "hi_80"].to_numpy() * s
        by_day, source = _targets(store, vendor, queue, sorted(set(day)))
        target = day.map(by_day).to_numpy(dtype=float)
        threshold = catalog.ANSWER_THRESHOLD_S
        need_c = erlang.required_agents_c(erlang.offered_load(calls, INTERVAL_S, aht), aht, threshold, target)
        if patience is None:
            need_a = need_c
            need_hi = erlang.required_agents_c(erlang.offered_load(calls_hi, INTERVAL_S, aht), aht, threshold, target)
        else:
            need_a = erlang.required_agents_a(calls, INTERVAL_S, aht, patience, threshold, target,
                                              catalog.SHORT_ABANDON_S)
            need_hi = erlang.required_agents_a(calls_hi, INTERVAL_S, aht, patience, threshold, target,
                                               catalog.SHORT_ABANDON_S)
        net = p["scheduled_staff"].to_numpy(dtype=float) * (1 - p["shrinkage"].fillna(0).to_numpy(dtype=float))
        sl, ab = _expected(net, calls, aht, patience)
        has_calls = calls > 0
        intervals = pd.DataFrame({
            "interval_start": p["ts"].to_numpy(), "calls": calls, "calls_hi_80": calls_hi, "target": target,
            "required_erlang_c": need_c, "required_erlang_a": need_a, "required_at_hi_80": need_hi,
            "scheduled": p["scheduled_staff"].to_numpy(dtype=float), "shrinkage": p["shrinkage"].to_numpy(dtype=float),
            "net_agents": net, "expected_service_level": np.where(has_calls, sl, np.nan),
            "expected_abandonment": np.where(has_calls, ab, np.nan)})
        # Short: the service level expected at the net agents misses the target (what the row shows beside it).
        intervals["short"] = has_calls & (intervals["expected_service_level"] < target)
        out.append(QueueStaffing(vendor, queue, intervals, aht, patience if patience is not None else float("inf"),
                                 abandons, f.reason, float(target.min()), source, notes))
    return out


def weekly_summary(queues: list[QueueStaffing]) -> pd.DataFrame:
    """Per queue and ISO week: intervals planned and short, the calls expected, the service level and abandonment
    expected over the week's calls (call-weighted), the first interval short, and agent-hours: needed by Erlang A
    at the forecast and at its 80% upper bound, and planned net of shrinkage."""
    rows = []
    for q in queues:
        if q.intervals.empty:
            continue
        weeks = q.intervals["interval_start"].dt.date.map(lambda day: periods.start_of(day, "week"))
        for week, part in q.intervals.groupby(weeks):
            w = part["calls"].to_numpy()
            first_short = part.loc[part["short"], "interval_start"].min()
            rows.append({
                "vendor": q.vendor, "queue": q.queue, "week": week, "intervals": len(part),
                "intervals_short": int(part["short"].sum()), "calls": float(w.sum()),
                "expected_service_level": float(np.nansum(part["expected_service_level"] * w) / w.sum()) if w.sum() else np.nan,
                "expected_abandonment": float(np.nansum(part["expected_abandonment"] * w) / w.sum()) if w.sum() else np.nan,
                "target": float(part["target"].min()), "first_short": first_short if pd.notna(first_short) else None,
                # agent-hours: each half-hour's agents x half an hour
                "required_hours": float(part["required_erlang_a"].sum()) * INTERVAL_S / 3600,
                "required_hours_hi_80": float(part["required_at_hi_80"].sum()) * INTERVAL_S / 3600,
                "net_hours": float(part["net_agents"].sum()) * INTERVAL_S / 3600})
    return pd.DataFrame(rows, columns=["vendor", "queue", "week", "intervals", "intervals_short", "calls",
                                       "expected_service_level", "expected_abandonment", "target", "first_short",
                                       "required_hours", "required_hours_hi_80", "net_hours"])
