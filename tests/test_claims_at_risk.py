"""The Claims page's 'Claims at risk' section: status first, the model beside its measured accuracy, whether its
risks come true, the work list as kept, the vendors' own models audited; filters and scope respected."""

from __future__ import annotations


import pandas as pd

import pytest

from opsdash.denials import kept
from tests.helpers import loaded_since_kept, plotted
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
    assert {"Helix DenialShield 2.0 (Helix Health Services' own)", "Meridian ClaimIQ 3.2 (Meridian Revenue Partners' own)"} <= set(names)
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
    assert f"Measured on {HELIX}' claims: AUROC {helix.model.auroc:.2f}" in words
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
    db = loaded_since_kept(sample_store.path, tmp_path / "s.duckdb")  # a load since the model was kept
    at = _app(monkeypatch, db, "claims", VIEW)
    assert not at.exception and not at.error
    assert "run `opsdash denials train`" in _words(at)
    assert not [d for d in at.dataframe if "reasons" in d.value.columns]


# -- accuracy by vendor and payer, and the vendors' models audited: each figure against scikit-learn ------------
@pytest.fixture(scope="module")
def held_out(sample_store):
    """The model trained again from the store's claims (seeded: the kept model's twin), and its held-out claims
    with every model's score, from which the figures are computed here with scikit-learn."""
    from opsdash import queries
    from opsdash.denials import model

    trained = model.train(queries.claims_columns(sample_store, kept.COLUMNS))
    test = trained.evaluation.test
    return trained, test.assign(denied=model.denied_of(test))


def _table(at, column):
    return next(d.value for d in at.dataframe if column in d.value.columns)


def test_accuracy_by_vendor_and_payer_is_scikit_learns_on_the_held_out_claims(monkeypatch, sample_store, held_out):
    from sklearn.metrics import brier_score_loss, roc_auc_score

    trained, test = held_out
    pooled = next(v for v in kept.views(sample_store) if v.vendor is None)
    assert pooled.chosen == trained.card.chosen == "boosted"
    at = _app(monkeypatch, sample_store.path, "claims", VIEW)
    by_vendor = _table(at, "baseline_dollars_caught").set_index("vendor")
    assert set(by_vendor.index) == {HELIX, MERIDIAN}
    for vendor, part in test.groupby("vendor"):
        row = by_vendor.loc[vendor]
        assert row["claims"] == len(part) and row["denials"] == part["denied"].sum()
        assert row["auroc"] == pytest.approx(roc_auc_score(part["denied"], part["boosted_score"]), abs=1e-12)
        assert row["baseline_auroc"] == pytest.approx(roc_auc_score(part["denied"], part["baseline_score"]), abs=1e-12)
        assert row["brier"] == pytest.approx(brier_score_loss(part["denied"], part["boosted_score"]), abs=1e-12)
        assert row["share_denied"] == pytest.approx(100 * part["denied"].mean())  # shown in percent
    by_payer = next(d.value for d in at.dataframe if {"payer", "baseline_auroc"} <= set(d.value.columns)).set_index("payer")
    assert list(by_payer["claims"]) == sorted(by_payer["claims"], reverse=True)
    for payer, part in test.groupby("payer"):
        row = by_payer.loc[payer]
        assert row["claims"] == len(part) and row["denials"] == part["denied"].sum()
        if part["denied"].sum() >= 10:
            assert row["auroc"] == pytest.approx(roc_auc_score(part["denied"], part["boosted_score"]), abs=1e-12)
        else:
            assert pd.isna(row["auroc"]) or row["auroc"] == "—"


def test_each_vendors_model_is_audited_against_scikit_learn_on_the_claims_it_scored(monkeypatch, sample_store, held_out):
    from sklearn.metrics import brier_score_loss, roc_auc_score

    _, test = held_out
    at = _app(monkeypatch, sample_store.path, "claims", VIEW)
    audit = _table(at, "verdict")
    verdicts = {}
    for vendor, part in test[test["vendor_risk_score"].notna()].groupby("vendor"):
        rows = audit[audit["vendor"] == vendor].set_index("risk_model")
        theirs = rows.iloc[0]  # the vendor's own model first, then opsdash's two on the same claims
        assert rows.index[0].endswith("' own)") and len(rows) == 3
        assert theirs["claims"] == len(part)
        assert theirs["auroc"] == pytest.approx(roc_auc_score(part["denied"], part["vendor_risk_score"]), abs=1e-12)
        assert theirs["brier"] == pytest.approx(brier_score_loss(part["denied"], part["vendor_risk_score"]), abs=1e-12)
        assert theirs["mean_score"] == pytest.approx(100 * part["vendor_risk_score"].mean())
        ours = rows.iloc[2]
        assert ours["auroc"] == pytest.approx(roc_auc_score(part["denied"], part["boosted_score"]), abs=1e-12)
        verdicts[vendor] = theirs["verdict"]
    # the sample plants an over-confident model at Helix and a calibrated one at Meridian
    assert verdicts[HELIX].endswith("; over-confident") and verdicts[MERIDIAN].endswith("; calibrated")


