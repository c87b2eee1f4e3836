"""Volume forecasts (issue 14, item 2): synthetic series with known seasonality and noise are recovered, the
prediction intervals cover what they claim over many seeds, accuracy figures equal hand-worked ones, and a
series that cannot support a forecast says so instead of giving a number."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from opsdash.capacity import forecast

WEEKDAY = np.array([1.3, 1.1, 1.0, 0.95, 0.9, 0.4, 0.3])  # Monday .. Sunday
START = pd.Timestamp("2025-01-06")  # a Monday


def _series(seed: int, days: int, level: float = 80.0, noise: float = 0.08) -> pd.DataFrame:
    """A daily volume with a known weekday pattern and multiplicative noise (lognormal, sd `noise`)."""
    rng = np.random.default_rng(seed)
    ds = pd.date_range(START, periods=days, freq="D")
    mean = level * WEEKDAY[ds.day_of_week.to_numpy()]
    return pd.DataFrame({"series": f"s{seed}", "ds": ds, "y": mean * np.exp(rng.normal(0, noise, days)), "mean": mean})


def test_accuracy_equals_a_hand_worked_case():
    """Actuals 100, 200, 0, 50; forecasts 110, 180, 5, 50: absolute errors 10, 20, 5, 0; percentage errors
    (periods with volume) 10%, 10%, 0%; the 80% interval [95, 105], [150, 190], [0, 10], [40, 45] holds the
    first and third actual; the naive scale 4 makes MASE (35 / 4) / 4."""
    lo = {80: np.array([95, 150, 0, 40]), 95: np.array([0, 0, 0, 0])}
    hi = {80: np.array([105, 190, 10, 45]), 95: np.array([999, 999, 999, 999])}
    a = forecast.accuracy(np.array([100, 200, 0, 50]), np.array([110, 180, 5, 50]), lo, hi, scale=4.0, windows=2)
    assert a.points == 4 and a.windows == 2 and a.with_volume == 3
    assert a.median_ape == pytest.approx(0.10)
    assert a.ape_80 == pytest.approx(0.10)  # 80th percentile of (0, 0.1, 0.1)
    assert a.mase == pytest.approx(35 / 4 / 4)
    assert a.coverage == {80: 0.5, 95: 1.0}
    assert a.words("weeks") == "within ±10% on 80% of 3 past weeks with volume (50% of them inside the 80% range, 100% of them inside the 95% range)"
    # seasonal naive (lag 3) on 1 2 3 1 2 4 1 2 6: errors 0 0 1 0 0 2, mean 0.5; too short for two seasons: lag 1
    assert forecast.seasonal_scale(np.array([1, 2, 3, 1, 2, 4, 1, 2, 6]), 3) == pytest.approx(0.5)
    assert forecast.seasonal_scale(np.array([1, 3, 2, 6]), 3) == pytest.approx(7 / 3)


def test_the_weekday_pattern_is_recovered():
    hist = _series(1, 400)
    [f] = forecast.forecast(hist[["series", "ds", "y"]], "day")
    assert f.status == "ok" and len(f.points) == 91
    by_day = f.points.assign(d=f.points["ds"].dt.day_of_week).groupby("d")["mean"].mean().to_numpy()
    assert by_day / by_day.mean() == pytest.approx(WEEKDAY / WEEKDAY.mean(), rel=0.06)
    assert (f.points["lo_95"] <= f.points["lo_80"]).all() and (f.points["lo_80"] <= f.points["mean"]).all()
    assert (f.points["mean"] <= f.points["hi_80"]).all() and (f.points["hi_80"] <= f.points["hi_95"]).all()
    assert set(f.accuracy) == set(forecast.MODELS) and f.reason.startswith("within ±")


#: Over many seeds, the share of true future values inside each interval, pooled, within this band of the level.
COVERAGE_BAND = {80: (0.70, 0.90), 95: (0.88, 0.99)}


def test_prediction_intervals_cover_what_they_claim_over_many_seeds():
    """30 series of the same process, each forecast 91 days past its history and compared with a future drawn
    from the same process: the pooled coverage of the 80% and 95% intervals stays within COVERAGE_BAND (so
    does what the backtest measured)."""
    seeds = range(100, 130)
    hist, future = [], []
    for s in seeds:
        whole = _series(s, 400 + 91)
        hist.append(whole.iloc[:400][["series", "ds", "y"]])
        future.append(whole.iloc[400:])
    fcs = forecast.forecast(pd.concat(hist), "day")
    inside = {lv: [] for lv in forecast.LEVELS}
    measured = {lv: [] for lv in forecast.LEVELS}
    for f, fut in zip(fcs, sorted(future, key=lambda d: d["series"].iloc[0]), strict=True):
        assert f.status == "ok" and f.series == fut["series"].iloc[0]
        y = fut["y"].to_numpy()
        for lv in forecast.LEVELS:
            inside[lv].extend((y >= f.points[f"lo_{lv}"]) & (y <= f.points[f"hi_{lv}"]))
            measured[lv].append(f.accuracy[f.model].coverage[lv])
    for lv, (low, high) in COVERAGE_BAND.items():
        assert low <= np.mean(inside[lv]) <= high, (lv, np.mean(inside[lv]))
        assert low <= np.mean(measured[lv]) <= high, (lv, np.mean(measured[lv]))


def test_a_short_series_says_not_enough_history_and_a_sparse_one_too_sparse():
    short = _series(2, forecast.needed_history("day") - 1)[["series", "ds", "y"]]
    sparse = _series(3, 399)[["series", "ds", "y"]].assign(series="sparse")
    sparse.loc[sparse.index % 3 != 0, "y"] = 0
    fcs = {f.series: f for f in forecast.forecast(pd.concat([short, sparse]), "day")}
    assert fcs["s2"].status == "not_enough_history" and fcs["s2"].points.empty
    assert f"{forecast.needed_history('day') - 1} days, a forecast needs {forecast.needed_history('day')}" in fcs["s2"].reason
    assert fcs["sparse"].status == "too_sparse" and "67% of its days have no volume" in fcs["sparse"].reason


def test_a_weekly_series_needs_a_year_before_its_backtest():
    """The seasonal-naive baseline repeats last year's week: 52 weeks to learn from, then 3 x 13 to backtest."""
    assert forecast.needed_history("week") == 91
    w = forecast.weekly(_series(5, 7 * 90)[["series", "ds", "y"]])
    [f] = forecast.forecast(w, "week")
    assert f.status == "not_enough_history" and "90 weeks, a forecast needs 91" in f.reason


