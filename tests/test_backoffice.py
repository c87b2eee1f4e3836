"""Back-office projection (issue 14, item 4): a hand-built queue worked by hand, and the sample's projections
recomputed from the stored rows with pandas."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest

from opsdash.capacity import backoffice
from opsdash.store import Scope

D = [dt.date(2027, 1, 4) + dt.timedelta(days=i) for i in range(4)]
#: Two items already late (due 3 Jan), two due on the second day; two arrive each day, each due the next day.
START = pd.DataFrame({"priority": ["", ""], "due": [dt.date(2027, 1, 3), D[1]], "items": [2, 2]})
NEXT_DAY = pd.DataFrame({"priority": [""], "days": [1.0], "share": [1.0]})
INFLOW = np.array([2.0, 2.0, 2.0, 2.0])


def test_a_hand_built_queue_is_worked_as_by_hand():
    """Capacity 3, 2, 2, 2 items. By hand, earliest due first:
    day 1: the 2 late items, 1 of the 2 due on day 2 -> 3 left (1 of those, 2 new);
    day 2: the other due on day 2, 1 of day 1's arrivals -> day 1's other arrival misses its due day;
    day 3: that late item, 1 of day 2's -> 1 misses; day 4 likewise."""
    sim = backoffice.simulate(D, np.array([3.0, 2, 2, 2]), START, INFLOW, NEXT_DAY)
    d = sim.daily
    assert d["completed"].tolist() == [3, 2, 2, 2]
    assert d["backlog"].tolist() == [3, 3, 3, 3]
    assert d["overdue"].tolist() == [0, 1, 1, 1]
    assert d["breaching"].tolist() == [0, 1, 1, 1]
    due = sim.due.set_index("due")
    assert due.loc[dt.date(2027, 1, 3), ["met", "missed"]].tolist() == [0, 2]
    assert due.loc[D[1], ["met", "missed"]].tolist() == [3, 1]
    assert due.loc[D[2], ["met", "missed"]].tolist() == [1, 1]
    assert due.loc[D[3], ["met", "missed"]].tolist() == [1, 1]
    assert dt.date(2027, 1, 8) not in due.index  # due after the last day: not yet assessable


def test_the_month_reading_the_miss_day_and_the_fte_that_would_keep_it():
    """January, target 80%: 10 items already met (due 2 Jan) + 3 + 1 + 1 met and 2 + 1 + 1 + 1 missed = 15 of
    20, 75%. The target allows 4 misses: the 5th comes on 7 Jan. Half an FTE more (capacity 4.5, 3, 3, 3) leaves
    only the two items late from the start: 18 of 20."""
    sim = backoffice.simulate(D, np.array([3.0, 2, 2, 2]), START, INFLOW, NEXT_DAY)
    known = pd.DataFrame({"due": [dt.date(2027, 1, 2)], "priority": [""], "met": [10], "missed": [0]})
    levels = pd.DataFrame({"level": ["SLA adherence"], "priority": [""], "month": [dt.date(2027, 1, 1)],
                           "target": [0.8]})
    m = backoffice.adherence(sim.due, known, levels, D[-1]).iloc[0]
    assert (m["met"], m["missed"]) == (15, 5)
    assert m["adherence"] == pytest.approx(0.75)
    assert m["below_target"] and m["miss_day"] == dt.date(2027, 1, 7)
    assert not m["complete"] and m["to_day"] == D[-1]
    extra, lost = backoffice.extra_fte(D, np.ones(4), np.array([3.0, 2, 2, 2]), 1.0, START, INFLOW, NEXT_DAY,
                                       known, levels)
    assert extra == 0.5 and not lost
    kept = backoffice.simulate(D, np.array([4.5, 3, 3, 3]), START, INFLOW, NEXT_DAY)
    again = backoffice.adherence(kept.due, known, levels, D[-1]).iloc[0]
    assert (again["met"], again["missed"]) == (18, 2)


