"""Events as an administrator keeps them: which event is which (the contract's key), removing exactly the one
picked, and the process or queue an event names read as a code the charts know."""

from __future__ import annotations

import csv
import dataclasses
import datetime as dt
import json
from pathlib import Path

import pytest

from opsdash import annotations, charts, contract, views
from opsdash.ingest.loader import load_file
from opsdash.store import Store
from tests.conftest import ROOT
from tests.helpers import csv_text

ACME = "Acme"
DAY = dt.date(2025, 12, 15)
EVENT_COLUMNS = list(contract.TABLES["events"].column_names)


def _event(description: str, change: bool = False, **more: str) -> dict:
    return {"vendor": ACME, "event_date": DAY.isoformat(), "description": description,
            "is_process_change": "true" if change else "false", **more}


GO_LIVE = _event("Go-live of new platform", True, source="go-live notice")
TRAINING = _event("Staff training day")


def _file(folder: Path, name: str, rows: list[dict]) -> Path:
    path = folder / name
    path.write_text(csv_text(rows, columns=EVENT_COLUMNS), encoding="utf-8")
    return path


def _stored(s: Store) -> list[tuple]:
    return s.fetchall("SELECT vendor, event_date, kpi, process, description, is_process_change FROM events "
                      "ORDER BY description")


# -- the key: two events of one day are two events --------------------------------------------------------
def test_the_event_key_is_the_contract_s_and_tells_same_day_events_apart():
    assert annotations.EventKey._fields == contract.TABLES["events"].key
    assert "description" in contract.TABLES["events"].key


@pytest.mark.parametrize("where", [{}, {"kpi": "error_rate", "process": "coding"}],
                         ids=["every KPI and process", "one KPI and process"])
def test_two_events_of_one_vendor_on_one_day_are_both_kept_listed_and_drawn(tmp_path, where):
    path = tmp_path / "e.duckdb"
    with Store(path) as s:
        one = load_file(s, _file(tmp_path, "one.csv", [{**GO_LIVE, **where}, {**TRAINING, **where}]))
        assert (one.status, one.rows_loaded, one.rows_superseded) == ("loaded", 2, 0), one.message
        # The same day, KPI and process in a later file (as the Events page writes one): added beside them.
        later = load_file(s, _file(tmp_path, "later.csv", [{**_event("Supervisor changed"), **where}]))
        assert (later.status, later.rows_loaded, later.rows_replaced) == ("loaded", 1, 0), later.message
        assert [r[4] for r in _stored(s)] == ["Go-live of new platform", "Staff training day", "Supervisor changed"]
    with Store(path, read_only=True) as s:
        listed = views.events(s, views.Filters())  # what the Events page lists and every chart draws from
    assert sorted(listed["description"]) == ["Go-live of new platform", "Staff training day", "Supervisor changed"]
    fig = charts.add_events(charts._base("t", "x"), listed)
    assert [shape.x0 for shape in fig.layout.shapes] == [DAY] * 3
    assert sorted(a.text for a in fig.layout.annotations) == [
        "Staff training day", "Supervisor changed", "◆ Go-live of new platform"]


def test_loading_the_same_events_again_adds_none(tmp_path):
    """A vendor's log sent again (rows in another order, a source corrected) replaces its events one for one."""
    with Store(tmp_path / "e.duckdb") as s:
        first = _file(tmp_path, "events.csv", [GO_LIVE, TRAINING])
        assert load_file(s, first).rows_loaded == 2
        assert load_file(s, first).status == "duplicate"  # the very same file is not read twice
        again = load_file(s, _file(tmp_path, "events-resent.csv", [{**TRAINING, "source": "HR calendar"}, GO_LIVE]))
        assert (again.status, again.rows_loaded, again.rows_replaced) == ("loaded", 2, 2)
        assert s.fetchall("SELECT description, source FROM events ORDER BY description") == [
            ("Go-live of new platform", "go-live notice"), ("Staff training day", "HR calendar")]


