"""Denial risk: the measures equal scikit-learn's, the allow-list refuses what is not known at submission, the
time split refuses a claim's future, the model recovers the generator's planted mechanism, and the vendor audit
tells a good, a poor and an over-confident vendor model apart."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest
from sklearn import metrics as skm
from sklearn.linear_model import LogisticRegression

from opsdash.denials import features as feats
from opsdash.denials import measures, model, vendors
from opsdash.sample.stories import DENIAL_MECHANISM, Timeline, VendorScore
from opsdash.sample.tables import claims as generated_claims

AS_OF = dt.date(2026, 11, 26)


@pytest.fixture(scope="module")
def claims() -> pd.DataFrame:
    """The sample's claims as the generator holds them (24 months, two vendors, the planted mechanism)."""
    return generated_claims(20261126, Timeline(AS_OF, 24), 1.0)


@pytest.fixture(scope="module")
def evaluation(claims) -> model.Evaluation:
    return model.evaluate(claims)


# -- the measures -------------------------------------------------------------------------------------------
@pytest.mark.parametrize("seed", range(4))
def test_measures_equal_scikit_learns(seed):
    """On random scores with ties (rounded to two places) and rare positives, as denials are."""
    rng = np.random.default_rng(seed)
    y = rng.random(3000) < 0.07
    s = np.clip(np.round(0.05 + 0.1 * y + rng.normal(0, 0.08, y.size), 2), 0.01, 0.99)
    assert measures.auroc(s, y) == pytest.approx(skm.roc_auc_score(y, s), abs=1e-12)
    assert measures.auprc(s, y) == pytest.approx(skm.average_precision_score(y, s), abs=1e-12)
    assert measures.brier(s, y) == pytest.approx(skm.brier_score_loss(y, s), abs=1e-12)
    logit = np.log(s / (1 - s))[:, None]
    ref = LogisticRegression(C=np.inf, tol=1e-12, max_iter=10_000).fit(logit, y)
    slope, intercept = measures.calibration(s, y)
    assert (slope, intercept) == pytest.approx((ref.coef_[0][0], ref.intercept_[0]), abs=1e-5)


def test_reliability_bins_hold_equal_counts_and_their_means():
    s = np.array([0.9, 0.1, 0.2, 0.8, 0.3, 0.7])
    y = np.array([1, 0, 0, 1, 1, 0], dtype=bool)
    r = measures.reliability(s, y, bins=3)
    assert r.to_dict("list") == {"mean_score": pytest.approx([0.15, 0.5, 0.85]), "share_denied": [0.0, 0.5, 1.0],
                                 "claims": [2, 2, 2]}


def test_at_capacity_by_hand():
    """Two days of four claims, a capacity of 1.5 a day: day one works 1 claim, day two 2 (floor of the running
    total), each day's highest scores first."""
    day = np.array([1, 1, 1, 1, 2, 2, 2, 2])
    s = np.array([0.9, 0.5, 0.4, 0.1, 0.8, 0.7, 0.6, 0.2])
    y = np.array([1, 1, 0, 0, 0, 1, 1, 0], dtype=bool)
    amount = np.array([100, 300, 1, 1, 1, 50, 1000, 1], dtype=float)
    got = measures.at_capacity(s, y, day, 1.5, amount)
    # worked: day 1 the 0.9 (denied, $100); day 2 the 0.8 (paid) and the 0.7 (denied, $50)
    assert (got.worked, got.precision, got.recall) == (3, pytest.approx(2 / 3), pytest.approx(2 / 4))
    assert got.value_caught == pytest.approx(150 / 1450)


# -- what a model may know ----------------------------------------------------------------------------------
def test_only_what_is_known_at_submission_may_be_read():
    """The contract's events decide: adjudication and what it carries are not known at submission."""
    assert feats.known_at_submission() == frozenset(feats.CLAIMS.column_names) - {
        "adjudicated_date", "initial_outcome", "denial_reason", "paid_amount"}
    assert {c for f in feats.FEATURES for c in f.reads} <= feats.known_at_submission()


