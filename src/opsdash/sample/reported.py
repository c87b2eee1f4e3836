"""What each vendor reports monthly: the engine's figures over the vendor's own rows, flattered where a
story says so (Helix's denial rate in its last months, ClearView's outage month).

The figures come from ``metrics.series`` on a scratch store loaded with the rows as the vendors' systems
hold them (every row, none rejected), so a vendor's honest figure is the dashboard's own definition.
"""

from __future__ import annotations

import datetime as dt
import tempfile
from pathlib import Path

import pandas as pd

from opsdash import metrics
from opsdash.ingest.folders import load_folder
from opsdash.sample.stories import DENIAL_DRIFT, OUTAGE, VENDOR_NAMES, Timeline
from opsdash.sample.tables import to_arrow, write_csv
from opsdash.store import Store

#: Each vendor's monthly report: vendor key, KPI and process (None: every process), in the order written.
REPORTS: tuple[tuple[str, str, str | None], ...] = (
    ("meridian", "clean_claim_rate", None),
    ("helix", "clean_claim_rate", None),
    ("helix", "initial_denial_rate", None),
    ("clearview", "sla_adherence", "radiology_read"),
    ("iberica", "service_level", None),
    ("iberica", "abandonment_rate", None),
)
COLUMNS = ["vendor", "kpi", "process", "period_start", "period_end", "value"]


def measured(tl: Timeline, frames: dict[str, pd.DataFrame]) -> dict[tuple[str, str, str | None], dict[dt.date, float]]:
    """Each report's monthly value from the engine, over the given contract tables' rows (months without
    rows are left out)."""
    out: dict[tuple[str, str, str | None], dict[dt.date, float]] = {}
    with tempfile.TemporaryDirectory(prefix="opsdash-sample-") as tmp:
        folder = Path(tmp) / "rows"
        folder.mkdir()
        for table, df in frames.items():
            write_csv(to_arrow(table, df), folder / f"{table}.csv")
        with Store(Path(tmp) / "scratch.duckdb") as store:
            refused = [r for r in load_folder(store, folder) if r.status != "loaded" or r.rows_rejected]
            if refused:  # the generator's own rows must load whole, or the reports would be wrong
                raise RuntimeError("the sample's rows did not load whole: "
                                   + "; ".join(f"{r.file}: {r.message or r.rows_rejected}" for r in refused))
            for key, kpi, process in REPORTS:
                where = {"vendor": [VENDOR_NAMES[key]], **({"process": [process]} if process else {})}
                s = metrics.series(store, kpi, grain="month", where=where, start=tl.start, end=tl.as_of)
                out[(key, kpi, process)] = {p: float(v) for p, v in zip(s["period_start"], s["value"]) if pd.notna(v)}
    return out


def reported_kpis(tl: Timeline, cl: pd.DataFrame, wi: pd.DataFrame, ca: pd.DataFrame) -> pd.DataFrame:
    """The vendors' monthly reports over their complete months: honest, but for the stories' flattery."""
    values = measured(tl, {"claims": cl, "work_items": wi, "calls": ca})
    months = tl.complete_months()
    capped = {ms for ms, _ in months[-DENIAL_DRIFT.reported_months:]}
    outage_month = tl.outage_start.replace(day=1)
    rows = []
    for ms, me in months:
        for key, kpi, process in REPORTS:
            value = values[(key, kpi, process)].get(ms)
            if value is None:
                continue
            if (key, kpi) == (DENIAL_DRIFT.vendor, "initial_denial_rate") and ms in capped:
                value = min(value, DENIAL_DRIFT.reported_cap)  # Helix keeps reporting under 5%
            if (key, kpi) == (OUTAGE.vendor, "sla_adherence") and ms == outage_month:
                value = max(value, OUTAGE.reported_floor)  # ClearView leaves its outage out ("force majeure")
            rows.append((VENDOR_NAMES[key], kpi, process, ms, me, round(value, 4)))
    return pd.DataFrame(rows, columns=COLUMNS)
