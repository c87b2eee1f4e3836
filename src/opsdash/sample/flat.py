"""One plain CSV per contract table with the final state of every row (for benchmarks and large tests)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pandas as pd
import pyarrow as pa

from opsdash.sample.reported import reported_kpis
from opsdash.sample.stories import Timeline
from opsdash.sample.tables import (calls, claims, events, qa_audits, sla_targets, staffing, to_arrow, work_items,
                                   write_csv)


def flat_frame(table: str, seed: int, tl: Timeline, scale: float) -> pd.DataFrame:
    """One table's rows as the vendors' systems hold them on the timeline's as-of date."""
    makers = {"claims": claims, "work_items": work_items, "calls": calls, "qa_audits": qa_audits}
    if table in makers:
        return makers[table](seed, tl, scale)
    if table == "sla_targets":
        return sla_targets(tl)
    if table == "events":
        return events(tl)
    if table == "staffing":
        return staffing(seed, tl, scale)
    return reported_kpis(tl, claims(seed, tl, scale), work_items(seed, tl, scale), calls(seed, tl, scale))


def flat_table(table: str, seed: int, months: int, scale: float, as_of: dt.date | None = None) -> pa.Table:
    """One table's final state with the contract's columns, as Arrow (dates as dates)."""
    return to_arrow(table, flat_frame(table, seed, Timeline(as_of or dt.date.today(), months), scale))


def write_flat(out: Path, seed: int, months: int, scale: float, as_of: dt.date | None,
               tables: list[str]) -> list[Path]:
    """One CSV per table with the contract's headers and the final state of every row (benchmarks)."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    return [write_csv(flat_table(t, seed, months, scale, as_of), out / f"{t}.csv") for t in tables]
