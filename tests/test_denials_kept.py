"""The denial model kept in the store after a load: what a reader gets back, what a scoped reader may see, the
open claims' scores checked against the claims themselves, the command line, and staleness after a load."""

from __future__ import annotations

import io
import json

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner
from sklearn import metrics as skm

from opsdash import codec, queries
from opsdash.cli import main
from opsdash.denials import kept, model
from opsdash.store import Scope, Store
from tests.helpers import loaded_since_kept

HELIX, MERIDIAN = "Helix Health Services", "Meridian Revenue Partners"


@pytest.fixture(scope="module")
def claims(sample_store) -> pd.DataFrame:
    return queries.claims_columns(sample_store, kept.COLUMNS)


@pytest.fixture(scope="module")
def views(sample_store) -> dict:
    got = {v.vendor: v for v in kept.views(sample_store)}
    assert set(got) == {None, HELIX, MERIDIAN}  # kept by the sample's load (conftest, as opsdash demo does)
    return got


def test_a_kept_card_reads_back_as_made(sample_store, views):
    """The bytes kept decode to what is made now from the same store (trained_at aside): the code is seeded."""
    made = {v.vendor: v for v in kept.make(sample_store).views}
    for vendor, view in views.items():
        again = made[vendor]
        assert codec.encode(view.__class__(**{**view.__dict__, "trained_at": ""})) == \
            codec.encode(again.__class__(**{**again.__dict__, "trained_at": ""})), vendor


def test_each_vendors_card_holds_its_own_figures(claims, views):
    """A vendor's card: the model in use judged on that vendor's held-out claims only, equal to scikit-learn on
    those claims' scores (recomputed by the same seeded evaluation)."""
    ev = model.evaluate(claims)
    for vendor in (HELIX, MERIDIAN):
        part = ev.test[ev.test["vendor"] == vendor]
        denied = part["initial_outcome"].eq("denied").to_numpy()
        view = views[vendor]
        assert view.model.claims == len(part) and view.model.denied == int(denied.sum())
        assert view.model.auroc == pytest.approx(skm.roc_auc_score(denied, part["boosted_score"]), abs=1e-12)
        assert view.baseline.auroc == pytest.approx(skm.roc_auc_score(denied, part["baseline_score"]), abs=1e-12)
        assert view.model.brier == pytest.approx(skm.brier_score_loss(denied, part["boosted_score"]), abs=1e-12)
        assert {a.vendor for a in view.audits} == {vendor}
        assert set(view.by_payer["value"]) == set(part["payer"])
    pooled = views[None]
    assert pooled.model.claims == len(ev.test) and {a.vendor for a in pooled.audits} == {HELIX, MERIDIAN}


def test_a_scoped_reader_sees_only_its_vendors_card_and_scores(sample_store):
    helix = sample_store.scoped(Scope.of([HELIX]))
    got = kept.views(helix)
    assert [v.vendor for v in got] == [HELIX]  # never the pooled card, nor Meridian's
    assert all(a.vendor == HELIX for v in got for a in v.audits)
    text = json.dumps([str(v.__dict__) for v in got])
    assert MERIDIAN not in text and "Meridian ClaimIQ" not in text
    scores = kept.scores(helix)
    assert len(scores) and set(scores["vendor"]) == {HELIX}


def test_every_open_claim_is_scored_with_its_dollars_at_risk(sample_store, claims):
    """The scored claims are exactly the claims without a first decision; the stage is 'not yet billed' exactly
    where there is no submission; dollars at risk are the risk times the amount billed; highest first."""
    s = kept.scores(sample_store)
    open_ = claims[claims["initial_outcome"].isna()]
    assert sorted(zip(s["vendor"], s["claim_id"])) == sorted(zip(open_["vendor"], open_["claim_id"]))
    merged = s.merge(open_, on=["vendor", "claim_id"], suffixes=("", "_claim"))
    assert (merged["stage"].eq(kept.UNBILLED) == merged["submitted_date_claim"].isna()).all()
    assert merged["expected_loss"].to_numpy() == pytest.approx(
        merged["risk"].to_numpy() * merged["billed_amount_claim"].to_numpy(), rel=1e-12)
    assert (np.diff(s["expected_loss"].to_numpy()) <= 0).all()
    assert ((s["risk"] > 0) & (s["risk"] < 1)).all()
    # reasons are words with points, never a machine name
    pts = s["reasons"].str.contains(r"\(\+[1-9]\d* pts\)")
    assert (pts | s["reasons"].eq(kept.NO_REASON)).all() and pts.mean() > 0.7
    assert s.loc[~pts, "risk"].max() < s.loc[pts, "risk"].median()  # the unexplained are the low risks
    assert not s["reasons"].str.contains("prior_auth|eligibility_age_days|days_to_submit").any()


