"""Trend arithmetic on KPI series (pure pandas, no I/O): changes, year-ago comparisons, rolling means."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

import numpy as np
import pandas as pd

from opsdash import periods


year_ago = periods.year_ago  # the same period a year earlier: time arithmetic lives in periods


def _relative(change: pd.Series, base: pd.Series) -> pd.Series:
    base = base.astype("Float64")
    return (change / base.abs()).where(base.notna() & (base != 0))


def add_trends(series: pd.DataFrame, grain: str, by: Sequence[str] = (), rolling: int | None = None) -> pd.DataFrame:
    """Add, per breakdown group: previous value and change (absolute, relative), the same period a year
    earlier and the change against it, and optionally a rolling mean over `rolling` periods.

    Relative changes are against the absolute base value and empty when the base is 0 or missing. A rolling
    mean needs `rolling` values in its window (a gap leaves it empty).
    """
    if series.empty:
        cols = ["previous_value", "change", "change_pct", "year_ago_value", "change_vs_year_ago",
                "change_vs_year_ago_pct"] + ([f"rolling_mean_{rolling}"] if rolling else [])
        return series.assign(**{c: pd.Series(dtype="Float64") for c in cols})
    out = series.sort_values([*by, "period_start"]).copy()
    value = out["value"].astype("Float64")
    groups = [out[c] for c in by] if by else np.zeros(len(out))
    out["previous_value"] = value.groupby(groups, dropna=False).shift(1)
    out["change"] = value - out["previous_value"]
    out["change_pct"] = _relative(out["change"], out["previous_value"])
    key = out[list(by)].astype(object).where(out[list(by)].notna(), None).apply(tuple, axis=1) if by else pd.Series([()] * len(out), index=out.index)
    lookup = dict(zip(zip(key, out["period_start"]), value))
    out["year_ago_value"] = pd.array([lookup.get((k, year_ago(p, grain))) for k, p in zip(key, out["period_start"])],
                                     dtype="Float64")
    out["change_vs_year_ago"] = value - out["year_ago_value"]
    out["change_vs_year_ago_pct"] = _relative(out["change_vs_year_ago"], out["year_ago_value"])
    if rolling:
        out[f"rolling_mean_{rolling}"] = (value.astype(float).groupby(groups, dropna=False)
                                          .transform(lambda s: s.rolling(rolling, min_periods=rolling).mean()))
    return out