def test_the_seasonal_naive_baseline_equals_a_hand_worked_case():
    """Season 3, history 1 2 3 2 4 5: the next four are 2 4 5 2; residuals (2-1, 4-2, 5-3) = 1 2 2, RMS 1.732;
    the fourth step is a season further on, its spread sqrt(2) times wider."""
    mean, bands = forecast.seasonal_naive(np.array([1, 2, 3, 2, 4, 5]), 3, 4)
    assert mean.tolist() == [2, 4, 5, 2]
    sd = np.sqrt((1 + 4 + 4) / 3)
    lo, hi = bands[95]
    assert hi - mean == pytest.approx(1.959963984540054 * sd * np.array([1, 1, 1, np.sqrt(2)]))
    assert (mean - lo) == pytest.approx(hi - mean)


def test_weekly_sums_whole_iso_weeks_and_forecasts_13_of_them():
    daily = _series(4, 7 * 120 + 3)[["series", "ds", "y"]]  # ends three days into a week: left out
    w = forecast.weekly(daily)
    assert len(w) == 120 and (w["ds"].dt.day_of_week == 0).all()
    assert w["y"].iloc[0] == pytest.approx(daily["y"].iloc[:7].sum())
    [f] = forecast.forecast(w, "week")
    assert f.status == "ok" and len(f.points) == 13 and (f.points["ds"].dt.day_of_week == 0).all()


# -- the store's volumes and `opsdash forecast` -------------------------------------------------------------

def _raw_daily(store, table: str, time_col: str, parts: tuple[str, ...]) -> pd.DataFrame:
    """Daily volumes counted in pandas from the stored rows (not the engine): series, ds, y, zeros filled from
    each series' first day with volume to the day before the table's latest event."""
    cols = ", ".join([*parts, time_col])
    raw = pd.DataFrame(store.fetchall(f"SELECT {cols} FROM {table}"), columns=[*parts, time_col])
    raw["ds"] = pd.to_datetime(raw[time_col]).dt.normalize()
    last = raw["ds"].max() - pd.Timedelta(days=1)
    raw["series"] = raw[list(parts)].astype(str).agg(" / ".join, axis=1)
    out = []
    for series, part in raw[raw["ds"] <= last].groupby("series"):
        days = pd.date_range(part["ds"].min(), last, freq="D")
        y = part.groupby("ds").size().reindex(days, fill_value=0).astype(float)
        out.append(pd.DataFrame({"series": series, "ds": days, "y": y.to_numpy()}))
    return pd.concat(out, ignore_index=True)


