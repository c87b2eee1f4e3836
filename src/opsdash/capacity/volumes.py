"""The volumes work arrives in, as the engine counts them, and their forecasts: the series the capacity view
and `opsdash forecast` share.

Each series is one vendor's process or queue (claims per vendor), counted per day by the catalogue's volume
KPI through metrics.series, so it is exactly what the dashboard's volume charts show, within the reader's
vendor scope. A series starts on its first day with any volume and ends on the last complete day before its
vendor's data cut-off (the cut-off's own day runs to date and would read as a drop; another vendor's later
data does not extend it).
"""

from __future__ import annotations

import datetime as dt

import pandas as pd

from opsdash import catalog, metrics, periods
from opsdash.capacity import forecast
from opsdash.store import Store

#: The volumes forecast: a KPI of kind count, and the columns that make one series.
VOLUMES: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("work_volume", ("vendor", "process")),
    ("claim_volume", ("vendor",)),
    ("call_volume", ("vendor", "queue")),
)
#: Output columns of history(): the KPI, the series' label and its parts, the day and the volume.
PARTS = ("vendor", "process")


def history(store: Store, kpi_id: str, by: tuple[str, ...], vendors: tuple[str, ...] = ()) -> pd.DataFrame:
    """Daily volumes of one KPI per series: kpi, series, vendor, process (queue for calls; empty for claims),
    ds, y. Days without rows inside a series' span count 0."""
    kpi = catalog.KPIS[kpi_id]
    cut = metrics.data_cut(store, (kpi.table,), vendors)
    out = pd.DataFrame(columns=["kpi", "series", *PARTS, "ds", "y"])
    if cut is None:
        return out
    last = cut - dt.timedelta(days=1)  # the cut-off's day runs to date
    where = {"vendor": list(vendors)} if vendors else None
    df = metrics.series(store, kpi_id, grain="day", by=by, where=where, end=last)
    if df.empty:
        return out
    df = df.assign(y=df["value"].fillna(0).astype(float), ds=pd.to_datetime(df["period_start"]))
    df["vendor"] = df["vendor"].astype(str)
    # Each vendor's own data decides where its series ends: a vendor whose exports stop earlier is not read
    # as a drop to zero (metrics.data_cut).
    own_cut = {v: metrics.data_cut(store, (kpi.table,), (v,)) for v in df["vendor"].unique()}
    df = df[df["ds"] < df["vendor"].map(lambda v: pd.Timestamp(own_cut[v]) if own_cut[v] else pd.Timestamp.min)]
    df["process"] = df[by[1]].astype("string").fillna("") if len(by) > 1 else ""
    df["series"] = df["vendor"] + df["process"].map(lambda p: f" / {p}" if p else "")
    first = df[df["y"] > 0].groupby("series")["ds"].min()
    df = df[df["series"].isin(first.index)]
    df = df[df["ds"] >= df["series"].map(first)]
    return df.assign(kpi=kpi_id)[["kpi", "series", *PARTS, "ds", "y"]].sort_values(["series", "ds"], ignore_index=True)


def forecasts(store: Store, grain: str, kpis: tuple[str, ...] = (), vendors: tuple[str, ...] = ()
              ) -> list[tuple[str, pd.DataFrame, forecast.Forecast]]:
    """(KPI, the series' history at `grain`, its forecast) for every series of VOLUMES (or of `kpis`)."""
    if grain not in forecast.GRAINS:
        raise ValueError(f"grain {grain!r}: expected one of {', '.join(forecast.GRAINS)}")
    out = []
    for kpi_id, by in VOLUMES:
        if kpis and kpi_id not in kpis:
            continue
        daily = history(store, kpi_id, by, vendors)
        if daily.empty:
            continue
        hist = daily[["series", "ds", "y"]] if grain == "day" else forecast.weekly(daily[["series", "ds", "y"]])
        for f in forecast.forecast(hist, grain):
            out.append((kpi_id, hist[hist["series"] == f.series], f))
    return out


def table(results: list[tuple[str, pd.DataFrame, forecast.Forecast]]) -> pd.DataFrame:
    """One row per forecast period (or one per series with no forecast, saying why): what `opsdash forecast`
    prints and a download holds."""
    rows = []
    for kpi_id, _hist, f in results:
        base = {"kpi": kpi_id, "series": f.series, "grain": f.grain, "status": f.status, "model": f.model,
                "accuracy": f.reason}
        if f.status != "ok":
            rows.append(base)
            continue
        chosen, baseline = f.accuracy[f.model], f.accuracy["seasonal_naive"]  # type: ignore[index]
        for p in f.points.itertuples(index=False):
            rows.append({**base, "period_start": pd.Timestamp(p.ds).date(),
                         "period": periods.label(pd.Timestamp(p.ds).date(), f.grain), "forecast": p.mean,
                         **{f"{side}_{lv}": getattr(p, f"{side}_{lv}") for lv in forecast.LEVELS for side in ("lo", "hi")},
                         "backtest_mase": chosen.mase, "baseline_mase": baseline.mase,
                         **{f"backtest_coverage_{lv}": chosen.coverage[lv] for lv in forecast.LEVELS}})
    cols = ["kpi", "series", "grain", "period_start", "period", "forecast",
            *(f"{side}_{lv}" for lv in forecast.LEVELS for side in ("lo", "hi")), "model", "status", "accuracy",
            "backtest_mase", "baseline_mase", *(f"backtest_coverage_{lv}" for lv in forecast.LEVELS)]
    return pd.DataFrame(rows, columns=cols)
