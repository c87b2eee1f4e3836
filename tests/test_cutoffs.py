"""One data cut-off for every view: a vendor's own data decides which period runs to date, a like-for-like
window is measured as it stood at its end, the running period stays out of SPC limits, and one vendor's
process change never rebases a chart of several vendors. Each figure is checked against pandas on the rows."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from opsdash import charts, labels, metrics, periods, sla, spc, views
from opsdash.report import pack as pack_mod
from opsdash.store import Store
from tests.helpers import csv_text, load_clean, row

HELIX = "Helix Health Services"
MERIDIAN = "Meridian Revenue Partners"


def _calls() -> list[dict]:
    """Calls of Acme: October and 1-26 November, each day one answered in 20 s and one in 50 s; on 26 Oct a call
    offered at 23:59:50 is answered at 00:00:40 the next day (50 s: late), unknown as of the end of 26 Oct."""
    rows, n = [], 0
    for day in list(pd.date_range("2026-10-01", "2026-10-31")) + list(pd.date_range("2026-11-01", "2026-11-26")):
        for wait in (20, 50):
            n += 1
            at = day + pd.Timedelta(hours=10, minutes=n % 50)
            rows.append(row("calls", call_id=f"K{n}", offered_at=f"{at:%Y-%m-%d %H:%M:%S}",
                            answered_at=f"{at + pd.Timedelta(seconds=wait):%Y-%m-%d %H:%M:%S}"))
    # Two on-time answers on 26 Oct afternoon make October's days differ from the rest.
    for k in range(2):
        rows.append(row("calls", call_id=f"E{k}", offered_at=f"2026-10-26 15:0{k}:00",
                        answered_at=f"2026-10-26 15:0{k}:10"))
    rows.append(row("calls", call_id="MIDNIGHT", offered_at="2026-10-26 23:59:50", answered_at="2026-10-27 00:00:40"))
    return rows


def _service_level(calls: pd.DataFrame, lo: str, hi: str, known: pd.Timestamp) -> float:
    """Answered within 30 s / (answered + abandoned), of calls offered in [lo, hi], as known at `known`."""
    d = calls[(calls["offered_at"] >= pd.Timestamp(lo)) & (calls["offered_at"] < pd.Timestamp(hi) + pd.Timedelta(days=1))]
    answered = d["answered_at"].notna() & (d["answered_at"] <= known)
    fast = answered & ((d["answered_at"] - d["offered_at"]).dt.total_seconds() <= 30)
    return float(fast.sum()) / float(answered.sum())


def test_a_like_for_like_window_is_measured_as_it_stood_at_its_end(store: Store, tmp_path: Path):
    rows = _calls()
    load_clean(store, tmp_path, {"calls.csv": csv_text(rows)})
    calls = pd.DataFrame(rows)
    for col in ("offered_at", "answered_at"):
        calls[col] = pd.to_datetime(calls[col])
    t = views.tile(store, "service_level", views.Filters(vendors=("Acme",)))
    assert t.current is not None and t.current.window.label == "Nov 2026 (to 26 Nov)"
    assert (t.current.previous_window.start, t.current.previous_window.through) == (dt.date(2026, 10, 1),
                                                                                    dt.date(2026, 10, 26))
    end_26_oct = pd.Timestamp("2026-10-26 23:59:59.999999")
    want = _service_level(calls, "2026-10-01", "2026-10-26", end_26_oct)
    known_today = _service_level(calls, "2026-10-01", "2026-10-26", pd.Timestamp("2026-12-31"))
    assert want != pytest.approx(known_today)  # the midnight call decides: the check has power
    assert t.current.previous == pytest.approx(want)
    assert t.current.value == pytest.approx(_service_level(calls, "2026-11-01", "2026-11-26", pd.Timestamp("2026-12-31")))
    # metrics.to_date, the engine's own like-for-like, measures the previous days the same way.
    td = metrics.to_date(store, "service_level", where={"vendor": ["Acme"]})
    assert td["previous_range"] == (dt.date(2026, 10, 1), dt.date(2026, 10, 26))
    assert td["previous"] == pytest.approx(want)


def _two_tables(store: Store, tmp_path: Path) -> pd.DataFrame:
    """Acme's claims end on 26 Nov, its calls on 30 Nov; a critical clean-claim level is in force."""
    claims = []
    for i, day in enumerate(pd.date_range("2026-09-01", "2026-11-26")):
        for k in range(3):
            n = 3 * i + k
            claims.append(row("claims", claim_id=f"C{n}", received_date=f"{day - pd.Timedelta(days=2):%Y-%m-%d}",
                              submitted_date=f"{day:%Y-%m-%d}", adjudicated_date=f"{day:%Y-%m-%d}",
                              clean_submission="false" if (n % 7 == 0 or (day.day > 26 and k == 0)) else "true",
                              initial_outcome="paid"))
    calls = [row("calls", call_id=f"K{i}", offered_at=f"{d:%Y-%m-%d} 10:00:00", answered_at=f"{d:%Y-%m-%d} 10:00:20")
             for i, d in enumerate(pd.date_range("2026-09-01", "2026-11-30"))]
    load_clean(store, tmp_path, {"claims.csv": csv_text(claims), "calls.csv": csv_text(calls),
                                 "sla_targets.csv": csv_text([row("sla_targets", vendor="Acme")])})
    frame = pd.DataFrame(claims)
    frame["submitted_date"] = pd.to_datetime(frame["submitted_date"])
    return frame


