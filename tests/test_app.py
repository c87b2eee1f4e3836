"""The Streamlit app: every page runs on the sample store, on an empty store and on no store; the numbers on
screen are the engine's for the same filters; filters come from the URL."""

from __future__ import annotations

import datetime as dt
import json
import re

import numpy as np
import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from opsdash import catalog, labels, metrics, views
from opsdash.store import Store
from tests.conftest import ROOT
from tests.helpers import held, overview_tiles, plotted

PAGES = ["overview", "claims", "quality", "sla", "contact_centre", "scorecard", "data", "loads", "upload", "events",
         "capacity"]


#: Seconds an AppTest run may take, per page (60 unless named). The Capacity page reads the outlooks the sample's
#: load kept; it would make one (about 8 s alone for the sample's largest vendor, several times that with every
#: test worker busy on two cores) only for a store loaded without them.
TIMEOUT: dict[str, int] = {}


def _app(monkeypatch, db, page: str | None = None, params: dict | None = None, run: bool = True) -> AppTest:
    monkeypatch.setenv("OPSDASH_DB", str(db))
    monkeypatch.chdir(ROOT)
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=TIMEOUT.get(page or "", 60))
    for k, v in (params or {}).items():
        at.query_params[k] = v
    if page:  # st.navigation registers the pages on a first run; only then does switching go through app.py
        at.run()
        at.switch_page(f"pages/{page}.py")
    return at.run() if run else at


@pytest.fixture
def empty_store(tmp_path):
    path = tmp_path / "empty.duckdb"
    Store(path).close()
    return path


@pytest.mark.parametrize("page", PAGES)
def test_every_page_runs_on_the_sample_store(monkeypatch, sample_store, page):
    at = _app(monkeypatch, sample_store.path, page)
    assert not at.exception, at.exception
    assert not at.error, [e.value for e in at.error]
    assert at.title and at.title[0].value


@pytest.mark.parametrize("page", PAGES)
def test_every_page_runs_on_an_empty_store(monkeypatch, empty_store, page):
    at = _app(monkeypatch, empty_store, page)
    assert not at.exception, at.exception
    assert not at.error, [e.value for e in at.error]


@pytest.mark.parametrize("page", PAGES)
def test_without_a_store_every_page_says_how_to_make_one(monkeypatch, tmp_path, page):
    at = _app(monkeypatch, tmp_path / "missing.duckdb", page)
    assert not at.exception
    if page != "upload":  # the upload page makes one
        assert any("opsdash demo" in i.value for i in at.info)


def test_overview_tiles_are_the_engines_values_under_url_filters(monkeypatch, sample_store):
    vendor = "Helix Health Services"
    at = _app(monkeypatch, sample_store.path, params={"vendor": [vendor], "grain": "week",
                                                       "dates": ["2026-01-05", "2026-09-27"]})
    assert at.multiselect(key="vendor").value == [vendor] and at.selectbox(key="grain").value == "week"
    shown = overview_tiles(at)
    f = views.Filters(dt.date(2026, 1, 5), dt.date(2026, 9, 27), "week", (vendor,))
    for kpi_id in views.HEADLINE:
        kpi = catalog.KPIS[kpi_id]
        s = metrics.series(sample_store, kpi_id, grain="week", where=f.where(kpi.table), start=f.start, end=f.end)
        known = s.dropna(subset=["value"])
        if known.empty:  # Helix runs no contact centre: the tile is left out, and named
            assert kpi_id not in shown
            assert any(kpi.label in c.value.replace("\\", "") and "left out" in c.value for c in at.caption), kpi_id
            continue
        assert shown[kpi_id]["value"] == catalog.format_value(kpi, float(known["value"].iloc[-1])), kpi_id
    claims = metrics.series(sample_store, "clean_claim_rate", grain="week", where=f.where("claims"), start=f.start,
                            end=f.end).dropna(subset=["value"])
    assert claims["period_start"].iloc[-1] == dt.date(2026, 9, 21)  # the range's last week, not the data's
    assert "Week of 21 Sep 2026" in shown["clean_claim_rate"]["text"]


