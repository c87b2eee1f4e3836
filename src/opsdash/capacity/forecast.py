"""Volume forecasts with honest uncertainty: exponential smoothing (ETS, statsmodels' state-space models, the
better of a few forms by AIC) beside a seasonal-naive baseline, each backtested on rolling origins over the
series' own history (pure pandas/numpy/statsmodels, no I/O).

A forecast is never shown without its measured accuracy. For every series the backtest refits both models at
``WINDOWS`` past origins, one forecast horizon apart, and scores what they said against what happened:

- the absolute percentage error of each backtest point (days or weeks with volume), summarised as its median
  (MAPE's robust cousin) and as the error not exceeded on 80% of points ("within +/-8% on 80% of past weeks");
- MASE, the mean absolute error over the mean absolute error of the seasonal-naive guess within the history
  before the first backtest origin (below 1: better than "same as last season"), the measure that still means
  something where volumes are small;
- the share of actual values inside the 80% and the 95% prediction intervals (their coverage).

The model with the lower backtest MASE is the one used; the baseline is kept beside it. A series with too little
history for the backtest, or mostly empty periods, gets a status saying so and no number.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from opsdash import periods

#: Prediction-interval levels, percent.
LEVELS = (80, 95)
#: Per grain: pandas frequency, season length, horizon (13 weeks), and the backtest's training minimum.
GRAINS: dict[str, dict[str, object]] = {
    "day": {"freq": periods.grain_of("day").freq, "season": 7, "horizon": 91, "min_train": 8 * 7, "words": "days"},
    # weekly: a year to learn the seasonal-naive baseline from (last year's week)
    "week": {"freq": periods.grain_of("week").freq, "season": 52, "horizon": 13, "min_train": 52, "words": "weeks"},
}
#: Past origins the backtest refits the models at, one horizon apart (the last ends at the latest period).
WINDOWS = 3
#: A series with more than this share of empty periods is too sparse to forecast at that grain.
MAX_EMPTY_SHARE = 0.5
MODELS = ("ets", "seasonal_naive")
MODEL_WORDS = {"ets": "exponential smoothing (ETS)", "seasonal_naive": "same as a season ago (seasonal naive)"}
#: Normal quantiles of the two-sided intervals.
Z = {80: 1.2815515655446004, 95: 1.959963984540054}


@dataclass(frozen=True)
class Accuracy:
    """How a model did on the backtest: over `points` periods of `windows` origins."""

    points: int
    windows: int
    with_volume: int  # points with volume, over which the percentage errors run
    median_ape: float | None  # median absolute percentage error over periods with volume
    ape_80: float | None  # the absolute percentage error not exceeded on 80% of those periods
    mase: float  # mean absolute error / the seasonal-naive guess's in-sample mean absolute error
    coverage: dict[int, float]  # level -> share of actual values inside that prediction interval

    def words(self, unit: str) -> str:
        """The accuracy as a manager reads it."""
        covered = ", ".join(f"{self.coverage[lv]:.0%} of them inside the {lv}% range" for lv in LEVELS)
        if self.ape_80 is not None:
            return f"within ±{self.ape_80:.0%} on 80% of {self.with_volume} past {unit} with volume ({covered})"
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
        points=int(actual.size), windows=windows, with_volume=int(with_volume.sum()),
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


Prediction = tuple[np.ndarray, dict[int, tuple[np.ndarray, np.ndarray]]]  # mean, level -> (low, high)


def seasonal_naive(y: np.ndarray, season: int, h: int) -> Prediction:
    """Each of the next h periods as the same period a season ago; intervals from the residual spread of that
    guess in the history, widening with each further season ahead (Hyndman and Athanasopoulos, FPP3 5.5)."""
    y = np.asarray(y, dtype=float)
    step = np.arange(h)
    mean = y[-season:][step % season]
    resid = y[season:] - y[:-season]
    sd = float(np.sqrt(np.mean(resid**2))) if resid.size else 0.0
    se = sd * np.sqrt(step // season + 1)
    return mean, {lv: (mean - Z[lv] * se, mean + Z[lv] * se) for lv in LEVELS}


def ets(y: np.ndarray, season: int | None, h: int) -> Prediction:
    """Additive-error ETS with or without a damped trend (and the season, when given), the lower AIC kept;
    analytic prediction intervals."""
    import warnings

    from statsmodels.tsa.exponential_smoothing.ets import ETSModel

    endog = pd.Series(np.asarray(y, dtype=float))
    seasonal = {"seasonal": "add", "seasonal_periods": season} if season else {"seasonal": None}
    best = None
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # convergence chatter on flat or short series
        for trend in ({"trend": None}, {"trend": "add", "damped_trend": True}):
            fit = ETSModel(endog, error="add", **trend, **seasonal).fit(disp=False)
            if best is None or fit.aic < best.aic:
                best = fit
        pred = best.get_prediction(start=len(endog), end=len(endog) + h - 1)
        frames = {lv: pred.summary_frame(alpha=1 - lv / 100) for lv in LEVELS}
    mean = frames[LEVELS[0]]["mean"].to_numpy()
    return mean, {lv: (f["pi_lower"].to_numpy(), f["pi_upper"].to_numpy()) for lv, f in frames.items()}


def _predict(model: str, y: np.ndarray, season: int, h: int) -> Prediction:
    if model == "seasonal_naive":
        return seasonal_naive(y, season, h)
    return ets(y, season if season <= 24 else None, h)  # a 52-week season is more than ETS should fit


def forecast(history: pd.DataFrame, grain: str) -> list[Forecast]:
    """Forecast every series of `history` (columns series, ds, y: one row per period, gaps as 0) at `grain`,
    13 weeks ahead, with backtest accuracy."""
    g = GRAINS[grain]
    season, horizon, unit = int(g["season"]), int(g["horizon"]), str(g["words"])  # type: ignore[call-overload]
    out: list[Forecast] = []
    for series, part in history.sort_values("ds").groupby("series", sort=True):
        y = part["y"].to_numpy(dtype=float)
        if y.size < needed_history(grain):
            out.append(Forecast(str(series), grain, "not_enough_history",
                                f"not enough history: {y.size} {unit}, a forecast needs {needed_history(grain)} "
                                f"(a backtest of {WINDOWS} x {horizon} {unit} after {g['min_train']} to learn from)"))
            continue
        if np.mean(y == 0) > MAX_EMPTY_SHARE:
            out.append(Forecast(str(series), grain, "too_sparse",
                                f"too sparse: {np.mean(y == 0):.0%} of its {unit} have no volume"))
            continue
        origins = [y.size - (WINDOWS - i) * horizon for i in range(WINDOWS)]
        scale = seasonal_scale(y[:origins[0]], season)  # judged only on what came before the backtest
        scores = {}
        for m in MODELS:
            parts = [_predict(m, y[:o], season, horizon) for o in origins]
            actual = np.concatenate([y[o:o + horizon] for o in origins])
            scores[m] = accuracy(actual, np.concatenate([p[0] for p in parts]),
                                 {lv: np.concatenate([p[1][lv][0] for p in parts]) for lv in LEVELS},
                                 {lv: np.concatenate([p[1][lv][1] for p in parts]) for lv in LEVELS}, scale, WINDOWS)
        best = min(MODELS, key=lambda m: (scores[m].mase, MODELS.index(m)))
        mean, bands = _predict(best, y, season, horizon)
        last = pd.Timestamp(part["ds"].max())
        ds = pd.date_range(last, periods=horizon + 1, freq=str(g["freq"]))[1:]
        points = pd.DataFrame({"ds": ds, "mean": np.clip(mean, 0, None)})
        for lv in LEVELS:  # volumes are never negative
            points[f"lo_{lv}"] = np.clip(bands[lv][0], 0, None)
            points[f"hi_{lv}"] = np.clip(bands[lv][1], 0, None)
        out.append(Forecast(str(series), grain, "ok", model=best, points=points, accuracy=scores,
                            reason=scores[best].words(unit)))
    return out


def weekly(daily: pd.DataFrame) -> pd.DataFrame:
    """Daily history (series, ds, y) summed into ISO weeks starting on Monday; an incomplete last week is left out."""
    d = daily.assign(ds=pd.to_datetime(daily["ds"]))
    d = d.assign(week=pd.to_datetime(d["ds"].dt.date.map(lambda day: periods.start_of(day, "week"))))
    w = d.groupby(["series", "week"]).agg(y=("y", "sum"), days=("y", "size")).reset_index()
    return w[w["days"] == 7].rename(columns={"week": "ds"})[["series", "ds", "y"]]
