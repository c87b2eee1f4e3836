"""Shared fixtures: a fresh store per test, the sample store, and helpers to write input files."""

from __future__ import annotations

import json
import os
import pickle
import shutil
from pathlib import Path

import pytest

from opsdash.capacity import outlook
from opsdash.denials import kept
from opsdash.ingest.loader import LoadReport, load_file
from opsdash.ingest.folders import load_folder
from opsdash.store import Store

# The Capacity page's outlooks stay in memory in tests: a test store's cache on disk (~/.streamlit/cache) would
# outlive it.
os.environ.setdefault("OPSDASH_OUTLOOK_CACHE", "memory")

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = ROOT / "sample_data"
DATA = Path(__file__).resolve().parent / "data"
REALDATA = Path(os.environ.get("OPSDASH_REALDATA") or ROOT.parent / "shared" / "realdata")


@pytest.fixture
def store(tmp_path: Path) -> Store:
    s = Store(tmp_path / "t.duckdb")
    yield s
    s.close()


@pytest.fixture
def write(tmp_path: Path):
    """Write a text file (encoding chosen by the test) and return its path."""

    def _write(name: str, text: str, encoding: str = "utf-8") -> Path:
        p = tmp_path / name
        p.write_bytes(text.encode(encoding))
        return p

    return _write


@pytest.fixture
def load(store: Store):
    def _load(path: Path, **kw) -> LoadReport:
        return load_file(store, path, **kw)

    return _load


def _load_sample(path: Path) -> list[LoadReport]:
    for left in (path, path.with_name(path.name + ".wal")):  # what a failed load left
        left.unlink(missing_ok=True)
    with Store(path) as s:
        reports = load_folder(s, SAMPLE)
        outlook.keep(s)  # as `opsdash demo` does after its loads
        kept.keep(s)
        return reports


def _sample_once(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[LoadReport]]:
    """The sample loaded once per test run. Under pytest-xdist the first worker loads it into the run's shared
    temporary folder while the others wait on a lock; each worker then reads its own copy (the dashboard may
    write its audit events into the store it opens)."""
    path = tmp_path_factory.mktemp("sample") / "sample.duckdb"
    try:
        import fcntl
    except ImportError:  # no POSIX file locks (Windows): each worker loads its own
        fcntl = None  # type: ignore[assignment]
    if not os.environ.get("PYTEST_XDIST_WORKER") or fcntl is None:
        return path, _load_sample(path)
    shared = tmp_path_factory.getbasetemp().parent / "sample-once"
    shared.mkdir(exist_ok=True)
    built, saved = shared / "sample.duckdb", shared / "reports.pickle"
    with open(shared / "lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # released when the file closes
        if not saved.exists():
            saved.write_bytes(pickle.dumps(_load_sample(built)))
    shutil.copy(built, path)
    return path, pickle.loads(saved.read_bytes())


@pytest.fixture(scope="session")
def sample_store(tmp_path_factory: pytest.TempPathFactory) -> Store:
    """The bundled sample data loaded once (read by many tests, changed by none)."""
    path, reports = _sample_once(tmp_path_factory)
    s = Store(path, read_only=True)
    s.reports = reports  # type: ignore[attr-defined]
    yield s
    s.close()


@pytest.fixture(scope="session")
def manifest() -> dict:
    return json.loads((SAMPLE / "MANIFEST.json").read_text(encoding="utf-8"))


def realdata(*parts: str) -> Path:
    p = REALDATA.joinpath(*parts)
    if not p.exists():
        pytest.fail(f"real data missing: {p} (shared/ must sit beside the project)")
    return p


@pytest.fixture(autouse=True)
def _no_env_db(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("OPSDASH_DB", raising=False)
    monkeypatch.delenv("OPSDASH_TIMEZONE", raising=False)


#: Modules that start a Streamlit server and drive chromium, the longest first. make test runs every module whole
#: on one pytest-xdist worker (--dist loadfile: a module's servers and browser start once) and sends these
#: first, so their waits overlap the other modules' work instead of ending the run alone.
BROWSER_MODULES = ("test_browser_eye.py", "test_browser.py", "test_browser_markup.py", "test_signin.py")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    last = len(BROWSER_MODULES)
    items.sort(key=lambda i: BROWSER_MODULES.index(i.path.name) if i.path.name in BROWSER_MODULES else last)
