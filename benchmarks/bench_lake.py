"""The lake at scale: Spark local against DuckDB on the same Parquet, as the rows grow.

For each size (default 10M, 30M and 100M rows across 50 tenants, made by `opsdash lake generate` in
`benchmarks/_work/`, ignored by git, and kept for the next run) it times, each in a fresh process:

- **kpi**: a month x vendor KPI over every tenant's rows pooled: the clean claim rate (a ratio) and the 90th
  percentile of claim turnaround (an exact quantile, the costly kind);
  - duckdb: `metrics.series` on a scratch store whose tables are views over the lake's files
    (`queries.lake_views`): the catalogue's own DuckDB SQL reading the Parquet;
  - spark: `opsdash.spark.engine.series` on a `local[2]` session over the same files.
- **portfolio**: every benchmarked KPI per tenant, vendor and complete month, then each tenant's value against
  the quartiles of the same vendor at the other tenants (leave one out);
  - duckdb: the same `metrics.series`, grouped by tenant and vendor (tenant made a dimension for this run
    only), and the leave-one-out quartiles in DuckDB SQL (`quantile_cont`);
  - spark: `opsdash.spark.portfolio.compute`, what the `portfolio` job runs.

Both engines get the machine's 2 cores (DuckDB's default threads, Spark `local[2]`) and the same memory: Spark's
driver, which in local mode is also its executor, `--memory` of heap, and DuckDB the same memory limit
(OPSDASH_MEMORY_LIMIT; a store opened for writing is otherwise capped at 1 GB). Spark runs with the settings
opsdash.spark.engine.session gives every session (UTC, no partition type inference, schema merging) and its
defaults otherwise (adaptive query execution on, 200 shuffle partitions). The two engines' results are compared at every size (counts exact, values within
1e-9 relative): a figure of speed is worth nothing if the numbers differ.

Peak memory is the largest resident set of the measured process and all its descendants together (Spark's JVM
is a child of the Python driver), sampled every 0.1 s from /proc.

    .venv/bin/python benchmarks/bench_lake.py                      # 10M, 30M, 100M
    .venv/bin/python benchmarks/bench_lake.py --sizes 1M --tenants 10
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
WORK = HERE / "_work"
AS_OF = dt.date(2026, 11, 30)
KPIS = ("clean_claim_rate", "claim_turnaround_p90_days")


# -- the measured work, in a child process --------------------------------------------------------------------
def _duckdb_kpi(lake: str, out: Path) -> dict:
    import pandas as pd

    from opsdash import metrics, queries
    from opsdash.store import Store

    metrics.USE_ROLLUPS = False
    timings, frames = {}, []
    with tempfile.TemporaryDirectory() as tmp, Store(Path(tmp) / "views.duckdb") as s:
        queries.lake_views(s, lake, None)
        for kpi in KPIS:
            t = time.perf_counter()
            frames.append(metrics.series(s, kpi, grain="month", by=("vendor",)).assign(kpi=kpi))
            timings[kpi] = time.perf_counter() - t
    pd.concat(frames, ignore_index=True).to_parquet(out)
    return timings


def _spark_session():
    from opsdash.spark import engine

    t = time.perf_counter()
    spark = engine.session("local[2]", app="opsdash-bench")
    spark.sparkContext.setLogLevel("ERROR")
    return spark, time.perf_counter() - t


def _spark_kpi(lake: str, out: Path) -> dict:
    import pandas as pd

    from opsdash.spark import engine

    spark, started = _spark_session()
    timings, frames = {"session": started}, []
    lk = engine.Lake(spark, lake, every_tenant=True)
    for kpi in KPIS:
        t = time.perf_counter()
        frames.append(engine.series(lk, kpi, grain="month", by=("vendor",)).assign(kpi=kpi))
        timings[kpi] = time.perf_counter() - t
    spark.stop()
    pd.concat(frames, ignore_index=True).to_parquet(out)
    return timings


LEAVE_ONE_OUT = """
SELECT a.tenant, a.kpi, a.vendor, a.period_start, a.value, count(b.value) AS others,
       quantile_cont(b.value, 0.25) AS others_p25, quantile_cont(b.value, 0.5) AS others_median,
       quantile_cont(b.value, 0.75) AS others_p75,
       (count_if(b.value < a.value) + 0.5 * count_if(b.value = a.value)) / count(b.value) AS share_below