def test_overview_statuses_are_the_engines_target_comparison(monkeypatch, sample_store):
    """Each tile shows exactly one status, and it is the engine's value for the latest complete month against
    the target in force, compared the way the KPI is better; the running month is marked "to date"."""
    at = _app(monkeypatch, sample_store.path)
    shown = overview_tiles(at)
    assert set(shown) == set(views.HEADLINE)
    words = {"on_target": "On target", "off_target": "Off target", "no_target": "No target"}
    for kpi_id, tile in shown.items():
        kpi = catalog.KPIS[kpi_id]
        s = metrics.series(sample_store, kpi_id, end=dt.date(2026, 10, 31)).dropna(subset=["value"])
        value, target = float(s["value"].iloc[-1]), kpi.target
        want = ("no_target" if target is None else
                ("on_target" if value >= target else "off_target") if kpi.direction == "higher" else
                ("on_target" if value <= target else "off_target"))
        assert tile["status"] == want, kpi_id
        # Exactly one status in words, whatever the case (the target line never repeats them).
        assert [w for w in words.values() if w.lower() in tile["text"].lower()] == [words[want]], kpi_id
        assert tile["value"] == catalog.format_value(kpi, value)
        assert "Oct 2026" in tile["text"] and "Nov 2026 to date (1–26 Nov)" in tile["text"]
        assert "vs 1–26 Oct" in tile["text"]


def test_overview_text_is_for_people(monkeypatch, sample_store):
    """No "None", no machine name of the contract or catalogue in what the Overview writes, in its tiles,
    captions or tables, and no "month of" or "no change" arrow."""
    import html
    import re

    from opsdash import labels

    at = _app(monkeypatch, sample_store.path)
    texts = [html.unescape(re.sub(r"<style>.*?</style>|<[^>]+>", " ", m.value, flags=re.S)) for m in at.markdown]
    texts += [c.value for c in at.caption] + [w.value for w in at.warning] + [s.value for s in at.success]
    for df in (d.value for d in at.dataframe):
        texts += [str(v) for col in df.columns if df[col].dtype == object for v in df[col]]
    tokens = labels.machine_tokens()
    for text in texts:
        assert not re.search(r"\bNone\b", text), text
        assert not (set(re.findall(r"[a-z0-9]+(?:_[a-z0-9]+)+", text)) & tokens), text
        assert "month of" not in text and "↑ no change" not in text


def _people_text(at: AppTest) -> list[str]:
    """What a page writes for people: Markdown (tags stripped), captions, messages, metrics and every text cell
    of its tables."""
    import html
    import re

    texts = [html.unescape(re.sub(r"<style>.*?</style>|<[^>]+>", " ", m.value, flags=re.S)) for m in at.markdown]
    for kind in (at.caption, at.warning, at.success, at.info, at.subheader):
        texts += [e.value for e in kind]
    texts += [f"{m.label} {m.value}" for m in at.metric]
    for d in at.dataframe:
        df, config = d.value, json.loads(d.proto.columns or "{}")
        shown = [c for c in df.columns if not config.get(str(c), {}).get("hidden")]
        texts += [config.get(str(c), {}).get("label") or str(c) for c in shown]  # the headers as drawn
        texts += [str(v) for col in shown if df[col].dtype == object for v in df[col]]
    return texts


@pytest.mark.parametrize("page", ["overview", "claims", "quality", "sla", "contact_centre", "scorecard", "data", "loads"])
def test_every_page_writes_words_for_people(monkeypatch, sample_store, page):
    """No "None" and no machine name of the contract or catalogue (consecutive_missed, prior_auth, qa_audits)
    in anything a page writes, its tables' cells included."""
    import re

    at = _app(monkeypatch, sample_store.path, page if page != "overview" else None)
    tokens = labels.machine_tokens()
    for text in _people_text(at):
        assert not re.search(r"\bNone\b", text), text
        assert not (set(re.findall(r"[a-z0-9]+(?:_[a-z0-9]+)+", text.replace("\\_", "_"))) & tokens), text


def test_a_tile_writes_names_from_data_as_text():
    """A vendor's name reaches a tile in its target's source (the hover text): escaped, never markup."""
    from opsdash.ui import widgets

    t = views.Tile(catalog.KPIS["clean_claim_rate"], dt.date(2026, 10, 1), 0.9, 0.91, None, 0.95, "common_cause",
                   None, "no signal", [0.9, 0.91], window=views.periods.window(dt.date(2026, 10, 1), "month",
                                                                              dt.date(2026, 11, 26)),
                   target_source='<img src=x onerror="alert(1)">\'s contract')
    markup = widgets.tile_html(t, "month")
    assert "<img" not in markup and "&lt;img src=x onerror=&quot;alert(1)&quot;&gt;" in markup
    assert 'data-status="off_target"' in markup and "Off target" in markup