@pytest.mark.parametrize("column", ["initial_outcome", "denial_reason", "paid_amount", "adjudicated_date"])
def test_a_feature_reading_a_post_adjudication_field_is_refused(column):
    with pytest.raises(feats.LeakError, match=f"reads '{column}', which is not known when a claim is submitted"):
        feats.Feature("leak", ("payer", column), "category", "leak")


def test_the_vendors_own_score_is_never_a_feature():
    for column in ("vendor_risk_score", "vendor_risk_model"):
        with pytest.raises(feats.LeakError, match="audited, never learnt from"):
            feats.Feature("theirs", (column,), "number", "their score")


def test_the_time_split_refuses_a_claims_future(claims):
    """Training claims must have been submitted and decided before the cut-off: one decided after it (its outcome
    not yet known then) is planted, and training refuses."""
    s = model.split(claims)
    assert (pd.to_datetime(s.train["adjudicated_date"]) < pd.Timestamp(s.cutoff)).all()
    assert (pd.to_datetime(s.test["submitted_date"]) >= pd.Timestamp(s.cutoff)).all()
    leaked = pd.concat([s.train, s.test.head(1)])
    with pytest.raises(feats.LeakError, match="1 training claims were submitted or decided on or after"):
        model.fit(leaked, s.cutoff)
    undecided = s.train.copy()
    undecided.loc[undecided.index[0], "initial_outcome"] = None
    with pytest.raises(feats.LeakError, match="1 have no decision"):
        model.fit(undecided, s.cutoff)


# -- the model on the planted mechanism -----------------------------------------------------------------------
def test_the_model_recovers_the_planted_mechanism(evaluation):
    """On the held-out months the boosted model ranks denials within 0.02 of the mechanism's own AUROC (the best
    possible, computed from the very claims' true probabilities), and its risk figures are calibrated: over ten
    bins of equal count, the claim-weighted gap between mean score and share denied is under 1.5 points."""
    test = evaluation.test
    denied = model.denied_of(test)
    bayes = measures.auroc(DENIAL_MECHANISM.probability(test), denied)
    assert abs(evaluation.boosted.auroc - bayes) <= 0.02, (evaluation.boosted.auroc, bayes)
    r = evaluation.boosted.reliability
    assert (r["claims"] * (r["mean_score"] - r["share_denied"]).abs()).sum() / r["claims"].sum() < 0.015
    # and it earns its place: better than the baseline beyond chance, so it is the one used
    assert evaluation.gain[0] > 0 and evaluation.chosen == model.BOOSTED
    assert evaluation.boosted.auroc > evaluation.baseline.auroc + 0.04


def test_training_is_reproducible(claims, evaluation):
    again = model.evaluate(claims)
    assert (again.test["boosted_score"].to_numpy() == evaluation.test["boosted_score"].to_numpy()).all()
    assert again.gain == evaluation.gain


def test_the_baseline_is_the_smoothed_payer_by_group_rate():
    """Hand-worked: 10 claims of (A, x), 2 denied; the payer A also has 10 (A, y), none denied; overall 2/20.
    With smoothing m = 10: payer A = (2 + 10 x 0.1) / (20 + 10) = 0.1; (A, x) = (2 + 10 x 0.1) / (10 + 10)."""
    x = pd.DataFrame({"payer": ["A"] * 20, "procedure_group": ["x"] * 10 + ["y"] * 10})
    y = np.array([1, 1] + [0] * 18, dtype=bool)
    b = model.Baseline(10).fit(x, y)
    assert b.payer["A"] == pytest.approx(0.1)
    got = b.predict(pd.DataFrame({"payer": ["A", "A", "B"], "procedure_group": ["x", "y", "x"]}))
    assert got == pytest.approx([3 / 20, 1 / 20, 0.1])