def _clean(claims: pd.DataFrame, lo: str, hi: str) -> float:
    d = claims[(claims["submitted_date"] >= pd.Timestamp(lo)) & (claims["submitted_date"] <= pd.Timestamp(hi))]
    return float((d["clean_submission"] == "true").mean())


def test_a_vendor_s_table_that_ends_earlier_runs_to_date_in_the_pack_and_scorecard(store: Store, tmp_path: Path):
    """November is whole for Acme's calls (to 30 Nov) but runs to 26 Nov for its claims: the pack keeps the claim
    KPIs (they were dropped) and compares them like for like, 1-26 Nov against 1-26 Oct, and says so."""
    claims = _two_tables(store, tmp_path)
    assert metrics.data_cut(store, ("claims",), ("Acme",)) == dt.date(2026, 11, 26)
    assert metrics.data_cut(store, ("claims", "calls"), ("Acme",)) == dt.date(2026, 11, 30)
    assert metrics.data_cut(store, ("claims", "calls"), ("Acme",), end=dt.date(2026, 11, 10)) == dt.date(2026, 11, 10)
    assert metrics.data_cut(store, ("qa_audits",), ("Acme",)) is None

    p = pack_mod.build(store, "Acme", "2026-11")
    assert not p.window.partial  # the vendor's data as a whole covers November
    head = p.tables["headline"].frame.set_index("kpi")
    assert "clean_claim_rate" in head.index and "service_level" in head.index
    assert head.loc["clean_claim_rate", "value"] == pytest.approx(_clean(claims, "2026-11-01", "2026-11-26"))
    assert head.loc["clean_claim_rate", "previous"] == pytest.approx(_clean(claims, "2026-10-01", "2026-10-26"))
    assert head.loc["clean_claim_rate", "previous"] != pytest.approx(_clean(claims, "2026-10-01", "2026-10-31"))
    assert head.loc["clean_claim_rate", "through"] == dt.date(2026, 11, 26)
    assert "Claims figures cover 1–26 Nov (the data ends on 26 Nov 2026) and are compared with 1–26 Oct." in \
        p.tables["headline"].note

    card = sla.scorecard(store, "Acme", "2026-11")
    levels = sla.with_previous(store, card, "Acme", "month").set_index("kpi")
    assert levels.loc["clean_claim_rate", "through"] == dt.date(2026, 11, 26)
    assert levels.loc["clean_claim_rate", "previous"] == pytest.approx(_clean(claims, "2026-10-01", "2026-10-26"))
    assert "Claims figures cover 1–26 Nov" in p.tables["scorecard"].note


