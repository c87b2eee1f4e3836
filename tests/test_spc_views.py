"""SPC as the pages and the pack see it (issue 12 item 2): events loaded like any export and drawn on charts,
rebasing at process changes, limits clipped to the possible range, coarse series as run charts, the icons."""

from __future__ import annotations

import datetime as dt
import xml.etree.ElementTree as ET

import numpy as np
import pandas as pd
import pytest

from opsdash import annotations, catalog, charts, icons, labels, lifecycle, spc, views
from opsdash.ingest.loader import load_file
from opsdash.store import Scope, Store
from tests.helpers import csv_text

ACME, BETA = "Acme", "Beta Billing"
START = dt.date(2026, 1, 5)  # a Monday
CHANGE = dt.date(2026, 3, 30)  # the Monday of week 13


def _claims(vendor: str, weeks: int = 24, per_week: int = 20, seed: int = 1) -> list[dict]:
    """Claims received every weekday: 4 days to submit before CHANGE, 2 days from it; clean at random."""
    rng = np.random.default_rng(seed)
    rows = []
    for w in range(weeks):
        for i in range(per_week):
            received = START + dt.timedelta(days=7 * w + i % 5)
            days = 4 if received < CHANGE else 2
            rows.append({"claim_id": f"{vendor[:2]}{w:03d}{i:03d}", "vendor": vendor, "payer": "Aetna",
                         "received_date": received, "submitted_date": received + dt.timedelta(days=days),
                         "clean_submission": "true" if rng.random() < 0.9 else "false"})
    return rows


def _events(rows: list[dict]) -> str:
    return csv_text(rows, columns=["vendor", "event_date", "kpi", "process", "description", "is_process_change"])


@pytest.fixture
def acme(tmp_path) -> Store:
    """Two vendors' claims; Acme's change of 30 Mar 2026 is logged as a process change, Beta's note is not."""
    path = tmp_path / "acme.duckdb"
    with Store(path) as s:
        (tmp_path / "claims.csv").write_text(csv_text(_claims(ACME) + _claims(BETA, seed=2)), encoding="utf-8")
        (tmp_path / "events.csv").write_text(_events([
            {"vendor": ACME, "event_date": CHANGE, "description": "New <b>scrubber</b> live", "is_process_change": "yes"},
            {"vendor": BETA, "event_date": dt.date(2026, 2, 11), "kpi": "clean_claim_rate",
             "description": "Staff training", "is_process_change": "no"},
            {"vendor": ACME, "event_date": dt.date(2026, 2, 2), "process": "coding", "description": "Coding audit",
             "is_process_change": "true"},
        ]), encoding="utf-8")
        for name in ("claims.csv", "events.csv"):
            rep = load_file(s, tmp_path / name)
            assert rep.status == "loaded" and rep.rows_rejected == 0, rep.message
    s = Store(path, read_only=True)
    yield s
    s.close()


# -- the events table ----------------------------------------------------------------------------------
def test_events_load_like_any_export_and_are_screened_and_scoped(acme, tmp_path):
    ev = views.events(acme, views.Filters())
    assert len(ev) == 3 and ev["event_date"].tolist() == sorted(ev["event_date"])
    assert ev.set_index("description")["is_process_change"].to_dict() == {
        "New <b>scrubber</b> live": True, "Staff training": False, "Coding audit": True}
    beta_only = views.events(acme.scoped(Scope.of([BETA])), views.Filters())
    assert beta_only["vendor"].tolist() == [BETA]  # a vendor's reader sees only its own events
    assert views.events(acme, views.Filters(vendors=(ACME,)), end=dt.date(2026, 3, 1))["description"].tolist() == [
        "Coding audit"]
    bad = tmp_path / "bad.duckdb"
    with Store(bad) as s:
        (tmp_path / "bad.csv").write_text(_events([
            {"vendor": ACME, "event_date": CHANGE, "description": "call 123-45-6789 about it"},
            {"vendor": ACME, "event_date": CHANGE, "kpi": "turnaround", "description": "unknown KPI"},
            {"vendor": ACME, "event_date": dt.date(2026, 4, 1), "description": "fine"}]), encoding="utf-8")
        rep = load_file(s, tmp_path / "bad.csv")
        assert (rep.table, rep.rows_loaded, rep.rows_rejected) == ("events", 1, 2)
        reasons = " ".join(r[0] for r in s.fetchall("SELECT reason FROM rejects"))
        assert "Social Security" in reasons and "turnaround" in reasons
        assert s.fetchone("SELECT is_process_change FROM events")[0] is False  # the default


