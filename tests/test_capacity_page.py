"""The Capacity page (issue 14, item 5) on the sample store: status first, each section drawing what the
capacity engine computed (itself checked against pandas, pyworkforce, simpy and hand computations in
test_forecast, test_staffing, test_erlang and test_backoffice), the view in the URL."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from opsdash.capacity import backoffice, outlook
from opsdash.ui.text import md
from tests.conftest import SAMPLE
from tests.helpers import plotted
from tests.test_app import _app

IBERICA = "Ibérica Salud Contact Services"
CLEARVIEW = "ClearView Diagnostics Reading"


@pytest.fixture(scope="module")
def outlooks(sample_store):
    return {v: outlook.outlook(sample_store, v) for v in (IBERICA, CLEARVIEW)}


def test_status_comes_first_and_names_the_training_weeks(monkeypatch, sample_store):
    """Ibérica: every queue is projected short from the training's first week (the sample's story), in red with
    the words "Projected to miss" and the week's date, before any chart."""
    start = pd.Timestamp(json.loads((SAMPLE / "MANIFEST.json").read_text())["stories"]["iberica_training_weeks_start"])
    at = _app(monkeypatch, sample_store.path, "capacity", {"cap_vendor": IBERICA})
    assert not at.exception and not at.error, [e.value for e in at.error]
    heads = [m.value for m in at.markdown]
    assert len(heads) >= 3 and all(":red-badge[:material/error: Projected to miss]" in h for h in heads[:3])
    assert all(md(f"from {start.day} {start:%b %Y}") in h for h in heads[:3])
    assert all(any(f"**{q}**" in h for h in heads[:3]) for q in ("Scheduling", "Billing inquiry", "Eligibility"))


def test_the_forecast_drawn_is_the_engines_with_its_accuracy_beside_it(monkeypatch, sample_store, outlooks):
    o = outlooks[IBERICA]
    code = "call_volume:scheduling"
    _kpi, hist, f = outlook.pick(o, code, "week")
    at = _app(monkeypatch, sample_store.path, "capacity", {"cap_vendor": IBERICA, "cap_series": code,
                                                          "cap_grain": "week"})
    assert not at.exception and not at.error
    traces = {t["name"]: t for t in plotted(at)}
    assert traces["Forecast"]["y"] == pytest.approx(f.points["mean"].clip(lower=0).tolist(), rel=1e-12)
    assert traces["Measured"]["y"] == pytest.approx(hist["y"].tolist(), rel=1e-12)
    upper = traces["95% range"]["y"][: len(f.points)]
    assert upper == pytest.approx(f.points["hi_95"].tolist(), rel=1e-12)
    # "How accurate:" above the chart: "within ±X% on 80% of N past weeks ...", the model below it
    assert any(m.value.startswith("**How accurate:**") and md(f.accuracy[f.model].words("weeks")) in m.value
               for m in at.markdown)
    assert any(md(outlook.forecast.MODEL_WORDS[f.model]) in c.value for c in at.caption)


def test_a_link_to_a_volume_the_vendor_does_not_have_opens_its_first(monkeypatch, sample_store):
    """ClearView sends no claims: the page offers only its own volumes, and a link naming its claims opens the
    first of them."""
    at = _app(monkeypatch, sample_store.path, "capacity", {"cap_vendor": CLEARVIEW, "cap_series": "claim_volume:"})
    assert not at.exception
    assert at.selectbox(key="cap_series").value == "work_volume:radiology_read"


def test_the_back_office_section_draws_the_projection_and_its_levels(monkeypatch, sample_store, outlooks):
    p = next(p for p in outlooks[CLEARVIEW].projections if p.process == "transcription")
    at = _app(monkeypatch, sample_store.path, "capacity", {"cap_vendor": CLEARVIEW, "capacity_view": "Back-office backlog",
                                                          "cap_process": "transcription"})
    assert not at.exception and not at.error
    assert any(md(backoffice.summary_words(p)) in m.value for m in at.markdown)
    traces = {t["name"]: t for t in plotted(at)}
    assert traces["Open at the forecast"]["y"] == pytest.approx(p.daily["backlog"].tolist(), rel=1e-12)
    assert traces["Open in busy weeks (top of the 80% range)"]["y"] == pytest.approx(p.daily["backlog_hi_80"].tolist(),
                                                                                    rel=1e-12)
    table = at.dataframe[0].value
    assert len(table) == len(p.months)
    assert table["adherence_hi_80"].tolist() == pytest.approx((p.months["adherence_hi_80"] * 100).tolist(), rel=1e-12)


def test_the_contact_section_draws_agent_hours_needed_against_planned(monkeypatch, sample_store, outlooks):
    q = next(q for q in outlooks[IBERICA].queues if q.queue == "scheduling")
    at = _app(monkeypatch, sample_store.path, "capacity", {"cap_vendor": IBERICA,
                                                          "capacity_view": "Contact-centre staffing",
                                                          "cap_queue": "scheduling"})
    assert not at.exception and not at.error
    traces = {t["name"]: t for t in plotted(at)}
    by_week = q.intervals.assign(week=q.intervals["interval_start"].dt.to_period("W-SUN"))
    # pandas: each half-hour's agents x 0.5 h, summed per ISO week
    assert traces["Planned, net of shrinkage"]["y"] == pytest.approx(
        (by_week.groupby("week")["net_agents"].sum() * 0.5).tolist(), rel=1e-12)
    assert traces["Needed for the target (forecast calls)"]["y"] == pytest.approx(
        (by_week.groupby("week")["required_erlang_a"].sum() * 0.5).tolist(), rel=1e-12)
    weeks = at.dataframe[0].value
    assert weeks["intervals_short"].tolist() == by_week.groupby("week")["short"].sum().astype(int).tolist()



def test_the_data_page_lists_plans_ahead_saying_so_with_shrinkage_in_percent(monkeypatch, sample_store):
    at = _app(monkeypatch, sample_store.path, "data")
    at.selectbox(key="dt_table").set_value("staffing")
    at.run()
    assert not at.exception
    last = max(d for (d,) in sample_store.fetchall("SELECT max(interval_start) FROM staffing"))
    assert any(f"to {last.day} {last:%b %Y}, are listed too" in c.value for c in at.caption)
    shown = at.dataframe[-1].value
    assert set(shown["shrinkage"]) <= {"30.0%", "55.0%", "15.0%", "18.0%", "—"}  # 0.30 read as 30%, empty a dash
