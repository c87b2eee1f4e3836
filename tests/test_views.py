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


def test_tile_is_the_engines_latest_complete_period_with_its_changes(sample_store):
    f = views.Filters(vendors=(VENDOR,), grain="month")
    t = views.tile(sample_store, "clean_claim_rate", f)
    s = metrics.series(sample_store, "clean_claim_rate", where={"vendor": [VENDOR]}).dropna(subset=["value"])
    # The sample's claims run to 26 Nov 2026: November is partial, so the tile is October's.
    assert s["period_start"].iloc[-1] == dt.date(2026, 11, 1) and t.period == dt.date(2026, 10, 1)
    assert t.window is not None and not t.window.partial and t.window.label == "Oct 2026"
    assert t.value == pytest.approx(float(s["value"].iloc[-2])) and t.previous == pytest.approx(float(s["value"].iloc[-3]))
    year_ago = s[s["period_start"] == (pd.Timestamp(t.period) - pd.DateOffset(years=1)).date()]["value"]
    assert t.year_ago == pytest.approx(float(year_ago.iloc[0]))
    # SPC and the sparkline read complete periods only: a partial month is no point on a process chart.
    whole = metrics.series(sample_store, "clean_claim_rate", where={"vendor": [VENDOR]}, end=dt.date(2026, 10, 31))
    chart = spc.xmr(whole["value"].astype(float).tolist(), direction="higher")
    assert t.variation == spc.variation(chart)
    assert t.spark == pytest.approx(s["value"].astype(float).tolist()[:-1])
    empty = views.tile(sample_store, "clean_claim_rate", views.Filters(vendors=("nobody",)))
    assert empty.value is None and empty.words == "no data" and not empty.has_data


@pytest.mark.parametrize(("value", "target", "direction", "want"), [
    (0.084, 0.05, "lower", "off_target"), (0.05, 0.05, "lower", "on_target"), (0.03, 0.05, "lower", "on_target"),
    (0.725, 0.80, "higher", "off_target"), (0.80, 0.80, "higher", "on_target"), (0.97, 0.95, "higher", "on_target"),
    (0.97, None, "higher", "no_target"), (None, 0.95, "higher", "no_target"), (120, 100, "neutral", "no_target"),
])
def test_status_compares_the_value_with_the_target_by_direction(value, target, direction, want):
    assert views.status(value, target, direction) == want


@pytest.mark.parametrize("vendors", [(), (VENDOR,), ("Meridian Revenue Partners",)])
def test_tile_status_is_the_comparison_of_the_engines_value_with_the_target_in_force(sample_store, vendors):
    from opsdash import sla

    f = views.Filters(vendors=vendors)
    seen = set()
    for kpi_id in views.HEADLINE:
        kpi = catalog.KPIS[kpi_id]
        t = views.tile(sample_store, kpi_id, f)
        s = metrics.series(sample_store, kpi_id, where=f.where(kpi.table), end=dt.date(2026, 10, 31)).dropna(subset=["value"])
        if s.empty:
            assert t.value is None and t.status == "no_target"
            continue
        value = float(s["value"].iloc[-1])
        target = kpi.target
        if len(vendors) == 1:  # the vendor's own contract level in force at the period's end, when there is one
            lv = sla.targets_for(sample_store, vendors[0])
            lv = lv[(lv["kpi"] == kpi_id) & lv["process"].isna() & lv["priority"].isna()
                    & (lv["effective_from"] <= pd.Timestamp("2026-10-31"))
                    & (lv["effective_to"].isna() | (lv["effective_to"] >= pd.Timestamp("2026-10-31")))]
            target = float(lv.sort_values("effective_from")["target"].iloc[-1]) if len(lv) else target
        if target is None or kpi.direction == "neutral":
            want = "no_target"
        elif kpi.direction == "higher":
            want = "on_target" if value >= target else "off_target"
        else:
            want = "on_target" if value <= target else "off_target"
        assert (t.value, t.target, t.status) == (pytest.approx(value), target, want), kpi_id
        seen.add(want)
    if not vendors:
        assert seen == {"on_target", "off_target", "no_target"}  # the sample shows every status