def test_which_events_concern_a_chart():
    ev = pd.DataFrame({"vendor": ["A"] * 4, "event_date": [START] * 4,
                       "kpi": [None, "error_rate", "clean_claim_rate", None],
                       "process": [None, None, None, "coding"], "description": list("wxyz"),
                       "is_process_change": [True] * 4, "source": [None] * 4})
    f = views.Filters()
    assert views.events_for(ev, "clean_claim_rate", f)["description"].tolist() == ["w", "y"]  # claims: no process
    assert views.events_for(ev, "error_rate", f)["description"].tolist() == ["w", "x", "z"]
    assert views.events_for(ev, "error_rate", f.with_extra(process=("billing",)))["description"].tolist() == ["w", "x"]
    assert views.events_for(ev, "error_rate", f.with_extra(process=("coding",)))["description"].tolist() == ["w", "x", "z"]


def test_a_process_change_rebases_at_the_period_it_falls_in():
    months = [dt.date(2026, m, 1) for m in range(1, 7)]
    ev = pd.DataFrame({"event_date": [dt.date(2026, 3, 15), dt.date(2026, 1, 1), dt.date(2026, 7, 1),
                                      dt.date(2026, 5, 1), dt.date(2026, 4, 9)],
                       "is_process_change": [True, True, True, True, False]})
    # 15 Mar starts March's segment (2), 1 Jan is the start anyway, 1 Jul is after June, 9 Apr is no change
    assert views.rebase_positions(months, ev, "month") == [2, 4]
    weeks = [START + dt.timedelta(days=7 * i) for i in range(10)]
    assert views.rebase_positions(weeks, ev.iloc[[0]], "week") == [9]  # 15 Mar 2026 is a Sunday: week of 9 Mar
    assert views.rebase_positions(months, ev.iloc[0:0], "month") == []


# -- SPC views ----------------------------------------------------------------------------------------
def test_turnaround_in_whole_days_is_a_run_chart_rebased_at_the_process_change(acme):
    f = views.Filters(grain="week", vendors=(ACME,))
    v = views.spc_view(acme, "claim_turnaround_days", f)
    assert v.events["description"].tolist() == ["New <b>scrubber</b> live"]  # the coding audit is no claims event
    seg = v.chart["segment"].to_numpy()
    periods = pd.Series(v.series["period_start"])
    assert (seg == (periods >= CHANGE).astype(int).to_numpy()).all()  # the new segment starts on CHANGE's week
    # Submissions in the week of CHANGE are still of claims received before it (4 days): by hand, the medians
    known = v.series.dropna(subset=["value"])
    assert set(known["value"]) == {2.0, 4.0}
    assert v.chart["coarse"].all() and not v.chart["special_cause"].any()
    assert spc.variation(v.chart) == "too_coarse" and v.chart["upl"].isna().all()
    words = v.words()
    assert "No SPC reading: too coarse" in words and "run chart around the median" in words
    assert "starts afresh" in words and "30 Mar 2026" in words
    whole = spc.xmr(known["value"].tolist(), direction="lower", settings=spc.Settings(screen_coarse=False))
    assert whole["special_cause"].any()  # what the chart said before: signals from the round-off


def test_a_continuous_rate_gets_limits_per_segment(acme):
    f = views.Filters(grain="week", vendors=(ACME,))
    v = views.spc_view(acme, "clean_claim_rate", f)
    s = v.series.reset_index(drop=True)
    # independent: clean / recorded per submission week, from the rows as generated
    rows = pd.DataFrame(_claims(ACME))
    rows["week"] = [d - dt.timedelta(days=d.weekday()) for d in rows["submitted_date"]]
    rate = rows.groupby("week")["clean_submission"].apply(lambda c: (c == "true").mean())
    assert s.set_index("period_start")["value"].astype(float).to_dict() == pytest.approx(rate.to_dict())
    cut = int(np.flatnonzero(pd.Series(s["period_start"]) >= CHANGE)[0])
    for part, seg in ((s["value"][:cut], 0), (s["value"][cut:], 1)):
        y = part.astype(float).to_numpy()
        rows_ = v.chart[v.chart["segment"] == seg]
        upl = min(1.0, y.mean() + 2.66 * np.abs(np.diff(y)).mean())
        assert rows_["mean"].to_numpy() == pytest.approx(y.mean())
        assert rows_["upl"].to_numpy() == pytest.approx(upl)
    assert not v.chart["coarse"].any()


