"""What a vendor scope costs: every KPI by month on the page benchmark's store (10M claims, 10M work items,
5M calls), read as everything and as one vendor's account manager (a store scoped to that vendor).

    .venv/bin/python benchmarks/bench_scope.py [--work DIR]

Each pass runs every KPI once to warm up, then once timed. Also the cost of one trivial query, which for a
scoped store includes putting the scope's views in front of every table on its cursor.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))


def timed(store, kpis) -> list[float]:
    from opsdash import metrics

    for k in kpis:
        metrics.series(store, k, grain="month")
    out = []
    for k in kpis:
        t0 = time.perf_counter()
        metrics.series(store, k, grain="month")
        out.append(time.perf_counter() - t0)
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--work", type=Path, default=HERE / "_work")
    args = ap.parse_args()
    import bench_pages

    from opsdash import catalog
    from opsdash.store import Scope, Store

    db = bench_pages.build(args.work)
    everything = Store(db, read_only=True)
    vendor = everything.fetchone("SELECT vendor FROM claims GROUP BY 1 ORDER BY count(*) DESC LIMIT 1")[0]
    scoped = everything.scoped(Scope.of([vendor]))
    print("| reader | KPI median ms | KPI max ms | all 19 KPIs s | trivial query ms |")
    print("|---|---:|---:|---:|---:|")
    for name, store in (("everything", everything), (f"scoped to {vendor}", scoped)):
        ts = timed(store, list(catalog.KPIS))
        t0 = time.perf_counter()
        for _ in range(50):
            store.fetchone("SELECT 1")
        trivial = (time.perf_counter() - t0) / 50
        print(f"| {name} | {statistics.median(ts) * 1000:.1f} | {max(ts) * 1000:.1f} | {sum(ts):.2f} | "
              f"{trivial * 1000:.2f} |")


if __name__ == "__main__":
    main()