def test_removing_one_event_of_a_day_leaves_the_other(tmp_path):
    with Store(tmp_path / "e.duckdb") as s:
        assert load_file(s, _file(tmp_path, "events.csv", [GO_LIVE, TRAINING])).rows_loaded == 2
        listed = views.events(s, views.Filters())
        training = annotations.EventKey.of(listed[listed["description"] == TRAINING["description"]].iloc[0])
        assert training == (ACME, DAY, None, None, "Staff training day")
        assert annotations.remove(s, training) == 1
        assert [r[4] for r in _stored(s)] == ["Go-live of new platform"]
        assert annotations.remove(s, training) == 0  # gone; nothing else matches it


def test_a_store_made_before_the_key_changed_opens_and_keeps_same_day_events(tmp_path, monkeypatch):
    """The key is the contract's, not the store's: a store whose events were loaded under the former key
    (vendor, day, KPI, process) opens for writing as it is, and a second event of that day joins the first."""
    path = tmp_path / "older.duckdb"
    events = contract.TABLES["events"]
    with monkeypatch.context() as m:
        m.setitem(contract.TABLES, "events", dataclasses.replace(events, key=("vendor", "event_date", "kpi", "process")))
        with Store(path) as s:
            assert load_file(s, _file(tmp_path, "then.csv", [GO_LIVE])).rows_loaded == 1
    with Store(path) as s:  # opening for writing brings a store up to date
        assert [r[4] for r in _stored(s)] == ["Go-live of new platform"]
        rep = load_file(s, _file(tmp_path, "now.csv", [TRAINING]))
        assert (rep.rows_loaded, rep.rows_replaced) == (1, 0)
        assert [r[4] for r in _stored(s)] == ["Go-live of new platform", "Staff training day"]


def test_the_sample_store_s_events_are_those_of_its_file(sample_store):
    with (ROOT / "sample_data" / "contracts" / "events.csv").open(encoding="utf-8") as f:
        sent = sorted((r["vendor"], dt.date.fromisoformat(r["event_date"]), r["kpi"] or None, r["process"] or None,
                       r["description"], r["is_process_change"] == "true", r["source"]) for r in csv.DictReader(f))
    stored = sample_store.fetchall("SELECT vendor, event_date, kpi, process, description, is_process_change, source "
                                   "FROM events")
    assert len(sent) == 4 and sorted(stored) == sent


# -- the Events page ------------------------------------------------------------------------------------
def _app(monkeypatch, db: Path, page: str):
    """The app on `page` of the store `db`. Its first run (the Overview) is made with no store: once the shared
    sidebar filters have been drawn, AppTest loses the clicks of later runs (a button reads False)."""
    import streamlit as st
    from streamlit.testing.v1 import AppTest

    st.cache_data.clear()
    monkeypatch.setenv("OPSDASH_DB", str(db.with_name("no-store-yet.duckdb")))
    monkeypatch.chdir(ROOT)
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120)
    at.run()
    monkeypatch.setenv("OPSDASH_DB", str(db))
    at.switch_page(f"pages/{page}.py")
    return at.run()


def test_the_events_page_removes_the_event_picked_and_not_its_neighbour(monkeypatch, tmp_path):
    path = tmp_path / "e.duckdb"
    with Store(path) as s:
        assert load_file(s, _file(tmp_path, "events.csv", [GO_LIVE, TRAINING])).rows_loaded == 2
    at = _app(monkeypatch, path, "events")
    assert not at.exception and not at.error, [e.value for e in at.error]
    log = at.dataframe[0].value
    assert sorted(log["description"]) == ["Go-live of new platform", "Staff training day"]  # both listed
    pick = at.selectbox(key="ev_remove_pick")
    assert sorted(pick.options) == ["15 Dec 2025 · Acme · Go-live of new platform (every KPI, every process)",
                                    "15 Dec 2025 · Acme · Staff training day (every KPI, every process)"]
    pick.set_value(annotations.EventKey(ACME, DAY, None, None, "Staff training day"))
    at.button(key="ev_remove").click()
    at.run()
    assert not at.exception, at.exception
    assert any("Removed 1 event(s)." in s.value for s in at.success)
    with Store(path, read_only=True) as s:
        assert [r[4] for r in _stored(s)] == ["Go-live of new platform"]


# -- the process or queue an event names -----------------------------------------------------------------
CHANGE = dt.date(2026, 4, 1)


