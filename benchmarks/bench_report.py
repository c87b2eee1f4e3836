"""Review-pack benchmark: the packs of the four sample vendors for one month, in PDF, HTML and Excel.

Builds the sample store once (benchmarks/_work/sample.duckdb, with `opsdash demo`), then times
`opsdash report --all-vendors --period 2026-10` end to end in a fresh process (store opening, every
vendor's pack, all three formats, Chromium started once per PDF), and each format's share.

    .venv/bin/python benchmarks/bench_report.py [--period 2026-10] [--work DIR]

Target (2-core machine): the four vendors' packs in under 30 s.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--period", default="2026-10")
    ap.add_argument("--work", type=Path, default=HERE / "_work")
    args = ap.parse_args()
    args.work.mkdir(parents=True, exist_ok=True)
    opsdash = str(Path(sys.executable).with_name("opsdash"))
    db = args.work / "sample.duckdb"
    if not db.exists():
        subprocess.run([opsdash, "demo", "--db", str(db)], check=True, stdout=subprocess.DEVNULL)
    print("| formats | packs | files | seconds |")
    print("|---|---:|---:|---:|")
    for formats in (["pdf", "html", "xlsx"], ["html"], ["xlsx"], ["pdf"]):
        with tempfile.TemporaryDirectory() as out:
            cmd = [opsdash, "report", "--db", str(db), "--all-vendors", "--period", args.period, "--out", out]
            for f in formats:
                cmd += ["--format", f]
            t = time.perf_counter()
            subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)
            seconds = time.perf_counter() - t
            files = list(Path(out).iterdir())
        print(f"| {', '.join(formats)} | {len(files) // len(formats)} | {len(files)} | {seconds:.1f} |", flush=True)


if __name__ == "__main__":
    main()