def test_the_running_period_is_drawn_but_kept_out_of_the_spc_limits(sample_store):
    """The sample's claims run to 26 Nov: the Claims page's chart draws November open, but its mean and limits are
    those of the complete months alone (an XmR chart of the series to 31 Oct)."""
    f = views.Filters(vendors=(HELIX,))
    view = views.spc_view(sample_store, "clean_claim_rate", f)
    assert view.to_date is not None and periods.span(view.to_date) == "1–26 Nov"
    assert view.series["period_start"].iloc[-1] == dt.date(2026, 11, 1)
    last = view.chart.iloc[-1]
    assert bool(last["to_date"]) and pd.isna(last["point_type"])
    complete = metrics.series(sample_store, "clean_claim_rate", where={"vendor": [HELIX]}, end=dt.date(2026, 10, 31))
    ref = spc.xmr(complete["value"].astype(float).tolist(), direction="higher", bounds=(0.0, 1.0))
    got = view.chart.iloc[:-1]
    assert len(got) == len(ref)
    np.testing.assert_allclose(got["mean"].to_numpy(float), ref["mean"].to_numpy(float))
    np.testing.assert_allclose(got["upl"].to_numpy(float), ref["upl"].to_numpy(float))
    assert last["mean"] == pytest.approx(ref["mean"].iloc[-1]) and last["upl"] == pytest.approx(ref["upl"].iloc[-1])
    assert spc.variation(view.chart) == spc.variation(ref)
    assert "runs to date (1–26 Nov)" in view.words()
    fig = charts.spc(view.chart, view.series["period_start"], view.kpi)
    drawn = [t for t in fig.data if t.name == "to date (not in the limits yet)"]
    assert len(drawn) == 1 and list(drawn[0].x) == [dt.date(2026, 11, 1)]
    assert list(drawn[0].y) == pytest.approx([float(view.series["value"].iloc[-1])])
    typed = [t for t in fig.data if t.name in {labels.VARIATION_WORDS[p] for p in charts.POINT_COLOURS}]
    assert typed and all(dt.date(2026, 11, 1) not in list(t.x) for t in typed)
    assert view.words().startswith(f"Latest complete month: {spc.describe(ref).replace('points', 'months')}")
    assert view.words().endswith("until the period is complete.")  # after the reading and its reasons
    assert view.kind == "XmR chart with process limits"  # the open point is no run chart


def test_one_vendor_s_process_change_rebases_its_own_chart_only(sample_store):
    """Meridian's go-live of 15 Dec 2025 starts new limits on Meridian's chart; on the chart of every vendor it is
    drawn, but the limits run on (the other vendors' process did not change)."""
    every = views.spc_view(sample_store, "claim_turnaround_p90_days", views.Filters())
    own = views.spc_view(sample_store, "claim_turnaround_p90_days", views.Filters(vendors=(MERIDIAN,)))
    assert dt.date(2025, 12, 15) in set(every.events["event_date"])  # drawn on both
    assert dt.date(2025, 12, 15) in set(own.events["event_date"])
    assert own.chart["segment"].max() == 1
    assert every.chart["segment"].max() == 0
    assert "starts afresh (new mean" in own.words() and "starts afresh (new mean" not in every.words()
    assert f"A vendor's process change ({MERIDIAN}, 15 Dec 2025) is drawn but starts no new limits" in every.words()
    vals = every.chart[~every.chart["to_date"]]["value"].tolist()
    ref = spc.xmr(vals, direction="lower", bounds=(0.0, None))
    np.testing.assert_allclose(every.chart[~every.chart["to_date"]]["upl"].to_numpy(float), ref["upl"].to_numpy(float))
    # The Overview's tile of every vendor is read the same way.
    assert views.tile(sample_store, "claim_turnaround_p90_days", views.Filters()).words == \
        spc.describe(ref).replace("points", "months")


def _ends_apart(store: Store, tmp_path: Path) -> None:
    """Claims of Acme to 20 Oct and of Beta to 26 Nov, a few a day, some unclean."""
    rows = []
    for vendor, last in (("Acme", "2026-10-20"), ("Beta", "2026-11-26")):
        for i, day in enumerate(pd.date_range("2026-01-01", last)):
            for k in range(2):
                rows.append(row("claims", claim_id=f"{vendor}{i}-{k}", vendor=vendor,
                                received_date=f"{day - pd.Timedelta(days=3):%Y-%m-%d}", submitted_date=f"{day:%Y-%m-%d}",
                                adjudicated_date=f"{day:%Y-%m-%d}", initial_outcome="paid",
                                clean_submission="false" if (i * 2 + k) % (5 + day.month % 3) == 0 else "true"))
    load_clean(store, tmp_path, {"claims.csv": csv_text(rows)})


