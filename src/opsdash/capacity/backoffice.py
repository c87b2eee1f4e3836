"""Back-office queues ahead: will the planned staff keep up with the work coming, and when would a contract's
SLA adherence level first be missed (issue 14, item 4)?

Work items wait in a queue, so Erlang does not apply; a flow model does. Per vendor x process, day by day from
the vendor's data cut-off:

- **start**: the items open at the cut-off, each with its due day (those already past it are already late);
- **inflow**: the work-volume forecast (capacity.volumes) for each day; each day's items are given due days as
  the items opened in the THROUGHPUT_WEEKS before the cut-off were (the share of each priority and each number
  of days from opened to due);
- **capacity**: the items the planned staff complete in a day = throughput x the day's productive hours.
  Throughput is the items the plan's staff completed per productive hour in their busiest whole week of the
  THROUGHPUT_WEEKS before the cut-off (a quieter week's pace measures the work that came, not what the staff can
  do); productive hours are scheduled FTE x productive hours per FTE x (1 - shrinkage), or FTE-days when the plan
  states no hours;
- **order**: items are worked earliest due first, as a shop working to its SLA would. With the busiest week's
  pace, a miss projected here is not a matter of pace. Once a queue falls behind, earliest due first works the
  late items first and every item ends late; a shop that triages would keep some on time, so a month projected
  to miss reads as a floor, and the day its miss begins is what to act on;
- **busy weeks**: the same again with each week's work at the top of its weekly forecast's 80% range (spread over
  its days as the daily forecast spreads it): what a busy but plausible run of weeks would do.

To the day: an item projected is met when it is completed on or before its due day (the items already known for
the cut-off's month are judged to the minute, as the KPI does). Items with no due time (the source system's own
verdict, sla_met) are not projected and not counted. A contract's SLA adherence level is
read month by month over the items due in the month (the KPI's placement), adding what is already known for the
cut-off's month (items due in it and completed before the cut-off). The first projected miss is the day a month's
items projected late pass what the target allows for the month. The FTE that would keep it is the fewest extra
FTE (in half-FTE steps) on each planned working day that keep every month of a level at its target.

The simulation (``simulate``) and the monthly reading (``adherence``) are pure; ``projections`` gathers their
inputs from the store through queries and capacity.volumes.
"""

from __future__ import annotations

import datetime as dt
import heapq
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from opsdash import labels, metrics, periods, queries, sla
from opsdash.capacity import volumes
from opsdash.store import Store

#: Weeks before the cut-off over which throughput and the due-time allowances are measured.
THROUGHPUT_WEEKS = 8
#: The step the FTE that would keep a level comes in (planners plan in half FTE).
FTE_STEP = 0.5
#: Extra FTE beyond which the search gives up (a queue that would need more is reported as such).
FTE_SEARCH_MAX = 500.0
DAILY_COLUMNS = ("day", "inflow", "capacity", "completed", "backlog", "overdue", "breaching")


@dataclass
class Simulation:
    """Per day (DAILY_COLUMNS): items arriving, the capacity, items completed, the backlog and the items past due
    at the end of the day, and the items whose due day it is that are not done by its end (breaching). Per due
    day and priority (`due`): items met and missed, for the items due by the last day (those already past due at
    the start are missed on their own due day)."""

    daily: pd.DataFrame
    due: pd.DataFrame


