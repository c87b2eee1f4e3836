"""Page benchmark: every dashboard page on a store of 10M claims, 10M work items and 5M calls.

Builds (once, cached in benchmarks/_work/) the store: the KPI benchmark's 10M claims and 10M work items
(see bench_kpis.py), 5M calls made by the opsdash generator, and the generator's service levels and audits,
all loaded with `opsdash ingest`. Then, for every page, through Streamlit's AppTest in this process:

  first:   the page's first run (cold query caches, the store's connection already open)
  warm:    a full rerun with warm caches (median of 3)
  filter:  a vendor filter change with the query caches cleared first (cold)

    .venv/bin/python benchmarks/bench_pages.py [--work DIR]

Targets (2-core machine): every page's warm rerun under 1.5 s; a filter change under 2 s with cold caches.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))

import bench_kpis  # noqa: E402  (the 10M claims + 10M work items store)

CALLS = 5_000_000
SMALL = """
import datetime as dt, sys
from opsdash import sample
table, path, as_of = sys.argv[1], sys.argv[2], dt.date.fromisoformat(sys.argv[3])
sample.write_csv(sample.flat_table(table, 1, 24, 1.0, as_of), path)
"""


def build(work: Path) -> Path:
    db = work / "pages.duckdb"
    if db.exists():
        from opsdash.store import Store

        Store(db).close()  # roll-ups of other declarations are rebuilt
        return db
    base = bench_kpis.build(10_000_000, work)
    tmp = work / "pages.tmp.duckdb"
    shutil.copy(base, tmp)
    opsdash = str(Path(sys.executable).with_name("opsdash"))
    calls = work / f"calls_{CALLS}.csv"
    if not calls.exists():
        subprocess.run([sys.executable, "-c", bench_kpis.MAKE, "calls", str(CALLS), str(calls), bench_kpis.AS_OF],
                       check=True)
    files = [calls]
    for table in ("sla_targets", "qa_audits"):
        path = work / f"{table}.csv"
        subprocess.run([sys.executable, "-c", SMALL, table, str(path), bench_kpis.AS_OF], check=True)
        files.append(path)
    subprocess.run([opsdash, "ingest", "--db", str(tmp), *map(str, files)], check=True, stdout=subprocess.DEVNULL)
    tmp.rename(db)
    return db


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--work", type=Path, default=HERE / "_work")
    args = ap.parse_args()
    args.work.mkdir(parents=True, exist_ok=True)
    db = build(args.work)
    os.environ["OPSDASH_DB"] = str(db)
    os.chdir(ROOT)

    import streamlit as st
    from streamlit.testing.v1 import AppTest

    from opsdash.dashboard import PAGES
    from opsdash.store import Store

    with Store(db, read_only=True) as s:
        counts = s.table_counts()
        # The filter picks a vendor with data on the page: one with calls for the contact centre, else with claims.
        with_calls = s.fetchone("SELECT vendor FROM calls GROUP BY 1 ORDER BY count(*) DESC LIMIT 1")[0]
        with_claims = s.fetchone("SELECT vendor FROM claims GROUP BY 1 ORDER BY count(*) DESC LIMIT 1")[0]
    print(f"machine: {os.cpu_count()} cores; " + ", ".join(f"{t} {n:,}" for t, n in counts.items()))
    print("| page | first run s (cold) | warm rerun s (median of 3) | vendor filter change s (cold caches) |")
    print("|---|---:|---:|---:|")
    for page in PAGES:
        st.cache_data.clear()
        at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=600)
        at.run()  # the default page: st.navigation registers the pages, so switching runs app.py too
        st.cache_data.clear()
        at.switch_page(page.file)
        t = time.perf_counter()
        at.run()
        first = time.perf_counter() - t
        if at.exception:
            raise SystemExit(f"{page.title}: {at.exception[0].value}")
        warm = []
        for _ in range(3):
            t = time.perf_counter()
            at.run()
            warm.append(time.perf_counter() - t)
        st.cache_data.clear()
        at.multiselect(key="vendor").set_value([with_calls if "contact" in page.file else with_claims])
        t = time.perf_counter()
        at.run()
        change = time.perf_counter() - t
        if at.session_state["_filters"].vendors == ():
            raise SystemExit(f"{page.title}: the vendor filter did not apply")
        errors = [e.value for e in at.error]
        if at.exception or errors:
            raise SystemExit(f"{page.title}: {at.exception[0].value if at.exception else errors}")
        print(f"| {page.title} | {first:.2f} | {statistics.median(warm):.2f} | {change:.2f} |", flush=True)


if __name__ == "__main__":
    main()