def test_the_running_month_is_compared_with_the_same_days_of_the_one_before(sample_store):
    """November runs to 26 Nov: its figures to date equal pandas on the raw rows of 1-26 Nov, compared with
    1-26 Oct (never with the whole of October)."""
    f = views.Filters(vendors=(VENDOR,))
    claims = sample_store.query("SELECT * FROM claims WHERE vendor = ?", [VENDOR])
    for col in ("received_date", "submitted_date", "adjudicated_date"):
        claims[col] = pd.to_datetime(claims[col])

    def rate(num, den, col, lo, hi):
        d = claims[(claims[col] >= pd.Timestamp(lo)) & (claims[col] <= pd.Timestamp(hi))]
        return float(num(d).sum()) / float(den(d).sum())

    def backlog(day):
        day = pd.Timestamp(day)
        return int(((claims["received_date"] <= day)
                    & (claims["submitted_date"].isna() | (claims["submitted_date"] > day))).sum())

    clean = (lambda d: d["clean_submission"] == True, lambda d: d["clean_submission"].notna())  # noqa: E712
    denied = (lambda d: d["initial_outcome"] == "denied", lambda d: d["initial_outcome"].notna())
    want = {
        "clean_claim_rate": (rate(*clean, "submitted_date", "2026-11-01", "2026-11-26"),
                             rate(*clean, "submitted_date", "2026-10-01", "2026-10-26")),
        "initial_denial_rate": (rate(*denied, "adjudicated_date", "2026-11-01", "2026-11-26"),
                                rate(*denied, "adjudicated_date", "2026-10-01", "2026-10-26")),
        "unbilled_backlog": (backlog("2026-11-26"), backlog("2026-10-26")),
    }
    whole_october = rate(*clean, "submitted_date", "2026-10-01", "2026-10-31")
    for kpi_id, (now, before) in want.items():
        c = views.tile(sample_store, kpi_id, f).current
        assert c is not None and c.window.partial and c.window.label == "Nov 2026 (to 26 Nov)"
        assert (c.previous_window.start, c.previous_window.through) == (dt.date(2026, 10, 1), dt.date(2026, 10, 26))
        assert c.value == pytest.approx(now) and c.previous == pytest.approx(before), kpi_id
        assert c.change == pytest.approx(now - before)
    assert views.tile(sample_store, "clean_claim_rate", f).current.previous != pytest.approx(whole_october)


def test_a_range_ending_on_a_period_end_has_no_running_period(sample_store):
    t = views.tile(sample_store, "clean_claim_rate", views.Filters(end=dt.date(2026, 9, 30)))
    assert t.period == dt.date(2026, 9, 1) and t.current is None


def test_tiles_without_data_for_the_selection_are_left_out_by_name(sample_store):
    f = views.Filters(vendors=(VENDOR,))  # Helix runs no contact centre
    shown, missing = views.split_tiles([views.tile(sample_store, k, f) for k in views.HEADLINE])
    assert missing == [catalog.KPIS["service_level"].label, catalog.KPIS["abandonment_rate"].label]
    assert all(t.value is not None for t in shown)


def test_target_words_say_which_way_the_target_binds():
    assert views.target_words(catalog.KPIS["initial_denial_rate"], 0.05) == "target ≤ 5.0%"
    assert views.target_words(catalog.KPIS["service_level"], 0.8) == "target ≥ 80.0%"
    assert views.target_words(catalog.KPIS["unbilled_backlog"], None) == "target not set"


def test_what_changed_lists_latest_special_causes_concerns_first(sample_store):
    f = views.Filters(grain="month")
    changed = views.what_changed(sample_store, f)
    assert not changed.empty
    ranks = changed["signal"].map(views.SIGNAL_ORDER).tolist()
    assert ranks == sorted(ranks)
    for r in changed.itertuples():
        # At the latest complete month (the sample's November runs to the 26th).
        s = metrics.series(sample_store, r.kpi, where={"vendor": [r.vendor]}, end=dt.date(2026, 10, 31))
        chart = spc.xmr(s["value"].astype(float).tolist(), direction=catalog.KPIS[r.kpi].direction)
        assert bool(chart["special_cause"].iloc[-1]) and chart["point_type"].iloc[-1] == r.signal
        assert r.period == s["period_start"].iloc[-1] == dt.date(2026, 10, 1)
        # Numbers, not text: the download holds them, the display formats them.
        assert r.value == pytest.approx(float(s["value"].iloc[-1])) and r.mean == pytest.approx(chart["mean"].iloc[-1])
        assert r.unit == catalog.KPIS[r.kpi].unit
    assert changed["value"].dtype == float and changed["mean"].dtype == float
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
    got = views.counts_by(sample_store, "denied_claims", "denial_reason", f)
    c = sample_store.query("SELECT * FROM claims")
    d = pd.to_datetime(c["adjudicated_date"])
    sel = c[(c["vendor"] == VENDOR) & (c["initial_outcome"] == "denied") & (d >= "2026-03-01") & (d <= "2026-08-31")]
    want = sel["denial_reason"].value_counts()
    assert dict(zip(got["denial_reason"], got["rows"])) == want.to_dict()
    with pytest.raises(ValueError):
        views.counts_by(sample_store, "denied_claims", "claim_id; DROP TABLE claims", f)
    with pytest.raises(KeyError):  # a row set is chosen by name, never written by a page
        views.counts_by(sample_store, "1=1 OR true", "denial_reason", f)


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
    rows, total = views.raw_rows(sample_store, "work_items", f, limit=50)
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
    assert got == float(targets.iloc[0]["target"]) and "Meridian Revenue Partners' contract" in source
    default, _ = views.target_for(sample_store, "clean_claim_rate", views.Filters())
    assert default == catalog.KPIS["clean_claim_rate"].target


