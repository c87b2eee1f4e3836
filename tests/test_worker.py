"""The dashboard's load worker: the loader called directly (never the command line), answering as
`opsdash ingest --format json` does."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from tests.helpers import csv_text, row

ROOT = Path(__file__).resolve().parents[1]


def _worker(*args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
    return subprocess.run([sys.executable, "-m", "opsdash.ingest.worker", str(os.getpid()), *args],
                          capture_output=True, text=True, env=env, cwd=ROOT)


def test_the_worker_loads_and_reports_json_with_the_users_name(tmp_path):
    db, good = tmp_path / "s.duckdb", tmp_path / "c.csv"
    good.write_text(csv_text([row("claims")]))
    done = _worker("--db", str(db), "--format", "json", "--wait", "5", "--loaded-by", "ana@example.org", str(good))
    assert done.returncode == 0, done.stderr
    (report,) = json.loads(done.stdout)
    assert (report["status"], report["table"], report["rows_loaded"]) == ("loaded", "claims", 1)
    import duckdb
    con = duckdb.connect(str(db), read_only=True)
    assert con.execute("SELECT loaded_by FROM loads").fetchall() == [("ana@example.org",)]
    # as `opsdash ingest` does, the vendor's outlook is kept for the store as loaded, said on stderr only
    assert con.execute("SELECT vendor FROM outlooks").fetchall() == [("Acme",)]
    con.close()
    assert "outlooks for the next 13 weeks kept for 1 vendor(s)" in done.stderr
    # The same file again is a duplicate (exit 0); a refused file makes the status 1, with its report.
    bad = tmp_path / "bad.csv"
    bad.write_text("no,such,columns\n1,2,3\n")
    done = _worker("--db", str(db), "--wait", "5", str(good), str(bad))
    assert done.returncode == 1, done.stderr
    assert [r["status"] for r in json.loads(done.stdout)] == ["duplicate", "refused"]


def test_a_store_that_cannot_be_opened_is_an_error_on_stderr(tmp_path):
    (tmp_path / "dir.duckdb").mkdir()
    f = tmp_path / "c.csv"
    f.write_text(csv_text([row("claims")]))
    done = _worker("--db", str(tmp_path / "dir.duckdb"), "--wait", "0", str(f))
    assert done.returncode == 1 and done.stdout == ""
    assert done.stderr.startswith("Error: ") and "dir.duckdb" in done.stderr


def test_the_dashboard_says_why_when_the_worker_cannot_open_the_store(tmp_path, monkeypatch):
    """Exit 1 without reports is no refused file: the page gets the worker's error, not a JSON parse failure."""
    import pytest

    from opsdash.store import StoreError
    from opsdash.ui import data

    (tmp_path / "dir.duckdb").mkdir()
    f = tmp_path / "c.csv"
    f.write_text(csv_text([row("claims")]))
    monkeypatch.setenv("OPSDASH_DB", str(tmp_path / "dir.duckdb"))
    monkeypatch.setenv("PYTHONPATH", str(ROOT / "src"))
    with pytest.raises(StoreError, match="dir.duckdb") as err:
        data.load_in_worker([f], None, "ana@example.org")
    assert not str(err.value).startswith("Error:")


def test_a_missing_mapping_file_is_a_usage_error(tmp_path):
    f = tmp_path / "c.csv"
    f.write_text(csv_text([row("claims")]))
    done = _worker("--db", str(tmp_path / "s.duckdb"), "--mapping", str(tmp_path / "none.toml"), str(f))
    assert done.returncode == 2 and "none.toml" in done.stderr


def test_the_worker_never_imports_the_command_line(tmp_path):
    """The worker loads through the loader: neither it nor any ingest module brings in opsdash.cli."""
    f = tmp_path / "c.csv"
    f.write_text(csv_text([row("claims")]))
    code = ("import atexit, importlib, os, pkgutil, runpy, sys\n"
            "import opsdash.ingest as p\n"
            "for m in pkgutil.iter_modules(p.__path__):\n"
            "    if m.name != 'worker': importlib.import_module('opsdash.ingest.' + m.name)\n"
            "atexit.register(lambda: print('cli imported:', 'opsdash.cli' in sys.modules, file=sys.stderr))\n"
            f"sys.argv = ['worker', str(os.getppid()), '--db', {str(tmp_path / 's.duckdb')!r}, {str(f)!r}]\n"
            "runpy.run_module('opsdash.ingest.worker', run_name='__main__')\n")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          env={**os.environ, "PYTHONPATH": str(ROOT / "src")})
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)[0]["status"] == "loaded"
    assert "cli imported: False" in done.stderr