def test_limits_beyond_100_percent_are_shown_at_100_percent_and_said():
    kpi = catalog.KPIS["clean_claim_rate"]
    y = [0.99, 0.97, 1.0, 0.96, 0.99, 0.98, 1.0, 0.97, 0.99, 0.96, 1.0, 0.98]
    df = pd.DataFrame({"period_start": [START + dt.timedelta(days=7 * i) for i in range(12)], "value": y})
    chart = views.xmr_for(kpi, df, pd.DataFrame(columns=list(views.EVENT_COLUMNS)), "week")
    assert (chart["upl"] == 1.0).all()
    v = views.SpcView(kpi, df, chart, pd.DataFrame(columns=list(views.EVENT_COLUMNS)), None, "", "week")
    assert "upper process limit lies beyond what is possible and is shown at 100.0%" in v.words()
    fig = charts.spc(chart, df["period_start"], kpi)
    upper = next(t for t in fig.data if t.name.startswith("upper process limit"))
    assert max(upper.y) == 1.0 and "edge of what is possible" in upper.name


def test_tiles_and_what_changed_say_too_coarse(acme):
    f = views.Filters(grain="week", vendors=(ACME,))
    t = views.tile(acme, "claim_turnaround_days", f)
    assert t.variation == "too_coarse" and t.words.startswith("No SPC reading: too coarse (")
    assert labels.variation_words(t.variation) == "No SPC reading: too coarse"
    changed = views.what_changed(acme, views.Filters(grain="week"), ("claim_turnaround_days",))
    assert changed.empty
    coarse = views.too_coarse(acme, views.Filters(grain="week"), ("claim_turnaround_days",))
    assert coarse["vendor"].tolist() == [ACME, BETA]


def test_the_target_caption_never_asks_for_one_vendor_when_one_is_picked(acme):
    one = views.Filters(vendors=(ACME,))
    words = views.chart_target_words(views.spc_view(acme, "claim_turnaround_days", one), one)
    assert "pick one vendor" not in words and "Acme's contract sets no level" in words
    two = views.Filters(vendors=(ACME, BETA))
    assert "pick one vendor" in views.chart_target_words(views.spc_view(acme, "claim_turnaround_days", two), two)


# -- charts -------------------------------------------------------------------------------------------
def test_events_are_drawn_as_lines_with_escaped_labels_and_hover(acme):
    f = views.Filters(grain="week", vendors=(ACME,))
    v = views.spc_view(acme, "claim_turnaround_days", f)
    fig = charts.spc(v.chart, v.series["period_start"], v.kpi, events=v.events)
    lines = [s for s in fig.layout.shapes if s.type == "line" and s.yref == "paper"]
    assert len(lines) == 1 and lines[0].x0 == CHANGE and lines[0].line.dash == "solid"
    label = next(a for a in fig.layout.annotations if a.hovertext)
    assert "&lt;b&gt;scrubber&lt;/b&gt;" in label.text and "<b>" not in label.text
    assert "30 Mar 2026" in label.hovertext and "limits recalculated" in label.hovertext
    names = [t.name for t in fig.data]
    assert "median (run chart)" in names and labels.VARIATION_WORDS["too_coarse"] in names
    median = next(t for t in fig.data if t.name == "median (run chart)")
    assert None in median.y  # one line per segment: a gap at the rebase
    assert {y for y in median.y if y is not None} == {4.0, 2.0}


def test_an_annotation_only_event_is_dotted():
    ev = pd.DataFrame({"vendor": ["A"], "event_date": [START], "kpi": [None], "process": [None],
                       "description": ["x" * 60], "is_process_change": [False], "source": [None]})
    fig = charts.add_events(charts._base("t", "x"), ev)
    assert fig.layout.shapes[0].line.dash == "dot"
    assert len(fig.layout.annotations[0].text) <= charts.EVENT_LABEL_CHARS


