"""Erlang benchmark: staffing for 13 weeks x 7 days x 48 half-hours x 10 queues (43,680 intervals) at once.

    .venv/bin/python benchmarks/bench_erlang.py [--queues 10] [--weeks 13]

Times, in one run on the same intervals (a daily arrival curve of 0-420 calls a half-hour, handle times 3-7
minutes, patience 1-5 minutes, 80% in 30 s, short abandons 5 s):
  - Erlang C required agents, opsdash (numpy, every interval at once) against pyworkforce's ErlangC called per
    interval (the second implementation the tests compare with); the answers are checked to agree within one;
  - Erlang C service level at the scheduled agents;
  - Erlang A service level and abandonment at the scheduled agents, and Erlang A required agents.

Target (issue 14, item 7): under 2 s for the whole grid.

With --blocks, also Erlang A's service level and required agents at several block sizes (erlang.CHUNK_CELLS, the
intervals x queue states computed at once), the evidence for the size chosen.
"""

from __future__ import annotations

import argparse
import os
import platform
import time

import numpy as np

from opsdash.capacity import erlang

HALF_HOUR = 1800


def intervals(queues: int, weeks: int, seed: int = 14) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    days = weeks * 7
    slot = np.tile(np.arange(48), days * queues)
    # a contact centre's day: quiet at night, a morning peak and a smaller afternoon one
    shape = np.exp(-((slot - 20) / 5.0) ** 2) + 0.6 * np.exp(-((slot - 29) / 4.0) ** 2) + 0.02
    size = rng.uniform(60, 300, queues).repeat(days * 48)
    calls = rng.poisson(shape * size).astype(float)
    aht = rng.uniform(180, 420, queues).repeat(days * 48)
    patience = rng.uniform(60, 300, queues).repeat(days * 48)
    scheduled = np.maximum(np.round(calls * aht / HALF_HOUR * rng.uniform(0.9, 1.3, calls.size)), 0).astype(np.int64)
    return {"calls": calls, "aht": aht, "patience": patience, "scheduled": scheduled}


def timed(fn):  # noqa: ANN001, ANN201
    start = time.perf_counter()
    out = fn()
    return out, time.perf_counter() - start


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--queues", type=int, default=10)
    ap.add_argument("--weeks", type=int, default=13)
    ap.add_argument("--blocks", action="store_true", help="also time Erlang A at several block sizes")
    args = ap.parse_args()
    x = intervals(args.queues, args.weeks)
    a = erlang.offered_load(x["calls"], HALF_HOUR, x["aht"])
    print(f"machine: {os.cpu_count()} cores, {platform.machine()}, Python {platform.python_version()}; "
          f"{x['calls'].size:,} intervals, {int(x['calls'].sum()):,} calls")
    rows = []
    need_c, s = timed(lambda: erlang.required_agents_c(a, x["aht"], 30, 0.8))
    rows.append(("Erlang C required agents (opsdash)", s))
    from pyworkforce.queuing import ErlangC

    def theirs() -> list[int]:
        return [0 if c == 0 else ErlangC(transactions=c, aht=h / 60, asa=0.5, interval=30)
                .required_positions(0.8)["raw_positions"] for c, h in zip(x["calls"], x["aht"], strict=True)]

    need_ref, s = timed(theirs)
    rows.append(("Erlang C required agents (pyworkforce, per interval)", s))
    gap = np.asarray(need_ref) - need_c
    assert ((gap >= 0) & (gap <= 1)).all(), "pyworkforce and opsdash disagree by more than one agent"
    _, s = timed(lambda: erlang.service_level_c(x["scheduled"], a, x["aht"], 30))
    rows.append(("Erlang C service level at the scheduled agents", s))
    _, s = timed(lambda: erlang.erlang_a(x["scheduled"], x["calls"], HALF_HOUR, x["aht"], x["patience"], 30, 5))
    rows.append(("Erlang A service level and abandonment at the scheduled agents", s))
    need_a, s = timed(lambda: erlang.required_agents_a(x["calls"], HALF_HOUR, x["aht"], x["patience"], 30, 0.8, 5))
    rows.append(("Erlang A required agents", s))
    print("| step | seconds |\n|---|---:|")
    for name, seconds in rows:
        print(f"| {name} | {seconds:.2f} |")
    print(f"opsdash total (everything but pyworkforce): {sum(s for n, s in rows if 'pyworkforce' not in n):.2f} s; "
          f"agents Erlang C needs over the grid {int(need_c.sum()):,}, Erlang A {int(need_a.sum()):,}; "
          f"pyworkforce asked one more than the fewest in {int((gap == 1).sum()):,} intervals")
    if args.blocks:
        blocks(x)


def blocks(x: dict[str, np.ndarray]) -> None:
    """Erlang A at several block sizes, each twice in turn (the faster kept), with the same answers required."""
    chosen = erlang.CHUNK_CELLS
    sizes = sorted({4_000_000, 1_000_000, 262_144, 65_536, chosen, 8_192}, reverse=True)
    best: dict[int, tuple[float, float]] = {}
    answers = set()
    try:
        for _ in range(2):
            for cells in sizes:
                erlang.CHUNK_CELLS = cells
                sl, s1 = timed(lambda: erlang.erlang_a(x["scheduled"], x["calls"], HALF_HOUR, x["aht"],
                                                       x["patience"], 30, 5).service_level)
                need, s2 = timed(lambda: erlang.required_agents_a(x["calls"], HALF_HOUR, x["aht"], x["patience"],
                                                                  30, 0.8, 5))
                answers.add((round(float(np.nansum(sl)), 6), int(need.sum())))
                old = best.get(cells, (np.inf, np.inf))
                best[cells] = (min(old[0], s1), min(old[1], s2))
    finally:
        erlang.CHUNK_CELLS = chosen
    assert len(answers) == 1, "the block size changed an answer"
    print("| cells a block | Erlang A service level (s) | Erlang A required agents (s) |\n|---:|---:|---:|")
    for cells in sizes:
        mark = " (chosen)" if cells == chosen else ""
        print(f"| {cells:,}{mark} | {best[cells][0]:.2f} | {best[cells][1]:.2f} |")


if __name__ == "__main__":
    main()
