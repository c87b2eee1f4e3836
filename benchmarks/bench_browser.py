"""Speed as a person sees it: every dashboard page timed in Debian's chromium, beside a bare Streamlit page.

For each page (the app's navigation, opsdash.dashboard.PAGES, plus the sign-in screen a server with an
``[auth]`` section shows first) and for benchmarks/bare_page.py (a title, one plotly chart, one table), each
repetition starts a fresh `streamlit run`, then in fresh browser contexts (empty HTTP cache):

  - cold: the first visit the server gets (imports, connection, every query cache empty);
  - warm: the same page again, each in a new context, the server having served it once.

Time is from the navigation's start (the document's performance.now() origin) to settled: the page's title
drawn, Streamlit's running indicator (``[data-testid="stStatusWidget"]``) absent, no element still waiting for
its lazily loaded code (``[data-testid="stSkeleton"]``: plotly and the table grid load after the script has
finished, so the indicator alone is gone seconds before the charts appear), every plotly chart container
shown holding its ``.js-plotly-plot .main-svg``, every table shown its canvas (one in a tab not opened has
none), all of it true for --stable seconds (the
time reported is when it became true, not the end of that window). "MB sent" is what the session's websocket
carried to the browser for the view (the elements and their data: plotly figures travel as JSON). The server's own run time for each view
comes from OPSDASH_RUN_LOG. Medians are printed as Markdown tables for benchmarks/README.md, with the
targets: warm at most 1.5x the bare page warm, cold at most 3x the bare page cold.

    .venv/bin/python benchmarks/bench_browser.py --db /tmp/bench-sample.duckdb [--reps 3] [--warm 3]
        [--server-cpus 0 --browser-cpus 1] [--pages overview,claims]
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(ROOT / "src"))
from pinning import CHROMIUM, browser_executable, pin  # noqa: E402 - benchmarks/ is the script's folder

ARGS = ["--no-sandbox", "--headless", "--disable-gpu", "--disable-background-networking"]
TARGET_WARM, TARGET_COLD = 1.5, 3.0

SETTLED = """async ([stableMs, limitMs]) => {
  const ready = () => {
    const main = document.querySelector('[data-testid="stMain"]');
    if (!main || !main.querySelector('h1')) return null;
    if (document.querySelector('[data-testid="stStatusWidget"]')) return null;
    if (document.querySelector('[data-testid="stSkeleton"]')) return null;  // a lazily loaded element still loading
    // Only what is shown: a table in a tab not opened has no canvas until the tab is.
    const shown = sel => [...document.querySelectorAll(sel)].filter(e => e.checkVisibility());
    const charts = shown('[data-testid="stPlotlyChart"]');
    for (const c of charts) if (!c.querySelector('.js-plotly-plot .main-svg')) return null;
    const tables = shown('[data-testid="stDataFrame"]');
    for (const t of tables) if (!t.querySelector('canvas')) return null;
    return {charts: charts.length, tables: tables.length};
  };
  return await new Promise(resolve => {
    let since = null;
    const tick = () => {
      const now = performance.now();
      const seen = ready();
      if (seen === null) since = null;
      else if (since === null) since = now;
      if (since !== null && now - since >= stableMs) return resolve({seconds: since / 1000, ...seen});
      if (now > limitMs) return resolve({seconds: null, charts: -1, tables: -1});
      setTimeout(tick, 20);
    };
    tick();
  });
}"""


@dataclass(frozen=True)
class Target:
    name: str
    script: Path
    path: str  # the address's path after the host
    auth: bool = False  # served with an [auth] section: the sign-in screen


def targets(only: set[str] | None) -> list[Target]:
    """The bare page, every page of the app's navigation (local mode: every page is there) and each further section
