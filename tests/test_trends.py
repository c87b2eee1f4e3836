"""Trends: changes, year-ago comparisons, rolling means, and to-date comparisons."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest

from opsdash import metrics, trends

D = dt.date


def frame(values, starts, **cols):
    return pd.DataFrame({"period_start": starts, **cols, "value": pd.array(values, dtype="Float64")})


def test_changes_against_previous_period_and_relative_to_its_size():
    f = trends.add_trends(frame([10, 12, None, 9, 0, 3], [D(2026, m, 1) for m in range(1, 7)]), "month")
    assert f["change"].tolist()[1] == 2 and f["change_pct"].tolist()[1] == pytest.approx(0.2)
    assert pd.isna(f["change"].iloc[2]) and pd.isna(f["change"].iloc[3])  # a gap has no change, nor the next
    assert f["change"].iloc[5] == 3 and pd.isna(f["change_pct"].iloc[5])  # from 0: no relative change


def test_negative_base_relative_change_uses_its_size():
    f = trends.add_trends(frame([-4, -2], [D(2026, 1, 1), D(2026, 2, 1)]), "month")
    assert f["change_pct"].iloc[1] == pytest.approx(0.5)


@pytest.mark.parametrize("grain, start, twin", [
    ("month", D(2026, 3, 1), D(2025, 3, 1)),
    ("quarter", D(2026, 4, 1), D(2025, 4, 1)),
    ("day", D(2024, 2, 29), D(2023, 2, 28)),
    ("week", D(2026, 1, 5), D(2025, 1, 6)),      # ISO 2026-W02 -> 2025-W02
    ("week", D(2021, 1, 4), D(2019, 12, 30)),    # ISO 2021-W01 -> 2020-W01, which begins in 2019
])
def test_year_ago(grain, start, twin):
    assert trends.year_ago(start, grain) == twin


def test_week_53_has_no_twin_in_a_52_week_year():
    assert trends.year_ago(dt.date.fromisocalendar(2020, 53, 1), "week") is None
    assert trends.year_ago(dt.date.fromisocalendar(2021, 52, 1), "week") == dt.date.fromisocalendar(2020, 52, 1)


def test_year_ago_by_group_and_rolling_mean():
    starts = [D(2025, 1, 1), D(2025, 2, 1), D(2026, 1, 1), D(2026, 2, 1)] * 2
    f = frame([1, 2, 3, 6, 10, 20, 15, None], starts, vendor=["A"] * 4 + ["B"] * 4)
    out = trends.add_trends(f, "month", ["vendor"], rolling=2).set_index(["vendor", "period_start"])
    assert out.loc[("A", D(2026, 2, 1)), "year_ago_value"] == 2
    assert out.loc[("A", D(2026, 2, 1)), "change_vs_year_ago_pct"] == pytest.approx(2.0)
    assert out.loc[("B", D(2026, 1, 1)), "year_ago_value"] == 10
    assert pd.isna(out.loc[("B", D(2026, 2, 1)), "change_vs_year_ago"])
    assert out.loc[("A", D(2025, 2, 1)), "rolling_mean_2"] == 1.5
    assert pd.isna(out.loc[("B", D(2026, 2, 1)), "rolling_mean_2"])  # a gap in the window
    assert pd.isna(out.loc[("A", D(2025, 1, 1)), "rolling_mean_2"])


def test_empty_series_gets_the_columns():
    assert "change" in trends.add_trends(pd.DataFrame(columns=["period_start", "value"]), "month").columns


def test_month_to_date_against_the_same_days_of_the_previous_month(sample_store):
    raw = sample_store.query("SELECT received_date FROM claims")
    r = pd.to_datetime(raw["received_date"])
    as_of = dt.datetime(2026, 11, 26)
    got = metrics.to_date(sample_store, "claim_volume", grain="month", as_of=as_of)
    assert got["current"] == ((r >= "2026-11-01") & (r <= "2026-11-26")).sum()
    assert got["previous"] == ((r >= "2026-10-01") & (r <= "2026-10-26")).sum()
    assert got["previous_range"] == (D(2026, 10, 1), D(2026, 10, 26))
    march = metrics.to_date(sample_store, "claim_volume", grain="month", as_of=dt.datetime(2026, 3, 31))
    assert march["previous_range"] == (D(2026, 2, 1), D(2026, 2, 28))  # February is shorter: taken whole