def test_page_filters_come_from_the_url(monkeypatch, sample_store):
    at = _app(monkeypatch, sample_store.path, "claims", params={"payer": ["Medicare"], "vendor": ["Helix Health Services"]})
    assert at.multiselect(key="payer").value == ["Medicare"]
    assert not at.exception and not at.error
    # The figures drawn are the filtered ones: the SPC chart's points are the engine's median turnaround of
    # Helix's Medicare claims, and the histogram counts those claims by days, in pandas from the stored rows.
    where = {"vendor": ["Helix Health Services"], "payer": ["Medicare"]}
    s = metrics.series(sample_store, "claim_turnaround_days", where=where).dropna(subset=["value"])
    by_period = {str(p): float(v) for p, v in zip(s["period_start"], s["value"])}
    points = next(t for t in plotted(at, 0) if t["name"] == "value")
    assert len(points["x"]) >= 12
    assert {str(x)[:10]: y for x, y in zip(points["x"], points["y"]) if y is not None} == {
        str(x)[:10]: by_period[str(x)[:10]] for x in points["x"] if str(x)[:10] in by_period}
    everyone = metrics.series(sample_store, "claim_turnaround_days", where={"vendor": ["Helix Health Services"]})
    assert not np.allclose(everyone["value"].astype(float).tail(12), s["value"].astype(float).tail(12))  # power
    rows = sample_store.query("SELECT * FROM claims")
    rows = rows[(rows["vendor"] == "Helix Health Services") & (rows["payer"] == "Medicare") & rows["submitted_date"].notna()]
    days = (pd.to_datetime(rows["submitted_date"]) - pd.to_datetime(rows["received_date"])).dt.days.value_counts()
    hist = plotted(at, 1)[0]
    assert dict(zip(hist["x"], hist["y"])) == {int(d): int(n) for d, n in days.items()}


def test_contact_centre_thresholds_from_the_url_change_the_formula_shown(monkeypatch, sample_store):
    at = _app(monkeypatch, sample_store.path, "contact_centre", params={"answer_s": "20", "short_s": "0"})
    assert at.number_input(key="answer_s").value == 20
    assert any("within 20 s" in i.value and "within 0 s" in i.value for i in at.info)
    # The figures follow the thresholds: the service level by queue and vendor is the engine's at 20 s / 0 s,
    # which differs from the declared defaults' (so the check has power).
    want = metrics.series(sample_store, "service_level", grain=None, by=("vendor", "queue"), answer_threshold_s=20,
                          short_abandon_s=0).dropna(subset=["value"])
    default = metrics.series(sample_store, "service_level", grain=None, by=("vendor", "queue")).dropna(subset=["value"])
    drawn = {(t["name"], q): v for t in plotted(at, 1) if t["name"] in set(want["vendor"])
             for q, v in zip(t["y"], t["x"])}
    assert drawn == pytest.approx({(v, q): float(x)
                                   for v, q, x in zip(want["vendor"], want["queue"], want["value"])})
    assert not np.allclose(want["value"].astype(float), default["value"].astype(float))
    fresh = _app(monkeypatch, sample_store.path, "contact_centre")
    assert (fresh.number_input(key="answer_s").value, fresh.number_input(key="short_s").value) == (
        catalog.ANSWER_THRESHOLD_S, catalog.SHORT_ABANDON_S)