of a page in sections (its link), the sign-in screen."""
    from urllib.parse import quote

    from opsdash.dashboard import PAGES, SECTIONS

    out = [Target("bare page", HERE / "bare_page.py", "")]
    for p in PAGES:
        out.append(Target(p.title, ROOT / "app.py", "" if p.default else Path(p.file).stem))
        key, names = SECTIONS.get(p.file, ("", ()))
        out += [Target(f"{p.title}: {n}", ROOT / "app.py", f"{Path(p.file).stem}?{key}={quote(n)}") for n in names[1:]]
    out.append(Target("Sign-in screen", ROOT / "app.py", "", auth=True))
    return [t for t in out if only is None or t.name == "bare page" or t.name in only
            or (t.path or "overview").split("?")[0] in only or (t.auth and "signin" in only)]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def serve(t: Target, db: Path, work: Path, port: int, cpus: str | None, runs: Path) -> subprocess.Popen:
    """`streamlit run` of the target on loopback (pinned to cpus when asked); returns once it answers."""
    extra: list[str] = []
    if t.auth:
        secrets = work / "secrets.toml"  # a provider nobody serves: the sign-in screen never asks it
        secrets.write_text(f'[auth]\nredirect_uri = "http://localhost:{port}/oauth2callback"\n'
                           f'cookie_secret = "bench"\nclient_id = "opsdash"\nclient_secret = "bench"\n'
                           f'server_metadata_url = "http://localhost:9/.well-known/openid-configuration"\n')
        extra = ["--secrets.files", str(secrets)]
    env = {**os.environ, "OPSDASH_DB": str(db), "OPSDASH_RUN_LOG": str(runs),
           "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT / "src"), os.environ.get("PYTHONPATH")]))}
    log = open(work / "streamlit.log", "ab")  # noqa: SIM115 - the child writes to it
    proc = subprocess.Popen([*pin(cpus), sys.executable, "-m", "streamlit", "run", str(t.script),
                             "--server.port", str(port), "--server.address", "localhost",
                             "--server.headless", "true", "--browser.gatherUsageStats", "false", *extra],
                            cwd=work, env=env, stdout=log, stderr=subprocess.STDOUT)
    deadline = time.time() + 120
    while time.time() < deadline:
        try:
            if urllib.request.urlopen(f"http://localhost:{port}/_stcore/health", timeout=2).status == 200:
                return proc
        except OSError:
            time.sleep(0.2)
    proc.kill()
    raise SystemExit(f"streamlit did not start for {t.name}; see {work / 'streamlit.log'}")


def visit(browser, url: str, stable: float, limit: float) -> dict:
    """One view in a fresh context: seconds from navigation start to settled, and what was on the page."""
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    try:
        page = context.new_page()
        received = [0]  # bytes of the session's messages (the page's elements and their data)
        page.on("websocket", lambda ws: ws.on("framereceived", lambda f: received.__setitem__(0, received[0] + len(f))))
        page.goto(url, wait_until="commit", timeout=int(limit * 1000))
        got = page.evaluate(SETTLED, [stable * 1000, limit * 1000])
        got["mb"] = received[0] / 1e6
        got["exceptions"] = page.locator("[data-testid='stException']").count()
        return got
    finally:
        context.close()


def measure(db: Path, reps: int, warm: int, stable: float, only: set[str] | None, server_cpus: str | None,
            browser_cpus: str | None, work: Path, limit: float = 120) -> dict[str, dict[str, list]]:
    from playwright.sync_api import sync_playwright

    work.mkdir(parents=True, exist_ok=True)
    (work / "streamlit.log").unlink(missing_ok=True)
    out: dict[str, dict[str, list[float]]] = {}
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=browser_executable(browser_cpus, work), args=ARGS)
        try:
            # Repetitions are the outer loop so that a busy spell on the machine spreads over every page.
            for rep in range(reps):
                for t in targets(only):
                    runs = work / "runs.jsonl"
                    runs.unlink(missing_ok=True)
                    port = _free_port()
                    proc = serve(t, db, work, port, server_cpus, runs)
                    try:
                        url = f"http://localhost:{port}/{t.path}"
                        row = out.setdefault(t.name, {"cold": [], "warm": [], "server cold": [], "server warm": [],
                                                      "charts": [], "tables": [], "mb": [],
                                                      "failed": []})
                        views = [visit(browser, url, stable, limit)]
                        if views[0]["seconds"] is not None:  # a page that never settles is not tried again
                            views += [visit(browser, url, stable, limit) for _ in range(warm)]
                    finally:
                        proc.terminate()
                        proc.wait(timeout=20)
                    for v in views:
                        if v["seconds"] is None or v["exceptions"]:
                            row["failed"].append(f"rep {rep + 1}: " + ("exception box" if v["exceptions"] else
                                                                      f"not settled in {limit:.0f} s"))
                    row["cold"].extend([views[0]["seconds"]] if views[0]["seconds"] is not None else [])
                    row["warm"].extend(v["seconds"] for v in views[1:] if v["seconds"] is not None)
                    row["charts"].append(views[0]["charts"])
                    row["tables"].append(views[0]["tables"])
                    row["mb"].append(views[0]["mb"])
                    server = [json.loads(x)["seconds"] for x in runs.read_text().splitlines()] if runs.exists() else []
                    if server:  # one run per view (a page that reruns itself logs more: the first is the view's)
                        row["server cold"].append(server[0])
                        row["server warm"].extend(server[1:])
                    print(f"  rep {rep + 1}/{reps} {t.name}: " + ", ".join(
                        "-" if v["seconds"] is None else f"{v['seconds']:.2f}" for v in views) + " s (cold, warm...); "
                          f"{views[0]['charts']} charts, {views[0]['tables']} tables, {views[0]['mb']:.2f} MB",
                          file=sys.stderr, flush=True)
        finally:
            browser.close()
    return out


def _med(xs: list[float]) -> float | None:
    return statistics.median(xs) if xs else None


def report(out: dict[str, dict[str, list[float]]], args: argparse.Namespace) -> str:
    """The Markdown for benchmarks/README.md: the setting, then one row per page."""
    bare = out["bare page"]
    bare_cold, bare_warm = _med(bare["cold"]), _med(bare["warm"])
    load = os.getloadavg()
    lines = [f"Run of {dt.date.today():%Y-%m-%d} on {os.cpu_count()} cores ({platform.machine()}, Python "
             f"{platform.python_version()}), load average at the end {load[0]:.1f} / {load[1]:.1f} / {load[2]:.1f}; "
             f"store {args.db.name}; {args.reps} server starts per page, cold = first view after each start, warm = "
             f"{args.warm} more views per start, each in a fresh browser context; settled held for {args.stable} s; "
             f"server pinned to {args.server_cpus or 'any core'}, chromium to {args.browser_cpus or 'any core'}. "
             f"Medians; targets: warm <= {TARGET_WARM}x bare warm, cold <= {TARGET_COLD}x bare cold.", "",
             "| page | charts | tables | MB sent | cold s | warm s | cold / bare cold | warm / bare warm | server cold s | "
             "server warm s | target |",
             "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|"]
    for name, row in out.items():
        if not row["cold"] or not row["warm"]:
            lines.append(f"| {name} | | | | | | | | | | **not measured: {'; '.join(row['failed'])}** |")
            continue
        cold, warm = _med(row["cold"]), _med(row["warm"])
        rc, rw = cold / bare_cold, warm / bare_warm
        missed = [w for w, bad in (("warm", rw > TARGET_WARM and name != "bare page"),
                                   ("cold", rc > TARGET_COLD and name != "bare page")) if bad]
        sc, sw = _med(row["server cold"]), _med(row["server warm"])
        lines.append(f"| {name} | {max(row['charts'])} | {max(row['tables'])} | {_med(row['mb']):.2f} | {cold:.2f} | {warm:.2f} | {rc:.2f}x | "
                     f"{rw:.2f}x | {'' if sc is None else f'{sc:.2f}'} | {'' if sw is None else f'{sw:.2f}'} | "
                     f"{'**over (' + ', '.join(missed) + ')**' if missed else ('—' if name == 'bare page' else 'met')}"
                     f"{' (' + '; '.join(row['failed']) + ')' if row['failed'] else ''} |")
    spread = {name: (min(row["warm"]), max(row["warm"])) for name, row in out.items() if row["warm"]}
    lines += ["", "Warm range (min-max s): " + "; ".join(f"{n} {a:.2f}-{b:.2f}" for n, (a, b) in spread.items())]
    return "\n".join(lines)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--db", type=Path, required=True, help="the store to serve, e.g. one made by `opsdash demo`")
    ap.add_argument("--reps", type=int, default=3, help="server starts per page (one cold view each)")
    ap.add_argument("--warm", type=int, default=3, help="warm views after each cold one")
    ap.add_argument("--stable", type=float, default=0.75, help="seconds the settled state must hold")
    ap.add_argument("--pages", help="comma-separated titles or address paths (overview, claims, signin...)")
    ap.add_argument("--server-cpus", help="pin streamlit with taskset -c, e.g. 0")
    ap.add_argument("--browser-cpus", help="pin chromium with taskset -c, e.g. 1")
    ap.add_argument("--work", type=Path, default=HERE / "_work" / "browser")
    args = ap.parse_args()
    if not args.db.exists():
        raise SystemExit(f"no store at {args.db}: make one with `opsdash demo --db {args.db}`")
    only = {x.strip() for x in args.pages.split(",")} if args.pages else None
    out = measure(args.db.resolve(), args.reps, args.warm, args.stable, only, args.server_cpus, args.browser_cpus,
                  args.work)
    print(report(out, args))


if __name__ == "__main__":
    main()
