"""Contact-centre staffing ahead (issue 14, item 3 on the store): forecast calls per half-hour against the
plans' net agents, recomputed here from the stored rows with pandas and pyworkforce."""

from __future__ import annotations

import json

import pandas as pd
import pytest
from click.testing import CliRunner
from pyworkforce.queuing import ErlangC

from opsdash.capacity import contact, volumes
from opsdash.cli import main
from opsdash.store import Scope
from tests.conftest import SAMPLE

IBERICA = "Ibérica Salud Contact Services"


@pytest.fixture(scope="module")
def queues(sample_store):
    return {q.queue: q for q in contact.staffing(sample_store)}


def test_the_training_weeks_are_found_short_and_the_others_are_not(queues):
    """The sample's story (sample_data/MANIFEST.json): Ibérica's training weeks take more of its agents' time in
    the winter peak. The scheduling queue's half-hours expected below the contract's service level by Erlang A:
    a quarter or more in each of those six weeks, almost none in the others; abandonment over twice as high."""
    start = pd.Timestamp(json.loads((SAMPLE / "MANIFEST.json").read_text())["stories"]["iberica_training_weeks_start"])
    weekly = contact.weekly_summary(list(queues.values()))
    sched = weekly[weekly["queue"] == "scheduling"].assign(week=lambda d: pd.to_datetime(d["week"]))
    training = (sched["week"] >= start) & (sched["week"] < start + pd.Timedelta(weeks=6))
    assert training.sum() == 6
    assert (sched.loc[training, "intervals_short"] >= 0.25 * sched.loc[training, "intervals"]).all()
    assert (sched.loc[~training, "intervals_short"] <= 3).all()
    assert (sched.loc[training, "expected_abandonment"] > 2 * sched.loc[~training, "expected_abandonment"].max()).all()


def test_one_interval_recomputed_from_the_stored_rows(sample_store, queues):
    """Monday 4 January 2027, 10:00, scheduling: calls = the day's forecast x the share of Monday calls offered
    10:00-10:30 over the 8 weeks before the cut-off (pandas over the stored calls); handle time the answered
    calls' mean; required agents by pyworkforce's Erlang C at 80% in 30 s; net agents from the stored plan."""
    q = queues["scheduling"]
    at = pd.Timestamp("2027-01-04 10:00")
    row = q.intervals[q.intervals["interval_start"] == at].iloc[0]
    calls = pd.DataFrame(sample_store.fetchall(
        "SELECT offered_at, answered_at, handle_seconds FROM calls WHERE vendor = ? AND queue = ?",
        [IBERICA, "scheduling"]), columns=["offered_at", "answered_at", "handle_seconds"])
    cut = calls["offered_at"].max().normalize()
    window = calls[(calls["offered_at"] >= cut - pd.Timedelta(weeks=8)) & (calls["offered_at"] < cut)]
    mondays = window[window["offered_at"].dt.day_of_week == 0]
    share = (mondays["offered_at"].dt.floor("30min").dt.time == at.time()).mean()
    [day] = [f for _k, _h, f in volumes.forecasts(sample_store, "day", ("call_volume",))
             if f.series == f"{IBERICA} / scheduling"]
    expected_calls = float(day.points.loc[pd.to_datetime(day.points["ds"]) == at.normalize(), "mean"].iloc[0]) * share
    assert row["calls"] == pytest.approx(expected_calls, rel=1e-9)
    aht = window.loc[window["answered_at"].notna(), "handle_seconds"].mean()
    assert q.aht_s == pytest.approx(aht, rel=1e-9)
    need = ErlangC(transactions=expected_calls, aht=aht / 60, asa=30 / 60, interval=30).required_positions(q.target)
    assert row["required_erlang_c"] == need["raw_positions"]
    plan = sample_store.fetchall("SELECT scheduled_staff, shrinkage FROM staffing WHERE vendor = ? AND process = ? "
                                 "AND interval_start = ?", [IBERICA, "scheduling", at.to_pydatetime()])
    assert row["net_agents"] == pytest.approx(plan[0][0] * (1 - plan[0][1]))
    # patience: the seconds every caller waited (to an answer or to hanging up) over the calls that hung up
    waits = pd.DataFrame(sample_store.fetchall(
        "SELECT offered_at, answered_at, abandoned_at FROM calls WHERE vendor = ? AND queue = ?",
        [IBERICA, "scheduling"]), columns=["offered_at", "answered_at", "abandoned_at"])
    waits = waits[(waits["offered_at"] >= cut - pd.Timedelta(weeks=8)) & (waits["offered_at"] < cut)]
    waited = (waits["answered_at"].fillna(waits["abandoned_at"]) - waits["offered_at"]).dt.total_seconds().sum()
    assert q.patience_s == pytest.approx(waited / waits["abandoned_at"].notna().sum(), rel=1e-9)
    # short is what the row shows: the service level expected at the net agents below the target
    assert row["short"] == (row["expected_service_level"] < row["target"])
    assert row["required_erlang_a"] > row["net_agents"] - 1  # the fewest agents reaching it, here at or above


def test_staffing_keeps_to_the_scope_and_the_command_says_it_for_people(sample_store):
    assert contact.staffing(sample_store.scoped(Scope.of(["Helix Health Services"]))) == []
    assert {q.queue for q in contact.staffing(sample_store.scoped(Scope.of([IBERICA])))} == {
        "scheduling", "billing_inquiry", "eligibility"}
    out = CliRunner().invoke(main, ["staffing", "--db", str(sample_store.path)], catch_exceptions=False).output
    assert f"{IBERICA} / scheduling" in out and "Half-hours short" in out and "Week of 4 Jan 2027" in out
    assert "patience" in out and "within ±" in out
    assert "None" not in out and "nan" not in out and "NaT" not in out
    csv = CliRunner().invoke(main, ["staffing", "--part", "contact", "--intervals", "--format", "csv", "--db",
                                    str(sample_store.path)]).output
    assert csv.splitlines()[0].startswith("vendor,queue,interval_start,calls,calls_hi_80,target,required_erlang_c")
