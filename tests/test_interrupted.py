"""An interrupted load (SIGKILL mid-file) leaves the store exactly as it was; a re-run then loads the file."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from opsdash.ingest.loader import load_file
from opsdash.store import Store
from tests.helpers import csv_text, row
from tests.test_ingest import snapshot

pytestmark = pytest.mark.slow


def _big_claims(path: Path, n: int) -> Path:
    lines = ["claim_id,vendor,payer,received_date,submitted_date,billed_amount"]
    lines += [f"B{i},Acme,Aetna,2026-01-{1 + i % 28:02d},2026-02-{1 + i % 28:02d},{i % 5000}.5" for i in range(n)]
    lines[7] = lines[7].replace("Aetna", "Aetna,extra")  # one malformed row, so every path runs
    path.write_text("\n".join(lines) + "\n")
    return path


def _ingest(db: Path, f: Path, env: dict[str, str]) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "opsdash", "ingest", "--db", str(db), str(f)],
                            env={**os.environ, **env}, stdout=subprocess.PIPE, stderr=subprocess.PIPE)


def _wait_for(path: Path, proc: subprocess.Popen, seconds: float = 60) -> None:
    end = time.time() + seconds
    while not path.exists():
        assert proc.poll() is None, proc.communicate()
        assert time.time() < end, "the load never reached the fault point"
        time.sleep(0.02)


@pytest.fixture
def prepared(tmp_path):
    db = tmp_path / "s.duckdb"
    with Store(db) as s:
        load_file(s, _write(tmp_path / "first.csv"))
        before = snapshot(s)
    return db, before


def _write(p: Path) -> Path:
    p.write_text(csv_text([row("claims"), row("claims", claim_id="C2", billed_amount="-1")]))
    return p


@pytest.mark.parametrize("stage", ["reading", "validating", "committing"])
def test_kill_at_each_stage_leaves_the_store_as_it_was(stage, prepared, tmp_path):
    db, before = prepared
    big = _big_claims(tmp_path / "big.csv", 20_000)
    mark = tmp_path / "mark"
    proc = _ingest(db, big, {"OPSDASH_FAULT_STAGE": stage, "OPSDASH_FAULT_FILE": str(mark)})
    _wait_for(mark, proc)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert proc.returncode == -signal.SIGKILL
    with Store(db) as s:
        assert snapshot(s) == before
    rerun = _ingest(db, big, {})
    out, err = rerun.communicate(timeout=120)
    assert rerun.returncode == 0, err
    with Store(db, read_only=True) as s:
        assert s.fetchone("SELECT count(*) FROM claims WHERE claim_id LIKE 'B%'")[0] == 20_000 - 1
        assert s.fetchone("SELECT rows_read, rows_loaded, rows_rejected FROM loads WHERE file_name = 'big.csv'") == (
            20_000, 20_000 - 1, 1)


def test_kill_in_the_middle_of_a_bulk_read(prepared, tmp_path):
    """No pause: the process is killed while DuckDB is reading a large file."""
    db, before = prepared
    big = _big_claims(tmp_path / "big.csv", 1_500_000)
    mark = tmp_path / "mark"
    proc = _ingest(db, big, {"OPSDASH_FAULT_STAGE": "reading", "OPSDASH_FAULT_FILE": str(mark),
                             "OPSDASH_FAULT_SECONDS": "0"})
    _wait_for(mark, proc)
    time.sleep(0.3)
    assert proc.poll() is None, "the load finished before it could be interrupted"
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    with Store(db) as s:
        assert snapshot(s) == before


def test_killing_the_dashboard_in_the_middle_of_an_upload(prepared, tmp_path):
    """The app itself is SIGKILLed while its Upload page loads a file inside the transaction; after a restart
    the store opens and is as it was, the dashboard serves pages, and a re-run loads the file while a page is
    open."""
    from tests.browser import chromium, start

    db, before = prepared
    big = _big_claims(tmp_path / "big.csv", 20_000)
    mark = tmp_path / "mark"
    with chromium() as browser:
        app, url = start({"OPSDASH_DB": str(db), "OPSDASH_FAULT_STAGE": "committing",
                          "OPSDASH_FAULT_FILE": str(mark)}, cwd=tmp_path)
        try:
            page = browser.new_page()
            page.goto(f"{url}/upload")
            page.locator("[data-testid='stFileUploaderDropzoneInput']").first.set_input_files(str(big))
            page.get_by_text("big.csv").first.wait_for(timeout=30_000)
            page.get_by_test_id("stBaseButton-primaryFormSubmit").click()  # enabled once the file is up
            _wait_for(mark, app)  # the load is inside its transaction, past reading and validating
            app.send_signal(signal.SIGKILL)
            app.wait()
            page.close()
        finally:
            if app.poll() is None:
                app.kill()
                app.wait()
        assert app.returncode == -signal.SIGKILL
        with Store(db) as s:
            assert snapshot(s) == before, "the interrupted upload left something in the store"
            assert not s.fetchone("SELECT count(*) FROM loads WHERE file_name = 'big.csv'")[0]

        again, url = start({"OPSDASH_DB": str(db)}, cwd=tmp_path)  # restarted: it opens the store, serves pages
        try:
            page = browser.new_page()
            page.goto(url)
            page.locator(".opsdash-tile").first.wait_for(timeout=60_000)  # the Overview's tiles, drawn
            assert page.locator("[data-testid='stException']").count() == 0
            # With the page open, a load from the CLI waits for the dashboard to let go of the store.
            rerun = _ingest(db, big, {})
            out, err = rerun.communicate(timeout=180)
            assert rerun.returncode == 0, err
        finally:
            again.terminate()
            again.wait(timeout=10)
    with Store(db, read_only=True) as s:
        assert s.fetchone("SELECT rows_read, rows_loaded, rows_rejected FROM loads WHERE file_name = 'big.csv'") == (
            20_000, 20_000 - 1, 1)