FROM vals a JOIN vals b ON a.kpi = b.kpi AND a.vendor = b.vendor AND a.period_start = b.period_start
                           AND a.tenant <> b.tenant
GROUP BY ALL HAVING count(b.value) >= $min_others
"""


def _duckdb_portfolio(lake: str, out: Path) -> dict:
    import duckdb
    import pandas as pd

    from opsdash import catalog, metrics, periods, queries
    from opsdash.spark import portfolio
    from opsdash.store import Store

    metrics.USE_ROLLUPS = False
    for table in list(catalog.DIMENSIONS):  # this run only: tenant as a dimension of the pooled views
        catalog.DIMENSIONS[table] = (*catalog.DIMENSIONS[table], "tenant")
    t = time.perf_counter()
    parts = []
    with tempfile.TemporaryDirectory() as tmp, Store(Path(tmp) / "views.duckdb") as s:
        queries.lake_views(s, lake, None)
        kpis = portfolio.benchmarked()
        # Each tenant's latest event per vendor and table: a month is compared once complete there.
        cuts = {}
        for table in sorted({k.table for k in kpis}):
            cols = [f"max(CAST({c} AS TIMESTAMP))" for c in catalog.EVENT_TIMES[table]]
            latest = f"greatest({', '.join(cols)})" if len(cols) > 1 else cols[0]
            for tenant, vendor, cut in s.fetchall(f"SELECT tenant, vendor, {latest} FROM {table} GROUP BY ALL"):
                if cut is not None:
                    cuts[(table, tenant, vendor)] = cut.date()
        for kpi in kpis:
            df = metrics.series(s, kpi.id, grain="month", by=("tenant", "vendor"))
            df = df.dropna(subset=["value"])
            end = df["period_start"].map(lambda p: periods.shift(p, "month", 1) - dt.timedelta(days=1))
            cut = [cuts.get((kpi.table, a, b)) for a, b in zip(df["tenant"], df["vendor"], strict=True)]
            whole = [c is not None and e < c for e, c in zip(end, cut, strict=True)]
            parts.append(df[whole].assign(kpi=kpi.id)[["tenant", "kpi", "vendor", "period_start", "value"]])
    values = time.perf_counter() - t
    vals = pd.concat(parts, ignore_index=True)
    t = time.perf_counter()
    con = duckdb.connect()
    con.register("vals", vals)
    got = con.execute(LEAVE_ONE_OUT, {"min_others": portfolio.MIN_OTHERS}).df()
    quartiles = time.perf_counter() - t
    got.to_parquet(out)
    return {"values": values, "quartiles": quartiles, "rows": len(got)}


def _spark_portfolio(lake: str, out: Path) -> dict:
    from opsdash.spark import portfolio

    spark, started = _spark_session()
    t = time.perf_counter()
    df = portfolio.compute(spark, lake).select("tenant", *portfolio.COLUMNS).toPandas()
    job = time.perf_counter() - t
    spark.stop()
    df.to_parquet(out)
    return {"session": started, "job": job, "rows": len(df)}


WORKERS = {("duckdb", "kpi"): _duckdb_kpi, ("spark", "kpi"): _spark_kpi,
           ("duckdb", "portfolio"): _duckdb_portfolio, ("spark", "portfolio"): _spark_portfolio}


# -- the parent: generate, measure, compare -------------------------------------------------------------------
def _tree_rss(root: int) -> int:
    """Resident bytes of `root` and every descendant, now."""
    kids: dict[int, list[int]] = {}
    rss: dict[int, int] = {}
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            with open(f"/proc/{d}/stat") as f:
                stat = f.read()
        except OSError:
            continue
        fields = stat[stat.rindex(")") + 2:].split()
        kids.setdefault(int(fields[1]), []).append(int(d))
        rss[int(d)] = int(fields[21]) * os.sysconf("SC_PAGE_SIZE")
    total, todo = 0, [root]
    while todo:
        p = todo.pop()
        total += rss.get(p, 0)
        todo.extend(kids.get(p, []))
    return total


def measure(cmd: list[str], env: dict[str, str]) -> tuple[float, float, dict]:
    """Wall seconds, peak resident MiB of the process tree, and what the child reported."""
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, env=env, text=True)
    peak, done = 0, threading.Event()

    def poll() -> None:
        nonlocal peak
        while not done.is_set():
            peak = max(peak, _tree_rss(proc.pid))
            done.wait(0.1)

    watcher = threading.Thread(target=poll, daemon=True)
    watcher.start()
    stdout, _ = proc.communicate()
    done.set()
    watcher.join()
    seconds = time.perf_counter() - start
    if proc.returncode != 0:
        raise SystemExit(f"{' '.join(cmd)} failed with exit {proc.returncode}")
    return seconds, peak / 2**20, json.loads(stdout.strip().splitlines()[-1])


def generate(rows: int, tenants: int, env: dict[str, str]) -> tuple[Path, dict]:
    lake = WORK / f"lake-{tenants}t-{rows}"
    info = WORK / f"lake-{tenants}t-{rows}.json"
    if not info.exists():
        shutil.rmtree(lake, ignore_errors=True)
        cmd = [sys.executable, "-m", "opsdash", "lake", "generate", "--lake", str(lake), "--tenants", str(tenants),
               "--rows", str(rows), "--as-of", AS_OF.isoformat(), "--seed", "1", "--jobs", "2"]
        start = time.perf_counter()
        out = subprocess.run(cmd, capture_output=True, text=True, check=True, env=env).stdout
        seconds = time.perf_counter() - start
        claims = int(next(line for line in out.splitlines() if "Claims:" in line).split()[1].replace(",", ""))
        total = int(re.search(r"([\d,]+) rows in", out).group(1).replace(",", ""))
        size = sum(p.stat().st_size for p in lake.rglob("*.parquet"))
        files = sum(1 for _ in lake.rglob("*.parquet"))
        info.write_text(json.dumps({"seconds": seconds, "rows": total, "claims": claims, "bytes": size,
                                    "files": files}))
    return lake, json.loads(info.read_text())


def compare_kpi(a, b) -> str:
    import numpy as np

    key = ["kpi", "period_start", "vendor"]
    m = a.merge(b, on=key, how="outer", suffixes=("_d", "_s"), indicator=True)
    if not (m["_merge"] == "both").all():
        return f"DIFFERENT: {int((m['_merge'] != 'both').sum())} rows on one engine only"
    for c in ("numerator", "denominator", "n"):
        if f"{c}_d" in m and not (m[f"{c}_d"].fillna(-1) == m[f"{c}_s"].fillna(-1)).all():
            return f"DIFFERENT {c}"
    v = m.dropna(subset=["value_d"])
    if m["value_d"].isna().ne(m["value_s"].isna()).any() or not np.allclose(v["value_d"], v["value_s"], rtol=1e-9, atol=0):
        return "DIFFERENT values"
    return f"equal ({len(m):,} rows)"


def compare_portfolio(a, b) -> str:
    import numpy as np
    import pandas as pd

    key = ["tenant", "kpi", "vendor", "period_start"]
    for df in (a, b):
        df["period_start"] = pd.to_datetime(df["period_start"]).dt.date
    m = a.merge(b, on=key, how="outer", suffixes=("_d", "_s"), indicator=True)
    if not (m["_merge"] == "both").all():
        return f"DIFFERENT: {int((m['_merge'] != 'both').sum())} rows on one engine only"
    if not (m["others_d"] == m["others_s"]).all():
        return "DIFFERENT others"
    for c in ("value", "others_p25", "others_median", "others_p75"):
        if not np.allclose(m[f"{c}_d"], m[f"{c}_s"], rtol=1e-9, atol=1e-12):
            return f"DIFFERENT {c}"
    # A tie decided by the last bit of a mean may count half on one engine and whole on the other.
    ties = int((~np.isclose(m["share_below_d"], m["share_below_s"], rtol=0, atol=1e-12)).sum())
    if (np.abs(m["share_below_d"] - m["share_below_s"]) > 0.5 / m["others_d"] + 1e-12).any():
        return "DIFFERENT share_below"
    return f"equal ({len(m):,} rows{f'; {ties} ties split by a last bit' if ties else ''})"


def main() -> None:
    import pandas as pd

    from opsdash.sample import lakes

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", default="10M,30M,100M", help="Rows in each lake, comma-separated (10M, 1.5B...).")
    ap.add_argument("--tenants", type=int, default=50)
    ap.add_argument("--memory", default="12g", help="Spark's driver heap (local mode: the executor too), and DuckDB's "
                    "memory limit.")
    ap.add_argument("--what", default="kpi,portfolio")
    ap.add_argument("--engines", default="duckdb,spark")
    args = ap.parse_args()
    WORK.mkdir(exist_ok=True)
    env = dict(os.environ, PYSPARK_SUBMIT_ARGS=f"--driver-memory {args.memory} pyspark-shell",
               OPSDASH_MEMORY_LIMIT=args.memory.upper().rstrip("B") + "B", PYTHONPATH=str(HERE.parent / "src"))
    import duckdb
    import pyspark

    print(f"# {dt.datetime.now():%Y-%m-%d %H:%M}, {platform.machine()}, {os.cpu_count()} cores, "
          f"Python {platform.python_version()}, DuckDB {duckdb.__version__}, pyspark {pyspark.__version__}, "
          f"Spark driver heap and DuckDB memory limit {args.memory}")
    print("| lake rows | claims rows | Parquet MB | files | work | engine | wall s | of which | peak MB | "
          "result |")
    print("|---:|---:|---:|---:|---|---|---:|---|---:|---|")
    for size in args.sizes.split(","):
        rows = lakes.parse_rows(size)
        lake, info = generate(rows, args.tenants, env)
        print(f"| {info['rows']:,} | {info['claims']:,} | {info['bytes'] / 2**20:,.0f} | {info['files']:,} | "
              f"generate | - | {info['seconds']:,.0f} | {args.tenants} tenants, 2 processes | - | - |", flush=True)
        for what in args.what.split(","):
            results = {}
            for eng in args.engines.split(","):
                out = WORK / f"result-{what}-{eng}.parquet"
                cmd = [sys.executable, __file__, "--one", eng, what, str(lake), str(out)]
                seconds, peak, said = measure(cmd, env)
                results[eng] = pd.read_parquet(out)
                inner = ", ".join(f"{k} {v:,.1f} s" if isinstance(v, float) else f"{k} {v:,}" for k, v in said.items())
                results[f"{eng}_line"] = (seconds, peak, inner)
            verdict = "-"
            if {"duckdb", "spark"} <= set(results):
                cmp = compare_kpi if what == "kpi" else compare_portfolio
                verdict = cmp(results["duckdb"], results["spark"])
            for eng in args.engines.split(","):
                seconds, peak, inner = results[f"{eng}_line"]
                print(f"| {info['rows']:,} | {info['claims']:,} | {info['bytes'] / 2**20:,.0f} | {info['files']:,} | "
                      f"{what} | {eng} | {seconds:,.1f} | {inner} | {peak:,.0f} | {verdict} |", flush=True)


if __name__ == "__main__":
    if len(sys.argv) == 6 and sys.argv[1] == "--one":
        _, _, engine_name, what_name, lake_dir, out_file = sys.argv
        said = WORKERS[(engine_name, what_name)](lake_dir, Path(out_file))
        print(json.dumps(said))
    else:
        main()
