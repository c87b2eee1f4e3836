"""Where an ingest's time goes: loads one file into a fresh store, timing every statement the load sends.

    PYTHONPATH=src .venv/bin/python benchmarks/profile_ingest.py benchmarks/_work/claims_10000000.csv

Prints the load's wall time and the slowest statements (seconds, the statement's start). Statements overlap
nothing but the digest thread (SHA-256 and line count), which runs beside the staging read on the other core.
"""

from __future__ import annotations

import re
import sys
import tempfile
import time
from pathlib import Path

from opsdash import lifecycle, store
from opsdash.ingest import loader

TIMES: list[tuple[float, str]] = []


def _timed(name: str) -> None:
    call = getattr(store.Tx, name)

    def timed(self, sql, *args, **kwargs):  # noqa: ANN001, ANN202
        start = time.perf_counter()
        try:
            return call(self, sql, *args, **kwargs)
        finally:
            TIMES.append((time.perf_counter() - start, re.sub(r"\s+", " ", sql)[:100]))

    setattr(store.Tx, name, timed)


def main() -> None:
    for name in ("execute", "fetchone", "fetchall"):
        _timed(name)
    with tempfile.TemporaryDirectory() as work:
        st = lifecycle.open_store(Path(work) / "profile.duckdb")
        start = time.perf_counter()
        report = loader.load_file(st, Path(sys.argv[1]))
        wall = time.perf_counter() - start
        st.close()
    print(f"{report.status}: {report.rows_loaded:,} rows in {wall:.1f} s; statements {sum(t for t, _ in TIMES):.1f} s")
    for seconds, sql in sorted(TIMES, reverse=True)[:12]:
        print(f"{seconds:7.2f}  {sql}")


if __name__ == "__main__":
    main()
