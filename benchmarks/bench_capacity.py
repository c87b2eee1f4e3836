"""Capacity benchmark: each sample vendor's outlook (forecasts of every volume at day and week with their
backtests, contact-centre staffing by Erlang A, back-office projections) made cold; what keeping them all adds to
a load (capacity.outlook.keep: made, encoded and written to the store); and the Capacity page and the Overview
in a real `streamlit run` after a load, when the outlooks come from the store.

    PYTHONPATH=src .venv/bin/python benchmarks/bench_capacity.py [--db PATH]

Builds the sample store (opsdash demo, which keeps the outlooks) in benchmarks/_work/capacity.duckdb unless --db
names one. Each page measurement starts a `streamlit run` with its own empty HOME (so Streamlit's disk cache,
~/.streamlit/cache, starts empty: a dashboard's first view after a load) and opens the pages in chromium: the
times are the server's own run of each view (OPSDASH_RUN_LOG). The "restart" server shares the HOME of the first.

Targets (issue 14, item 7; the page-speed targets of bench_pages.py): forecasts and backtests for the sample's
vendors under 30 s cold; cached per load, a vendor's first view on the Capacity page and the Overview's first
view under 2 s; a view again under 1.5 s.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import quote_plus

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # tests.browser: the test suite's server and chromium
WORK = ROOT / "benchmarks" / "_work"

def page_times(db: Path, home: str, paths: tuple[str, ...]) -> list[float]:
    """One `streamlit run` with HOME at `home`: each of `paths` (a page and its query) in turn, in one browser
    page; the server-side run time of each (OPSDASH_RUN_LOG), in order."""
    from tests.browser import chromium, served, settled

    runs = Path(home) / "runs.jsonl"
    runs.unlink(missing_ok=True)
    env = {"OPSDASH_DB": str(db), "HOME": home, "OPSDASH_OUTLOOK_CACHE": "disk", "OPSDASH_RUN_LOG": str(runs)}
    with served(env) as url, chromium() as browser:
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        for n, path in enumerate(paths, 1):
            page.goto(f"{url}/{path}")
            page.wait_for_selector("[data-testid='stMain'] h1", timeout=120_000)
            while len(logged(runs)) < n:  # this view's run has ended (not only begun)
                page.wait_for_timeout(100)
            settled(page)
    return logged(runs)


def after_a_load(db: Path, home: str, paths: tuple[str, ...]) -> tuple[list[float], list[float], float]:
    """One `streamlit run` over a copy of `db`: each of `paths` viewed once, then a small file loaded with `opsdash
    ingest` while the dashboard runs (a new load: every cache misses; the command keeps the outlooks), then each
    path viewed twice. The server-side run times before, after (first and again, interleaved), and the ingest's
    own seconds."""
    from tests.browser import chromium, served, settled

    copy, events = Path(home) / "copy.duckdb", Path(home) / "events.csv"
    shutil.copy(db, copy)
    events.write_text("vendor,event_date,description,is_process_change\n"
                      "Helix Health Services,2026-11-20,Benchmark: a note added after the load,false\n")
    runs = Path(home) / "runs.jsonl"
    env = {"OPSDASH_DB": str(copy), "HOME": home, "OPSDASH_OUTLOOK_CACHE": "disk", "OPSDASH_RUN_LOG": str(runs)}
    with served(env) as url, chromium() as browser:
        page = browser.new_page(viewport={"width": 1400, "height": 1000})

        def view(path: str) -> None:
            n = len(logged(runs))
            page.goto(f"{url}/{path}")
            page.wait_for_selector("[data-testid='stMain'] h1", timeout=120_000)
            while len(logged(runs)) <= n:
                page.wait_for_timeout(100)
            settled(page)

        for path in paths:
            view(path)
        t = time.perf_counter()
        subprocess.run([str(Path(sys.executable).with_name("opsdash")), "ingest", "--db", str(copy), str(events)],
                       check=True, capture_output=True)
        ingest = time.perf_counter() - t
        for path in paths:
            view(path)
            view(path)
    times = logged(runs)
    return times[:len(paths)], times[len(paths):], ingest


def logged(runs: Path) -> list[float]:
    """The server-side run times logged so far."""
    lines = runs.read_text().splitlines() if runs.exists() else []
    return [json.loads(x)["seconds"] for x in lines]


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
            o = outlook.make(store, v)
            print(f"| {v} | {len(o.daily) + len(o.weekly)} | {len(o.queues)} | {len(o.projections)} | "
                  f"{time.perf_counter() - t:.1f} |")
    done = time.perf_counter()
    print(f"\nevery vendor's outlook, cold: {done - started:.1f} s (imports {imported - started:.1f} s); target 30 s")
    with tempfile.TemporaryDirectory() as tmp:
        copy = Path(tmp) / "copy.duckdb"
        shutil.copy(db, copy)
        with Store(copy) as store:
            t = time.perf_counter()
            kept = outlook.keep(store)
            print(f"keeping them after a load (made, encoded, written): {time.perf_counter() - t:.1f} s; "
                  f"{kept.words()}\n")

    print("| vendor | first view on a fresh server s | again s | contact section s | back-office section s | "
          "first view after a restart s |\n|---|---:|---:|---:|---:|---:|")
    sections = ("Work coming", "Work coming", "Contact-centre staffing", "Back-office backlog")
    for v in vendors:
        paths = tuple(f"capacity?cap_vendor={quote_plus(v)}&capacity_view={quote_plus(s)}" for s in sections)
        with tempfile.TemporaryDirectory() as home:
            cold = page_times(db, home, paths)
            again = page_times(db, home, paths[:1])
        print(f"| {v} | {cold[0]:.2f} | {cold[1]:.2f} | {cold[2]:.2f} | {cold[3]:.2f} | {again[0]:.2f} |")
    paths = ("", f"capacity?cap_vendor={quote_plus(vendors[0])}", f"capacity?cap_vendor={quote_plus(vendors[-1])}")
    names = ("Overview (with its projected-to-miss rows)", f"Capacity, {vendors[0]}", f"Capacity, {vendors[-1]}")
    print("\nA load while the dashboard runs (`opsdash ingest` of a one-row events file, which keeps the outlooks):\n")
    print("| page | first view on a fresh server s | first view after the load s | again s |\n|---|---:|---:|---:|")
    with tempfile.TemporaryDirectory() as home:
        before, after, ingest = after_a_load(db, home, paths)
    for i, name in enumerate(names):
        print(f"| {name} | {before[i]:.2f} | {after[2 * i]:.2f} | {after[2 * i + 1]:.2f} |")
    print(f"\nthe load, outlooks kept included: {ingest:.1f} s")
    print("\ntargets: a first view after a load under 2 s; a view again under 1.5 s")


if __name__ == "__main__":
    main()