def test_the_what_changed_download_holds_numbers_not_text(sample_store):
    """The Overview's table downloads as the labelled table path makes it: machine names, numbers (rates as
    fractions, a unit column since rows mix KPIs), never '12.1%'."""
    from opsdash import downloads, labels

    changed = views.what_changed(sample_store, views.Filters())
    shown = changed.drop(columns=["KPI", "unit"])  # as pages/overview.py shows it
    back = downloads.read_csv(downloads.csv_bytes(labels.download_frame(shown), {"grain": "month"}, "What changed"))
    assert len(changed), "the sample store has signals at its latest complete month"
    units = {catalog.KPIS[k].unit for k in changed["kpi"]}
    if len(units) > 1:  # rows of several units: a unit column
        value, mean = "value", "mean"
        assert set(back["unit"]) == units
    else:  # one unit: in the header (value_fraction, value_days)
        suffix = labels.UNIT_SUFFIX[units.pop()]
        value, mean = f"value_{suffix}", f"mean_{suffix}"
    assert {"kpi", value, mean} <= set(back.columns)
    assert back[value].dtype == float and back[mean].dtype == float
    assert back[value].tolist() == pytest.approx(changed["value"].tolist())


# -- logic moved out of the pages (no Streamlit) -------------------------------------------------

def test_review_periods_are_the_latest_periods_to_the_vendors_data():
    # Data to Thursday 26 Nov 2026: the week of Monday 23 Nov is the first option, 26 weeks back to 1 Jun.
    weeks = views.review_periods(dt.datetime(2026, 11, 26, 17), "week")
    assert len(weeks) == 26 and weeks[:3] == ["2026-W48", "2026-W47", "2026-W46"] and weeks[-1] == "2026-W23"
    assert dt.date.fromisocalendar(2026, 23, 1) == dt.date(2026, 6, 1)
    months = views.review_periods(pd.Timestamp("2026-01-05"), "month")
    assert len(months) == 24 and months[:2] == ["2026-01", "2025-12"] and months[-1] == "2024-02"
    # The same starts pandas lists (the page's old arithmetic), latest first.
    want = pd.date_range(end="2026-11-26", periods=26, freq="W-MON")[::-1]
    assert weeks == [f"{d.isocalendar().year}-W{d.isocalendar().week:02d}" for d in want]


def test_review_dates_come_from_the_periods_name_or_the_latest_data():
    assert views.review_dates("2026-W48", "week", dt.date(2026, 11, 26)) == (dt.date(2026, 11, 23), dt.date(2026, 11, 29))
    assert views.review_dates("2026-02", "month", dt.date(2026, 11, 26)) == (dt.date(2026, 2, 1), dt.date(2026, 2, 28))
    # A name of another grain or none: the period holding the latest data, to that day.
    assert views.review_dates("2026-02", "week", pd.Timestamp("2026-11-26")) == (dt.date(2026, 11, 23),
                                                                                 dt.date(2026, 11, 26))
    assert views.review_dates("junk", "month", dt.date(2026, 11, 26)) == (dt.date(2026, 11, 1), dt.date(2026, 11, 26))


def test_compared_words_say_like_for_like_only_for_a_period_to_date():
    w = views.periods.window(dt.date(2026, 11, 1), "month", dt.date(2026, 11, 26))
    assert views.compared_words(w, views.periods.like_for_like(w)) == (
        "The month runs to date (1–26 Nov 2026): compared like for like with 1–26 Oct, not the whole month.")
    whole = views.periods.window(dt.date(2026, 10, 1), "month", dt.date(2026, 11, 26))
    assert views.compared_words(whole, views.periods.like_for_like(whole)) == "Compared with Sep 2026."


def test_sla_months_are_the_last_twelve_to_the_latest_data_unless_the_range_says():
    assert views.sla_months(None, None, pd.Timestamp("2026-11-26 10:00")) == (dt.date(2025, 12, 1), dt.date(2026, 11, 26))
    assert views.sla_months(None, dt.date(2026, 2, 10), None) == (dt.date(2025, 3, 1), dt.date(2026, 2, 10))
    assert views.sla_months(dt.date(2026, 5, 3), None, None, today=dt.date(2026, 6, 1)) == (dt.date(2026, 5, 3),
                                                                                             dt.date(2026, 6, 1))