def _audits(months: int = 6, per_month: int = 40) -> list[dict]:
    """Acme's audits of prior authorisations, coding and its own claim edits, Jan to Jun 2026: prior
    authorisations fail less from CHANGE (a new checklist), the others stay as they were."""
    rows = []
    for m in range(months):
        for process in ("prior_auth", "coding", "claim_edits"):
            for i in range(per_month):
                day = dt.date(2026, m + 1, 1 + i % 28)
                rate = (0.25 if day < CHANGE else 0.05) if process == "prior_auth" else 0.15
                wrong = (i * 7919 + m * 104729) % 100 < rate * 100 + (m % 2) * 3
                rows.append({"audit_id": f"{process}-{m}-{i}", "vendor": ACME, "process": process,
                             "audit_date": day.isoformat(), "opportunities": 10, "errors": int(wrong)})
    return rows


@pytest.fixture
def audited(tmp_path) -> Path:
    path = tmp_path / "qa.duckdb"
    with Store(path) as s:
        (tmp_path / "qa.csv").write_text(csv_text(_audits()), encoding="utf-8")
        rep = load_file(s, tmp_path / "qa.csv")
        assert rep.status == "loaded" and rep.rows_rejected == 0, rep.message
    return path


def test_an_events_file_naming_a_process_by_its_words_stores_its_code_and_warns_of_the_unknown(audited, tmp_path):
    rows = [_event("Checklist for prior authorisations", True, process="Prior authorisation"),
            _event("Coding audit", kpi="error_rate", process="CODING"),
            _event("Edit rules updated", process="claim edits"),  # the vendor's own code, in its words
            _event("Team moved", process="Prior auth team"),
            _event("Scrubber tuned", kpi="clean_claim_rate", process="coding"),
            _event("Queue split", process="prior_auth")]
    with Store(audited) as s:
        rep = load_file(s, _file(tmp_path, "events.csv", rows))
        assert (rep.status, rep.rows_loaded, rep.rows_rejected) == ("loaded", 6, 0), rep.message
        stored = dict(s.fetchall("SELECT description, process FROM events"))
        assert stored == {"Checklist for prior authorisations": "prior_auth", "Coding audit": "coding",
                          "Edit rules updated": "claim_edits", "Team moved": "Prior auth team",
                          "Scrubber tuned": "coding", "Queue split": "prior_auth"}
        # Each row keeps its line in the file, read as its code or not.
        assert s.fetchall("SELECT _line FROM events ORDER BY _line") == [(n,) for n in range(2, 8)]
        assert s.fetchone("SELECT _line FROM events WHERE description = 'Coding audit'") == (3,)
        recorded = s.fetchone("SELECT warnings FROM loads WHERE load_id = ?", [rep.load_id])[0]
    assert recorded == rep.warnings
    unknown = next(w for w in rep.warnings if '"Prior auth team"' in w)
    assert unknown.startswith('events.csv line 5, column process: found "Prior auth team", which is neither a '
                              "process or queue code nor the words of one; expected one of the codes ")
    for code in ("claim_edits (Claim edits)", "coding (Coding)", "prior_auth (Prior authorisation)"):
        assert code in unknown  # the vendor's own codes in its records and the registry's
    assert unknown.endswith("or empty for every process. The event is kept, but no chart of one process shows it")
    assert rep.warnings == [  # in the file's order; "Queue split" names its code: nothing to say
        'events.csv line 2, column process: read "Prior authorisation" as the code prior_auth (Prior authorisation)',
        'events.csv line 3, column process: read "CODING" as the code coding (Coding)',
        'events.csv line 4, column process: read "claim edits" as the code claim_edits (Claim edits)',
        unknown,
        'events.csv line 6, column process: found "coding", but Clean claim rate is measured on records that have '
        "no process or queue; expected it empty. The event is kept, but no chart of Clean claim rate shows it"]


def test_an_event_named_by_its_process_s_words_is_the_same_event_as_by_its_code(tmp_path):
    """In a store with no records yet the registry's codes are known: the words are read as the code, so the
    log sent again with the code replaces the event rather than adding a second."""
    with Store(tmp_path / "e.duckdb") as s:
        first = load_file(s, _file(tmp_path, "a.csv", [_event("Checklist", process="prior authorisation")]))
        assert first.rows_loaded == 1 and s.fetchall("SELECT process FROM events") == [("prior_auth",)]
        again = load_file(s, _file(tmp_path, "b.csv", [_event("Checklist", process="prior_auth")]))
        assert (again.rows_replaced, again.warnings) == (1, [])
        assert s.fetchone("SELECT count(*) FROM events") == (1,)