def test_missing_authorisation_leads_the_reasons_where_it_is_missing(sample_store, claims):
    """A claim whose required authorisation is not obtained is, on the planted mechanism, chiefly at risk for it:
    among such submitted claims awaiting a decision, it is the first reason of most."""
    s = kept.scores(sample_store).merge(claims, on=["vendor", "claim_id"], suffixes=("", "_claim"))
    missing = s[s["prior_auth_required"].eq(True) & s["prior_auth_obtained"].eq(False)]
    assert len(missing) >= 10
    first = missing["reasons"].str.split(";").str[0]
    assert first.str.startswith("prior authorisation required, not obtained").mean() > 0.8


def _cli(db, *args):
    return CliRunner().invoke(main, ["denials", *args[:1], "--db", str(db), *args[1:]])


def test_the_command_line_prints_what_is_kept(sample_store):
    r = _cli(sample_store.path, "score", "--format", "csv")
    assert r.exit_code == 0, r.output
    printed = pd.read_csv(io.StringIO(r.output))
    s = kept.scores(sample_store)
    assert list(printed["claim_id"]) == list(s["claim_id"])
    assert printed["risk"].to_numpy() == pytest.approx(s["risk"].to_numpy(), rel=1e-9)
    r = _cli(sample_store.path, "score", "--top", "3", "--vendor", HELIX)
    assert r.exit_code == 0 and r.output.count(HELIX) == 3 and "%" in r.output and "$" in r.output
    r = _cli(sample_store.path, "evaluate", "--format", "json")
    rows = pd.DataFrame(json.loads(r.output))
    views = {v.vendor or "all vendors": v for v in kept.views(sample_store)}
    for _, row in rows[rows["model"] == "opsdash"].iterrows():
        assert row["auroc"] == pytest.approx(views[row["vendor"]].model.auroc, abs=1e-9)  # JSON: 10 places
    assert {"Helix DenialShield 2.0", "Meridian ClaimIQ 3.2", "baseline"} <= set(rows["model"])
    r = _cli(sample_store.path, "evaluate")
    assert "over-confident" in r.output and "did not learn from" in r.output


def test_after_a_load_the_old_model_is_not_shown_until_trained_again(tmp_path, sample_store):
    db = loaded_since_kept(sample_store.path, tmp_path / "s.duckdb")  # a load since the model was kept
    with Store(db, read_only=True) as r:
        assert kept.views(r) == [] and kept.scores(r).empty
    out = _cli(db, "score")
    assert out.exit_code == 1 and "run `opsdash denials train`" in out.output
    out = _cli(db, "train")
    assert out.exit_code == 0 and "gradient-boosted model kept" in out.output
    with Store(db, read_only=True) as r:
        assert len(kept.views(r)) == 3


def test_too_little_history_is_kept_as_words(tmp_path):
    """A store with a few claims keeps a card that says why there is no model, and scores nothing."""
    db = tmp_path / "few.duckdb"
    with Store(db) as s:
        with s.transaction() as tx:
            tx.execute("INSERT INTO claims (claim_id, vendor, payer, received_date, submitted_date, adjudicated_date, "
                       "initial_outcome, billed_amount) VALUES ('C1', 'Acme', 'Aetna', DATE '2026-01-05', "
                       "DATE '2026-01-06', DATE '2026-01-20', 'denied', 100)")
        assert kept.keep(s)
    with Store(db, read_only=True) as r:
        views = kept.views(r)
        assert [v.vendor for v in views] == [None, "Acme"]
        assert all(v.chosen == model.NONE for v in views)
        assert "a model needs 9" in views[0].why  # the pooled card's figures are every vendor's ...
        assert views[1].why == kept.NOT_ENOUGH_WORDS  # ... a vendor's card says it without them
        assert kept.scores(r).empty
    r = _cli(db, "evaluate")
    assert r.exit_code == 0 and "a model needs 9" in r.output