def simulate(days: list[dt.date], capacity: np.ndarray, start: pd.DataFrame, inflow: np.ndarray,
             allowance: pd.DataFrame) -> Simulation:
    """Work the queue day by day, earliest due first.

    start: priority, due (a date, or None for items with no due time), items - the items open at the first day.
    inflow: items arriving on each day. allowance: priority, days (from the day opened to the day due; NaN for
    items with no due time), share (summing to 1) - how each day's arrivals are split.
    Items with no due time are never late; they take their place in the queue as if due the longest allowance
    after they arrived."""
    first = days[0].toordinal()
    last = days[-1].toordinal()
    dated = allowance["days"].dropna()
    longest = int(dated.max()) if len(dated) else 0
    heap: list[list] = []  # [order key, arrival, seq, priority, remaining, due ordinal or None]
    seq = 0
    met: dict[tuple[int, str], float] = {}
    missed: dict[tuple[int, str], float] = {}
    # the lots whose due day falls on day t: settled (met / missed) at the end of that day
    settle: dict[int, list[list]] = {}

    def push(arrival: int, priority: str, n: float, due: int | None) -> None:
        nonlocal seq
        if n <= 0:
            return
        lot = [due if due is not None else arrival + longest, arrival, seq, priority, float(n), due, float(n)]
        seq += 1
        heapq.heappush(heap, lot)
        if due is not None and due < first:  # already late at the start
            key = (due, priority)
            missed[key] = missed.get(key, 0.0) + n
        elif due is not None and due <= last:
            settle.setdefault(due, []).append(lot)

    for row in start.itertuples(index=False):
        due = row.due
        push(first - 1, str(row.priority), float(row.items),
             None if due is None or pd.isna(due) else pd.Timestamp(due).date().toordinal())
    rows = []
    for t, day in enumerate(days):
        today = first + t
        for a in allowance.itertuples(index=False):
            push(today, str(a.priority), float(inflow[t]) * float(a.share),
                 None if pd.isna(a.days) else today + int(a.days))
        cap = float(capacity[t])
        done = 0.0
        while cap > 1e-12 and heap:
            lot = heap[0]
            take = min(lot[4], cap)
            lot[4] -= take
            cap -= take
            done += take
            if lot[4] <= 1e-12:
                lot[4] = 0.0
                heapq.heappop(heap)
        breaching = 0.0
        for lot in settle.pop(today, []):
            key = (today, lot[3])
            missed[key] = missed.get(key, 0.0) + lot[4]
            met[key] = met.get(key, 0.0) + lot[6] - lot[4]
            breaching += lot[4]
        backlog = sum(lot[4] for lot in heap)
        overdue = sum(lot[4] for lot in heap if lot[5] is not None and lot[5] <= today)
        rows.append((day, float(inflow[t]), float(capacity[t]), done, backlog, overdue, breaching))
    keys = sorted(set(met) | set(missed))
    due = pd.DataFrame({"due": [dt.date.fromordinal(k[0]) for k in keys], "priority": [k[1] for k in keys],
                        "met": [met.get(k, 0.0) for k in keys], "missed": [missed.get(k, 0.0) for k in keys]},
                       columns=["due", "priority", "met", "missed"])
    return Simulation(pd.DataFrame(rows, columns=list(DAILY_COLUMNS)), due)


MONTH_COLUMNS = ("level", "priority", "month", "to_day", "complete", "met", "missed", "adherence", "target",
                 "below_target", "miss_day")


def adherence(due: pd.DataFrame, known: pd.DataFrame, levels: pd.DataFrame, last_day: dt.date) -> pd.DataFrame:
    """Each level's SLA adherence in each of its months, over the items due in the month up to the last day: those known (met and missed before the first day) and those projected.

    due, known: due (date), priority, met, missed. levels: one row per level and month - level (a name), priority
    ('' = every priority), month (its first day), target (in force that month). The miss day: the first due day on which the
    month's items late so far pass what its target allows, (1 - target) x its items due (up to the last day)."""
    both = pd.concat([due, known], ignore_index=True)
    both = both.assign(due=pd.to_datetime(both["due"]))
    rows = []
    for lv in levels.itertuples(index=False):
        month = lv.month
        mine = both if not lv.priority else both[both["priority"] == lv.priority]
        m_start, m_end = pd.Timestamp(month), pd.Timestamp(periods.end(month, "month"))
        in_month = mine[(mine["due"] >= m_start) & (mine["due"] <= min(m_end, pd.Timestamp(last_day)))]
        by_day = in_month.groupby("due")[["met", "missed"]].sum().sort_index()
        met, missed = float(by_day["met"].sum()), float(by_day["missed"].sum())
        total = met + missed
        value = met / total if total else float("nan")
        below = bool(total and missed > (1 - lv.target + 1e-12) * total)
        miss_day = None
        if below:
            late = by_day["missed"].cumsum()
            miss_day = late[late > (1 - lv.target + 1e-12) * total].index[0].date()
        rows.append({"level": lv.level, "priority": lv.priority, "month": month, "to_day": min(m_end.date(), last_day),
                     "complete": m_end.date() <= last_day, "met": met, "missed": missed, "adherence": value,
                     "target": float(lv.target), "below_target": below, "miss_day": miss_day})
    return pd.DataFrame(rows, columns=list(MONTH_COLUMNS))


