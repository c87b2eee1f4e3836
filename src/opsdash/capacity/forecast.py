"""Volume forecasts with honest uncertainty: statsforecast's AutoETS beside a seasonal-naive baseline, each
backtested on rolling origins over the series' own history (pure pandas/statsforecast, no I/O).

A forecast is never shown without its measured accuracy. For every series the backtest refits both models at
``WINDOWS`` past origins, one forecast horizon apart, and scores what they said against what happened:

- the absolute percentage error of each backtest point (days or weeks with volume), summarised as its median
  (MAPE's robust cousin) and as the error not exceeded on 80% of points ("within +/-8% on 80% of past weeks");
- MASE, the mean absolute error over the in-sample mean absolute error of the seasonal-naive guess (below 1:
  better than "same as last week"), the measure that still means something where volumes are small;
- the share of actual values inside the 80% and the 95% prediction intervals (their coverage).

The model with the lower backtest MASE is the one used; the baseline is kept beside it. A series with too little
history for the backtest, or mostly empty periods, gets a status saying so and no number.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

#: Prediction-interval levels, percent.
LEVELS = (80, 95)
#: Per grain: pandas frequency, season length, horizon (13 weeks), and the backtest's training minimum.
GRAINS: dict[str, dict[str, object]] = {
    "day": {"freq": "D", "season": 7, "horizon": 91, "min_train": 8 * 7, "words": "days"},
    "week": {"freq": "W-MON", "season": 52, "horizon": 13, "min_train": 26, "words": "weeks"},
}
#: Past origins the backtest refits the models at, one horizon apart (the last ends at the latest period).
WINDOWS = 3
#: A series with more than this share of empty periods is too sparse to forecast at that grain.
MAX_EMPTY_SHARE = 0.5
MODELS = ("ets", "seasonal_naive")
MODEL_WORDS = {"ets": "exponential smoothing (AutoETS)", "seasonal_naive": "same as a season ago (seasonal naive)"}


@dataclass(frozen=True)
class Accuracy:
    """How a model did on the backtest: over `points` periods of `windows` origins."""

    points: int
    windows: int
    median_ape: float | None  # median absolute percentage error over periods with volume
    ape_80: float | None  # the absolute percentage error not exceeded on 80% of those periods
    mase: float  # mean absolute error / the seasonal-naive guess's in-sample mean absolute error
    coverage: dict[int, float]  # level -> share of actual values inside that prediction interval

    def words(self, unit: str) -> str:
        """The accuracy as a manager reads it."""
        covered = ", ".join(f"{self.coverage[lv]:.0%} of them inside the {lv}% range" for lv in LEVELS)
        if self.ape_80 is not None:
            return f"within ±{self.ape_80:.0%} on 80% of {self.points} past {unit} ({covered})"
        return f"errors {self.mase:.2f} times those of repeating last season, over {self.points} past {unit} ({covered})"


@dataclass
class Forecast:
    """One series' forecast at one grain: the chosen model's points with their intervals, and both models'
    backtest accuracy; or a status saying why there is none."""

    series: str
    grain: str
    status: str  # ok | not_enough_history | too_sparse
    reason: str = ""
    model: str | None = None
    points: pd.DataFrame = field(default_factory=pd.DataFrame)  # ds, mean, lo_80, hi_80, lo_95, hi_95
    accuracy: dict[str, Accuracy] = field(default_factory=dict)  # model -> its backtest accuracy


def accuracy(actual: np.ndarray, predicted: np.ndarray, lo: dict[int, np.ndarray], hi: dict[int, np.ndarray],
             scale: float, windows: int) -> Accuracy:
    """Backtest accuracy from actual and predicted values and the intervals at each level (same-length arrays);
    `scale` is the in-sample mean absolute error of the seasonal-naive guess (MASE's denominator)."""
    actual, predicted = np.asarray(actual, dtype=float), np.asarray(predicted, dtype=float)
    err = np.abs(actual - predicted)
    with_volume = actual > 0
    ape = err[with_volume] / actual[with_volume]
    return Accuracy(
        points=int(actual.size), windows=windows,
        median_ape=float(np.median(ape)) if ape.size else None,
        ape_80=float(np.quantile(ape, 0.8)) if ape.size else None,
        mase=float(err.mean() / scale) if scale > 0 else float("inf"),
        coverage={lv: float(np.mean((actual >= lo[lv]) & (actual <= hi[lv]))) for lv in LEVELS})


def seasonal_scale(y: np.ndarray, season: int) -> float:
    """In-sample mean absolute error of the seasonal-naive guess (y[t] = y[t - season]); of the naive guess when
    the series is shorter than two seasons."""
    y = np.asarray(y, dtype=float)
    lag = season if y.size > 2 * season else 1
    return float(np.mean(np.abs(y[lag:] - y[:-lag]))) if y.size > lag else 0.0


def needed_history(grain: str) -> int:
    """Periods a series needs: the backtest's training minimum plus WINDOWS horizons."""
    g = GRAINS[grain]
    return int(g["min_train"]) + WINDOWS * int(g["horizon"])  # type: ignore[call-overload]


def forecast(history: pd.DataFrame, grain: str) -> list[Forecast]:
    """Forecast every series of `history` (columns series, ds, y: one row per period, gaps as 0) at `grain`,
    13 weeks ahead, with backtest accuracy. Series are forecast together (one statsforecast call)."""
    from statsforecast import StatsForecast
    from statsforecast.models import AutoETS, SeasonalNaive

    g = GRAINS[grain]
    season, horizon, unit = int(g["season"]), int(g["horizon"]), str(g["words"])  # type: ignore[call-overload]
    out: list[Forecast] = []
    usable: list[str] = []
    for series, part in history.groupby("series", sort=True):
        y = part["y"].to_numpy(dtype=float)
        if y.size < needed_history(grain):
            out.append(Forecast(str(series), grain, "not_enough_history",
                                f"not enough history: {y.size} {unit}, a forecast needs {needed_history(grain)} "
                                f"(a backtest of {WINDOWS} x {horizon} {unit} after {g['min_train']} to learn from)"))
        elif np.mean(y == 0) > MAX_EMPTY_SHARE:
            out.append(Forecast(str(series), grain, "too_sparse",
                                f"too sparse: {np.mean(y == 0):.0%} of its {unit} have no volume"))
        else:
            usable.append(str(series))
    if not usable:
        return out
    df = (history[history["series"].isin(usable)].rename(columns={"series": "unique_id"})
          [["unique_id", "ds", "y"]].astype({"y": float}))
    # Weekly: no seasonal ETS (a 52-week season is more than ETS fits); the baseline carries last year's week.
    ets = AutoETS(season_length=season if season <= 24 else 1, alias="ets")
    models = [ets, SeasonalNaive(season_length=season, alias="seasonal_naive")]
    sf = StatsForecast(models=models, freq=str(g["freq"]), n_jobs=1)
    cv = sf.cross_validation(df=df, h=horizon, n_windows=WINDOWS, step_size=horizon, level=list(LEVELS))
    ahead = sf.forecast(df=df, h=horizon, level=list(LEVELS))
    for series in usable:
        y = df.loc[df["unique_id"] == series, "y"].to_numpy()
        c = cv[cv["unique_id"] == series]
        scores = {m: accuracy(c["y"].to_numpy(), c[m].to_numpy(),
                              {lv: c[f"{m}-lo-{lv}"].to_numpy() for lv in LEVELS},
                              {lv: c[f"{m}-hi-{lv}"].to_numpy() for lv in LEVELS},
                              seasonal_scale(y, season), WINDOWS) for m in MODELS}
        best = min(MODELS, key=lambda m: (scores[m].mase, MODELS.index(m)))
        f = ahead[ahead["unique_id"] == series]
        points = pd.DataFrame({"ds": f["ds"].to_numpy(), "mean": f[best].to_numpy().clip(0)})
        for lv in LEVELS:  # volumes are never negative
            points[f"lo_{lv}"] = f[f"{best}-lo-{lv}"].to_numpy().clip(0)
            points[f"hi_{lv}"] = f[f"{best}-hi-{lv}"].to_numpy().clip(0)
        out.append(Forecast(series, grain, "ok", model=best, points=points, accuracy=scores,
                            reason=scores[best].words(unit)))
    return sorted(out, key=lambda f: f.series)


def weekly(daily: pd.DataFrame) -> pd.DataFrame:
    """Daily history (series, ds, y) summed into ISO weeks starting on Monday; an incomplete last week is left out."""
    d = daily.assign(ds=pd.to_datetime(daily["ds"]))
    d = d.assign(week=d["ds"] - pd.to_timedelta(d["ds"].dt.day_of_week, unit="D"))
    w = d.groupby(["series", "week"]).agg(y=("y", "sum"), days=("y", "size")).reset_index()
    return w[w["days"] == 7].rename(columns={"week": "ds"})[["series", "ds", "y"]]
