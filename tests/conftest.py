"""Shared fixtures: a fresh store per test, the sample store, and helpers to write input files."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from opsdash.ingest.loader import LoadReport, load_file
from opsdash.ingest.folders import load_folder
from opsdash.store import Store

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


@pytest.fixture(scope="session")
def sample_store(tmp_path_factory: pytest.TempPathFactory) -> Store:
    """The bundled sample data loaded once (read by many tests, changed by none)."""
    path = tmp_path_factory.mktemp("sample") / "sample.duckdb"
    with Store(path) as s:
        reports = load_folder(s, SAMPLE)
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