def extra_fte(days: list[dt.date], fte: np.ndarray, per_fte: np.ndarray, rate: float, start: pd.DataFrame,
              inflow: np.ndarray, allowance: pd.DataFrame, known: pd.DataFrame, levels: pd.DataFrame
              ) -> tuple[float | None, set[tuple[str, dt.date]]]:
    """The fewest extra FTE, in FTE_STEP steps, on each day the plan staffs (FTE > 0) that keep every level in
    every month at its target; and the level-months no staffing could keep (below target even when every staffed
    day clears the whole queue: lost already, left out of the search). None when even FTE_SEARCH_MAX would not."""
    working = fte > 0

    def below(capacity: np.ndarray) -> set[tuple[str, dt.date]]:
        sim = simulate(days, capacity, start, inflow, allowance)
        m = adherence(sim.due, known, levels, days[-1])
        return set(zip(m.loc[m["below_target"], "level"], m.loc[m["below_target"], "month"], strict=True))

    everything = float(start["items"].sum() + inflow.sum()) + 1.0
    lost = below(np.where(working, everything, 0.0))

    def keeps(steps: int) -> bool:
        return not (below(rate * (fte + np.where(working, steps * FTE_STEP, 0.0)) * per_fte) - lost)

    if keeps(0):
        return 0.0, lost
    most = int(FTE_SEARCH_MAX / FTE_STEP)
    lo, hi = 0, 1
    while not keeps(hi):
        if hi == most:
            return None, lost
        lo, hi = hi, min(hi * 2, most)
    while hi - lo > 1:
        mid = (lo + hi) // 2
        lo, hi = (lo, mid) if keeps(mid) else (mid, hi)
    return hi * FTE_STEP, lost


def best_week(productive: pd.Series, completed: pd.Series) -> float:
    """Items completed per productive hour (or FTE-day) in the busiest of the whole ISO weeks the plan covers:
    the pace the staff have shown they can keep. productive, completed: per day (date index)."""
    days = pd.Series(productive.index, index=productive.index)
    week = days.map(lambda d: periods.start_of(d, "week"))
    whole = week.map(week.value_counts()) == 7
    hours = productive[whole].groupby(week[whole]).sum()
    done = completed.reindex(productive.index, fill_value=0)[whole].groupby(week[whole]).sum()
    pace = (done / hours)[hours > 0]
    return float(pace.max()) if len(pace) else float("nan")