def test_scorecard_shows_the_engines_scorecard(monkeypatch, sample_store):
    from opsdash import sla
    from opsdash.settings import load

    vendor = "Meridian Revenue Partners"
    at = _app(monkeypatch, sample_store.path, "scorecard", params={"sc_vendor": vendor, "month_of": "2026-10"})
    assert not at.exception and not at.error
    card = sla.scorecard(sample_store, vendor, "2026-10", settings=load())
    shown = {m.label: m.value for m in at.metric}
    assert shown["Levels met"] == f"{card.summary['levels_met']} of {card.summary['levels_scored']}"
    table = at.dataframe[0].value
    assert list(table["status"]) == [labels.value_word(v) for v in card.levels["status"]]  # Met, Below minimum
    # The top lists count what they say they count, headed in words ("Denied claims", not "Rows"), with the
    # engine's counts for the month.
    f = views.Filters(dt.date(2026, 10, 1), dt.date(2026, 10, 31), "month", (vendor,))
    for row_set, column in (("audits_with_errors", "error_category"), ("denied_claims", "denial_reason")):
        want = views.counts_by(sample_store, row_set, column, f).head(5)
        (shown,) = [d.value for d in at.dataframe if row_set in d.value]
        assert list(shown[row_set]) == list(want["rows"]) and len(want) > 0
        assert labels.column(row_set).label == catalog.ROW_SETS[row_set].label


def test_the_scorecard_period_picker_reads_in_words_and_links_keep_codes(monkeypatch, sample_store):
    """Review of the issue 12 merge: the picker showed 2026-11 and 2026-W45. It shows "Nov 2026" and "Week of 2 Nov
    2026", a link's month_of=2026-10 opens October, and picking a period writes its code (never its words) to
    the link: a format_func on a box bound to the address made Streamlit write the words there."""
    from opsdash import periods

    vendor = "Meridian Revenue Partners"
    at = _app(monkeypatch, sample_store.path, "scorecard", params={"sc_vendor": vendor, "month_of": "2026-10"})
    assert not at.exception and not at.error
    box = at.selectbox(key="month_of")
    assert box.value == "2026-10" and "Oct 2026" in box.options
    assert all(re.fullmatch(r"[A-Z][a-z]{2} \d{4}", o) for o in box.options), box.options
    assert f"{vendor}, Oct 2026" in [h.value for h in at.subheader]
    assert not [c.value for c in at.caption if "Ignored from the link" in c.value]
    box.select("2026-09").run()
    assert at.query_params["month_of"] == "2026-09"
    assert f"{vendor}, Sep 2026" in [h.value for h in at.subheader]
    at.segmented_control(key="review").set_value("week").run()
    weeks = at.selectbox(key="week_of")
    assert all(o.startswith("Week of ") for o in weeks.options) and not any("-W" in o for o in weeks.options)
    code = periods.code(dt.date(2026, 10, 5), "week")  # 2026-W41
    assert periods.label_of(code) == "Week of 5 Oct 2026" in weeks.options
    weeks.select(code).run()
    assert at.query_params["week_of"] == code and at.selectbox(key="week_of").value == code
    assert f"{vendor}, Week of 5 Oct 2026" in [h.value for h in at.subheader]


def test_a_running_month_s_scorecard_is_compared_like_for_like(monkeypatch, sample_store):
    """Issue 12: the current month runs to date, so its previous values are October scored to the same day,
    never the whole of October."""
    from opsdash import periods, sla
    from opsdash.settings import load

    vendor = "Meridian Revenue Partners"
    cut = max(d for d in views.freshness(sample_store)["latest event"] if pd.notna(d))
    month = periods.code(periods.start_of(cut, "month"), "month")
    assert not periods.is_complete(periods.start_of(cut, "month"), "month", cut), "the sample ends mid-month"
    at = _app(monkeypatch, sample_store.path, "scorecard", params={"sc_vendor": vendor, "month_of": month})
    assert not at.exception and not at.error
    prev_start = periods.previous(periods.start_of(cut, "month"), "month")
    same_day = dt.datetime.combine(prev_start + dt.timedelta(days=cut.day - 1), dt.time(23, 59, 59))
    lfl = sla.scorecard(sample_store, vendor, periods.code(prev_start, "month"), settings=load(), as_of=same_day)
    whole = sla.scorecard(sample_store, vendor, periods.code(prev_start, "month"), settings=load())
    table = at.dataframe[0].value
    assert table["previous"].tolist() == [catalog.format_value(catalog.KPIS[k], None if pd.isna(v) else float(v))
                                          for k, v in zip(lfl.levels["kpi"], lfl.levels["value"])]
    assert not np.allclose(lfl.levels["value"].astype(float), whole.levels["value"].astype(float))
    assert any(f"{periods.label(prev_start, 'month')[:3]}" in c.value and "like for like" in c.value for c in at.caption)