def test_the_gaps_of_the_audit_are_said():
    """A vendor model with too few denials among the claims it scored, and a vendor that scored none."""
    import datetime as dt
    from types import SimpleNamespace

    from opsdash import views

    held_out = (dt.date(2026, 8, 1), dt.date(2026, 11, 1))
    cards = [SimpleNamespace(held_out=held_out, audits=(), unjudged=(("Acme", "Acme Risk 1", 7),)),
             SimpleNamespace(held_out=held_out, audits=(), unjudged=(("Cobalt", "Cobalt Scores", 0),))]
    audits, unjudged = views.vendor_audits(cards, ("Acme", "Birch", "Cobalt"))
    said = views.vendor_model_gaps(audits, unjudged, held_out, ("Acme", "Birch", "Cobalt"))
    assert said == ["Acme Risk 1 (Acme's own) is not judged: only 7 of the held-out claims it scored were denied, "
                    "and judging it needs at least 20.",
                    "Cobalt Scores (Cobalt's own) is not judged: none of the held-out claims it scored were denied, "
                    "and judging it needs at least 20.",
                    "Birch sent no denial-risk score of its own with the claims submitted Aug 2026 to Oct 2026, so "
                    "it has no model to judge."]
    # a vendor not shown is never said, nor its model
    audits, unjudged = views.vendor_audits(cards, ("Birch",))
    assert unjudged == [] and views.vendor_model_gaps(audits, unjudged, held_out, ("Birch",)) == [said[2]]


def test_a_reader_of_several_vendors_sees_each_ones_model_audited():
    """Without the pooled card (a reader scoped to two vendors), every vendor the page shows has its model judged;
    a filter naming one narrows to it."""
    from types import SimpleNamespace

    from opsdash import views

    a = SimpleNamespace(vendor="A", audits=(SimpleNamespace(vendor="A", model="a1"),), unjudged=())
    b = SimpleNamespace(vendor="B", audits=(SimpleNamespace(vendor="B", model="b1"),), unjudged=())
    cards = [a, b]
    shown = views.audited_vendors(cards, a, views.Filters())
    assert shown == ("A", "B")
    assert [x.model for x in views.vendor_audits(cards, shown)[0]] == ["a1", "b1"]
    assert views.audited_vendors(cards, b, views.Filters(vendors=("B",))) == ("B",)
    pooled = SimpleNamespace(vendor=None, audits=(*a.audits, *b.audits), unjudged=())
    assert views.audited_vendors([pooled, a, b], pooled, views.Filters(vendors=("A", "B"))) == ("A", "B")
    assert [x.model for x in views.vendor_audits([pooled], ("B",))[0]] == ["b1"]


def test_a_payers_auroc_is_shown_only_with_enough_denials_and_a_paid_claim():
    from types import SimpleNamespace

    from opsdash import views

    by = pd.DataFrame({"by": "payer", "value": ["P", "Q", "R"], "claims": [100, 50, 12], "denials": [10, 9, 12],
                       "share_denied": [0.1, 0.18, 1.0], "boosted_auroc": [0.7, 0.8, float("nan")],
                       "boosted_brier": [0.1] * 3, "boosted_mean_score": [0.1] * 3, "baseline_auroc": [0.6] * 3,
                       "baseline_brier": [0.1] * 3, "baseline_mean_score": [0.1] * 3})
    got = views.denial_accuracy_by_payer(SimpleNamespace(by_payer=by, chosen="boosted"), views.Filters())
    assert got["auroc"].tolist()[0] == 0.7 and got["auroc"].isna().tolist() == [False, True, True]
    only_q = views.denial_accuracy_by_payer(SimpleNamespace(by_payer=by, chosen="boosted"),
                                            views.Filters().with_extra(payer=("Q",)))
    assert only_q["payer"].tolist() == ["Q"]


# -- the Vendor scorecard: the vendor's claims at risk and its own model, nobody else's ------------------------
def _scorecard(monkeypatch, db, vendor):
    return _app(monkeypatch, db, "scorecard", {"sc_vendor": vendor})


def test_the_scorecard_shows_the_vendors_claims_at_risk_and_its_own_model(monkeypatch, sample_store):
    at = _scorecard(monkeypatch, sample_store.path, HELIX)
    assert not at.exception and not at.error, [e.value for e in at.error]
    assert "Claims at risk of denial" in [h.value for h in at.subheader]
    scores = kept.scores(sample_store)
    mine = scores[scores["vendor"] == HELIX]
    words = _words(at)
    assert f"**{len(mine):,} open claims, ${mine['expected_loss'].sum():,.0f} expected to be denied" in words
    table = _table(at, "reasons")
    assert list(table["claim_id"]) == list(mine.sort_values("expected_loss", ascending=False)["claim_id"].head(10))
    helix = next(v for v in kept.views(sample_store) if v.vendor == HELIX)
    assert [a.words for a in helix.audits] and all(a.words in words for a in helix.audits)
    assert set(_table(at, "verdict")["vendor"]) == {HELIX}
    assert "Meridian" not in words and MERIDIAN not in "".join(_table(at, "verdict")["risk_model"])


def test_a_vendor_without_claims_has_no_denial_section(monkeypatch, sample_store):
    at = _scorecard(monkeypatch, sample_store.path, "Ibérica Salud Contact Services")
    assert not at.exception and not at.error
    assert "Claims at risk of denial" not in [h.value for h in at.subheader]


def test_a_vendor_too_little_denied_to_measure_is_named_not_shown_as_blanks(sample_store):
    from types import SimpleNamespace

    from opsdash import views

    measured = next(v for v in kept.views(sample_store) if v.vendor == HELIX)
    few = SimpleNamespace(vendor="Birch", model=None, chosen="boosted", audits=(), unjudged=())
    got = views.denial_accuracy_by_vendor([measured, few], views.Filters())
    assert got["vendor"].tolist() == [HELIX]
    assert views.denial_unmeasured([measured, few], views.Filters()) == (
        "Not measured on Birch: too few of its held-out claims were denied (at least 10 needed).")
    assert views.denial_unmeasured([measured, few], views.Filters(vendors=(HELIX,))) == ""
    assert views.denial_accuracy_by_vendor([measured, few], views.Filters(vendors=("Birch",))).empty
