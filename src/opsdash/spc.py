"""XmR statistical process control after NHS England's "Making Data Count" (pure numpy/pandas, no I/O).

Works on any series. Null points (periods with no value) are left out of every calculation: the moving
range joins the points either side of a gap and runs carry on across it; the null point itself gets no
limits and no point type. Each rebase starts a segment with its own mean, limits and runs.

Two guards keep a chart from misleading. Limits are clipped to the values the measure can take (a rate
within 0-100%, a count or duration at least 0): drawn and checked at that edge. A segment whose values
move in steps too large for its variation ("chunky" data, Wheeler) gets no limits and no signals: it is
shown as a run chart around its median, with no SPC reading (``too_coarse``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from opsdash import labels

LIMIT = 2.66  # 3 / d2 for n = 2 (1.128)
NEAR = 2 * LIMIT / 3
SCREEN = 3.267  # D4 for n = 2: moving ranges above SCREEN x mean(mR) are screened out when asked
TRIAL_BELOW = 12

#: Range chart upper limit for n = 2 (D4): a moving range above D4 x mean(mR) is beyond the range chart.
D4 = 3.267
#: Wheeler's test for chunky data: when this many or fewer multiples of the measurement increment (0
#: included) lie within the range chart's upper limit, the increment hides the variation.
CHUNKY_RANGE_VALUES = 3

TOO_COARSE = "too_coarse"
POINT_TYPES = ("common_cause", "improvement", "concern", "neutral", TOO_COARSE)
ASSURANCE = ("consistently_pass", "consistently_fail", "hit_and_miss", TOO_COARSE)

#: The values a measure of each unit can take: limits beyond them are drawn and checked at the edge.
BOUNDS: dict[str, tuple[float | None, float | None]] = {
    "fraction": (0.0, 1.0), "count": (0.0, None), "days": (0.0, None), "hours": (0.0, None),
    "seconds": (0.0, None)}


@dataclass(frozen=True)
class Settings:
    shift_run: int = 7  # points on one side of the mean
    trend_run: int = 7  # points each higher (or lower) than the one before
    screen_outliers: bool = False
    baseline: int | None = None  # fix each segment's limits on its first N points
    screen_coarse: bool = True  # a segment too coarse for XmR gets a run chart (see coarseness)


def _runs(keys: np.ndarray, min_len: int) -> np.ndarray:
    """Mark members of runs of equal non-zero keys at least min_len long."""
    flag = np.zeros(len(keys), dtype=bool)
    start = 0
    for i in range(1, len(keys) + 1):
        if i == len(keys) or keys[i] != keys[start]:
            if keys[start] != 0 and i - start >= min_len:
                flag[start:i] = True
            start = i
    return flag


def shift_flags(side: np.ndarray, run: int = 7) -> np.ndarray:
    """Rule 2: runs of `run` or more points on the same side of the mean (0 = on the mean breaks a run)."""
    return _runs(np.sign(side).astype(int), run)


def trend_flags(y: np.ndarray, run: int = 7) -> np.ndarray:
    """Rule 3: `run` or more points each higher (or each lower) than the one before; ties break the run.

    Every point of the run is flagged, its first included, for rising and falling trends alike.
    """
    n = len(y)
    flag = np.zeros(n, dtype=bool)
    if n < 2:
        return flag
    step = np.sign(np.diff(y))  # step[i] compares y[i+1] with y[i]
    i = 0
    while i < n - 1:
        if step[i] == 0:
            i += 1
            continue
        j = i
        while j + 1 < n - 1 and step[j + 1] == step[i]:
            j += 1
        points = j - i + 2  # steps i..j join points i..j+1
        if points >= run:
            flag[i:j + 2] = True
        i = j + 1
    return flag


def two_in_three_flags(y: np.ndarray, mean: np.ndarray, near_lo: np.ndarray, near_hi: np.ndarray,
                       lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
    """Rule 4: in 3 consecutive points all on one side of the mean, 2 or more in the outer third
    (beyond the near limit, short of the process limit); those points are flagged."""
    side = np.sign(y - mean)
    outer = np.where(side > 0, (y > near_hi) & (y < hi), (y < near_lo) & (y > lo))
    flag = np.zeros(len(y), dtype=bool)
    for i in range(len(y) - 2):
        w = slice(i, i + 3)
        if side[i] != 0 and (side[w] == side[i]).all() and outer[w].sum() >= 2:
            flag[w] |= outer[w]
    return flag


def increment(y: np.ndarray) -> float | None:
    """The measurement increment of a series: the smallest gap between two of its distinct values (None when
    every value is the same). Values are compared at 9 significant digits, so float noise is no gap."""
    vals = np.unique(np.array([float(f"{v:.9g}") for v in y], dtype=float))
    return float(np.diff(vals).min()) if len(vals) > 1 else None


def coarseness(y: np.ndarray) -> str | None:
    """Why a segment is too coarse for XmR limits, or None when it is not.

    Wheeler's chunky-data test: the moving ranges can only be multiples of the increment d (0, d, 2d, ...);
    when no more than 3 of them lie at or below the range chart's upper limit (3.267 x mean moving range),
    the round-off hides the variation, and limits and runs would signal the round-off, not the process.
    A segment whose values are all equal has no variation to judge at all.
    """
    if len(y) < 2:
        return None
    d = increment(y)
    if d is None:
        return "every value is the same"
    url = D4 * float(np.mean(np.abs(np.diff(y))))
    within = int(np.floor(url / d + 1e-9)) + 1  # multiples 0, d, 2d, ... at or below the limit
    if within <= CHUNKY_RANGE_VALUES:
        return f"{len(np.unique(y))} distinct values, in steps of {d:g}"
    return None


def _clip(values: np.ndarray, lo: float | None, hi: float | None) -> np.ndarray:
    return np.clip(values, -np.inf if lo is None else lo, np.inf if hi is None else hi)


def _segment(y: np.ndarray, s: Settings) -> dict[str, np.ndarray | float]:
    base = y[: s.baseline] if s.baseline else y
    mean = float(base.mean()) if len(base) else np.nan
    mr = np.abs(np.diff(base))
    amr = float(mr.mean()) if len(mr) else np.nan
    if s.screen_outliers and len(mr):
        kept = mr[mr <= SCREEN * amr]
        amr = float(kept.mean()) if len(kept) else amr
    return {"mean": mean, "amr": amr, "lpl": mean - LIMIT * amr, "upl": mean + LIMIT * amr,
            "nlpl": mean - NEAR * amr, "nupl": mean + NEAR * amr}


def xmr(values: Sequence[float | None], *, direction: str = "neutral", settings: Settings = Settings(),
        rebase: Sequence[int] = (), bounds: tuple[float | None, float | None] = (None, None)) -> pd.DataFrame:
    """XmR chart of a series: one row per input point.

    Columns: value, segment, mean, median, mr, lpl, upl, near_lpl, near_upl, lpl_at_bound, upl_at_bound,
    trial, coarse, beyond_limits, shift, trend, two_in_three, special_cause, point_type. ``rebase`` holds
    positions where a new segment starts. ``bounds`` (low, high; None = open) is the range the measure can
    take: limits beyond it are clipped to it, and a point on a clipped limit counts as near that limit. A
    coarse segment (see ``coarseness``) has no limits and no signals: its points are ``too_coarse``.
    """
    if direction not in ("higher", "lower", "neutral"):
        raise ValueError(f"direction must be higher, lower or neutral, not {direction!r}")
    v = pd.to_numeric(pd.Series(list(values), dtype=object), errors="coerce").astype(float).to_numpy()
    n = len(v)
    out = pd.DataFrame({"value": v})
    cuts = sorted({0, *[r for r in rebase if 0 < r < n]})
    out["segment"] = np.searchsorted(cuts, np.arange(n), side="right") - 1 if n else []
    for col in ("mean", "median", "mr", "lpl", "upl", "near_lpl", "near_upl"):
        out[col] = np.nan
    for col in ("lpl_at_bound", "upl_at_bound", "trial", "coarse", "beyond_limits", "shift", "trend",
                "two_in_three", "special_cause"):
        out[col] = False
    out["coarse_reason"] = None
    out["point_type"] = None
    b_lo, b_hi = bounds
    for seg in range(len(cuts)):
        idx = np.flatnonzero((out["segment"].to_numpy() == seg) & ~np.isnan(v))
        if not len(idx):
            continue
        y = v[idx]
        out.loc[idx, "median"] = float(np.median(y))
        out.loc[idx, "mr"] = np.concatenate([[np.nan], np.abs(np.diff(y))])
        out.loc[idx, "trial"] = len(y) < TRIAL_BELOW
        why = coarseness(y) if settings.screen_coarse else None
        if why:  # a run chart: no limits, no rules, no signals
            out.loc[idx, "mean"] = float(np.mean(y))
            out.loc[idx, "coarse"] = True
            out.loc[idx, "coarse_reason"] = why
            out.loc[idx, "point_type"] = TOO_COARSE
            continue
        lim = _segment(y, settings)
        raw_lo, raw_hi = np.full(len(y), lim["lpl"]), np.full(len(y), lim["upl"])
        lo, hi = _clip(raw_lo, b_lo, b_hi), _clip(raw_hi, b_lo, b_hi)
        nlo, nhi = _clip(np.full(len(y), lim["nlpl"]), b_lo, b_hi), _clip(np.full(len(y), lim["nupl"]), b_lo, b_hi)
        lo_clipped, hi_clipped = lo > raw_lo, hi < raw_hi
        mean = np.full(len(y), lim["mean"])
        beyond = (y > hi) | (y < lo)
        shift = shift_flags(y - mean, settings.shift_run)
        trend = trend_flags(y, settings.trend_run)
        # A clipped limit is the edge of what the measure can take, not the process limit (which lies beyond
        # it): a point on it is inside the outer third, so the outer third is tested against the unclipped one.
        two = two_in_three_flags(y, mean, nlo, nhi, np.where(lo_clipped, raw_lo, lo), np.where(hi_clipped, raw_hi, hi))
        special = beyond | shift | trend | two
        side = np.sign(y - mean)
        if direction == "neutral":
            ptype = np.where(special, "neutral", "common_cause")
        else:
            good = 1 if direction == "higher" else -1
            ptype = np.where(~special, "common_cause", np.where(side == good, "improvement", "concern"))
        out.loc[idx, "mean"] = mean
        out.loc[idx, ["lpl", "upl", "near_lpl", "near_upl"]] = np.column_stack([lo, hi, nlo, nhi])
        out.loc[idx, "lpl_at_bound"] = lo_clipped
        out.loc[idx, "upl_at_bound"] = hi_clipped
        out.loc[idx, "beyond_limits"] = beyond
        out.loc[idx, "shift"] = shift
        out.loc[idx, "trend"] = trend
        out.loc[idx, "two_in_three"] = two
        out.loc[idx, "special_cause"] = special
        out.loc[idx, "point_type"] = ptype
    return out


def variation(chart: pd.DataFrame) -> str | None:
    """The variation icon: the type of the latest point with a value."""
    typed = chart["point_type"].dropna()
    return str(typed.iloc[-1]) if len(typed) else None


def assurance(chart: pd.DataFrame, target: float | None, direction: str) -> str | None:
    """Will the process meet the target? Judged on the latest segment's limits (None without target or
    direction; ``too_coarse`` when the latest segment has no limits because it is too coarse)."""
    if target is None or direction == "neutral":
        return None
    if "coarse" in chart and "point_type" in chart:
        typed = chart.dropna(subset=["point_type"])
        if len(typed) and bool(typed["coarse"].iloc[-1]):
            return TOO_COARSE
    last = chart.dropna(subset=["lpl"])
    if last.empty:
        return None
    lo, hi = float(last["lpl"].iloc[-1]), float(last["upl"].iloc[-1])
    if direction == "higher":
        return "consistently_pass" if target < lo else "consistently_fail" if target > hi else "hit_and_miss"
    return "consistently_pass" if target > hi else "consistently_fail" if target < lo else "hit_and_miss"


def describe(chart: pd.DataFrame) -> str:
    """Plain words for the latest point, its reading in labels.py's one wording and why, e.g. 'Special cause:
    concern (7 points in a row above the mean)'."""
    last = chart.dropna(subset=["point_type"])
    if last.empty:
        return "no data"
    row = last.iloc[-1]
    if row.get("coarse", False):
        return f"{labels.VARIATION_WORDS[TOO_COARSE]} ({row['coarse_reason']})"
    if not row["special_cause"]:
        return labels.VARIATION_WORDS["common_cause"]
    why = []
    if row["beyond_limits"]:
        why.append("beyond a process limit")
    if row["shift"]:
        side = np.sign(last["value"] - last["mean"]).to_numpy()
        run = _run_length(last["shift"].to_numpy() & (side == side[-1]))
        why.append(f"{run} points in a row {'above' if side[-1] > 0 else 'below'} the mean")
    if row["trend"]:
        step = np.sign(np.diff(last["value"].to_numpy(), prepend=np.nan))
        run = _run_length(last["trend"].to_numpy() & (step == step[-1])) + 1  # the run's first point has no step
        why.append(f"{run} points in a row each {'higher' if step[-1] > 0 else 'lower'} than the one before")
    if row["two_in_three"]:
        why.append("2 of 3 points near a process limit")
    return f"{labels.VARIATION_WORDS[row['point_type']]} ({'; '.join(why)})"


def _run_length(flags: np.ndarray) -> int:
    """How many flags are set at the end of the series, counting back."""
    n = 0
    for f in flags[::-1]:
        if not f:
            break
        n += 1
    return n


def latest_side(chart: pd.DataFrame) -> str | None:
    """Which side of its mean the latest point lies on, "higher" or "lower" (None on the mean, or no data):
    the H or L of a special-cause icon."""
    typed = chart.dropna(subset=["point_type"])
    if typed.empty or pd.isna(typed["mean"].iloc[-1]):
        return None
    diff = float(typed["value"].iloc[-1]) - float(typed["mean"].iloc[-1])
    return "higher" if diff > 0 else "lower" if diff < 0 else None