def test_a_failing_section_shows_a_message_and_the_rest_of_the_page_renders(monkeypatch, sample_store):
    def broken(*a, **k):
        raise RuntimeError("boom")

    import streamlit as st

    st.cache_data.clear()  # a cached result from another test would hide the failure
    monkeypatch.setattr(views, "what_changed", broken)
    at = _app(monkeypatch, sample_store.path, params={"vendor": ["Ibérica Salud Contact Services"]})
    assert not at.exception
    assert any("Could not show what changed: boom" in e.value for e in at.error)
    shown = overview_tiles(at)  # the vendor's tiles render; the KPIs it has no data for are named as left out
    left = " ".join(c.value for c in at.caption if "left out" in c.value).replace("\\", "")
    assert shown and all(catalog.KPIS[k].label in left for k in views.HEADLINE if k not in shown)


def test_reset_clears_every_filter(monkeypatch, sample_store):
    # On the overview: AppTest's element tree shows a page's own sidebar widgets in place of the shared ones
    # (the browser shows both, and its test resets from a link).
    at = _app(monkeypatch, sample_store.path, params={"vendor": ["Helix Health Services"], "grain": "week",
                                                       "dates": ["2026-01-05", "2026-09-27"]})
    assert at.multiselect(key="vendor").value and at.selectbox(key="grain").value == "week"
    at.button(key="reset_filters").click().run()
    assert at.multiselect(key="vendor").value == [] and at.selectbox(key="grain").value == "month"
    assert at.date_input(key="dates").value[1] == dt.date(2026, 11, 26)  # the whole range again
    assert at.session_state["_filters"] == views.Filters()
    assert not at.exception
    # The tiles show every vendor's latest complete month again (October), not Helix's weeks.
    kpi = catalog.KPIS["clean_claim_rate"]
    every = metrics.series(sample_store, kpi.id, end=dt.date(2026, 10, 31)).dropna(subset=["value"])
    helix = metrics.series(sample_store, kpi.id, grain="week", where={"vendor": ["Helix Health Services"]},
                           start=dt.date(2026, 1, 5), end=dt.date(2026, 9, 27)).dropna(subset=["value"])
    assert every["value"].iloc[-1] != helix["value"].iloc[-1]
    assert overview_tiles(at)["clean_claim_rate"]["value"] == catalog.format_value(kpi, float(every["value"].iloc[-1]))


def test_shared_filters_apply_on_every_page(monkeypatch, sample_store):
    at = _app(monkeypatch, sample_store.path, "quality", params={"vendor": ["Meridian Revenue Partners"],
                                                                "process": ["coding"]})
    assert at.session_state["_filters"].vendors == ("Meridian Revenue Partners",)
    assert at.session_state["_filters"].where("qa_audits")["vendor"] == ["Meridian Revenue Partners"]
    table = at.multiselect(key="process").value
    assert table == ["coding"]
    # The rate drawn is the engine's over Meridian's coding audits only, and equals pandas on the stored rows.
    where = {"vendor": ["Meridian Revenue Partners"], "process": ["coding"]}
    want = metrics.series(sample_store, "accuracy_rate", grain=None, by=("vendor", "process"), where=where)
    drawn = [t for t in plotted(at, 0) if t["name"] == "Meridian Revenue Partners"]
    assert len(drawn) == 1 and drawn[0]["y"] == ["coding"]
    assert drawn[0]["x"] == pytest.approx([float(want["value"].iloc[0])])
    rows = sample_store.query("SELECT vendor, process, errors FROM qa_audits")
    rows = rows[(rows["vendor"] == "Meridian Revenue Partners") & (rows["process"] == "coding")]
    assert drawn[0]["x"][0] == pytest.approx((rows["errors"] == 0).mean())


