"""Load test: 25 signed-in dashboard sessions changing filters while `opsdash ingest` loads files.

Everything runs on loopback and is bounded in time:
  - a local OpenID provider (oidc-provider-mock) and the app configured for it (`[auth]` in a secrets file),
    with an access file giving each session a role: account managers of one vendor, executives, analysts;
  - one Debian chromium, one browser context per session; sessions arrive over the first minute and sign in
    through the provider's form,
    then, until --seconds run out, opens a page with a random grain, date range and vendor in the link
    (account managers also ask for vendors they may not see) and waits until the page has finished running;
  - meanwhile `opsdash ingest` loads a fresh month of the sample vendors' exports into the same store.

Per page view it records the time from navigation to a settled page, exception boxes and error messages,
"a load is writing" notices (expected, not errors) and any other vendor's name on an account manager's page
(a scope leak). It prints the figures recorded in benchmarks/README.md.

    .venv/bin/python benchmarks/bench_concurrency.py [--sessions 25] [--seconds 120] [--work DIR]
        [--server-cpus 0 --browser-cpus 1]

With --server-cpus and --browser-cpus (taskset -c lists) the server (and the ingest, which runs on the
server's machine in real life) is pinned apart from the load generator (chromium, its renderers and this
script), so the server's figures are not starved by the browsers that measure it.
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import os
import random
import shutil
import socket
import statistics
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from pinning import CHROMIUM, browser_executable, pin

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
VENDORS = ("ClearView Diagnostics Reading", "Helix Health Services", "Ibérica Salud Contact Services",
           "Meridian Revenue Partners")
SHOTS = HERE / "_work" / "concurrency"  # screenshots of sessions that failed
PAGES = ("", "claims", "quality", "sla", "contact_centre", "scorecard", "data")
GRAINS = ("week", "month", "quarter")
# Drawn as well as run (bench_browser.py's test, without its hold): plotly and the table grid load lazily after
# the script has finished, and until then their elements are skeletons.
DRAWN = """() => !document.querySelector('[data-testid="stStatusWidget"]')
  && !document.querySelector('[data-testid="stSkeleton"]')
  && [...document.querySelectorAll('[data-testid="stPlotlyChart"]')].every(c => c.querySelector('.js-plotly-plot .main-svg'))"""


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait_healthy(url: str, seconds: float = 90) -> None:
    deadline = time.time() + seconds
    while time.time() < deadline:
        try:
            if urllib.request.urlopen(f"{url}/_stcore/health", timeout=2).status == 200:
                return
        except OSError:
            time.sleep(0.3)
    raise SystemExit(f"no answer from {url}")


def prepare(work: Path) -> tuple[Path, list[Path]]:
    """The sample store without its last month of claims (the app's store), and those claims files (the
    load that runs during the test; they need no mapping file)."""
    from opsdash.ingest.folders import load_folder
    from opsdash.store import Store

    sample = work / "sample_data"
    shutil.rmtree(sample, ignore_errors=True)
    shutil.copytree(ROOT / "sample_data", sample)
    later_dir = work / "later"
    shutil.rmtree(later_dir, ignore_errors=True)
    later_dir.mkdir()
    later = []
    for vendor in ("helix", "meridian"):
        for f in (sample / vendor / "claims").glob("*2026-11*"):
            later.append(f.rename(later_dir / f.name))
    db = work / "concurrency.duckdb"
    for suffix in ("", ".wal", ".audit-spool.jsonl"):
        Path(str(db) + suffix).unlink(missing_ok=True)
    with Store(db) as s:
        load_folder(s, sample)
    return db, later


def users(n: int) -> list[tuple[str, str, str | None]]:
    """(subject, role, vendor) for n sessions: half account managers (one vendor each), the rest executives
    and analysts."""
    out = []
    for i in range(n):
        if i % 2 == 0:
            out.append((f"am{i}", "account_manager", VENDORS[(i // 2) % len(VENDORS)]))
        else:
            out.append((f"u{i}", "executive" if i % 4 == 1 else "analyst", None))
    return out


async def session(browser, url: str, who: tuple[str, str, str | None], start_after: float, until: float,
                  views: list[dict], failures: list[str]) -> None:
    sub, role, vendor = who
    await asyncio.sleep(start_after)  # people arrive over a minute, not in the same instant
    context = await browser.new_context(viewport={"width": 1300, "height": 900})
    page = await context.new_page()
    page.set_default_timeout(120_000)
    rng = random.Random(sub)
    try:
        await page.goto(url)
        await page.get_by_role("button", name="Sign in").click()
        await page.get_by_placeholder("sub").fill(sub)
        await page.get_by_role("button", name="Authorize").click()
        await page.wait_for_url(f"{url}/**")
    except Exception as exc:  # noqa: BLE001 - counted and reported, the other sessions go on
        failures.append(f"{sub} sign-in: {str(exc).splitlines()[0]} (at {page.url}; see failed-{sub}.png)")
        await page.screenshot(path=str(SHOTS / f"failed-{sub}.png"))
        await context.close()
        return
    try:
        while time.time() < until:
            path = rng.choice(PAGES)
            grain = rng.choice(GRAINS)
            asked = rng.choice(VENDORS)
            start = f"2025-{rng.randint(1, 9):02d}-01"
            link = f"{url}/{path}?grain={grain}&dates={start}&dates=2026-11-30&vendor={asked.replace(' ', '+')}"
            t0 = time.perf_counter()
            await page.goto(link)
            await page.locator("[data-testid='stMain'] h1").first.wait_for()
            await page.wait_for_function("() => !document.querySelector('[data-testid=\"stStatusWidget\"]')")
            seconds = time.perf_counter() - t0  # the script has run (the figure of the runs before 2026-12-02)
            await page.wait_for_function(DRAWN)
            drawn = time.perf_counter() - t0
            text = await page.locator("[data-testid='stMain']").inner_text()
            leaks = [v for v in VENDORS if v != vendor and v in text] if vendor else []
            views.append({"who": sub, "role": role, "page": path or "overview", "seconds": seconds, "drawn": drawn,
                          "exceptions": await page.locator("[data-testid='stException']").count(),
                          "errors": await page.locator("[data-testid='stAlertContentError']").all_inner_texts(),
                          "busy": "A load is writing" in text, "leaks": leaks})
    except Exception as exc:  # noqa: BLE001
        failures.append(f"{sub} browsing: {str(exc).splitlines()[0]}")
    finally:
        await context.close()


async def drive(url: str, sessions: int, seconds: float, views: list[dict], failures: list[str],
                executable: str = CHROMIUM) -> None:
    from playwright.async_api import async_playwright

    async with async_playwright() as p:
        browser = await p.chromium.launch(executable_path=executable, args=[
            "--no-sandbox", "--headless", "--disable-gpu", "--disable-background-networking"])
        ramp = min(60.0, seconds / 3)
        until = time.time() + ramp + seconds
        await asyncio.gather(*(session(browser, url, w, i * ramp / sessions, until, views, failures)
                               for i, w in enumerate(users(sessions))))
        await browser.close()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--sessions", type=int, default=25)
    ap.add_argument("--seconds", type=float, default=120)
    ap.add_argument("--work", type=Path, default=HERE / "_work" / "concurrency")
    ap.add_argument("--server-cpus", help="pin streamlit and the ingest with taskset -c, e.g. 0")
    ap.add_argument("--browser-cpus", help="pin chromium (and this script) with taskset -c, e.g. 1")
    args = ap.parse_args()
    import logging

    import oidc_provider_mock

    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # the provider's request log
    args.work.mkdir(parents=True, exist_ok=True)
    db, later = prepare(args.work)
    grants = args.work / "access.toml"
    grants.write_text("\n".join(
        f'[[grant]]\nemail = "{sub}@hospital.org"\nrole = "{role}"\n' + (f'vendors = ["{v}"]\n' if v else "")
        for sub, role, v in users(args.sessions)), encoding="utf-8")
    claims = [oidc_provider_mock.User(sub=sub, claims={"email": f"{sub}@hospital.org"})
              for sub, _, _ in users(args.sessions)]
    with oidc_provider_mock.run_server_in_thread(user_claims=claims) as provider:
        port = _free_port()
        url = f"http://localhost:{port}"
        secrets = args.work / "secrets.toml"
        secrets.write_text(f'[auth]\nredirect_uri = "{url}/oauth2callback"\ncookie_secret = "bench"\n'
                           f'client_id = "opsdash"\nclient_secret = "bench"\nserver_metadata_url = '
                           f'"http://localhost:{provider.server_port}/.well-known/openid-configuration"\n')
        runs = args.work / "runs.jsonl"
        runs.unlink(missing_ok=True)
        env = {**os.environ, "OPSDASH_DB": str(db), "OPSDASH_ACCESS": str(grants), "OPSDASH_RUN_LOG": str(runs)}
        app = subprocess.Popen([*pin(args.server_cpus), sys.executable, "-m", "streamlit", "run", str(ROOT / "app.py"), "--server.port",
                                str(port), "--server.address", "localhost", "--server.headless", "true",
                                "--secrets.files", str(secrets)], cwd=args.work, env=env,
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            _wait_healthy(url)
            if args.browser_cpus:  # the provider's thread and Playwright's driver are load generator too
                os.sched_setaffinity(0, {int(c) for c in args.browser_cpus.split(",")})
            views: list[dict] = []
            failures: list[str] = []
            opsdash = str(Path(sys.executable).with_name("opsdash"))

            async def everything() -> tuple[float, int]:
                await asyncio.sleep(min(60.0, args.seconds / 3) + 10)  # every session signed in and browsing
                t0 = time.perf_counter()
                load = await asyncio.create_subprocess_exec(
                    *pin(args.server_cpus), opsdash, "ingest", "--db", str(db), "--wait", "600", *map(str, later),
                    stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE)
                await load.wait()
                return time.perf_counter() - t0, load.returncode or 0

            async def run() -> tuple[float, int]:
                loading = asyncio.create_task(everything())
                await drive(url, args.sessions, args.seconds, views, failures,
                            browser_executable(args.browser_cpus, args.work))
                return await loading

            load_seconds, load_rc = asyncio.run(run())
        finally:
            app.terminate()
            app.wait(timeout=20)
    times = sorted(v["seconds"] for v in views)
    am = [v for v in views if v["role"] == "account_manager"]
    load = os.getloadavg()
    print(f"cpus: server (streamlit, ingest) {args.server_cpus or 'any'}, browsers {args.browser_cpus or 'any'} of "
          f"{os.cpu_count()}; load average at the end {load[0]:.1f} / {load[1]:.1f} / {load[2]:.1f}")
    print(f"sessions: {args.sessions} (arriving over {min(60.0, args.seconds / 3):.0f} s), then {args.seconds:.0f} s "
          f"of browsing; page views: {len(views)}")
    print(f"sessions that failed (sign-in or a page timing out after 120 s): {len(failures)}")
    for f in failures:
        print(f"  {f}")
    drawn = sorted(v["drawn"] for v in views)
    print(f"page time in the browser (navigation to the script run, indicator gone): median {statistics.median(times):.2f} s, "
          f"p90 {times[int(len(times) * 0.9)]:.2f} s, max {times[-1]:.2f} s")
    print(f"page time in the browser (navigation to charts and tables drawn): median {statistics.median(drawn):.2f} s, "
          f"p90 {drawn[int(len(drawn) * 0.9)]:.2f} s, max {drawn[-1]:.2f} s")
    import json

    server = sorted(json.loads(x)["seconds"] for x in runs.read_text().splitlines()) if runs.exists() else [0.0]
    print(f"server-side page runs: {len(server)}; median {statistics.median(server):.2f} s, "
          f"p90 {server[int(len(server) * 0.9)]:.2f} s, max {server[-1]:.2f} s")
    errors = [(v["page"], e.strip().splitlines()[0][:160]) for v in views for e in v["errors"]]
    print(f"exception boxes: {sum(v['exceptions'] for v in views)}, error messages: {len(errors)}")
    for (page, text), n in collections.Counter(errors).most_common():
        print(f"  {n} x {page}: {text}")
    print(f"'a load is writing' notices: {sum(v['busy'] for v in views)}")
    print(f"account-manager views: {len(am)}, with another vendor's name: {sum(bool(v['leaks']) for v in am)}")
    print(f"ingest of {len(later)} files during the test: exit {load_rc} in {load_seconds:.1f} s")
    failed = collections.Counter("sign-in" if " sign-in: " in f else "browsing" for f in failures)
    print("\nFor benchmarks/README.md (sessions | page views | failed sessions | browser run median / p90 s | browser "
          "drawn median / p90 s | server run median / p90 s | exceptions | errors | leaks | ingest | cpus):")
    print(f"| {args.sessions} | {len(views)} | {len(failures)}"
          + (f" ({', '.join(f'{n} {k}' for k, n in failed.items())})" if failures else "")
          + f" | {statistics.median(times):.1f} / {times[int(len(times) * 0.9)]:.1f}"
          f" | {statistics.median(drawn):.1f} / {drawn[int(len(drawn) * 0.9)]:.1f}"
          f" | {statistics.median(server):.2f} / {server[int(len(server) * 0.9)]:.1f}"
          f" | {sum(v['exceptions'] for v in views)} | {len(errors)}"
          f" | {sum(bool(v['leaks']) for v in am)} of {len(am)} | exit {load_rc}, {load_seconds:.1f} s"
          f" | server {args.server_cpus or 'any'}, browsers {args.browser_cpus or 'any'} |")


if __name__ == "__main__":
    main()