@dataclass
class Projection:
    """One vendor's process ahead: the daily projection at the forecast and at its 80% upper bound, the contract's
    SLA adherence levels month by month, and what they rest on."""

    vendor: str
    process: str
    daily: pd.DataFrame = field(default_factory=pd.DataFrame)  # DAILY_COLUMNS, scheduled_fte, *_hi_80
    months: pd.DataFrame = field(default_factory=pd.DataFrame)  # MONTH_COLUMNS, critical, *_hi_80
    throughput: float = float("nan")  # items completed per productive hour (or FTE-day)
    throughput_unit: str = ""
    open_items: int = 0
    open_past_due: int = 0
    forecast_words: str = ""
    extra_fte: float | None = None  # to keep every level with a month below target at the forecast
    lost: list[tuple[str, dt.date]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def first_miss(self, hi: bool = False, critical: bool | None = None) -> tuple[str, dt.date] | None:
        """(level, day) of the earliest projected miss at the forecast (or in busy weeks) of a critical level, or
        of any level with `critical` False; by default of the critical levels when the contract has any here,
        else of its key levels."""
        if critical is None:
            critical = not self.months.empty and bool(self.months["critical"].any())
        m = self.months
        if m.empty:
            return None
        sfx = "_hi_80" if hi else ""
        m = m[m[f"below_target{sfx}"] & (m["critical"] if critical else True)]
        if m.empty:
            return None
        row = m.sort_values(f"miss_day{sfx}").iloc[0]
        return str(row["level"]), row[f"miss_day{sfx}"]


def level_name(priority: str) -> str:
    return f"SLA adherence, {priority} items" if priority else "SLA adherence"


def _levels(store_targets: pd.DataFrame, process: str, months: list[dt.date]) -> tuple[pd.DataFrame, list[str]]:
    """The SLA adherence levels over `process`, one row per level and month with the target in force."""
    rows, notes = [], set()
    for month in months:
        t = sla.applicable(store_targets, month, periods.end(month, "month"))
        t = t[(t["kpi"] == "sla_adherence") & (t["process"].isna() | (t["process"] == process))]
        for r in t.itertuples(index=False):
            wide = pd.isna(r.process)
            if wide:
                notes.add("a vendor-wide SLA adherence level is read over this process's items alone")
            priority = "" if pd.isna(r.priority) else str(r.priority)
            name = level_name(priority) + (" (vendor-wide)" if wide else "")
            rows.append({"level": name, "priority": priority, "month": month,
                         "target": float(r.target), "critical": r.level == "critical"})
    return pd.DataFrame(rows, columns=["level", "priority", "month", "target", "critical"]), sorted(notes)


def projections(store: Store, vendors: tuple[str, ...] = ()) -> list[Projection]:
    """Every back-office process with a daily staffing plan and a forecast of its work, per vendor from its own
    data cut-off (metrics.data_cut over work items)."""
    out = []
    for vendor in (vendors or tuple(queries.vendors(store))):
        out.extend(vendor_projections(store, vendor))
    return out


def vendor_projections(store: Store, vendor: str, daily: list | None = None, weekly: list | None = None
                       ) -> list[Projection]:
    """One vendor's processes; `daily`, `weekly`: its forecasts already made (capacity.volumes.forecasts)."""
    cut = metrics.data_cut(store, ("work_items",), (vendor,))
    if cut is None:
        return []
    behind = cut - dt.timedelta(weeks=THROUGHPUT_WEEKS)
    plans = queries.daily_plans(store, (vendor,), behind, cut + dt.timedelta(weeks=13))
    if plans.empty:
        return []
    if daily is None:
        daily = volumes.forecasts(store, "day", ("work_volume",), (vendor,))
    if weekly is None:
        weekly = volumes.forecasts(store, "week", ("work_volume",), (vendor,))
    results = {f.series: f for k, _h, f in daily if k == "work_volume"}
    weeks = {f.series: f for k, _h, f in weekly if k == "work_volume"}
    done = queries.completed_per_day(store, (vendor,), behind, cut - dt.timedelta(days=1))
    allowed = queries.due_allowance(store, (vendor,), behind, cut - dt.timedelta(days=1))
    open_ = queries.open_items(store, (vendor,), cut)
    month0 = periods.start_of(cut, "month")
    known = queries.due_done(store, (vendor,), month0, cut)
    targets = sla.targets_for(store, vendor)
    return [_process(vendor, process, cut, plan, results.get(f"{vendor} / {process}"), weeks.get(f"{vendor} / {process}"),
                     done[done["process"] == process], allowed[allowed["process"] == process],
                     open_[open_["process"] == process], known[known["process"] == process], targets)
            for process, plan in plans.groupby("process", sort=True)]


def _process(vendor: str, process: str, cut: dt.date, plan: pd.DataFrame, f, weekly, done: pd.DataFrame,
             allowed: pd.DataFrame, open_: pd.DataFrame, known: pd.DataFrame, targets: pd.DataFrame) -> Projection:
    p = Projection(vendor, process)
    p.open_items = int(open_["items"].sum())
    p.open_past_due = int(open_.loc[open_["due"].notna() & (pd.to_datetime(open_["due"]) < pd.Timestamp(cut)),
                                    "items"].sum())
    if f is None or f.status != "ok":
        p.notes.append(f"no projection: no forecast of its work items ({f.reason if f is not None else 'none opened'})")
        return p
    p.forecast_words = f.reason
    plan = plan.assign(day=pd.to_datetime(plan["day"]).dt.date).set_index("day")
    hours = plan["productive_hours_per_fte"]
    p.throughput_unit = "productive FTE-hour" if hours.notna().all() else "productive FTE-day"
    if hours.notna().any() and hours.isna().any():
        p.notes.append("the plan states productive hours on some days only: throughput is counted per FTE-day")
    per_fte = (hours if hours.notna().all() else 1.0) * (1 - plan["shrinkage"].fillna(0.0))
    # A day the plan leaves out (a weekday-only plan's weekend) has no staff: every calendar day is a day.
    calendar = [d.date() for d in pd.date_range(min(plan.index), max(plan.index), freq="D")]
    staff = plan["scheduled_staff"].reindex(calendar, fill_value=0.0)
    per_fte = per_fte.reindex(calendar).ffill().bfill()
    productive = staff * per_fte
    p.throughput = best_week(productive[productive.index < cut], done.set_index(pd.to_datetime(done["day"]).dt.date)
                             ["completed"])
    if not p.throughput > 0:
        p.notes.append(f"no projection: no staff planned or no item completed in the {THROUGHPUT_WEEKS} weeks before "
                       "the cut-off, so no throughput can be measured")
        return p
    points = f.points.assign(day=pd.to_datetime(f.points["ds"]).dt.date).set_index("day")
    days = [d for d in points.index if d in staff.index]
    run = [d for i, d in enumerate(days) if d == cut + dt.timedelta(days=i)]  # the contiguous days from the cut-off
    if not run:
        p.notes.append("no projection: the plan has no day from the cut-off on")
        return p
    if len(run) < len(points):
        p.notes.append(f"the plan runs to {run[-1]:%d %b %Y}: the projection stops there")
    fte = staff.loc[run].to_numpy(dtype=float)
    pf = per_fte.loc[run].to_numpy(dtype=float)
    start = open_.assign(due=open_["due"].where(open_["due"].notna(), None))[["priority", "due", "items"]]
    allowance = allowed.groupby(["priority", "days"], dropna=False)["items"].sum().reset_index()
    if allowance.empty:
        allowance = pd.DataFrame({"priority": [""], "days": [np.nan], "items": [1]})
        p.notes.append(f"no item opened in the {THROUGHPUT_WEEKS} weeks before the cut-off: due times ahead unknown")
    allowance = allowance.assign(share=allowance["items"] / allowance["items"].sum())
    if allowance["days"].isna().all():
        p.notes.append("its items carry no due time: the backlog is projected, breaches cannot be")
    capacity = p.throughput * fte * pf
    months = sorted({periods.start_of(d, "month") for d in run})
    levels, notes = _levels(targets, process, months)
    p.notes.extend(notes)
    known = known[["due", "priority", "met", "missed"]]
    mean = points.loc[run, "mean"].clip(lower=0).to_numpy(dtype=float)
    scenarios = [("", mean)]
    if weekly is not None and weekly.status == "ok":
        w = weekly.points.assign(week=pd.to_datetime(weekly.points["ds"]).dt.date).set_index("week")
        ratio = (w["hi_80"] / w["mean"]).where(w["mean"] > 0, 1.0)
        # weeks past the weekly forecast's horizon keep its last week's range
        ratio = ratio.reindex(sorted({periods.start_of(d, "week") for d in run} | set(ratio.index))).ffill()
        scenarios.append(("_hi_80", mean * np.array([ratio.get(periods.start_of(d, "week"), np.nan) for d in run])))
    else:
        p.notes.append("no busy-weeks reading: " + (weekly.reason if weekly is not None else "no weekly forecast"))
    daily, month_frames = [], []
    for sfx, inflow in scenarios:
        inflow = np.nan_to_num(inflow, nan=0.0)
        sim = simulate(run, capacity, start, inflow, allowance)
        daily.append(sim.daily.set_index("day").add_suffix(sfx))
        m = adherence(sim.due, known, levels, run[-1])
        month_frames.append(m.set_index(["level", "month"]).add_suffix(sfx))
    p.daily = pd.concat(daily, axis=1).reset_index().assign(scheduled_fte=fte)
    if len(levels):
        months_df = pd.concat(month_frames, axis=1).reset_index()
        crit = levels.set_index(["level", "month"])["critical"]
        p.months = months_df.assign(critical=[bool(crit.get((lv, mo), False))
                                              for lv, mo in zip(months_df["level"], months_df["month"], strict=True)])
        if p.months["below_target"].any():
            p.extra_fte, lost = extra_fte(run, fte, pf, p.throughput, start, mean, allowance, known, levels)
            p.lost = sorted(lost)
        else:
            p.extra_fte = 0.0
    return p


WEEK_COLUMNS = ("vendor", "process", "week", "days", "scheduled_fte", "inflow", "capacity", "completed", "backlog",
                "overdue", "breaching", "inflow_hi_80", "backlog_hi_80", "breaching_hi_80")


def weekly_summary(projected: list[Projection]) -> pd.DataFrame:
    """Per process and ISO week: days projected, mean scheduled FTE, items arriving, the capacity and items
    completed, the backlog and the items past due at the week's last day, the items breaching in the week; and
    the busy-weeks reading's arrivals, backlog and breaches (NaN without it)."""
    rows = []
    for p in projected:
        if p.daily.empty:
            continue
        d = p.daily
        weeks = d["day"].map(lambda day: periods.start_of(day, "week"))
        for week, part in d.groupby(weeks, sort=True):
            last = part.iloc[-1]
            rows.append({"vendor": p.vendor, "process": p.process, "week": week, "days": len(part),
                         "scheduled_fte": float(part["scheduled_fte"].mean()), "inflow": float(part["inflow"].sum()),
                         "capacity": float(part["capacity"].sum()), "completed": float(part["completed"].sum()),
                         "backlog": float(last["backlog"]), "overdue": float(last["overdue"]),
                         "breaching": float(part["breaching"].sum()),
                         "inflow_hi_80": float(part["inflow_hi_80"].sum()) if "inflow_hi_80" in part else np.nan,
                         "backlog_hi_80": float(last["backlog_hi_80"]) if "backlog_hi_80" in part else np.nan,
                         "breaching_hi_80": float(part["breaching_hi_80"].sum()) if "breaching_hi_80" in part else np.nan})
    return pd.DataFrame(rows, columns=list(WEEK_COLUMNS))


LEVEL_COLUMNS = ("vendor", "process", "level", "critical", "month", "to_day", "complete", "target", "met", "missed",
                 "adherence", "below_target", "miss_day", "adherence_hi_80", "below_target_hi_80", "miss_day_hi_80")


def levels_table(projected: list[Projection]) -> pd.DataFrame:
    """Per process, contract level and month: the SLA adherence projected (items met and missed, known and
    projected), against its target, and the day a miss becomes certain; at the forecast and in busy weeks."""
    frames = [p.months.assign(vendor=p.vendor, process=p.process) for p in projected if not p.months.empty]
    if not frames:
        return pd.DataFrame(columns=list(LEVEL_COLUMNS))
    out = pd.concat(frames, ignore_index=True)
    for c in LEVEL_COLUMNS:
        if c not in out:
            out[c] = np.nan
    return out[list(LEVEL_COLUMNS)]


def summary_words(p: Projection) -> str:
    """What a manager reads first: the first projected miss of a critical level, at the forecast and in busy
    weeks, and the FTE that would keep it."""
    if p.daily.empty:
        return "; ".join(p.notes) or "no projection"
    if p.months.empty:
        return "no SLA adherence level in the contract for this process: the backlog is projected, no miss can be"
    if p.months["adherence"].isna().all():
        return ("no item due in the weeks projected can be judged (its items carry no due time): the backlog is "
                "projected, no miss can be")
    # the critical levels (service credits) decide; a process with key levels only is read by those
    one = "critical level" if p.months["critical"].any() else "key level (no service credits)"
    kind = one.replace("level", "levels", 1)
    at, busy = p.first_miss(), p.first_miss(hi=True)
    horizon = labels.date(p.daily["day"].iloc[-1])
    if at is not None:
        keep = (f"even {FTE_SEARCH_MAX:g} more FTE would not keep every level" if p.extra_fte is None else
                f"{p.extra_fte:g} more FTE on each staffed day would keep every level" if p.extra_fte else
                "more staff would not change it")
        lost = "".join(f"; {month:%B %Y} is already lost for {level} (missed even if every item were worked at once)"
                       for level, month in p.lost)
        return f"projected to miss {at[0]} from {labels.date(at[1])} at the forecast; {keep}{lost}"
    key = p.first_miss(critical=False)
    if key is not None:  # critical levels on target, a key level not
        return (f"{kind} on target at the forecast to {horizon}; {key[0]} (key level, no service credits) projected "
                f"to miss from {labels.date(key[1])}")
    if busy is not None:
        return (f"on target at the forecast to {horizon}; in busy weeks (the top of the 80% range) {busy[0]} "
                f"({one}) would be missed from {labels.date(busy[1])}")
    if "inflow_hi_80" not in p.daily:
        return f"{kind} on target at the forecast to {horizon}"
    return f"{kind} on target to {horizon}, also in busy weeks"