def test_upload_loads_files_like_the_cli_and_the_pages_see_them(monkeypatch, tmp_path):
    from tests.helpers import csv_text, row

    db = tmp_path / "up.duckdb"
    good = csv_text([row("claims", claim_id=f"C{i}", received_date=f"2026-01-{i:02d}") for i in range(1, 6)]
                    + [row("claims", claim_id="BAD", received_date="not a date")])
    at = _app(monkeypatch, db, "upload")
    assert not at.exception
    at.file_uploader(key="up_files").set_value([("claims.csv", good.encode(), "text/csv")])
    at.get("form_submit_button")[0].click()
    at.run()
    assert not at.exception, at.exception
    report = at.dataframe[0].value
    assert report.loc[0, "status"] == "loaded" and report.loc[0, "rows_loaded"] == 5 and report.loc[0, "rows_rejected"] == 1
    with Store(db, read_only=True) as s:
        assert s.table_counts()["claims"] == 5
        # Loaded by a worker process that records the dashboard's user, not the server's account.
        assert s.fetchone("SELECT loaded_by FROM loads")[0] == "local user"
    from opsdash import audit

    events = [__import__("json").loads(x) for x in audit.spool_path(db).read_text().splitlines()] \
        if audit.pending(db) else []
    with Store(db, read_only=True) as s:
        stored = audit.trail(s)
    uploads = list(stored.loc[stored["Action"] == "upload", "What"]) + [e["what"] for e in events if e["action"] == "upload"]
    assert uploads == ["claims.csv: loaded"]
    at.switch_page("pages/loads.py")
    at.run()
    shown = {m.label: m.value for m in at.metric}
    assert shown["Claims"] == "5"  # the cached figures were refreshed after the load


def test_upload_refuses_a_workbook_that_is_not_one_and_loads_the_rest(monkeypatch, tmp_path):
    from tests.helpers import csv_text, row

    db = tmp_path / "up.duckdb"
    at = _app(monkeypatch, db, "upload")
    good = csv_text([row("claims", claim_id="C1")]).encode()
    at.file_uploader(key="up_files").set_value([("../claims.csv", good, "text/csv"),
                                                ("fake.xlsx", b"claim_id,vendor\n", "application/octet-stream")])
    at.get("form_submit_button")[0].click()
    at.run()
    report = at.dataframe[0].value.set_index("file")
    assert report.loc["fake.xlsx", "status"] == "refused" and "not one" in report.loc["fake.xlsx", "message"]
    assert report.loc["claims.csv", "status"] == "loaded"  # saved under its plain name
    with Store(db, read_only=True) as s:
        assert s.table_counts()["claims"] == 1 and s.fetchone("SELECT file_name FROM loads")[0] == "claims.csv"


def test_while_a_load_writes_the_pages_say_to_wait_and_recover_after(monkeypatch, sample_store, tmp_path):
    """DuckDB's single writer: a page opened while the CLI loads says so (and offers a retry) instead of failing."""
    import shutil

    import streamlit as st

    db = tmp_path / "busy.duckdb"
    shutil.copy(sample_store.path, db)
    st.cache_resource.clear()
    with held(db):
        at = _app(monkeypatch, db, "claims")
        assert not at.exception and not at.error
        assert any("A load is writing to the store right now" in w.value for w in at.warning)
        assert at.button(key="retry_store")
    at.button(key="retry_store").click().run()  # the load has finished: the page comes back
    assert not at.exception and not any("A load is writing" in w.value for w in at.warning)
    assert at.title[0].value == "Claims"


def test_a_load_that_starts_after_a_page_was_seen_makes_sections_wait_not_fail(monkeypatch, sample_store, tmp_path):
    """Once a page has been seen, a load holding the store leaves cached figures on screen and sections that
    need new ones say a load is writing (no error boxes)."""
    import shutil

    from opsdash.ui import data

    db = tmp_path / "store.duckdb"
    shutil.copy(sample_store.path, db)
    assert overview_tiles(_app(monkeypatch, db))  # seen once: the store's version is known
    data._pool(str(db)).close()
    with held(db):
        at = _app(monkeypatch, db, params={"grain": "quarter", "vendor": ["Meridian Revenue Partners"]})
        assert not at.exception and not at.error, [e.value for e in at.error]
        assert any("A load is writing to the store right now" in i.value for i in at.info)


