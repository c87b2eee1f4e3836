"""Pages in sections: only the open section runs and is drawn (at most two charts at once), every section of
every page runs on the sample and the empty store, and a section is a link."""

from __future__ import annotations

import pandas as pd
import pytest

from opsdash import dashboard
from tests.test_app import _app, empty_store  # noqa: F401 - the fixture is used by name

CASES = [(file, name) for file, (_key, names) in dashboard.SECTIONS.items() for name in names]
#: Charts (each with its download) that each section draws on the sample store, by its own design.
SAMPLE_CHARTS = {
    ("pages/claims.py", "Turnaround"): 2, ("pages/claims.py", "Clean claims and denials"): 2,
    ("pages/claims.py", "Denial trend and reasons"): 2, ("pages/claims.py", "Unbilled backlog"): 1,
    ("pages/claims.py", "Claims at risk"): 1,
    ("pages/quality.py", "Rates and SPC"): 2, ("pages/quality.py", "Error categories"): 1,
    ("pages/sla.py", "Attainment"): 1, ("pages/sla.py", "Breaches and credits"): 0,
    ("pages/sla.py", "Backlog and turnaround"): 2,
    ("pages/contact_centre.py", "By vendor and queue"): 2, ("pages/contact_centre.py", "By weekday and hour"): 2,
    # the first vendor's (ClearView: a back office, no contact centre) forecast, staffing and backlog
    ("pages/capacity.py", "Work coming"): 1, ("pages/capacity.py", "Contact-centre staffing"): 0,
    ("pages/capacity.py", "Back-office backlog"): 1,
}


def _page(file: str) -> str:
    return file.removeprefix("pages/").removesuffix(".py")


def _charts(at) -> int:
    return len(at.get("plotly_chart"))


def test_every_section_is_listed_with_its_charts():
    assert set(SAMPLE_CHARTS) == set(CASES)
    assert max(SAMPLE_CHARTS.values()) <= 2


@pytest.mark.parametrize(("file", "name"), CASES)
def test_each_section_draws_its_own_charts_only(monkeypatch, sample_store, file, name):
    key, _names = dashboard.SECTIONS[file]
    at = _app(monkeypatch, sample_store.path, _page(file), params={key: name})
    assert not at.exception, at.exception
    assert not at.error, [e.value for e in at.error]
    assert at.session_state[key] == name
    assert _charts(at) == SAMPLE_CHARTS[(file, name)]


@pytest.mark.parametrize(("file", "name"), CASES)
def test_each_section_runs_on_an_empty_store(monkeypatch, empty_store, file, name):  # noqa: F811
    key, _names = dashboard.SECTIONS[file]
    at = _app(monkeypatch, empty_store, _page(file), params={key: name})
    assert not at.exception, at.exception
    assert not at.error, [e.value for e in at.error]
    assert _charts(at) == 0


def test_a_page_opens_on_its_first_section_and_switches_without_drawing_the_others(monkeypatch, sample_store):
    at = _app(monkeypatch, sample_store.path, "claims")
    assert at.session_state["claims_view"] == "Turnaround" and _charts(at) == 2
    assert "turnaround" in at.get("plotly_chart")[0].proto.spec.lower()
    at.session_state["claims_view"] = "Unbilled backlog"
    at.run()
    assert not at.exception and _charts(at) == 1
    assert "Unbilled claims at the end of each month" in at.get("plotly_chart")[0].proto.spec


def test_a_link_to_no_section_opens_the_first_with_a_notice(monkeypatch, sample_store):
    at = _app(monkeypatch, sample_store.path, "sla", params={"sla_view": "<b>nope</b>"})
    assert not at.exception
    assert at.session_state["sla_view"] == "Attainment"
    notice = [c.value for c in at.caption if "Ignored from the link" in c.value]
    assert len(notice) == 1 and "`sla_view`" in notice[0]
    assert "<b>" not in notice[0] and "\\<b\\>nope" in notice[0]  # shown as text, never markup
    assert _charts(at) == 1


def test_the_attainment_grid_shows_one_vendor_at_a_time_from_the_link(monkeypatch, sample_store):
    from opsdash import sla

    vendors = sla.vendors(sample_store)
    at = _app(monkeypatch, sample_store.path, "sla", params={"sla_vendor": vendors[-1]})
    assert at.selectbox(key="sla_vendor").value == vendors[-1]
    fig = at.get("plotly_chart")[0].proto.spec
    assert f"{vendors[-1]}: service levels by month" in fig
    # Each cell is the engine's attainment of that vendor's level and month: its status and value in words.
    from opsdash import catalog, charts, views
    from opsdash.settings import load
    from tests.helpers import plotted

    start, end = views.sla_months(None, None, max(d for d in views.freshness(sample_store)["latest event"]))
    att = sla.attainment(sample_store, start, end, vendors_=[vendors[-1]], settings=load())
    grid = plotted(at, 0)[0]
    cells = {(r, m): c for r, row in zip(grid["y"], grid["customdata"]) for m, c in zip(grid["x"], row)}
    names = views.level_names(att)
    assert len(att) and len(cells) >= len(att)
    for name, month, status, kpi, value in zip(names, att["month"], att["status"], att["kpi"], att["value"]):
        shown = catalog.format_value(catalog.KPIS[kpi], None if pd.isna(value) else float(value))
        words = charts.STATUS_WORDS.get(status, charts.STATUS_WORDS["no_data"])
        assert cells[(name, f"{pd.Timestamp(month):%b %Y}")] == (f"{words}, {shown}" if shown else words)


def test_the_attainment_section_names_every_vendor_s_latest_month(monkeypatch, sample_store):
    """One grid at a time, but every vendor's latest month in one line, equal to that month's scorecard."""
    from opsdash import periods, sla

    at = _app(monkeypatch, sample_store.path, "sla")
    line = next(c.value for c in at.caption if "levels met" in c.value).replace("\\", "")  # Markdown escapes
    assert line.startswith("Nov 2026 (to 26 Nov): ")  # the sample's data ends on 26 Nov
    month = "Nov 2026"
    for vendor in sla.vendors(sample_store):
        card = sla.scorecard(sample_store, vendor, next(
            periods.code(d.date(), "month") for d in pd.date_range("2024-01-01", "2027-12-01", freq="MS")
            if periods.label(d.date(), "month") == month))
        s = card.summary
        if s["levels_scored"]:
            assert f"{vendor} {s['levels_met']} of {s['levels_scored']} levels met" in line