def test_a_month_already_lost_is_named_and_left_out_of_the_search():
    """At 95% the two items late from the start already sink January (at best 18 of 20): no staffing keeps it,
    and the search says so instead of asking for unlimited FTE."""
    known = pd.DataFrame({"due": [dt.date(2027, 1, 2)], "priority": [""], "met": [10], "missed": [0]})
    levels = pd.DataFrame({"level": ["SLA adherence"], "priority": [""], "month": [dt.date(2027, 1, 1)],
                           "target": [0.95]})
    extra, lost = backoffice.extra_fte(D, np.ones(4), np.array([3.0, 2, 2, 2]), 1.0, START, INFLOW, NEXT_DAY,
                                       known, levels)
    assert lost == {("SLA adherence", dt.date(2027, 1, 1))} and extra == 0.0


def test_priorities_are_read_by_their_own_level_and_items_without_due_time_never_breach():
    """Stat items (due the same day) and items with no due time: the stat level reads only stat items; items
    without a due time wait in the backlog and never count as late."""
    allowance = pd.DataFrame({"priority": ["stat", ""], "days": [0.0, np.nan], "share": [0.5, 0.5]})
    sim = backoffice.simulate(D, np.array([1.0, 1, 1, 1]), START.iloc[:0], np.array([4.0, 0, 0, 0]), allowance)
    # day 1: 2 stat (due that day) and 2 undated; 1 done (a stat) -> 1 stat late; the undated wait
    assert sim.daily["breaching"].tolist() == [1, 0, 0, 0]
    assert sim.daily["backlog"].tolist() == [3, 2, 1, 0]
    assert sim.due[["priority", "met", "missed"]].values.tolist() == [["stat", 1.0, 1.0]]


def _frame(store, sql, params=()):
    return store.query(sql, list(params))


@pytest.fixture(scope="module")
def projected(sample_store):
    return {(p.vendor, p.process): p for p in backoffice.projections(sample_store)}


def test_the_sample_projection_rests_on_the_stored_rows(sample_store, projected):
    """Helix prior authorisations: the open items at the cut-off, and the busiest whole week's pace over the 8
    weeks before it (items completed / planned productive hours), recomputed with pandas."""
    vendor = "Helix Health Services"
    p = projected[(vendor, "prior_auth")]
    items = _frame(sample_store, "SELECT opened_at, completed_at, due_at FROM work_items WHERE vendor = ? AND "
                   "process = 'prior_auth'", [vendor])
    cut = pd.Timestamp(max(items["opened_at"].max(), items["completed_at"].max()).normalize())
    is_open = (items["opened_at"] < cut) & (items["completed_at"].isna() | (items["completed_at"] >= cut))
    assert p.open_items == int(is_open.sum())
    assert p.open_past_due == int((is_open & (items["due_at"] < cut)).sum())
    plan = _frame(sample_store, "SELECT interval_start, scheduled_staff, productive_hours_per_fte, shrinkage "
                  "FROM staffing WHERE vendor = ? AND process = 'prior_auth'", [vendor])
    plan["day"] = pd.to_datetime(plan["interval_start"]).dt.normalize()
    plan = plan[(plan["day"] >= cut - pd.Timedelta(weeks=8)) & (plan["day"] < cut)]
    plan["hours"] = plan["scheduled_staff"] * plan["productive_hours_per_fte"] * (1 - plan["shrinkage"])
    plan["week"] = plan["day"].dt.to_period("W-SUN")
    done = items.dropna(subset=["completed_at"]).assign(week=lambda d: d["completed_at"].dt.to_period("W-SUN"))
    weeks = plan.groupby("week")["hours"].agg(["sum", "size"])
    weeks = weeks[weeks["size"] == 7]
    pace = done[done["completed_at"] < cut].groupby("week").size().reindex(weeks.index, fill_value=0) / weeks["sum"]
    assert p.throughput == pytest.approx(pace.max(), rel=1e-12)
    assert p.throughput_unit == "productive FTE-hour"
    # the first day's capacity is that pace x the plan's productive hours that day
    first = _frame(sample_store, "SELECT scheduled_staff * productive_hours_per_fte * (1 - shrinkage) AS h FROM "
                   "staffing WHERE vendor = ? AND process = 'prior_auth' AND interval_start = ?",
                   [vendor, cut.to_pydatetime()])["h"].iloc[0]
    assert p.daily["capacity"].iloc[0] == pytest.approx(pace.max() * first, rel=1e-12)
    assert p.daily["day"].iloc[0] == cut.date()