@pytest.mark.parametrize("failure", ["error", "busy"])
def test_the_scorecard_page_goes_on_when_its_scorecard_fails(monkeypatch, sample_store, failure):
    """Issue 11, item 2: a failing scorecard block (an unreadable value, or a load holding the store) is a
    message; the signals, reconciliation and top lists still show for the period picked."""
    import streamlit as st

    from opsdash import sla
    from opsdash.store import StoreBusy

    def broken(*a, **k):
        raise StoreBusy("busy") if failure == "busy" else RuntimeError("unreadable value")

    st.cache_data.clear()
    monkeypatch.setattr(sla, "scorecard", broken)
    at = _app(monkeypatch, sample_store.path, "scorecard", params={"sc_vendor": "Meridian Revenue Partners",
                                                                    "month_of": "2026-10"})
    assert not at.exception, [e.value for e in at.exception]
    if failure == "busy":
        assert any("the scorecard cannot be read" in i.value for i in at.info)
        assert not at.error
    else:
        assert [e.value for e in at.error] == ["Could not show the scorecard: unreadable value"]
    heads = [h.value for h in at.subheader]
    assert {"SPC signals", "Reported against measured", "Top error categories", "Top denial reasons"} <= set(heads)
    st.cache_data.clear()


# -- issue 11, item 11: a crafted link never reaches a widget -----------------------------------------------

HOSTILE_VALUES = ["inf", "-inf", "nan", "1e309", "99999999999999999999999", "-5", "10000-01-01", "2026-13-45",
                  "**bold** [a](http://127.0.0.1:9/a) ![i](http://127.0.0.1:9/i.png) :material/home:"]
PAGE_PARAMETERS = {"overview": ["dates", "grain", "vendor", "facility"], "claims": ["payer", "claim_type"],
                   "quality": ["process", "error_category"], "contact_centre": ["answer_s", "short_s", "queue"],
                   "scorecard": ["sc_vendor", "review", "month_of", "week_of"], "sla": ["dates"], "data": ["grain"]}
DEFAULTS = {"answer_s": 30, "short_s": 5, "grain": "month", "vendor": [], "facility": [], "payer": [],
            "claim_type": [], "process": [], "error_category": [], "queue": [], "review": "month"}


@pytest.mark.parametrize("page,key", [(p, k) for p, keys in PAGE_PARAMETERS.items() for k in keys])
def test_hostile_link_values_fall_back_to_the_default_with_a_notice(monkeypatch, sample_store, page, key):
    from opsdash import dashboard

    assert key in dashboard.URL_PARAMETERS
    for value in HOSTILE_VALUES:
        at = _app(monkeypatch, sample_store.path, None if page == "overview" else page,
                  params={key: [value, value] if key == "dates" else value})
        assert not at.exception, (value, [e.value for e in at.exception])
        assert not at.error, (value, [e.value for e in at.error])
        if key == "week_of" or (page != "overview" and key in ("dates", "grain", "vendor", "facility")):
            continue  # week_of is read only in weekly reviews; AppTest opens other pages by a first run on the
            # Overview, which already took the shared filters' bad values out of the address (and said so)
        notes = [c.value for c in at.caption if "Ignored from the link" in c.value]
        assert notes and f"`{key}`" in notes[0], (key, value, [c.value for c in at.caption])
        assert "](" not in notes[0] and ":material/home:" not in notes[0]  # the value is shown as text
        if key in DEFAULTS:
            widget = next(w for kind in ("number_input", "multiselect", "segmented_control", "selectbox")
                          for w in getattr(at, kind) if w.key == key)
            assert widget.value == DEFAULTS[key], (key, value)


def test_a_good_link_value_is_kept_without_a_notice(monkeypatch, sample_store):
    at = _app(monkeypatch, sample_store.path, "contact_centre", params={"answer_s": "20.0", "queue": ["scheduling", "nope"]})
    assert at.number_input(key="answer_s").value == 20
    assert at.multiselect(key="queue").value == ["scheduling"]
    notes = [c.value for c in at.caption if "Ignored from the link" in c.value]
    assert len(notes) == 1 and "`queue` (1 value(s))" in notes[0] and "nope" not in notes[0]


def test_error_details_never_reach_a_browser():
    import tomllib

    from streamlit import config

    settings = tomllib.loads((ROOT / ".streamlit" / "config.toml").read_text(encoding="utf-8"))
    assert settings["client"]["showErrorDetails"] == "none"
    assert '"none"' in config._config_options_template["client.showErrorDetails"].description