def test_the_events_page_offers_the_processes_in_words_and_the_chart_of_that_process_rebases(monkeypatch,
                                                                                            audited):
    at = _app(monkeypatch, audited, "events")
    assert not at.exception and not at.error, [e.value for e in at.error]
    process = at.selectbox(key="ev_process")
    assert process.options == ["every process or queue", "Claim edits", "Coding", "Prior authorisation"]
    assert process.value == ""
    at.selectbox(key="ev_kpi").set_value("clean_claim_rate").run()  # claims have no process: nothing to pick
    assert at.selectbox(key="ev_process").options == ["every process or queue"]
    assert at.selectbox(key="ev_process").disabled
    at.selectbox(key="ev_kpi").set_value("accuracy_rate").run()
    at.selectbox(key="ev_process").set_value("prior_auth")
    at.date_input(key="ev_date").set_value(CHANGE)
    at.text_input(key="ev_text").input("New checklist for prior authorisations")
    at.checkbox(key="ev_change").check()
    at.get("form_submit_button")[0].click()
    at.run()
    assert not at.exception and not at.error, [e.value for e in at.error]
    assert any("Event added for Acme" in s.value for s in at.success), [s.value for s in at.success]
    assert not at.warning, [w.value for w in at.warning]
    with Store(audited, read_only=True) as s:
        assert s.fetchall("SELECT kpi, process, description, is_process_change FROM events") == [
            ("accuracy_rate", "prior_auth", "New checklist for prior authorisations", True)]

    quality = _app(monkeypatch, audited, "quality")
    quality.selectbox(key="qa_process").set_value("prior_auth").run()
    assert not quality.exception and not quality.error, [e.value for e in quality.error]
    assert "starts afresh (new mean and limits, runs counted anew) at the process change of 01 Apr 2026" in _said(
        quality)
    layout = _spc_chart(quality)["layout"]
    assert [s["x0"] for s in layout["shapes"] if s["type"] == "line" and s["yref"] == "paper"] == ["2026-04-01"]
    drawn = [a for a in layout["annotations"] if a.get("hovertext")]
    assert len(drawn) == 1 and "New checklist for prior authorisations" in drawn[0]["hovertext"]
    quality.selectbox(key="qa_process").set_value("coding").run()  # another process's chart: no such event
    assert "starts afresh" not in _said(quality)
    assert not [a for a in _spc_chart(quality)["layout"].get("annotations", []) if a.get("hovertext")]


def _said(at) -> str:
    """The page's captions as read (Markdown's escapes removed)."""
    return " ".join(c.value for c in at.caption).replace("\\", "")


def _spc_chart(at) -> dict:
    """The Quality page's SPC chart, as the figure's JSON."""
    return json.loads(next(c.proto.spec for c in at.get("plotly_chart") if "by month: " in c.proto.spec))


def test_same_day_events_are_listed_in_a_fixed_order(tmp_path):
    """Events of one vendor, day, KPI and process are listed by their description, whatever the file's order."""
    path = tmp_path / "e.duckdb"
    with Store(path) as s:
        rep = load_file(s, _file(tmp_path, "e.csv", [_event("Zeta review"), _event("Alpha audit"), _event("Mid check")]))
        assert rep.status == "loaded", rep.message
        listed = views.events(s, views.Filters())
    assert listed["description"].tolist() == ["Alpha audit", "Mid check", "Zeta review"]


def test_the_quality_page_names_processes_in_words(monkeypatch, sample_store):
    from opsdash import labels
    from tests.test_app import _app

    at = _app(monkeypatch, sample_store.path, "quality")
    at.selectbox(key="qa_process").set_value("prior_auth").run()
    picker = at.selectbox(key="qa_process")
    assert picker.value == "prior_auth" and "Prior authorisation" in picker.options
    assert not any("_" in o for o in picker.options)
    spc = [c.proto.spec for c in at.get("plotly_chart") if "statistical process control" in c.proto.spec
           or "XmR" in c.proto.spec]
    assert spc and all("prior_auth" not in s and labels.value_word("prior_auth") in s for s in spc)
