"""Forecast benchmark: every series of the sample's vendors forecast and backtested, daily and weekly, cold.

    PYTHONPATH=src .venv/bin/python benchmarks/bench_forecast.py

The series are the sample's daily volumes as the generator makes them (work items opened per vendor and
process, calls offered per queue, claims received per vendor: 12 series over 24 months), daily and summed
into weeks: 24 forecasts 13 weeks ahead, each with WINDOWS backtests of both models. "Cold" is this process
from its start: statsmodels' import included. Prints each forecast's model and accuracy in words.

Target (issue 14, item 7): forecasts and backtests for the sample's vendors in under 30 s cold.
"""

from __future__ import annotations

import time

START = time.perf_counter()

import datetime as dt  # noqa: E402

import pandas as pd  # noqa: E402

from opsdash.capacity import forecast  # noqa: E402
from opsdash.sample import stories, tables  # noqa: E402


def sample_history() -> pd.DataFrame:
    tl = stories.Timeline(dt.date(2026, 11, 26), 24)
    days = pd.date_range(tl.start, tl.as_of, freq="D")
    parts = []
    for name, df, col, by in (("items", tables.work_items(20261126, tl, 1.0), "opened_at", ["vendor", "process"]),
                              ("calls", tables.calls(20261126, tl, 1.0), "offered_at", ["vendor", "queue"]),
                              ("claims", tables.claims(20261126, tl, 1.0), "received_date", ["vendor"])):
        d = df.assign(ds=pd.to_datetime(df[col]).dt.normalize()).groupby([*by, "ds"]).size().rename("y").reset_index()
        d["series"] = name + ": " + d[by].astype(str).agg(" / ".join, axis=1)
        full = pd.MultiIndex.from_product([d["series"].unique(), days], names=["series", "ds"])
        parts.append(d.set_index(["series", "ds"])["y"].reindex(full, fill_value=0).reset_index())
    return pd.concat(parts)


def main() -> None:
    hist = sample_history()
    made = time.perf_counter()
    print("| grain | series | model | backtest accuracy |\n|---|---|---|---|")
    for grain, h in (("day", hist), ("week", forecast.weekly(hist))):
        for f in forecast.forecast(h, grain):
            print(f"| {grain} | {f.series} | {f.model or f.status} | {f.reason} |")
    done = time.perf_counter()
    print(f"\ncold total {done - START:.1f} s: imports and sample series {made - START:.1f} s, "
          f"forecasts and backtests {done - made:.1f} s")


if __name__ == "__main__":
    main()