def test_the_sample_reads_each_contract_level_and_the_busy_weeks(projected):
    """ClearView radiology has a critical level for stat reads and a key one for routine reads, read apart;
    its transcription plan keeps up with the forecast but not with busy weeks (the top of the weekly 80%
    range), and says from which day its critical level would be missed."""
    rad = projected[("ClearView Diagnostics Reading", "radiology_read")].months
    assert set(rad["priority"]) == {"stat", "routine"}
    assert rad.loc[rad["priority"] == "stat", "critical"].all() and not rad.loc[rad["priority"] == "routine",
                                                                                    "critical"].any()
    t = projected[("ClearView Diagnostics Reading", "transcription")]
    assert t.first_miss() is None and t.extra_fte == 0.0
    level, day = t.first_miss(hi=True)
    assert level == "SLA adherence" and day < t.daily["day"].iloc[-1]
    busy = t.daily["inflow_hi_80"].sum()
    assert busy > t.daily["inflow"].sum()
    # Nothing is lost: what arrives is completed or still waiting at the end.
    for sfx in ("", "_hi_80"):
        assert (t.open_items + t.daily[f"inflow{sfx}"].sum() - t.daily[f"completed{sfx}"].sum()
                == pytest.approx(t.daily[f"backlog{sfx}"].iloc[-1], rel=1e-9))


def test_projections_keep_to_the_scope(sample_store):
    helix = sample_store.scoped(Scope(vendors=("Helix Health Services",)))
    got = backoffice.projections(helix)
    assert got and {p.vendor for p in got} == {"Helix Health Services"}
    assert backoffice.projections(helix, ("Meridian Revenue Partners",)) == []


def test_the_command_prints_the_same_figures(sample_store, projected):
    """`opsdash staffing --part back-office`: the table says each process's reading in words; CSV holds the
    weekly rows, --levels the contract levels, equal to the engine's; both parts at once cannot be CSV."""
    from click.testing import CliRunner

    from opsdash.cli import main

    db = ["--db", str(sample_store.path)]
    out = CliRunner().invoke(main, ["staffing", "--part", "back-office", *db], catch_exceptions=False).output
    t = projected[("ClearView Diagnostics Reading", "transcription")]
    assert "ClearView Diagnostics Reading / Transcription (back office)" in out
    assert backoffice.summary_words(t) in out and "in busy weeks" in out
    assert "None" not in out and "nan" not in out and "NaT" not in out
    import io
    weekly = pd.read_csv(io.StringIO(CliRunner().invoke(
        main, ["staffing", "--part", "back-office", "--format", "csv", *db]).output))
    mine = weekly[(weekly["vendor"] == t.vendor) & (weekly["process"] == t.process)]
    assert mine["inflow"].sum() == pytest.approx(t.daily["inflow"].sum(), rel=1e-9)
    assert mine["backlog"].iloc[-1] == pytest.approx(t.daily["backlog"].iloc[-1], rel=1e-9)
    levels = pd.read_csv(io.StringIO(CliRunner().invoke(
        main, ["staffing", "--part", "back-office", "--levels", "--format", "csv", *db]).output))
    assert len(levels) == sum(len(p.months) for p in projected.values())
    both = CliRunner().invoke(main, ["staffing", "--format", "csv", *db])
    assert both.exit_code == 2 and "choose --part contact or --part back-office" in both.output


def test_a_vendor_wide_level_and_a_process_level_are_read_apart():
    """Both in force for the process: two levels, two names (one named vendor-wide), never one name for two."""
    targets = pd.DataFrame({"vendor": ["V", "V"], "kpi": ["sla_adherence"] * 2, "process": [None, "coding"],
                            "priority": [None, None], "target": [0.9, 0.95], "level": ["key", "critical"],
                            "effective_from": pd.to_datetime(["2026-01-01"] * 2), "effective_to": [pd.NaT, pd.NaT]})
    levels, notes = backoffice._levels(targets, "coding", [dt.date(2027, 1, 1)])
    assert sorted(levels["level"]) == ["SLA adherence", "SLA adherence (vendor-wide)"]
    assert notes and "vendor-wide" in notes[0]