# -- icons ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize("variation, side, colour, letter", [
    ("improvement", "higher", icons.BLUE, "H"), ("improvement", "lower", icons.BLUE, "L"),
    ("concern", "higher", icons.ORANGE, "H"), ("concern", "lower", icons.ORANGE, "L"),
    ("neutral", "lower", icons.PURPLE, "L"), ("common_cause", None, icons.GREY, None),
    ("too_coarse", None, icons.GREY, "–"), (None, None, icons.GREY, "–")])
def test_variation_icons(variation, side, colour, letter):
    svg = icons.icon_svg(variation, side)
    root = ET.fromstring(svg)  # well-formed SVG
    ns = "{http://www.w3.org/2000/svg}"
    assert root.find(f"{ns}circle").get("stroke") == colour
    texts = [t.text for t in root.iter(f"{ns}text")]
    assert texts == ([letter] if letter else [])
    assert root.find(f"{ns}title").text == labels.variation_words(variation, side)
    assert "http" not in svg.replace('xmlns="http://www.w3.org/2000/svg"', "")  # nothing fetched


@pytest.mark.parametrize("assurance, colour, letter", [
    ("consistently_pass", icons.BLUE, "P"), ("consistently_fail", icons.ORANGE, "F"),
    ("hit_and_miss", icons.GREY, "?"), ("too_coarse", icons.GREY, "–"), (None, icons.GREY, "–")])
def test_assurance_icons(assurance, colour, letter):
    root = ET.fromstring(icons.assurance_svg(assurance))
    ns = "{http://www.w3.org/2000/svg}"
    assert root.find(f"{ns}circle").get("stroke") == colour
    assert [t.text for t in root.iter(f"{ns}text")] == [letter]


def test_the_legend_has_every_reading_in_words():
    words = [w for _, w in icons.legend()]
    for v in ("improvement", "concern", "neutral", "common_cause", "too_coarse"):
        assert any(w.startswith(labels.VARIATION_WORDS[v]) for w in words), v
    for a in ("consistently_pass", "consistently_fail", "hit_and_miss"):
        assert labels.ASSURANCE_WORDS[a] in words
    assert set(labels.VARIATION_WORDS) == set(spc.POINT_TYPES) and set(labels.ASSURANCE_WORDS) == set(spc.ASSURANCE)


def test_latest_side():
    assert spc.latest_side(spc.xmr([1, 2, 1, 2, 9])) == "higher"
    assert spc.latest_side(spc.xmr([5, 4, 5, 4, 1])) == "lower"
    assert spc.latest_side(spc.xmr([])) is None


# -- entering and removing events on the dashboard -------------------------------------------------------
def test_an_entered_event_loads_and_a_removed_one_can_be_entered_again(tmp_path):
    path = tmp_path / "e.duckdb"
    entry = annotations.entry_csv(ACME, CHANGE, None, None, "Went live", True, dt.datetime(2026, 4, 1, 9, 0))
    with Store(path) as s:
        rep = load_file(s, annotations.write_entry(tmp_path, entry, dt.datetime(2026, 4, 1, 9, 0)))
        assert (rep.status, rep.table, rep.rows_loaded) == ("loaded", "events", 1)
        got = s.fetchone("SELECT vendor, event_date, kpi, process, description, is_process_change, source FROM events")
        assert got == (ACME, CHANGE, None, None, "Went live", True, "entered on the dashboard 2026-04-01 09:00:00 UTC")
        other = annotations.entry_csv(ACME, CHANGE, "clean_claim_rate", None, "Other", False)
        load_file(s, annotations.write_entry(tmp_path, other))
        went_live = annotations.EventKey(ACME, CHANGE, None, None, "Went live")
        assert annotations.remove(s, went_live) == 1  # only the event of every KPI
        assert s.fetchall("SELECT kpi FROM events") == [("clean_claim_rate",)]
        again = annotations.entry_csv(ACME, CHANGE, None, None, "Went live", True, dt.datetime(2026, 4, 2, 9, 0))
        assert load_file(s, annotations.write_entry(tmp_path, again)).status == "loaded"
        assert annotations.remove(s, went_live._replace(process="nothing")) == 0