def _redrawn(claims: pd.DataFrame, p: np.ndarray, seed: int) -> pd.DataFrame:
    """The same claims with outcomes drawn anew at probabilities `p` (decided claims only)."""
    out = claims.copy()
    decided = out["initial_outcome"].notna().to_numpy()
    draw = np.random.default_rng(seed).random(len(out)) < p
    out.loc[decided, "initial_outcome"] = np.where(draw[decided], "denied", "paid")
    return out


def test_a_model_no_better_than_the_baseline_is_not_used(claims):
    """Where denials depend on the payer and procedure group alone, the boosted model cannot beat the baseline
    beyond chance: the baseline is used, and the card says why."""
    rates = {g: r for g, r in zip(sorted(claims["procedure_group"].unique()), np.linspace(0.03, 0.2, 7),
                                  strict=True)}
    p = claims["procedure_group"].map(rates).to_numpy() * np.where(claims["payer"].eq("Medicaid"), 1.5, 1.0)
    ev = model.evaluate(_redrawn(claims, p, 3))
    assert ev.chosen == model.BASELINE and "no better than the baseline" in ev.why


def test_an_uninformative_world_gets_no_model(claims):
    ev = model.evaluate(_redrawn(claims, np.full(len(claims), 0.06), 4))
    assert ev.chosen == model.NONE and "better than chance" in ev.why
    trained = model.train(_redrawn(claims, np.full(len(claims), 0.06), 4))
    with pytest.raises(model.NotEnough, match="better than chance"):
        trained.predict(feats.frame(claims.head(3)))


def test_too_little_history_is_said(claims):
    recent = claims[pd.to_datetime(claims["received_date"]) >= pd.Timestamp("2026-05-01")]
    with pytest.raises(model.NotEnough, match=r"months of submitted claims have their decisions; a model needs 9"):
        model.evaluate(recent)


# -- the vendors' own models ----------------------------------------------------------------------------------
def test_the_audit_tells_good_poor_and_over_confident_vendor_models_apart(claims):
    """The sample's claims dealt to three vendors at random, each sending scores of a declared quality from the
    generator's mechanism: the audit calls the good one calibrated and no worse than opsdash's baseline, the poor
    one worse than the baseline, the over-confident one over-confident (and ranking as well as the good one)."""
    specs = {"Good Co": VendorScore("x", "Good 1", "good"), "Poor Co": VendorScore("x", "Poor 1", "poor"),
             "Bold Co": VendorScore("x", "Bold 1", "over-confident")}
    truth = DENIAL_MECHANISM.probability(claims)
    rng = np.random.default_rng(9)
    who = rng.choice(list(specs), len(claims))
    dealt = claims.assign(vendor=who)
    for name, spec in specs.items():
        at = who == name
        dealt.loc[at, "vendor_risk_score"] = spec.scores(rng, truth[at])
        dealt.loc[at, "vendor_risk_model"] = spec.model
    ev = model.evaluate(dealt)
    got = {v.vendor: v for v in vendors.audit(ev, model.DEFAULT)}
    assert set(got) == set(specs)
    assert got["Good Co"].calibration == "calibrated" and got["Good Co"].ranking in ("better", "no better")
    assert got["Poor Co"].ranking == "worse"
    assert got["Bold Co"].calibration == "over-confident" and got["Bold Co"].judged.slope < 0.6
    assert got["Poor Co"].judged.auroc < min(got["Good Co"].judged.auroc, got["Bold Co"].judged.auroc) - 0.05
    assert abs(got["Bold Co"].judged.auroc - got["Good Co"].judged.auroc) < 0.03
    # each verdict's words carry the figures they rest on
    assert f"{got['Poor Co'].judged.auroc:.2f}" in got["Poor Co"].words


def test_a_category_of_many_values_is_folded_for_the_trees(claims):
    """Real payer-plan lists run past the trees' 255 values: the rarest share one value, '(other)', at training
    and at scoring (where a value never seen reads as it too)."""
    s = model.split(claims)
    train = s.train.assign(payer=[f"Plan {i % 400}" for i in range(len(s.train))])
    fitted = model.fit(train, s.cutoff)
    cats = fitted.boosted.categories["payer"]
    assert len(cats) == model.MAX_CATEGORIES and cats[-1] == model.OTHER
    test = s.test.head(50).assign(payer=["Plan 399", "Never seen"] * 25)
    risk = fitted.boosted.predict(feats.frame(test))
    assert np.isfinite(risk).all() and ((risk > 0) & (risk < 1)).all()


