"""The Streamlit app runs on the sample store and on no store."""

from __future__ import annotations

from streamlit.testing.v1 import AppTest

from tests.conftest import ROOT


def _app(monkeypatch, db) -> AppTest:
    monkeypatch.setenv("OPSDASH_DB", str(db))
    monkeypatch.chdir(ROOT)
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=30)
    return at.run()


def test_loads_page_shows_the_store(monkeypatch, sample_store):
    at = _app(monkeypatch, sample_store.path)
    assert not at.exception
    metrics = {m.label: m.value for m in at.metric}
    counts = sample_store.table_counts()
    assert metrics["Claims"] == f"{counts['claims']:,}" and metrics["Calls"] == f"{counts['calls']:,}"
    assert metrics["Quality audits"] == f"{counts['qa_audits']:,}" and metrics["Service levels"] == f"{counts['sla_targets']:,}"
    loads = at.dataframe[0].value
    assert len(loads) == len(sample_store.reports)
    rejects = at.dataframe[1].value
    assert len(rejects) == sample_store.fetchone("SELECT count(*) FROM rejects")[0]


def test_without_a_store_the_page_says_how_to_make_one(monkeypatch, tmp_path):
    at = _app(monkeypatch, tmp_path / "missing.duckdb")
    assert not at.exception
    assert any("opsdash demo" in i.value for i in at.info)
