"""What the pages show, computed without Streamlit: checked against pandas on the stored rows."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest

from opsdash import catalog, metrics, spc, views

VENDOR = "Helix Health Services"


def test_filters_apply_only_to_tables_with_the_dimension():
    f = views.Filters(vendors=("A",), facilities=("North",)).with_extra(queue=("billing",), payer=("Aetna",))
    assert f.where("calls") == {"vendor": ["A"], "queue": ["billing"]}  # calls have no facility
    assert f.where("claims") == {"vendor": ["A"], "facility": ["North"], "payer": ["Aetna"]}
    assert f.with_extra(payer=()).where("claims") == {"vendor": ["A"], "facility": ["North"]}
    assert f.as_dict()["queue"] == ["billing"]


def test_tile_is_the_engines_latest_period_with_its_changes(sample_store):
    f = views.Filters(vendors=(VENDOR,), grain="month")
    t = views.tile(sample_store, "clean_claim_rate", f)
    s = metrics.series(sample_store, "clean_claim_rate", where={"vendor": [VENDOR]}).dropna(subset=["value"])
    assert t.value == pytest.approx(float(s["value"].iloc[-1])) and t.previous == pytest.approx(float(s["value"].iloc[-2]))
    year_ago = s[s["period_start"] == (pd.Timestamp(t.period) - pd.DateOffset(years=1)).date()]["value"]
    assert t.year_ago == pytest.approx(float(year_ago.iloc[0]))
    chart = spc.xmr(metrics.series(sample_store, "clean_claim_rate", where={"vendor": [VENDOR]})["value"].tolist(),
                    direction="higher")
    assert t.variation == spc.variation(chart) and t.spark == pytest.approx(s["value"].astype(float).tolist())
    empty = views.tile(sample_store, "clean_claim_rate", views.Filters(vendors=("nobody",)))
    assert empty.value is None and empty.words == "no data"


def test_what_changed_lists_latest_special_causes_concerns_first(sample_store):
    f = views.Filters(grain="month")
    changed = views.what_changed(sample_store, f)
    assert not changed.empty
    ranks = changed["signal"].map(views.SIGNAL_ORDER).tolist()
    assert ranks == sorted(ranks)
    for r in changed.itertuples():
        s = metrics.series(sample_store, r.kpi, where={"vendor": [r.vendor]})
        chart = spc.xmr(s["value"].tolist(), direction=catalog.KPIS[r.kpi].direction)
        assert bool(chart["special_cause"].iloc[-1]) and chart["point_type"].iloc[-1] == r.signal
        assert r.period == s["period_start"].iloc[-1]
    # The Helix denial drift planted in the sample is among them.
    assert ((changed["kpi"] == "initial_denial_rate") & (changed["vendor"] == VENDOR)).any()


def test_freshness_matches_the_rows(sample_store):
    fresh = views.freshness(sample_store, today=dt.date(2026, 12, 31)).set_index("table")
    claims = sample_store.query("SELECT received_date, submitted_date, adjudicated_date FROM claims")
    latest = pd.to_datetime(claims.stack()).max()
    assert fresh.loc["claims", "latest event"] == latest and fresh.loc["claims", "rows"] == len(claims)
    assert fresh.loc["claims", "stale"]  # 35 days before the given today
    assert not views.freshness(sample_store, today=latest.date()).set_index("table").loc["claims", "stale"]


def test_pareto_counts_equal_pandas(sample_store):
    f = views.Filters(start=dt.date(2026, 3, 1), end=dt.date(2026, 8, 31), vendors=(VENDOR,))
    got = views.counts_by(sample_store, "claims", "denial_reason", f, "adjudicated_date", "initial_outcome = 'denied'")
    c = sample_store.query("SELECT * FROM claims")
    d = pd.to_datetime(c["adjudicated_date"])
    sel = c[(c["vendor"] == VENDOR) & (c["initial_outcome"] == "denied") & (d >= "2026-03-01") & (d <= "2026-08-31")]
    want = sel["denial_reason"].value_counts()
    assert dict(zip(got["denial_reason"], got["rows"])) == want.to_dict()
    with pytest.raises(ValueError):
        views.counts_by(sample_store, "claims", "claim_id; DROP TABLE claims", f, "received_date")


@pytest.mark.parametrize("answer, short", [(30, 5), (20, 0)])
def test_calls_by_hour_equal_pandas(sample_store, answer, short):
    f = views.Filters(vendors=("Ibérica Salud Contact Services",))
    got = views.calls_by_hour(sample_store, f, answer, short).set_index(["weekday", "hour"])
    c = sample_store.query("SELECT * FROM calls WHERE vendor = 'Ibérica Salud Contact Services'")
    wait_ans = (c["answered_at"] - c["offered_at"]).dt.total_seconds()
    wait_ab = (c["abandoned_at"] - c["offered_at"]).dt.total_seconds()
    short_ab = c["abandoned_at"].notna() & (wait_ab <= short)
    den = ~short_ab & (c["answered_at"].notna() | c["abandoned_at"].notna())
    num = den & c["answered_at"].notna() & (wait_ans <= answer)
    key = [c["offered_at"].dt.day_of_week, c["offered_at"].dt.hour]
    want = pd.DataFrame({"offered": c.groupby(key).size(), "num": num.groupby(key).sum(), "den": den.groupby(key).sum()})
    assert got["offered"].to_dict() == want["offered"].to_dict()
    assert np.allclose(got["service_level"].to_numpy(dtype=float), (want["num"] / want["den"]).to_numpy(dtype=float),
                       equal_nan=True)


def test_raw_rows_are_the_filtered_rows_latest_first(sample_store):
    f = views.Filters(start=dt.date(2026, 10, 1), end=dt.date(2026, 10, 31), vendors=(VENDOR,))
    rows, total = views.raw_rows(sample_store, "work_items", f, "opened_at", limit=50)
    w = sample_store.query("SELECT * FROM work_items")
    d = w["opened_at"].dt.date
    want = w[(w["vendor"] == VENDOR) & (d >= dt.date(2026, 10, 1)) & (d <= dt.date(2026, 10, 31))]
    assert total == len(want) > 50 and len(rows) == 50
    assert rows["opened_at"].is_monotonic_decreasing and rows["opened_at"].iloc[0] == want["opened_at"].max()
    assert "_load_id" not in rows  # the contract's columns only


def test_turnaround_distribution_counts_equal_pandas(sample_store):
    f = views.Filters(start=dt.date(2026, 5, 1), end=dt.date(2026, 5, 31), vendors=(VENDOR,))
    got = views.distribution(sample_store, f)
    c = sample_store.query("SELECT * FROM claims WHERE submitted_date IS NOT NULL")
    s = pd.to_datetime(c["submitted_date"])
    sel = c[(c["vendor"] == VENDOR) & (s >= "2026-05-01") & (s <= "2026-05-31")]
    want = (pd.to_datetime(sel["submitted_date"]) - pd.to_datetime(sel["received_date"])).dt.days.value_counts()
    assert dict(zip(got["days"], got["claims"])) == want.to_dict() and got["days"].is_monotonic_increasing


def test_tables_of_mixed_kpis_show_each_value_in_its_unit():
    df = pd.DataFrame({"kpi": ["clean_claim_rate", "claim_turnaround_days", "unbilled_backlog"],
                       "target": [0.95, 3.0, None], "value": [0.9432, 2.25, 1234.0], "change": [-0.012, 0.5, -3.0],
                       "credit_pct": [0.05, None, None]})
    out = views.formatted(df)
    assert out["value"].tolist() == ["94.3%", "2.2 days", "1,234"]
    assert out["target"].tolist() == ["95.0%", "3.0 days", "–"]
    assert out["change"].tolist() == ["-1.2 pts", "+0.5 days", "-3"]
    assert out["credit_pct"].tolist()[0] == "5.0%"


@pytest.mark.parametrize("start, grain, end", [
    (dt.date(2026, 2, 1), "month", dt.date(2026, 2, 28)), (dt.date(2025, 12, 29), "week", dt.date(2026, 1, 4)),
    (dt.date(2026, 10, 1), "quarter", dt.date(2026, 12, 31)), (dt.date(2026, 3, 5), "day", dt.date(2026, 3, 5))])
def test_drilling_into_a_period_narrows_to_exactly_that_period(start, grain, end):
    assert views.period_end(start, grain) == end


def test_a_chart_selection_picks_each_vendor_once():
    from opsdash.ui.filters import picked_values

    points = [{"x": "Helix", "y": 0.9}, {"x": "Meridian"}, {"x": "Helix"}, {"y": 1}]
    assert picked_values(points) == ["Helix", "Meridian"]


def test_one_vendor_sees_its_contract_target_others_the_catalogue_default(sample_store):
    targets = sample_store.query("SELECT * FROM sla_targets WHERE vendor = 'Meridian Revenue Partners' "
                                 "AND kpi = 'claim_turnaround_days' AND process IS NULL AND priority IS NULL "
                                 "ORDER BY effective_from DESC")
    assert len(targets)
    got, source = views.target_for(sample_store, "claim_turnaround_days",
                                   views.Filters(vendors=("Meridian Revenue Partners",), end=dt.date(2026, 10, 31)))
    assert got == float(targets.iloc[0]["target"]) and "Meridian Revenue Partners's contract" in source
    default, _ = views.target_for(sample_store, "clean_claim_rate", views.Filters())
    assert default == catalog.KPIS["clean_claim_rate"].target
