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