def _attainment() -> pd.DataFrame:
    m = [dt.date(2026, 10, 1), dt.date(2026, 11, 1)]
    return pd.DataFrame({
        "vendor": ["B", "A", "A", "B", "A"], "month": [m[0], m[0], m[1], m[1], m[1]],
        "label": ["SLA adherence", "Service level", "Service level", "SLA adherence", "Clean claim rate"],
        "process": ["prior_auth", None, None, "prior_auth", None], "priority": ["stat", None, None, "stat", None],
        "level": ["critical", "key", "key", "critical", "critical"],
        "status": ["missed", "met", "below_minimum", "missed", "met"], "consecutive_missed": [1, 0, 1, 2, 0]})


def test_sla_tables_of_an_attainment_frame():
    att = _attainment()
    assert views.level_names(att).tolist()[:2] == ["SLA adherence · Prior authorisation · Stat (critical)",
                                                   "Service level (key)"]
    missed = views.missed_levels(att)
    assert list(zip(missed["month"], missed["vendor"])) == [(dt.date(2026, 11, 1), "A"), (dt.date(2026, 11, 1), "B"),
                                                            (dt.date(2026, 10, 1), "B")]
    streaks = views.missed_in_a_row(att)
    assert list(zip(streaks["vendor"], streaks["consecutive_missed"])) == [("B", 2), ("A", 1)]
    assert views.missed_in_a_row(att[att["status"] == "met"]).empty


def test_stale_words_name_each_stale_table(sample_store):
    fresh = views.freshness(sample_store, today=dt.date(2026, 12, 31))
    words = views.stale_words(fresh)
    for _, r in fresh.iterrows():  # 35 days after the sample's claims end: every table is stale
        assert f"latest {r['latest event']:%d %b %Y} ({(dt.date(2026, 12, 31) - r['latest event'].date()).days} days old)" in words
    assert views.stale_words(views.freshness(sample_store, today=dt.date(2026, 11, 27))) == ""


def test_spc_title_names_the_kpi_grain_and_chart(sample_store):
    view = views.spc_view(sample_store, "claim_turnaround_days", views.Filters(vendors=(VENDOR,), grain="month"))
    assert views.spc_title(view) == f"Claim turnaround (median) by month: {view.kind}"
    assert views.spc_title(view, "Coding") == f"Claim turnaround (median), Coding, by month: {view.kind}"


def test_one_glossary_feeds_the_data_page_and_the_docs():
    rows = catalog.glossary()
    assert [r["id"] for r in rows] == list(catalog.KPIS)
    assert [r["id"] for r in catalog.glossary(["service_level", "nope", "claim_volume"])] == ["claim_volume",
                                                                                              "service_level"]
    table = views.glossary_table()
    sl = table.set_index("id").loc["service_level"]
    assert (sl["KPI"], sl["table"], sl["unit"], sl["better when"], sl["default target"]) == (
        "Service level", "Calls", "%", "higher", "80.0%")
    vol = table.set_index("id").loc["claim_volume"]
    assert (vol["better when"], vol["default target"]) == ("neither (a volume)", "Not set")
    from opsdash import docs

    for r in rows:  # the docs' table is the same rows
        assert f"| `{r['id']}` | {r['label']} | {r['table']} |" in docs.render_kpis()


def test_call_thresholds_are_declared_once():
    import inspect

    from opsdash import cli, docs, metrics
    from opsdash.report import pack

    assert catalog.CALL_THRESHOLDS == {"answer_threshold_s": 30.0, "short_abandon_s": 5.0}
    assert (metrics.Request("service_level").answer_threshold_s, metrics.Request("service_level").short_abandon_s) == (
        catalog.ANSWER_THRESHOLD_S, catalog.SHORT_ABANDON_S)
    params = inspect.signature(metrics.series).parameters
    assert params["answer_threshold_s"].default == 30.0 and params["short_abandon_s"].default == 5.0
    opts = {p.name: p.default for p in cli.main.commands["kpi"].params}
    assert (opts["answer_threshold"], opts["short_abandon"]) == (30.0, 5.0)
    assert "answer threshold (default 30 s) and the short-abandon window (default 5 s)" in " ".join(
        docs.render_kpis().split("\n"))
    assert (pack.ANSWER_THRESHOLD_S, pack.SHORT_ABANDON_S) == (30.0, 5.0)
