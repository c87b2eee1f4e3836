"""KPI benchmark: the engine (DuckDB) against pandas on 10M claims and 10M work items.

Builds (once, cached in benchmarks/_work/) a store holding claims and work items made by the opsdash
generator and loaded with `opsdash ingest`, then for every claims and work-items KPI at month grain by
vendor: the engine's time (warm: median of 5 runs after one warm-up) and the time of the same figures
computed with vectorised pandas on the same rows already in memory (median of 3), and checks both give the
same values.

    .venv/bin/python benchmarks/bench_kpis.py [--rows 10000000] [--work DIR]

Targets (2-core machine): median query under 250 ms; every KPI at least 10x faster than pandas (the backlogs
20x); identical results; `turnaround_hours` within 1.3x of the bare `quantile_cont` query over the same rows
and groups (timed in the same run, through the same gateway).
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

HERE = Path(__file__).resolve().parent
AS_OF = "2026-11-26"
MAKE = """
import datetime as dt, sys
from opsdash import sample
table, rows, path = sys.argv[1], int(sys.argv[2]), sys.argv[3]
as_of = dt.date.fromisoformat(sys.argv[4])
base = sample.flat_table(table, 1, 24, 1.0, as_of).num_rows
t = sample.flat_table(table, 1, 24, rows / base * 1.03, as_of)
assert t.num_rows >= rows, (t.num_rows, rows)
sample.write_csv(t.slice(0, rows), path)
"""


def build(rows: int, work: Path) -> Path:
    db = work / f"kpis_{rows}.duckdb"
    if db.exists():
        from opsdash.store import Store

        t = time.perf_counter()
        Store(db).close()  # opened for writing once: roll-ups made by other declarations are rebuilt
        print(f"store opened for writing in {time.perf_counter() - t:.1f} s")
        return db
    opsdash = str(Path(sys.executable).with_name("opsdash"))
    for table in ("claims", "work_items"):
        csv = work / f"{table}_{rows}.csv"
        if not csv.exists():
            subprocess.run([sys.executable, "-c", MAKE, table, str(rows), str(csv), AS_OF], check=True)
        subprocess.run([opsdash, "ingest", "--db", str(db), str(csv)], check=True, stdout=subprocess.DEVNULL)
    return db


#: The smallest query giving turnaround_hours' figures: its exact median per month and vendor, nothing else.
BARE_MEDIAN = ("SELECT CAST(date_trunc('month', completed_at) AS DATE) AS period_start, vendor, "
               "quantile_cont(epoch(completed_at - opened_at) / 3600.0, 0.5) AS value "
               "FROM work_items WHERE completed_at IS NOT NULL GROUP BY ALL")


def timed(run, reps: int = 5) -> tuple[float, float, object]:
    """Median seconds of `reps` runs after one warm-up (wall clock, and this process's CPU time, which a busy
    machine disturbs less), and the last result."""
    run()
    wall, cpu = [], []
    for _ in range(reps):
        t, c = time.perf_counter(), time.process_time()
        got = run()
        wall.append(time.perf_counter() - t)
        cpu.append(time.process_time() - c)
    return statistics.median(wall), statistics.median(cpu), got


# -- the same figures in pandas ---------------------------------------------------------------------

def month(s: pd.Series) -> pd.Series:
    return pd.to_datetime(s).dt.to_period("M")


def pandas_kpi(kpi: str, c: pd.DataFrame, w: pd.DataFrame, as_of: pd.Timestamp) -> pd.Series:
    """KPI value by (month, vendor), from raw rows, as kpis.md defines it."""
    if kpi == "claim_volume":
        return c.groupby([month(c["received_date"]), c["vendor"]]).size().astype(float)
    if kpi in ("claim_turnaround_days", "claim_turnaround_p90_days"):
        s = c[c["submitted_date"].notna()]
        days = (s["submitted_date"] - s["received_date"]).dt.days
        q = 0.9 if kpi.endswith("p90_days") else 0.5
        return days.groupby([month(s["submitted_date"]), s["vendor"]]).quantile(q)
    if kpi == "clean_claim_rate":
        s = c[c["submitted_date"].notna()]
        g = s.groupby([month(s["submitted_date"]), s["vendor"]])["clean_submission"]
        return (g.sum() / g.count()).where(g.count() > 0)
    if kpi == "initial_denial_rate":
        s = c[c["initial_outcome"].notna()]
        return (s["initial_outcome"] == "denied").groupby([month(s["adjudicated_date"]), s["vendor"]]).mean()
    if kpi == "unbilled_backlog":
        return _backlog(c["vendor"], c["received_date"], c["submitted_date"], as_of, strict=False)
    if kpi == "work_volume":
        return w.groupby([month(w["opened_at"]), w["vendor"]]).size().astype(float)
    if kpi == "sla_adherence":
        t = w["due_at"].fillna(w["completed_at"]).fillna(w["opened_at"])
        due = w["due_at"].notna()
        assess = np.where(due, w["completed_at"].notna() | (w["due_at"] <= as_of), w["completed_at"].notna() & w["sla_met"].notna())
        met = np.where(due, (w["completed_at"] <= w["due_at"]).fillna(False), w["sla_met"].fillna(False).astype(bool))
        frame = pd.DataFrame({"m": month(t), "v": w["vendor"], "a": assess, "n": assess & met})
        g = frame.groupby(["m", "v"])
        return g["n"].sum() / g["a"].sum()
    if kpi == "turnaround_hours":
        s = w[w["completed_at"].notna()]
        hours = (s["completed_at"] - s["opened_at"]).dt.total_seconds() / 3600
        return hours.groupby([month(s["completed_at"]), s["vendor"]]).median()
    if kpi == "overdue_backlog":
        return _backlog(w["vendor"], w["due_at"], w["completed_at"], as_of, strict=True)
    raise KeyError(kpi)


def _backlog(vendor: pd.Series, t_in: pd.Series, t_out: pd.Series, as_of: pd.Timestamp, strict: bool) -> pd.Series:
    """Rows in by each month's end (or as-of) and not out by then: cumulative counts of entries and exits."""
    enter = pd.to_datetime(t_in) + (pd.Timedelta(microseconds=1) if strict else pd.Timedelta(0))
    leave = pd.concat([enter, pd.to_datetime(t_out)], axis=1).max(axis=1).where(t_out.notna())
    out = {}
    first = enter.min().to_period("M")
    for v in vendor.unique():
        e_v, l_v = np.sort(enter[vendor == v].dropna().to_numpy()), np.sort(leave[vendor == v].dropna().to_numpy())
        for p in pd.period_range(first, as_of.to_period("M"), freq="M"):
            end = min(p.end_time, as_of).to_datetime64()
            n_in = np.searchsorted(e_v, end, side="right")
            if n_in:
                out[(p, v)] = float(n_in - np.searchsorted(l_v, end, side="right"))
    return pd.Series(out)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", type=int, default=10_000_000)
    ap.add_argument("--work", type=Path, default=HERE / "_work")
    args = ap.parse_args()
    args.work.mkdir(parents=True, exist_ok=True)
    db = build(args.rows, args.work)

    from opsdash import catalog, metrics, rollups
    from opsdash.store import Store

    store = Store(db, read_only=True)
    kpis = [k for k, kpi in catalog.KPIS.items() if kpi.table in ("claims", "work_items")]
    # The engine first, before 20M rows of pandas frames fill this process's memory; then pandas.
    engine: dict[str, tuple[float, pd.DataFrame]] = {}
    from_rows: dict[str, float] = {}
    for kpi_id in kpis:
        for use_rollups in (False, True):  # the engine as it runs, and reading the rows for comparison
            metrics.USE_ROLLUPS = use_rollups
            metrics.series(store, kpi_id, grain="month", by=["vendor"])  # warm-up
            runs = []
            for _ in range(5):
                t = time.perf_counter()
                got = metrics.series(store, kpi_id, grain="month", by=["vendor"])
                runs.append(time.perf_counter() - t)
            if use_rollups:
                engine[kpi_id] = (statistics.median(runs), got)
            else:
                from_rows[kpi_id] = statistics.median(runs)
    c = store.query("SELECT vendor, received_date, submitted_date, clean_submission, adjudicated_date, "
                    "initial_outcome FROM claims")
    for col in ("received_date", "submitted_date", "adjudicated_date"):
        c[col] = pd.to_datetime(c[col])
    w = store.query("SELECT vendor, opened_at, due_at, completed_at, sla_met FROM work_items")
    print(f"machine: {os.cpu_count()} cores; claims {len(c):,}, work items {len(w):,}")
    print("| KPI | engine ms (warm, median of 5) | from rows ms | pandas ms (median of 3) | speed-up | same values |")
    print("|---|---:|---:|---:|---:|:---:|")
    for kpi_id in kpis:
        engine_s, got = engine[kpi_id]
        as_of = metrics.default_as_of(store, catalog.KPIS[kpi_id].table)
        pandas_runs = []
        for _ in range(3):  # pandas varies more from run to run (memory, GC): its median too
            t = time.perf_counter()
            want = pandas_kpi(kpi_id, c, w, pd.Timestamp(as_of))
            pandas_runs.append(time.perf_counter() - t)
        pandas_s = statistics.median(pandas_runs)
        have = got.dropna(subset=["value"]).set_index(["period_start", "vendor"])["value"].astype(float)
        want.index = pd.MultiIndex.from_arrays([want.index.get_level_values(0).map(lambda p: p.start_time.date()),
                                                want.index.get_level_values(1)])
        want = want.dropna().reindex(have.index)
        same = len(have) > 0 and np.allclose(have.to_numpy(), want.to_numpy(), rtol=1e-9, equal_nan=False)
        kpi = catalog.KPIS[kpi_id]
        has_rollup = rollups.for_kpi(kpi) is not None or rollups.for_backlog(kpi) is not None
        rows_ms = f"{from_rows[kpi_id] * 1000:,.0f}" if has_rollup else "same"
        print(f"| {kpi_id} | {engine_s * 1000:,.0f} | {rows_ms} | {pandas_s * 1000:,.0f} | {pandas_s / engine_s:,.0f}x | "
              f"{'yes' if same else 'NO'} |", flush=True)
    print(f"median engine query: {statistics.median(e for e, _ in engine.values()) * 1000:,.0f} ms")
    metrics.USE_ROLLUPS = True
    bare_s, bare_cpu, bare = timed(lambda: store.query(BARE_MEDIAN))
    kpi_s, kpi_cpu, kpi = timed(lambda: metrics.series(store, "turnaround_hours", grain="month", by=["vendor"]))
    have = kpi.dropna(subset=["value"]).set_index(["period_start", "vendor"])["value"].astype(float).sort_index()
    want = bare.assign(period_start=pd.to_datetime(bare["period_start"]).dt.date).set_index(
        ["period_start", "vendor"])["value"].astype(float).sort_index()
    same = have.index.equals(want.index) and np.allclose(have.to_numpy(), want.to_numpy(), rtol=1e-12)
    print(f"turnaround_hours {kpi_s * 1000:,.0f} ms against the bare quantile_cont query {bare_s * 1000:,.0f} ms "
          f"(both warm, median of 5): {kpi_s / bare_s:.2f}x; CPU {kpi_cpu * 1000:,.0f} against {bare_cpu * 1000:,.0f} ms: "
          f"{kpi_cpu / bare_cpu:.2f}x; same values: {'yes' if same else 'NO'}")


if __name__ == "__main__":
    main()