def test_an_eligibility_check_after_submission_is_not_known_at_it():
    c = pd.DataFrame({"submitted_date": ["2026-01-10", "2026-01-10"], "eligibility_verified_date": ["2026-01-02",
                                                                                                     "2026-01-20"],
                      "received_date": ["2026-01-01"] * 2, "payer": ["A", "A"], "procedure_group": ["x", "x"],
                      "claim_type": ["p", "p"], "vendor": ["V", "V"], "facility": ["F", "F"],
                      "prior_auth_required": [False, False], "prior_auth_obtained": [None, None],
                      "billed_amount": [1.0, 1.0]})
    ages = feats.frame(c)["eligibility_age_days"].to_numpy()
    assert ages[0] == 8 and np.isnan(ages[1])


def test_the_boosted_model_is_used_only_when_it_beats_the_baseline_and_chance():
    assert model.choose((0.01, 0.05), (0.6, 0.7), (0.62, 0.72))[0] == model.BOOSTED
    assert model.choose((0.01, 0.05), (0.40, 0.5), (0.45, 0.55))[0] == model.NONE  # better, but not than chance
    assert model.choose((-0.01, 0.05), (0.6, 0.7), (0.62, 0.72))[0] == model.BASELINE


def test_training_leaves_out_claims_submitted_within_the_decision_lag_of_the_cut_off(claims):
    """Those already decided by the cut-off are the quickly decided ones: none of them trains the model."""
    s = model.split(claims)
    lag = model.decision_lag(claims[claims["submitted_date"].notna()])
    assert pd.Timedelta(days=7) < lag < pd.Timedelta(days=60)
    assert (pd.to_datetime(s.train["submitted_date"]) < pd.Timestamp(s.cutoff) - lag).all()


def test_each_open_claim_is_scored_as_of_its_own_vendors_latest_day():
    """A vendor's own data decides: one vendor's later data never ages another's open claims."""
    from opsdash.denials import kept

    c = pd.DataFrame({"vendor": ["A", "A", "B"], "received_date": ["2026-01-01", "2026-01-05", "2026-01-02"],
                      "submitted_date": ["2026-01-03", None, None], "adjudicated_date": ["2026-02-01", None, None]})
    assert list(kept._as_of(c).dt.date.astype(str)) == ["2026-02-01", "2026-02-01", "2026-01-02"]


def test_an_open_claim_is_described_as_of_its_own_vendors_day_wherever_it_sits_in_the_store():
    """The as-of day follows the claim, not its row number: here vendor B's open claim is the first open one
    while the store's first row is vendor A's, whose data run a month later."""
    from opsdash.denials import kept

    c = pd.DataFrame({"vendor": ["A", "A", "B"], "received_date": ["2026-01-01", "2026-01-05", "2026-01-01"],
                      "submitted_date": ["2026-01-03", "2026-01-06", None],
                      "adjudicated_date": ["2026-02-01", "2026-01-20", None],
                      "initial_outcome": ["paid", "denied", None], "eligibility_verified_date": [None] * 3,
                      "prior_auth_required": [None] * 3, "prior_auth_obtained": [None] * 3,
                      "billed_amount": [100.0] * 3, "payer": ["P"] * 3, "procedure_group": ["G"] * 3,
                      "claim_type": ["professional"] * 3, "facility": ["F"] * 3})
    open_, x = kept.open_claims(c)
    assert list(open_["vendor"]) == ["B"]
    assert x["days_to_submit"].tolist() == [0.0]  # received on B's latest day, 1 Jan; A's is 1 Feb (31 days)