# -- pages (AppTest) ---------------------------------------------------------------------------------------
def _app(monkeypatch, db, page: str, params: dict | None = None):
    import streamlit as st
    from streamlit.testing.v1 import AppTest

    from tests.conftest import ROOT

    st.cache_data.clear()
    monkeypatch.setenv("OPSDASH_DB", str(db))
    monkeypatch.chdir(ROOT)
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120)
    for k, v in (params or {}).items():
        at.query_params[k] = v
    at.run()
    at.switch_page(f"pages/{page}.py")
    return at.run()


def test_the_claims_caption_with_one_vendor_picked_says_why_there_is_no_target(monkeypatch, acme):
    at = _app(monkeypatch, acme.path, "claims", {"vendor": ACME})
    assert not at.exception and not at.error, [e.value for e in at.error]
    captions = " ".join(c.value for c in at.caption)
    assert "run chart" in captions and "Acme" in captions
    assert "pick one vendor" not in captions  # one vendor is picked: its contract simply has no level
    assert any("What the SPC icons mean" in e.label for e in at.expander)


def test_an_admin_adds_and_removes_an_event_on_the_events_page(tmp_path):
    """In the browser (AppTest loses a form's submission once the shared sidebar filters are drawn): the event
    goes in through the loader, shows in the log, goes out by its key, and both are in the audit trail."""
    from tests.browser import chromium, require_chromium, served, settled

    require_chromium()
    path = tmp_path / "ev.duckdb"
    with Store(path) as s:
        (tmp_path / "claims.csv").write_text(csv_text(_claims(ACME, weeks=4)), encoding="utf-8")
        assert load_file(s, tmp_path / "claims.csv").status == "loaded"
    with served({"OPSDASH_DB": str(path)}) as url, chromium() as browser:
        page = browser.new_page(viewport={"width": 1400, "height": 1600})
        page.goto(f"{url}/events")
        page.wait_for_selector("[data-testid='stMain'] h1", timeout=60_000)
        settled(page)
        page.get_by_label("What happened").fill("New scrubber live")
        page.get_by_text("Process change: recalculate SPC limits from here").click()
        page.get_by_role("button", name="Add event").click()
        page.get_by_text("Event added for Acme").wait_for(timeout=60_000)
        with Store(path, read_only=True) as s:
            assert s.fetchall("SELECT vendor, description, is_process_change FROM events") == [
                (ACME, "New scrubber live", True)]
            assert s.fetchone("SELECT table_name, loaded_by FROM loads ORDER BY load_id DESC LIMIT 1") == (
                "events", "local user")
        page.reload()
        page.wait_for_selector("[data-testid='stMain'] h1", timeout=60_000)
        settled(page)
        page.get_by_role("button", name="Remove event").click()
        page.get_by_text("Removed 1 event(s).").wait_for(timeout=60_000)
    with lifecycle.open_store(path) as s:  # opening for writing moves the audit spool into the table
        assert s.fetchone("SELECT count(*) FROM events")[0] == 0
        actions = s.fetchall("SELECT what FROM audit WHERE action = 'event_edit' ORDER BY event_at")
    assert len(actions) == 2
    assert actions[0][0].startswith("added an event of Acme on") and actions[1][0].startswith("removed the event of Acme")
    assert not any("scrubber" in what for (what,) in actions)  # the audit trail holds no row data


def test_the_pack_lists_the_period_s_events_and_escapes_them(acme):
    from opsdash import report

    pack = report.build(acme, ACME, "2026-03")
    ev = pack.tables["events"]
    # by hand: Acme's events in March 2026 are the change of 30 Mar only (the coding audit was in February)
    assert ev.frame.to_dict("records") == [{"event_date": CHANGE, "vendor": ACME, "kpi": None, "process": None,
                                            "description": "New <b>scrubber</b> live", "is_process_change": True}]
    assert ev.shown.to_dict("records") == [{"Date": f"{CHANGE.day} {CHANGE:%b %Y}", "KPI": "Every KPI",
                                            "Process": "Every process", "What happened": "New <b>scrubber</b> live",
                                            "Process change": "Yes"}]
    html = report.render(pack, "html").decode()
    assert "Events in the period" in html and "New &lt;b&gt;scrubber&lt;/b&gt; live" in html
    assert "New <b>scrubber" not in html
    assert report.render(pack, "xlsx")[:2] == b"PK"  # the workbook takes the events sheet too
    assert report.build(acme, ACME, "2026-02").tables["events"].frame["description"].tolist() == ["Coding audit"]