def test_an_unexpected_page_failure_is_a_plain_message(monkeypatch, sample_store):
    import streamlit as st

    def broken(*a, **k):
        raise RuntimeError("secret internals")

    st.cache_data.clear()
    from opsdash import contract

    at = _app(monkeypatch, sample_store.path, "data", run=False)
    monkeypatch.setattr(contract, "TABLES", {})  # the Data page's table picker fails outside any section's guard
    at.run()
    assert not at.exception
    assert any("could not be shown because of an unexpected error" in e.value for e in at.error)
    assert not any("secret" in e.value or "Traceback" in e.value for e in at.error)
    st.cache_data.clear()


def test_a_date_range_with_one_bad_end_is_ignored_whole(monkeypatch, sample_store):
    at = _app(monkeypatch, sample_store.path, params={"dates": ["2026-01-05", "10000-01-01"]})
    assert not at.exception and not at.error
    bounds = at.session_state["_bounds"]
    assert at.date_input(key="dates").value == bounds
    assert any("Ignored from the link: `dates`" in c.value for c in at.caption)


def test_the_audit_trail_shows_events_once_the_spool_moves_into_the_table(monkeypatch, empty_store):
    """The page's cached trail is keyed by the audit table itself: moving the spool into the table (which changes
    neither the load version nor, once emptied, the spool count the page saw first) still shows the events."""
    from opsdash import audit

    at = _app(monkeypatch, empty_store, "audit")
    assert any("No events recorded yet" in i.value for i in at.info)
    from opsdash.ui import data

    # As a download on another page does: the event is spooled, then moved into the table by this process's writer.
    data.record(audit.Event(user_name="ana", role="admin", action="download", page="Claims", what="claims.csv",
                            row_count=3))
    assert audit.pending(empty_store) == 0
    at.run()
    assert not at.exception, at.exception
    assert not any("No events recorded yet" in i.value for i in at.info)
    trail = at.dataframe[0].value
    assert list(trail["What"]) == ["claims.csv"] and list(trail["User"]) == ["ana"]


def test_upload_says_loudly_when_most_of_a_file_is_rejected(monkeypatch, tmp_path):
    from tests.helpers import csv_text, row

    db = tmp_path / "up.duckdb"
    bad = csv_text([row("claims", claim_id="C1")] + [row("claims", claim_id=f"C{i}", billed_amount="-1")
                                                     for i in range(2, 7)])
    at = _app(monkeypatch, db, "upload")
    at.file_uploader(key="up_files").set_value([("claims.csv", bad.encode(), "text/csv")])
    at.get("form_submit_button")[0].click()
    at.run()
    assert not at.exception, at.exception
    from opsdash.ui.text import md

    assert [w.value for w in at.warning] == [md("claims.csv: 5 of 6 rows rejected (83.3%, more than 5%): check the "
                                                "export against the contract or its mapping file")]
    report = at.dataframe[0].value
    assert report.loc[0, "status"] == "loaded" and "5 of 6 rows rejected" in report.loc[0, "warnings"][0]


def test_the_shared_filters_are_shown_only_where_they_apply_and_kept_across_pages_without_them(monkeypatch,
                                                                                                sample_store):
    from opsdash.dashboard import PAGES as SPECS

    vendor = "Helix Health Services"
    at = _app(monkeypatch, sample_store.path, params={"vendor": [vendor], "grain": "week"})
    assert at.multiselect(key="vendor").value == [vendor] and at.sidebar.date_input
    without = [p.file for p in SPECS if not p.filters]
    assert set(without) == {"pages/upload.py", "pages/audit.py", "pages/loads.py", "pages/scorecard.py", "pages/events.py",
                            "pages/capacity.py", "pages/alerts.py"}
    for file in without:
        at.switch_page(file)
        for k in list(at.query_params):  # a navigation link drops the address's parameters, as in the browser
            del at.query_params[k]
        at.run()
        assert not at.exception, (file, at.exception)
        keys = {w.key for w in (*at.sidebar.date_input, *at.sidebar.multiselect, *at.sidebar.selectbox)}
        assert not keys & {"dates", "grain", "vendor", "facility"}, (file, keys)
    at.switch_page("pages/claims.py")
    at.run()
    assert at.multiselect(key="vendor").value == [vendor]  # as left before the pages without filters
    assert at.selectbox(key="grain").value == "week" and at.sidebar.date_input