def test_a_derived_feature_is_handed_only_the_columns_it_declares(claims):
    """A feature's computation cannot read a column its declaration leaves out: here one declares the payer and
    tries to read the outcome."""
    peek = feats.Feature("peek", ("payer",), "number", "peek", lambda c: c["initial_outcome"].eq("denied").to_numpy())
    with pytest.raises(KeyError, match="initial_outcome"):
        feats.frame(claims, features=(peek,))
    with pytest.raises(ValueError, match="say how they make one value"):
        feats.Feature("two", ("payer", "facility"), "category", "two")


def test_a_capacity_given_is_each_vendors_team_and_the_pooled_figure_counts_every_team(claims):
    ev = model.evaluate(claims, capacity=5)
    teams = ev.test["vendor"].nunique()
    assert teams == 2 and ev.capacity == 10 and ev.given == 5
    assert ev.boosted.at_capacity.capacity == 10
    # each vendor's own model is judged at its own team's capacity, as given
    assert {a.judged.at_capacity.capacity for a in vendors.audit(ev, model.DEFAULT)} == {5}


def _monthly(months: list[str], decided: dict[str, float], through: str) -> pd.DataFrame:
    """Ten claims submitted on the 10th of each month, the given share of each month's decided on the 20th."""
    rows = []
    for m in months:
        for i in range(10):
            done = i < round(10 * decided.get(m, 1.0))
            rows.append({"vendor": "A", "received_date": f"{m}-09", "submitted_date": f"{m}-10",
                         "adjudicated_date": f"{m}-20" if done else None,
                         "initial_outcome": ("denied" if i == 0 else "paid") if done else None})
    rows.append({"vendor": "A", "received_date": through, "submitted_date": None, "adjudicated_date": None,
                 "initial_outcome": None})
    return pd.DataFrame(rows)


def test_the_test_months_are_whole_months_each_decided_and_in_a_row():
    months = [f"2025-{m:02d}" for m in range(1, 13)]
    settings = model.Settings(min_months=3, test_months=3)
    # December is fully decided but the data stop on 22 Dec: not a whole month, so not judged on
    s = model.split(_monthly(months, {}, "2025-12-22"), settings)
    assert (s.cutoff, s.end) == (dt.date(2025, 9, 1), dt.date(2025, 12, 1))
    # the data run past December's end: it is whole, and judged on
    s = model.split(_monthly(months, {}, "2026-01-02"), settings)
    assert (s.cutoff, s.end) == (dt.date(2025, 10, 1), dt.date(2026, 1, 1))
    # October has half its claims decided: the test months are the latest three complete ones in a row
    s = model.split(_monthly(months, {"2025-10": 0.5}, "2026-01-02"), settings)
    assert (s.cutoff, s.end) == (dt.date(2025, 7, 1), dt.date(2025, 10, 1))
    assert set(pd.to_datetime(s.test["submitted_date"]).dt.month) == {7, 8, 9}
    # no three complete months in a row at all: said plainly
    gaps = {m: 0.5 for m in months[2::3]}
    with pytest.raises(model.NotEnough, match="no 3 months in a row"):
        model.split(_monthly(months, gaps, "2026-01-02"), settings)


def test_the_test_months_leave_enough_complete_months_before_them_to_learn_from():
    """Only Jan-Mar are three complete months in a row; nothing complete precedes them, so there is nothing to
    learn from: said plainly, not an empty training set."""
    months = [f"2025-{m:02d}" for m in range(1, 13)]
    settings = model.Settings(min_months=3, test_months=3)
    gaps = {m: 0.5 for m in ("2025-04", "2025-06", "2025-08", "2025-10", "2025-12")}
    with pytest.raises(model.NotEnough, match="3 complete months before them to learn from"):
        model.split(_monthly(months, gaps, "2026-01-02"), settings)
    # with the three months before them complete too, the same run is judged on and trained before
    s = model.split(_monthly(months, {m: 0.5 for m in ("2025-08", "2025-10", "2025-12")}, "2026-01-02"), settings)
    assert (s.cutoff, s.end) == (dt.date(2025, 5, 1), dt.date(2025, 8, 1))
