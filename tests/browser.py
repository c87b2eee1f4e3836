"""What the browser tests share: Debian's chromium through Playwright, and `streamlit run` on loopback.

In CI (``CI`` set) a missing Playwright or chromium fails the tests instead of skipping them.
"""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import ROOT

CHROMIUM = Path(os.environ.get("OPSDASH_CHROMIUM", "/usr/bin/chromium"))
ARGS = ["--no-sandbox", "--headless", "--disable-gpu", "--disable-background-networking"]

if os.environ.get("CI"):  # CI runs these: a missing Playwright is a failure
    import playwright.sync_api as playwright
else:
    playwright = pytest.importorskip("playwright.sync_api")


def require_chromium() -> None:
    if not CHROMIUM.exists():
        message = f"no chromium at {CHROMIUM}: `apt-get install -y chromium` (make test does it when run as root)"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start(env: dict[str, str], cwd: Path = ROOT, host: str = "127.0.0.1", extra: tuple[str, ...] = (),
          port: int | None = None) -> tuple[subprocess.Popen, str]:
    """`streamlit run app.py` on a (free) loopback port with `env` added; returns once it answers."""
    port = port or free_port()
    # Output goes to a file, never a pipe nobody reads (a full pipe would stall the server).
    log = tempfile.NamedTemporaryFile(prefix="streamlit-", suffix=".log", delete=False)  # noqa: SIM115
    proc = subprocess.Popen([sys.executable, "-m", "streamlit", "run", str(ROOT / "app.py"), "--server.port", str(port),
                             "--server.address", host, "--server.headless", "true",
                             # a test's server serves the code it started with: no rerun prompt when a file
                             # changes meanwhile (it would hold the page's status widget up for good)
                             "--server.fileWatcherType", "none", *extra],
                            cwd=cwd, env={**os.environ, **env}, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://{host}:{port}"
    deadline = time.time() + 60
    while time.time() < deadline:
        try:
            if urllib.request.urlopen(f"{url}/_stcore/health", timeout=2).status == 200:
                return proc, url
        except OSError:
            time.sleep(0.3)
    proc.kill()
    pytest.fail(f"streamlit did not start: {Path(log.name).read_text(errors='replace')[-2000:]}")


@contextlib.contextmanager
def served(env: dict[str, str], **kw: Any) -> Iterator[str]:
    proc, url = start(env, **kw)
    try:
        yield url
    finally:
        proc.terminate()
        proc.wait(timeout=10)


@contextlib.contextmanager
def chromium() -> Iterator[Any]:
    """A headless Debian chromium driven by Playwright."""
    require_chromium()
    with playwright.sync_playwright() as p:
        b = p.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        try:
            yield b
        finally:
            b.close()


def settled(page: Any) -> None:
    """Wait until Streamlit has finished running the page (its running indicator is gone)."""
    page.wait_for_function("() => !document.querySelector('[data-testid=\"stStatusWidget\"]')", timeout=60_000)
    page.wait_for_timeout(500)