def test_the_engine_daily_volumes_equal_a_count_of_the_stored_rows(sample_store):
    from opsdash.capacity import volumes

    for kpi_id, table, time_col, parts in (("work_volume", "work_items", "opened_at", ("vendor", "process")),
                                           ("call_volume", "calls", "offered_at", ("vendor", "queue")),
                                           ("claim_volume", "claims", "received_date", ("vendor",))):
        by = dict(volumes.VOLUMES)[kpi_id]
        ours = volumes.history(sample_store, kpi_id, by)[["series", "ds", "y"]]
        theirs = _raw_daily(sample_store, table, time_col, parts)
        pd.testing.assert_frame_equal(ours.reset_index(drop=True), theirs, check_dtype=False)


def test_opsdash_forecast_prints_the_forecast_of_the_stored_volumes(sample_store):
    """`opsdash forecast --format csv` for calls, weekly: the same figures as forecasting the pandas count of
    the stored calls, week by week, with their ranges and backtest accuracy."""
    import io

    from click.testing import CliRunner

    from opsdash.cli import main

    out = CliRunner().invoke(main, ["forecast", "--kpi", "call_volume", "--format", "csv",
                                    "--db", str(sample_store.path)], catch_exceptions=False).output
    got = pd.read_csv(io.StringIO(out))
    want = {f.series: f for f in forecast.forecast(forecast.weekly(_raw_daily(sample_store, "calls", "offered_at",
                                                                                 ("vendor", "queue"))), "week")}
    assert set(got["series"]) == set(want) and len(want) == 3
    for series, rows in got.groupby("series"):
        f = want[series]
        assert (rows["status"] == "ok").all() and (rows["model"] == f.model).all() and len(rows) == 13
        assert rows["forecast"].to_numpy() == pytest.approx(f.points["mean"].to_numpy())
        for lv in forecast.LEVELS:
            assert rows[f"lo_{lv}"].to_numpy() == pytest.approx(f.points[f"lo_{lv}"].to_numpy())
            assert rows[f"hi_{lv}"].to_numpy() == pytest.approx(f.points[f"hi_{lv}"].to_numpy())
            assert rows[f"backtest_coverage_{lv}"].iloc[0] == pytest.approx(f.accuracy[f.model].coverage[lv])
        assert rows["accuracy"].iloc[0] == f.reason and rows["accuracy"].iloc[0].startswith("within ±")
    table = CliRunner().invoke(main, ["forecast", "--kpi", "call_volume", "--db", str(sample_store.path)]).output
    assert "Calls offered: Ibérica Salud Contact Services / scheduling" in table and "95% range" in table
    assert "None" not in table and "nan" not in table


def test_an_account_manager_forecasts_only_their_vendor(sample_store):
    from opsdash.capacity import volumes
    from opsdash.store import Scope

    helix = sample_store.scoped(Scope.of(["Helix Health Services"]))
    series = {f.series for _k, _h, f in volumes.forecasts(helix, "week")}
    assert series == {"Helix Health Services", "Helix Health Services / eligibility",
                      "Helix Health Services / prior_auth"}
    everyone = {f.series.split(" / ")[0] for _k, _h, f in volumes.forecasts(sample_store, "week", ("claim_volume",))}
    assert everyone == {"Helix Health Services", "Meridian Revenue Partners"}


def test_each_vendor_series_ends_at_its_own_cut_off(tmp_path):
    """Two vendors whose exports end on different days: each series ends the day before its own vendor's last
    day, not padded with zeros up to the other vendor's."""
    from opsdash import lifecycle
    from opsdash.capacity import volumes
    from opsdash.ingest.loader import load_file
    from tests.helpers import csv_text, row

    rows = []
    for vendor, last in (("Early", pd.Timestamp("2026-03-20")), ("Late", pd.Timestamp("2026-03-31"))):
        for i, day in enumerate(pd.date_range("2026-03-01", last, freq="D")):
            rows.append(row("work_items", item_id=f"{vendor}{i}", vendor=vendor, opened_at=f"{day.date()} 09:00",
                            due_at=f"{day.date()} 17:00", completed_at=f"{day.date()} 12:00"))
    path = tmp_path / "items.csv"
    path.write_text(csv_text(rows), encoding="utf-8")
    store = lifecycle.open_store(tmp_path / "two.duckdb")
    assert load_file(store, path).status == "loaded"
    h = volumes.history(store, "work_volume", ("vendor", "process"))
    ends = h.groupby("vendor")["ds"].max()
    assert ends.to_dict() == {"Early": pd.Timestamp("2026-03-19"), "Late": pd.Timestamp("2026-03-30")}
    assert (h["y"] == 1).all()  # one item a day: no padding zero anywhere
    store.close()
