"""Capacity benchmark: each sample vendor's outlook (forecasts of every volume at day and week with their
backtests, contact-centre staffing by Erlang A, back-office projections), cold, and the Capacity page through
Streamlit's AppTest: a dashboard's first view of a vendor after a load (nothing cached), its warm reruns, and the
first view after a restart, when the outlook comes from the on-disk cache (Streamlit's persist="disk").

    PYTHONPATH=src .venv/bin/python benchmarks/bench_capacity.py [--db PATH]

Builds the sample store (opsdash demo) in benchmarks/_work/capacity.duckdb unless --db names one. Each page
measurement starts a `streamlit run` (the disk cache exists only under Streamlit's runtime, not in AppTest) with
its own empty HOME, so ~/.streamlit/cache starts empty, and opens the page in chromium: the times are the
server's own run of each view (OPSDASH_RUN_LOG). The "restart" server shares the HOME of the first, as a
restarted dashboard shares its disk cache.

Targets (issue 14, item 7; the page-speed targets of bench_pages.py): forecasts and backtests for the sample's
vendors under 30 s cold; the Capacity page's warm rerun under 1.5 s and, cached per load, a vendor's first view
after a restart under 2 s.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # tests.browser: the test suite's server and chromium
WORK = ROOT / "benchmarks" / "_work"

def page_times(db: Path, vendor: str, home: str, views: tuple[str, ...]) -> list[float]:
    """One `streamlit run` with HOME at `home`: the Capacity page of `vendor` in each of `views` in turn, in one
    browser page; the server-side run time of each (OPSDASH_RUN_LOG), in order."""
    from urllib.parse import quote_plus

    from tests.browser import chromium, served, settled

    runs = Path(home) / "runs.jsonl"
    runs.unlink(missing_ok=True)
    env = {"OPSDASH_DB": str(db), "HOME": home, "OPSDASH_OUTLOOK_CACHE": "disk", "OPSDASH_RUN_LOG": str(runs)}
    with served(env) as url, chromium() as browser:
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        for n, view in enumerate(views, 1):
            page.goto(f"{url}/capacity?cap_vendor={quote_plus(vendor)}&capacity_view={quote_plus(view)}")
            page.wait_for_selector("[data-testid='stMain'] h1", timeout=120_000)
            while len(logged(runs)) < n:  # this view's run has ended (not only begun)
                page.wait_for_timeout(100)
            settled(page)
    return logged(runs)


def logged(runs: Path) -> list[float]:
    """The Capacity page's server-side run times logged so far."""
    lines = runs.read_text().splitlines() if runs.exists() else []
    return [json.loads(x)["seconds"] for x in lines if json.loads(x)["page"] == "Capacity"]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--db", type=Path, default=None)
    args = ap.parse_args()
    db = args.db or WORK / "capacity.duckdb"
    if not db.exists():
        WORK.mkdir(parents=True, exist_ok=True)
        subprocess.run([str(Path(sys.executable).with_name("opsdash")), "demo", "--db", str(db)], check=True)

    started = time.perf_counter()
    from opsdash import queries
    from opsdash.capacity import outlook
    from opsdash.store import Store

    with Store(db, read_only=True) as store:
        vendors = queries.vendors(store)
        imported = time.perf_counter()
        print("| vendor | series (day + week) | queues | processes | outlook s (cold) |\n|---|---:|---:|---:|---:|")
        for v in vendors:
            t = time.perf_counter()
            o = outlook.outlook(store, v)
            print(f"| {v} | {len(o.daily) + len(o.weekly)} | {len(o.queues)} | {len(o.projections)} | "
                  f"{time.perf_counter() - t:.1f} |")
    done = time.perf_counter()
    print(f"\nevery vendor's outlook, cold: {done - started:.1f} s (imports {imported - started:.1f} s); target 30 s\n")

    print("| vendor | first view after a load s | again s | contact section s | back-office section s | "
          "first view after a restart s (disk cache) |\n|---|---:|---:|---:|---:|---:|")
    views = ("Work coming", "Work coming", "Contact-centre staffing", "Back-office backlog")
    for v in vendors:
        with tempfile.TemporaryDirectory() as home:
            cold = page_times(db, v, home, views)
            again = page_times(db, v, home, views[:1])
        print(f"| {v} | {cold[0]:.2f} | {cold[1]:.2f} | {cold[2]:.2f} | {cold[3]:.2f} | {again[0]:.2f} |")
    print("\ntargets: a view again under 1.5 s; the first view after a restart (cached per load) under 2 s")


if __name__ == "__main__":
    main()
