"""Ingest benchmark: `opsdash ingest` against a bare DuckDB read of the same CSV.

For each size (default 1M and 10M claims rows made by the opsdash generator) it runs, each in a fresh
process on a fresh store file:
  bare:    CREATE TABLE claims AS SELECT * FROM read_csv(file)   (DuckDB's own type sniffing, no checks)
  opsdash: opsdash ingest --db store file                        (detection, validation, rejects, upsert, lineage)
and prints wall time, rows/s, peak memory (the process's max RSS) and the time ratio. Run:

    .venv/bin/python benchmarks/bench_ingest.py [--rows 1000000 10000000] [--repeat 3] [--work DIR]

Each pair runs --repeat times, bare and opsdash alternating so that a slow spell of the machine falls on both;
the table shows medians (the ratio is of the medians), the highest peak memory of the runs, and the range of
the runs' own ratios.

Targets (2-core machine, issue 13): 10M rows loaded in at most 2x the bare read's time, peak memory under 1.5 GB.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import platform
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
AS_OF = dt.date(2026, 11, 26)


MAKE_CSV = """
import datetime as dt, sys
from opsdash import sample
rows, path = int(sys.argv[1]), sys.argv[2]
as_of = dt.date.fromisoformat(sys.argv[3])
base = sample.flat_table("claims", 1, 24, 1.0, as_of).num_rows
table = sample.flat_table("claims", 1, 24, rows / base * 1.03, as_of)
assert table.num_rows >= rows, (table.num_rows, rows)
sample.write_csv(table.slice(0, rows), path)
"""


def make_csv(rows: int, work: Path) -> Path:
    """Generate in a child process: a big parent would lend its memory high-water mark to every child."""
    path = work / f"claims_{rows}.csv"
    if not path.exists():
        subprocess.run([sys.executable, "-c", MAKE_CSV, str(rows), str(path), AS_OF.isoformat()], check=True)
    return path


def measure(cmd: list[str]) -> tuple[float, float]:
    """Wall seconds and peak resident memory (MiB) of one child process (this process stays small)."""
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL)
    _pid, status, usage = os.wait4(proc.pid, 0)
    seconds = time.perf_counter() - start
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"{cmd[0]} failed with status {status}")
    return seconds, usage.ru_maxrss / 1024


def fresh(path: Path) -> Path:
    for p in (path, Path(str(path) + ".wal")):
        p.unlink(missing_ok=True)
    shutil.rmtree(str(path) + ".tmp", ignore_errors=True)
    return path


def stored_rows(db: Path) -> int:
    code = f"import duckdb; print(duckdb.connect({str(db)!r}, read_only=True).execute('SELECT count(*) FROM claims').fetchone()[0])"
    return int(subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", type=int, nargs="+", default=[1_000_000, 10_000_000])
    ap.add_argument("--repeat", type=int, default=3, help="runs of each, alternating (medians are shown)")
    ap.add_argument("--work", type=Path, default=HERE / "_work")
    args = ap.parse_args()
    args.work.mkdir(parents=True, exist_ok=True)
    opsdash = str(Path(sys.executable).with_name("opsdash"))
    print(f"machine: {os.cpu_count()} cores, {platform.machine()}, Python {platform.python_version()}")
    print(f"medians of {args.repeat} runs each, alternating")
    print("| rows | file MB | bare s | bare rows/s | bare peak MB | opsdash s | opsdash rows/s | opsdash peak MB | ratio "
          "| ratio range |")
    print("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for n in args.rows:
        csv = make_csv(n, args.work)
        sql = f"CREATE TABLE claims AS SELECT * FROM read_csv('{csv}')"
        bare, ops = [], []
        for _ in range(args.repeat):
            bare_db, ops_db = fresh(args.work / "bare.duckdb"), fresh(args.work / "opsdash.duckdb")
            bare.append(measure([sys.executable, "-c", f"import duckdb; duckdb.connect({str(bare_db)!r}).execute({sql!r})"]))
            ops.append(measure([opsdash, "ingest", "--db", str(ops_db), str(csv)]))
            assert stored_rows(ops_db) == stored_rows(bare_db) == n
        bare_s, bare_mb = statistics.median(b[0] for b in bare), max(b[1] for b in bare)
        ops_s, ops_mb = statistics.median(o[0] for o in ops), max(o[1] for o in ops)
        ratios = [o[0] / b[0] for b, o in zip(bare, ops, strict=True)]
        print(f"| {n:,} | {csv.stat().st_size / 1e6:,.0f} | {bare_s:.1f} | {n / bare_s:,.0f} | {bare_mb:,.0f} | "
              f"{ops_s:.1f} | {n / ops_s:,.0f} | {ops_mb:,.0f} | {ops_s / bare_s:.2f}x | "
              f"{min(ratios):.2f}-{max(ratios):.2f}x |", flush=True)


if __name__ == "__main__":
    main()