def test_the_fte_search_reaches_its_stated_ceiling():
    """A queue needing 300 extra FTE (capacity 0.01 items per FTE-day against 3 items a day) is found in half-FTE
    steps, not given up at a power of two below the ceiling; one needing more than the ceiling gets None."""
    days = [dt.date(2027, 1, 4) + dt.timedelta(days=i) for i in range(3)]
    start = pd.DataFrame(columns=["priority", "due", "items"])
    same_day = pd.DataFrame({"priority": [""], "days": [0.0], "share": [1.0]})
    levels = pd.DataFrame({"level": ["SLA adherence"], "priority": [""], "month": [dt.date(2027, 1, 1)],
                           "target": [1.0]})
    known = pd.DataFrame(columns=["due", "priority", "met", "missed"])
    extra, lost = backoffice.extra_fte(days, np.ones(3), np.full(3, 0.01), 1.0, start, np.full(3, 3.0), same_day,
                                       known, levels)
    assert extra == 299.0 and not lost  # 1 + 299 FTE x 0.01 = 3 items a day
    extra, _ = backoffice.extra_fte(days, np.ones(3), np.full(3, 0.001), 1.0, start, np.full(3, 3.0), same_day,
                                    known, levels)
    assert extra is None


def test_a_month_with_nothing_assessable_is_not_called_on_target():
    levels = pd.DataFrame({"level": ["SLA adherence, stat items"], "priority": ["stat"],
                           "month": [dt.date(2027, 1, 1)], "target": [0.95]})
    none = pd.DataFrame(columns=["due", "priority", "met", "missed"])
    m = backoffice.adherence(none, none, levels, dt.date(2027, 1, 31)).iloc[0]
    assert np.isnan(m["adherence"]) and not m["below_target"]
    p = backoffice.Projection("V", "coding", daily=pd.DataFrame({"day": [dt.date(2027, 1, 4)]}),
                              months=m.to_frame().T.assign(critical=True, below_target_hi_80=False,
                                                           miss_day_hi_80=None))
    assert "can be judged" in backoffice.summary_words(p) and "on target" not in backoffice.summary_words(p)


def test_a_weekday_only_plan_has_no_staff_at_weekends_and_still_projects():
    """A plan that leaves weekends out: its weeks still count whole (weekends at 0 FTE) for the pace, and the
    projection runs through the weekend with no capacity, the backlog waiting for Monday."""
    from opsdash.capacity import forecast

    cut = dt.date(2027, 1, 4)  # a Monday
    behind = [cut - dt.timedelta(days=i) for i in range(1, 57)]
    ahead = [cut + dt.timedelta(days=i) for i in range(14)]
    plan_days = [d for d in behind + ahead if d.weekday() < 5]
    plan = pd.DataFrame({"day": plan_days, "scheduled_staff": 1.0, "productive_hours_per_fte": 7.0,
                         "shrinkage": 0.0})
    done = pd.DataFrame({"day": [d for d in behind if d.weekday() < 5], "completed": 14})  # 2 an hour
    points = pd.DataFrame({"ds": pd.to_datetime(ahead), "mean": 10.0, "lo_80": 8.0, "hi_80": 12.0, "lo_95": 6.0,
                           "hi_95": 14.0})
    f = forecast.Forecast("V / coding", "day", "ok", "within ±10% on 80% of 30 past days", "ets", points)
    allowed = pd.DataFrame({"process": "coding", "priority": [""], "days": [3.0], "items": [10]})
    none = pd.DataFrame(columns=["process", "priority", "due", "items"])
    known = pd.DataFrame(columns=["process", "due", "priority", "met", "missed"])
    targets = pd.DataFrame(columns=["vendor", "kpi", "process", "priority", "target", "level", "effective_from",
                                    "effective_to"])
    p = backoffice._process("V", "coding", cut, plan, f, None, done, allowed, none, known, targets)
    assert p.throughput == pytest.approx(2.0)
    d = p.daily.set_index("day")
    # to the plan's last day, Friday 15 January (its weekend after is not planned), said in a note
    assert list(d.index) == ahead[:12] and any("runs to 15 Jan 2027" in n for n in p.notes)
    assert d.loc[dt.date(2027, 1, 9), "capacity"] == 0 and d.loc[cut, "capacity"] == 14
    assert d.loc[dt.date(2027, 1, 10), "backlog"] == pytest.approx(20)  # Saturday's and Sunday's work waits
    assert d.loc[dt.date(2027, 1, 11), "backlog"] == pytest.approx(16)  # Monday: 20 + 10 in, 14 done