def test_a_vendor_whose_data_ends_earlier_gets_no_empty_running_period(store: Store, tmp_path: Path):
    """Acme's claims end on 20 Oct while the table runs to 26 Nov: Acme's October runs to date (out of the limits),
    and Acme has no November at all: no '(to 1 Nov)', no empty running point, no half October among the signals."""
    import io

    from click.testing import CliRunner

    from opsdash.cli import main

    _ends_apart(store, tmp_path)
    acme = views.Filters(vendors=("Acme",))
    view = views.spc_view(store, "clean_claim_rate", acme)
    assert view.series["period_start"].iloc[-1] == dt.date(2026, 10, 1)
    assert view.to_date is not None and periods.span(view.to_date) == "1–20 Oct"
    assert bool(view.chart["to_date"].iloc[-1]) and not view.chart["to_date"].iloc[:-1].any()
    assert "Nov 2026" not in view.words()
    # The Overview's "what changed" reads each vendor's complete periods by its own cut-off.
    charts_by = {v: part for k, v, part, _c in views._latest_charts(store, views.Filters(), ("clean_claim_rate",))}
    assert charts_by["Acme"]["period_start"].iloc[-1] == dt.date(2026, 9, 1)
    assert charts_by["Beta"]["period_start"].iloc[-1] == dt.date(2026, 10, 1)
    # The CLI: the table says where Acme's data ends; the CSV keeps the engine's rows, SPC only where it applies.
    store.close()  # the command opens the file itself
    run = lambda *a: CliRunner().invoke(main, [*a, "--db", str(store.path)], catch_exceptions=False).output  # noqa: E731
    table = run("kpi", "clean_claim_rate", "--where", "vendor=Acme", "--spc")
    assert "Oct 2026 (to 20 Oct)" in table and "to 1 Nov" not in table
    assert "Oct 2026 is to date (data to 20 Oct 2026)" in table and "Latest complete month: Sep 2026" in table
    got = pd.read_csv(io.StringIO(run("kpi", "clean_claim_rate", "--where", "vendor=Acme", "--spc", "--format", "csv")),
                      parse_dates=["period_start"]).set_index("period_start")
    assert bool(got.loc["2026-10-01", "spc_to_date"]) and pd.isna(got.loc["2026-10-01", "spc_point_type"])
    if pd.Timestamp("2026-11-01") in got.index:  # the engine's empty November, with no SPC
        assert not got.loc["2026-11-01", "spc_to_date"] and pd.isna(got.loc["2026-11-01", "spc_mean"])
    complete = got[got.index <= "2026-09-01"]
    ref = spc.xmr(complete["value"].tolist(), direction="higher", bounds=(0.0, 1.0))
    np.testing.assert_allclose(complete["spc_mean"].to_numpy(float), ref["mean"].to_numpy(float))
    # --as-of is the cut-off of the SPC columns too: Beta's October is half known on 15 Oct.
    asof = pd.read_csv(io.StringIO(run("kpi", "clean_claim_rate", "--where", "vendor=Beta", "--spc", "--as-of",
                                       "2026-10-15", "--format", "csv")), parse_dates=["period_start"])
    asof = asof.set_index("period_start")
    assert bool(asof.loc["2026-10-01", "spc_to_date"]) and not asof.loc["2026-09-01", "spc_to_date"]
    assert asof[asof.index > "2026-10-01"]["spc_mean"].isna().all()


def test_a_chart_with_no_complete_period_says_so():
    kpi = views.catalog.get("clean_claim_rate")
    series = pd.DataFrame({"period_start": [dt.date(2026, 11, 1)], "value": [0.9]})
    chart = views.with_to_date(views.xmr_for(kpi, series.iloc[0:0], pd.DataFrame(columns=views.EVENT_COLUMNS),
                                             "month"), series["value"])
    view = views.SpcView(kpi, series, chart, pd.DataFrame(columns=views.EVENT_COLUMNS), None, "", "month",
                         periods.window(dt.date(2026, 11, 1), "month", dt.date(2026, 11, 26)))
    assert view.kind == "no complete month yet, so no process limits"
    assert view.words().startswith("Nov 2026 runs to date (1–26 Nov)")


def test_the_attainment_line_says_which_vendor_s_data_ends_earlier():
    att = pd.DataFrame({"vendor": ["A", "A", "B"], "month": pd.to_datetime(["2026-11-01"] * 3),
                        "status": ["met", "missed", "met"]})
    line = views.attainment_summary(att, dt.date(2026, 11, 26), {"A": dt.date(2026, 11, 20), "B": dt.date(2026, 11, 26)})
    assert line == "Nov 2026 (to 26 Nov): A 1 of 2 levels met (data to 20 Nov); B 1 of 1 levels met."
