"""The Claims page's 'Claims at risk' section: status first, the model beside its measured accuracy, whether its
risks come true, the work list as kept, the vendors' own models audited; filters and scope respected."""

from __future__ import annotations

import shutil

import pytest

from opsdash.denials import kept
from opsdash.store import Store
from tests.helpers import plotted
from tests.test_app import _app

HELIX, MERIDIAN = "Helix Health Services", "Meridian Revenue Partners"
VIEW = {"claims_view": "Claims at risk"}


def _words(at) -> str:
    return " ".join(e.value.replace("\\", "") for e in (*at.markdown, *at.caption, *at.info))


def _figure(at):
    charts = at.get("plotly_chart")
    assert len(charts) == 1
    import json

    return json.loads(charts[0].proto.spec)


def test_the_section_shows_status_accuracy_reliability_and_the_work_list(monkeypatch, sample_store):
    at = _app(monkeypatch, sample_store.path, "claims", VIEW)
    assert not at.exception and not at.error, [e.value for e in at.error]
    scores = kept.scores(sample_store)
    words = _words(at)
    # status first: the open claims and their dollars at risk, summed here with pandas
    assert (f"**{len(scores):,} open claims, ${scores['expected_loss'].sum():,.0f} expected to be denied (risk x "
            "amount billed)**") in words
    for stage in (kept.AWAITING, kept.UNBILLED):  # each stage's part, summed here with pandas
        part = scores[scores["stage"] == stage]
        assert f"{stage.lower()}: {len(part):,} claims, ${part['expected_loss'].sum():,.0f}" in words
    # the model never without its accuracy on months it did not learn from
    pooled = next(v for v in kept.views(sample_store) if v.vendor is None)
    assert f"AUROC {pooled.model.auroc:.2f} (baseline {pooled.baseline.auroc:.2f})" in words
    assert "which it did not learn from" in words and "never the vendor's own score" in words
    # the work list is the kept one, riskiest dollars first
    table = next(d.value for d in at.dataframe if "reasons" in d.value.columns)
    assert list(table["claim_id"]) == list(scores["claim_id"])
    # both vendors' own models, audited in words with their figures
    for a in pooled.audits:
        assert a.words in words
    fig = _figure(at)
    assert "Does the risk come true?" in fig["layout"]["title"]["text"]
    assert fig["layout"]["xaxis"]["title"]["text"] and fig["layout"]["yaxis"]["title"]["text"]
    names = [t["name"] for t in fig["data"]]
    assert names[0].startswith("Calibrated") and "opsdash's model" in names
    assert {"Helix DenialShield 2.0 (Helix Health Services's own)", "Meridian ClaimIQ 3.2 (Meridian Revenue Partners's own)"} <= set(names)
    symbols = [t["marker"]["symbol"] for t in fig["data"][1:]]
    assert len(set(symbols)) == len(symbols)  # told apart by shape as well as colour
    # the points drawn are the card's reliability bins
    ours = next(t for t in plotted(at) if t["name"] == "opsdash's model")
    assert ours["x"] == pytest.approx(list(pooled.model.reliability["mean_score"]))
    assert ours["y"] == pytest.approx(list(pooled.model.reliability["share_denied"]))


def test_one_vendor_shows_its_own_card_and_claims(monkeypatch, sample_store):
    at = _app(monkeypatch, sample_store.path, "claims", {**VIEW, "vendor": [HELIX]})
    assert not at.exception and not at.error
    words = _words(at)
    helix = next(v for v in kept.views(sample_store) if v.vendor == HELIX)
    assert f"Measured on {HELIX}'s claims: AUROC {helix.model.auroc:.2f}" in words
    assert "Meridian ClaimIQ" not in words
    table = next(d.value for d in at.dataframe if "reasons" in d.value.columns)
    scores = kept.scores(sample_store)
    assert list(table["claim_id"]) == list(scores.loc[scores["vendor"] == HELIX, "claim_id"])


def test_a_payer_filter_narrows_the_work_list(monkeypatch, sample_store):
    at = _app(monkeypatch, sample_store.path, "claims", {**VIEW, "payer": ["Aetna"]})
    table = next(d.value for d in at.dataframe if "reasons" in d.value.columns)
    scores = kept.scores(sample_store)
    want = scores[scores["payer"] == "Aetna"]
    assert list(table["claim_id"]) == list(want["claim_id"]) and set(table["payer"]) == {"Aetna"}
    assert f"{len(want):,} open claims" in _words(at)


def test_without_a_kept_model_the_section_says_how_to_get_one(monkeypatch, tmp_path, sample_store):
    db = tmp_path / "s.duckdb"
    shutil.copy(sample_store.path, db)
    with Store(db) as s, s.transaction() as tx:  # a load since the model was kept
        tx.execute("INSERT INTO loads (load_id, file_name, table_name, rows_read, rows_loaded, rows_rejected, "
                   "started_at, finished_at) VALUES (9999, 'x.csv', 'claims', 0, 0, 0, "
                   "TIMESTAMP '2026-12-01 00:00:00', TIMESTAMP '2026-12-01 00:00:01')")
    at = _app(monkeypatch, db, "claims", VIEW)
    assert not at.exception and not at.error
    assert "run `opsdash denials train`" in _words(at)
    assert not [d for d in at.dataframe if "reasons" in d.value.columns]
