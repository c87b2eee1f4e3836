"""opsdash's denial-risk models, how they are judged, and whether one is used.

Two models learn from the store's adjudicated claims, reading only the allow-list (``features.FEATURES``):
- **the baseline**: the historical initial-denial rate of the claim's payer x procedure group, shrunk toward the
  payer's rate (and that toward the overall rate) by ``Settings.smoothing`` claims' worth, so a rare pair does
  not get an extreme rate from a handful of claims;
- **the gradient-boosted model**: scikit-learn's HistGradientBoostingClassifier (categories read natively,
  missing values allowed), then calibrated by a logistic fit of the outcome on its log-odds over the latest
  fifth of its training claims (by submission date, never used to grow the trees), so "30%" means 30%.

**The time split.** Claims are ordered by first submission. The test months are the latest run of whole months
(the data run past their last day) in a row whose claims have each nearly all (``Settings.decided_share``) had
their first decision; training holds the claims
submitted and decided before the first test month, so no training claim's outcome comes from after the cut-off
(``fit`` refuses one that does). Claims submitted within the usual decision lag (``decision_lag``: 90% of
claims decided within it) of the cut-off are left out: those already decided are the quickly decided ones, and
their share denied need not be everyone's. Both models are scored on the test months and judged (``measures.judge``),
overall and per payer and vendor.

**Which model is used.** The gradient-boosted model only if it beats the baseline on the test months beyond
chance (the lower end of a paired bootstrap's 90% interval of the AUROC gain is above 0); otherwise the
baseline, and only if the baseline itself ranks better than chance (its interval above 0.5). With too little
history or too few denials no model is trained, and the reason is said.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from opsdash.denials import features as feats
from opsdash.denials import measures


@dataclass(frozen=True)
class Settings:
    min_months: int = 6  # months of submissions with decisions before the test months
    min_train_denials: int = 200
    min_test_denials: int = 50
    test_months: int = 3
    decided_share: float = 0.9  # a month is complete once this share of its claims has a first decision
    smoothing: float = 50.0  # the baseline's shrinkage, in claims
    calibration_share: float = 0.2  # the latest share of the training claims kept to calibrate the boosted model
    bootstrap: int = 200
    capacity_share: float = 0.1  # a day's work capacity, as a share of the vendor's claims a day, when not given
    seed: int = 15


DEFAULT = Settings()
#: Values of one category the trees read apart (scikit-learn's limit is 255); the rarer share OTHER.
MAX_CATEGORIES = 250
OTHER = "(other)"


class NotEnough(ValueError):
    """Too little history or too few denials to train or judge a model."""


# -- the two models ------------------------------------------------------------------------------------------
@dataclass
class Baseline:
    """The smoothed historical denial rate of each payer x procedure group."""

    smoothing: float = DEFAULT.smoothing
    overall: float = float("nan")
    payer: dict[str, float] = field(default_factory=dict)
    pair: dict[tuple[str, str], float] = field(default_factory=dict)

    def fit(self, x: pd.DataFrame, denied: np.ndarray) -> Baseline:
        d = pd.DataFrame({"payer": x["payer"].astype(str), "group": x["procedure_group"].astype(str),
                          "denied": np.asarray(denied, dtype=float)})
        self.overall = float(d["denied"].mean())
        m = self.smoothing
        by_payer = d.groupby("payer")["denied"].agg(["sum", "count"])
        self.payer = ((by_payer["sum"] + m * self.overall) / (by_payer["count"] + m)).to_dict()
        by_pair = d.groupby(["payer", "group"])["denied"].agg(["sum", "count"]).reset_index()
        prior = by_pair["payer"].map(self.payer)
        rate = (by_pair["sum"] + m * prior) / (by_pair["count"] + m)
        self.pair = dict(zip(zip(by_pair["payer"], by_pair["group"], strict=True), rate, strict=True))
        return self

    def predict(self, x: pd.DataFrame) -> np.ndarray:
        payer, group = x["payer"].astype(str).to_numpy(), x["procedure_group"].astype(str).to_numpy()
        return np.array([self.pair.get((p, g), self.payer.get(p, self.overall)) for p, g in zip(payer, group,
                                                                                                 strict=True)])


@dataclass
class Boosted:
    """Gradient-boosted trees on the allow-list, calibrated on the latest claims of its training window."""

    seed: int = DEFAULT.seed
    calibration_share: float = DEFAULT.calibration_share
    categories: dict[str, list[str]] = field(default_factory=dict)
    trees: object = None
    slope: float = 1.0
    intercept: float = 0.0

    def _aligned(self, x: pd.DataFrame) -> pd.DataFrame:
        """Categories as at training, so codes mean the same: a value folded into OTHER at training (or never
        seen) reads as OTHER where the category has one, else as missing."""
        x = x.copy()
        for name, cats in self.categories.items():
            values = x[name].astype(object)
            if OTHER in cats:
                values = values.where(values.isin(cats) | values.isna(), OTHER)
            x[name] = pd.Categorical(values, categories=cats)
        return x

    def fit(self, x: pd.DataFrame, denied: np.ndarray, order: np.ndarray) -> Boosted:
        from sklearn.ensemble import HistGradientBoostingClassifier

        self.categories = {}
        for c in x.columns:
            if isinstance(x[c].dtype, pd.CategoricalDtype):
                counts = x[c].astype(object).value_counts()
                if len(counts) > MAX_CATEGORIES:  # the trees take at most 255; the rarest share one value
                    self.categories[c] = [str(v) for v in counts.index[:MAX_CATEGORIES - 1]] + [OTHER]
                else:
                    self.categories[c] = [str(v) for v in x[c].cat.categories]
        x = self._aligned(x.astype({c: object for c in self.categories}))
        denied = np.asarray(denied, dtype=bool)
        ranked = np.argsort(np.asarray(order), kind="mergesort")
        cut = int(len(ranked) * (1 - self.calibration_share))
        grow, hold = ranked[:cut], ranked[cut:]
        self.trees = HistGradientBoostingClassifier(
            categorical_features="from_dtype", learning_rate=0.06, max_iter=400, max_leaf_nodes=15,
            min_samples_leaf=40, l2_regularization=1.0, early_stopping=True, validation_fraction=0.15,
            n_iter_no_change=20, random_state=self.seed)
        self.trees.fit(x.iloc[grow], denied[grow])
        raw = self.trees.predict_proba(x.iloc[hold])[:, 1]
        self.slope, self.intercept = measures.calibration(raw, denied[hold])
        return self

    def predict(self, x: pd.DataFrame) -> np.ndarray:
        x = self._aligned(x.astype({c: object for c in self.categories}))
        raw = np.clip(self.trees.predict_proba(x)[:, 1], 1e-6, 1 - 1e-6)  # type: ignore[attr-defined]
        return 1 / (1 + np.exp(-(self.intercept + self.slope * np.log(raw / (1 - raw)))))


# -- the time split ----------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Split:
    cutoff: dt.date  # the first day of the test months: training claims were submitted and decided before it
    end: dt.date  # the day after the last test month
    train: pd.DataFrame
    test: pd.DataFrame


def _month(day: pd.Series) -> pd.Series:
    return pd.to_datetime(day).dt.to_period("M")


def split(claims: pd.DataFrame, settings: Settings = DEFAULT) -> Split:
    """The test months and the training claims before them (see the module's docstring). Raises NotEnough."""
    sub = claims[claims["submitted_date"].notna()]
    if sub.empty:
        raise NotEnough("no claim has been submitted yet")
    decided = sub["initial_outcome"].notna()
    share = decided.groupby(_month(sub["submitted_date"])).mean()
    # a month is complete when the data run past its last day and nearly all its claims have their decision
    # (the latest day over every vendor's data, as the share decided is over every vendor's claims; a vendor
    # whose feed stops mid-month still lowers that month's share by the claims it has not sent decisions for)
    through = pd.concat([pd.to_datetime(claims[c]) for c in ("received_date", "submitted_date", "adjudicated_date")
                         if c in claims]).max()
    complete = sorted(m for m, x in share.items() if x >= settings.decided_share and m.end_time.normalize() <= through)
    if len(complete) < settings.min_months + settings.test_months:
        raise NotEnough(f"{len(complete)} months of submitted claims have their decisions; a model needs "
                        f"{settings.min_months + settings.test_months} ({settings.min_months} to learn from and "
                        f"{settings.test_months} to be judged on)")
    # the test months: the latest run of test_months complete months in a row, with min_months complete months
    # before it to learn from
    ok = set(complete)
    runs = [m for m in reversed(complete) if all(m - k in ok for k in range(settings.test_months))]
    if not runs:
        raise NotEnough(f"no {settings.test_months} months in a row have their claims' decisions (at least "
                        f"{settings.decided_share:.0%} of each month's): the months to judge a model on must follow "
                        "one another")
    last = next((m for m in runs if sum(c < m - (settings.test_months - 1) for c in complete) >= settings.min_months),
                None)
    if last is None:
        raise NotEnough(f"the latest {settings.test_months} complete months in a row to judge a model on do not have "
                        f"{settings.min_months} complete months before them to learn from")
    first = last - (settings.test_months - 1)
    cutoff, end = first.start_time.date(), (last + 1).start_time.date()
    sub_day = pd.to_datetime(sub["submitted_date"])
    adj_day = pd.to_datetime(sub["adjudicated_date"])
    # claims submitted within the usual decision lag of the cut-off are left out of training: those decided by
    # then are the quickly decided ones, whose share denied need not be everyone's
    settled = pd.Timestamp(cutoff) - decision_lag(sub)
    train = sub[decided & (sub_day < settled) & (adj_day < pd.Timestamp(cutoff))]
    test = sub[decided & (sub_day >= pd.Timestamp(cutoff)) & (sub_day < pd.Timestamp(end))]
    return Split(cutoff, end, train, test)


def decision_lag(claims: pd.DataFrame, share: float = 0.9) -> pd.Timedelta:
    """The days within which `share` of the decided claims had their first decision after submission."""
    lag = (pd.to_datetime(claims["adjudicated_date"]) - pd.to_datetime(claims["submitted_date"])).dt.days.dropna()
    return pd.Timedelta(days=int(np.ceil(lag.quantile(share)))) if len(lag) else pd.Timedelta(0)


def _refuse_future(train: pd.DataFrame, cutoff: dt.date) -> None:
    late = pd.to_datetime(train["adjudicated_date"]) >= pd.Timestamp(cutoff)
    late |= pd.to_datetime(train["submitted_date"]) >= pd.Timestamp(cutoff)
    if late.any() or train["initial_outcome"].isna().any():
        raise feats.LeakError(
            f"{int(late.sum())} training claims were submitted or decided on or after the cut-off {cutoff}, and "
            f"{int(train['initial_outcome'].isna().sum())} have no decision: a model learns only from outcomes "
            "known before its cut-off")


def denied_of(claims: pd.DataFrame) -> np.ndarray:
    return claims["initial_outcome"].astype(str).str.lower().eq("denied").to_numpy()


@dataclass(frozen=True)
class Fitted:
    baseline: Baseline
    boosted: Boosted | None  # None when too few denials for trees
    cutoff: dt.date
    claims: int
    denials: int


def fit(train: pd.DataFrame, cutoff: dt.date, settings: Settings = DEFAULT) -> Fitted:
    """Both models on `train`, every claim of which must have been submitted and decided before `cutoff`."""
    _refuse_future(train, cutoff)
    denied = denied_of(train)
    if denied.sum() < settings.min_train_denials:
        raise NotEnough(f"{int(denied.sum())} denials to learn from; a model needs at least "
                        f"{settings.min_train_denials}")
    x = feats.frame(train)
    base = Baseline(settings.smoothing).fit(x, denied)
    boosted = Boosted(settings.seed, settings.calibration_share).fit(
        x, denied, pd.to_datetime(train["submitted_date"]).to_numpy())
    return Fitted(base, boosted, cutoff, len(train), int(denied.sum()))


# -- judging and choosing ------------------------------------------------------------------------------------
def capacity_of(claims: pd.DataFrame, settings: Settings = DEFAULT) -> float:
    """A day's work capacity when none is given: a share of the claims submitted a working day."""
    per_day = claims.groupby(pd.to_datetime(claims["submitted_date"]).dt.date).size()
    return max(1.0, float(per_day.mean()) * settings.capacity_share) if len(per_day) else 1.0


def auroc_gain(a: np.ndarray, b: np.ndarray, denied: np.ndarray, rounds: int, seed: int) -> tuple[float, float]:
    """The 5th and 95th percentiles of AUROC(a) - AUROC(b) over a paired bootstrap of the claims."""
    rng = np.random.default_rng(seed)
    gains = []
    for _ in range(rounds):
        i = rng.integers(0, len(denied), len(denied))
        gains.append(measures.auroc(a[i], denied[i]) - measures.auroc(b[i], denied[i]))
    lo, hi = np.nanpercentile(gains, [5, 95])
    return float(lo), float(hi)


def auroc_interval(a: np.ndarray, denied: np.ndarray, rounds: int, seed: int) -> tuple[float, float]:
    rng = np.random.default_rng(seed)
    values = [measures.auroc(a[i], denied[i]) for i in (rng.integers(0, len(denied), len(denied))
                                                       for _ in range(rounds))]
    lo, hi = np.nanpercentile(values, [5, 95])
    return float(lo), float(hi)


BOOSTED, BASELINE, NONE = "boosted", "baseline", "none"
MODEL_WORDS = {BOOSTED: "gradient-boosted model", BASELINE: "baseline (payer x procedure group rate)",
               NONE: "no model"}


@dataclass(frozen=True)
class Evaluation:
    """Both models trained before `cutoff` and judged on the claims submitted from it to `end`."""

    cutoff: dt.date
    end: dt.date
    capacity: float  # claims a day over every vendor's claims: each team's as given times the vendors, else capacity_of
    given: float | None  # the capacity given (each vendor's team's), else None: each vendor's own capacity_of
    fitted: Fitted
    baseline: measures.Judged
    boosted: measures.Judged
    gain: tuple[float, float]  # 90% interval of the boosted model's AUROC less the baseline's
    baseline_interval: tuple[float, float]  # 90% interval of the baseline's AUROC
    chosen: str
    why: str
    by: pd.DataFrame  # per payer and vendor: claims, denials, AUROC and Brier of each model, mean score, share denied
    test: pd.DataFrame  # the test claims, with each model's score (columns baseline_score, boosted_score)


def choose(gain: tuple[float, float], baseline_interval: tuple[float, float],
           boosted_interval: tuple[float, float] = (1.0, 1.0)) -> tuple[str, str]:
    if gain[0] > 0 and boosted_interval[0] > 0.5:
        return BOOSTED, (f"the gradient-boosted model ranks denials better than the baseline on the held-out months "
                         f"(AUROC gain {gain[0]:+.3f} to {gain[1]:+.3f}, 90% interval)")
    if baseline_interval[0] > 0.5:
        return BASELINE, (f"the gradient-boosted model is no better than the baseline on the held-out months (AUROC "
                          f"gain {gain[0]:+.3f} to {gain[1]:+.3f}, 90% interval): the baseline is used")
    return NONE, (f"neither model ranks denials better than chance on the held-out months (baseline AUROC "
                  f"{baseline_interval[0]:.3f} to {baseline_interval[1]:.3f}, 90% interval): no score is shown")


def breakdown(test: pd.DataFrame, denied: np.ndarray, bys: tuple[str, ...] = ("payer", "vendor")) -> pd.DataFrame:
    """Per value of each of `bys`: claims, denials, share denied, and each model's AUROC, Brier and mean score."""
    rows = []
    for by in bys:
        for value, part in test.groupby(test[by].fillna(feats.UNKNOWN)):
            d = denied[test.index.get_indexer(part.index)]
            row = {"by": by, "value": value, "claims": len(part), "denials": int(d.sum()),
                   "share_denied": float(d.mean())}
            for m in (BASELINE, BOOSTED):
                s = part[f"{m}_score"].to_numpy()
                row |= {f"{m}_auroc": measures.auroc(s, d), f"{m}_brier": measures.brier(s, d),
                        f"{m}_mean_score": float(s.mean())}
            rows.append(row)
    return pd.DataFrame(rows)


def evaluate(claims: pd.DataFrame, settings: Settings = DEFAULT, capacity: float | None = None) -> Evaluation:
    """Train both models before the test months and judge them there. Raises NotEnough."""
    s = split(claims, settings)
    fitted = fit(s.train, s.cutoff, settings)
    test = s.test.reset_index(drop=True)
    denied = denied_of(test)
    if denied.sum() < settings.min_test_denials:
        raise NotEnough(f"{int(denied.sum())} denials in the held-out months {s.cutoff} to {s.end}; judging a model "
                        f"needs at least {settings.min_test_denials}")
    x = feats.frame(test)
    test = test.assign(baseline_score=fitted.baseline.predict(x), boosted_score=fitted.boosted.predict(x))  # type: ignore[union-attr]
    # every vendor's team works `capacity` claims a day: together, that times the vendors
    cap = capacity * test["vendor"].nunique() if capacity is not None else capacity_of(test, settings)
    day = pd.to_datetime(test["submitted_date"]).dt.date.to_numpy()
    amount = test["billed_amount"].to_numpy(dtype=float)
    judged = {m: measures.judge(test[f"{m}_score"].to_numpy(), denied, day, cap, amount) for m in (BASELINE, BOOSTED)}
    gain = auroc_gain(test["boosted_score"].to_numpy(), test["baseline_score"].to_numpy(), denied,
                      settings.bootstrap, settings.seed)
    base_iv = auroc_interval(test["baseline_score"].to_numpy(), denied, settings.bootstrap, settings.seed)
    boosted_iv = auroc_interval(test["boosted_score"].to_numpy(), denied, settings.bootstrap, settings.seed)
    chosen, why = choose(gain, base_iv, boosted_iv)
    return Evaluation(s.cutoff, s.end, cap, capacity, fitted, judged[BASELINE], judged[BOOSTED], gain, base_iv, chosen, why,
                      breakdown(test, denied), test)


# -- the model used, its card, and the claims it scores -----------------------------------------------------
@dataclass(frozen=True)
class Card:
    """What a reader needs to trust (or not) the scores: how the model was trained and judged, and its limits."""

    chosen: str
    why: str
    trained_at: str  # when (UTC, ISO 8601)
    data_through: dt.date  # the latest first decision learnt from
    window: tuple[dt.date, dt.date]  # first and last submission learnt from (the model used)
    claims: int
    denials: int
    features: tuple[str, ...]  # their labels
    held_out: tuple[dt.date, dt.date]  # the months judged on: from, up to (exclusive)
    auroc: float
    auprc: float
    brier: float
    baseline_auroc: float
    capacity: float
    precision_at_capacity: float
    recall_at_capacity: float
    value_caught: float
    limits: tuple[str, ...]


LIMITS = (
    "It learns only from the claims in this store: a payer's new rule shows in its scores once denials under the "
    "rule have been decided and loaded.",
    "It reads only what is known when a claim is submitted (the features listed); a claim not yet billed is "
    "scored as if submitted on its vendor's latest data day, as it stands then (an authorisation still pending "
    "counts as not obtained, an eligibility check not yet made as none): those risks have no outcome yet to be "
    "measured against.",
    "Its scores are judged on the latest complete months it did not learn from; months after those are not yet "
    "judged.",
    "The vendor's own risk score is never an input: it is audited against the same claims.",
)


@dataclass(frozen=True)
class Trained:
    """The evaluation, and the model used now: the chosen recipe retrained on every decided claim."""

    evaluation: Evaluation
    used: Fitted | None
    card: Card

    def predict(self, x: pd.DataFrame) -> np.ndarray:
        if self.used is None:
            raise NotEnough(self.card.why)
        if self.card.chosen == BOOSTED:
            return self.used.boosted.predict(x)  # type: ignore[union-attr]
        return self.used.baseline.predict(x)


def train(claims: pd.DataFrame, settings: Settings = DEFAULT, capacity: float | None = None,
          now: dt.datetime | None = None) -> Trained:
    """Judge both models on held-out months, then retrain the chosen one on every claim decided so far."""
    ev = evaluate(claims, settings, capacity)
    used = None
    decided = claims[claims["initial_outcome"].notna() & claims["submitted_date"].notna()]
    through = pd.to_datetime(decided["adjudicated_date"]).max().date()
    # as in the split: the latest claims decided so far are the quickly decided ones, left out
    settled = decided[pd.to_datetime(decided["submitted_date"]) < pd.Timestamp(through) - decision_lag(decided)]
    if ev.chosen != NONE:
        used = fit(settled, through + dt.timedelta(days=1), settings)
    judged = ev.boosted if ev.chosen == BOOSTED else ev.baseline
    sub = pd.to_datetime(settled["submitted_date"])
    card = Card(
        chosen=ev.chosen, why=ev.why, trained_at=(now or dt.datetime.now(dt.UTC)).strftime("%Y-%m-%dT%H:%M:%SZ"),
        data_through=through, window=(sub.min().date(), sub.max().date()), claims=len(settled),
        denials=int(denied_of(settled).sum()), features=tuple(f.label for f in feats.FEATURES),
        held_out=(ev.cutoff, ev.end), auroc=judged.auroc, auprc=judged.auprc, brier=judged.brier,
        baseline_auroc=ev.baseline.auroc, capacity=ev.capacity, precision_at_capacity=judged.at_capacity.precision,
        recall_at_capacity=judged.at_capacity.recall, value_caught=judged.at_capacity.value_caught, limits=LIMITS)
    return Trained(ev, used, card)


def reference_values(x: pd.DataFrame) -> dict[str, object]:
    """What each feature is compared with when a score is explained: a category's commonest value (for prior
    authorisation: not required), a number's median."""
    out: dict[str, object] = {}
    for f in feats.FEATURES:
        if f.name == "prior_auth":
            out[f.name] = feats.AUTH_NOT_REQUIRED
        elif f.kind == "category":
            out[f.name] = x[f.name].astype(object).mode().iloc[0]
        else:
            out[f.name] = float(np.nanmedian(x[f.name].to_numpy(dtype=float)))
    return out


def reasons(trained: Trained, x: pd.DataFrame, reference: dict[str, object], top: int = 3,
            skip: frozenset[str] = frozenset()) -> pd.DataFrame:
    """Which features raised each claim's score: for each feature (but `skip`), the score less the score with
    that feature set to its reference value; the `top` largest rises, as (feature, value, rise) per claim."""
    base = trained.predict(x)
    rises = {}
    for f in feats.FEATURES:
        if f.name in skip:
            continue
        alt = x.copy()
        if f.kind == "category":
            alt[f.name] = pd.Categorical([reference[f.name]] * len(x), categories=x[f.name].cat.categories
                                         if reference[f.name] in x[f.name].cat.categories
                                         else [*x[f.name].cat.categories, reference[f.name]])
        else:
            alt[f.name] = float(reference[f.name])  # type: ignore[arg-type]
        rises[f.name] = base - trained.predict(alt)
    names = list(rises)
    rise = np.column_stack([rises[n] for n in names])
    order = np.argsort(-rise, axis=1, kind="stable")[:, :top]
    values = {n: x[n].astype(object).to_numpy() for n in names}
    out = []
    for r, cols in enumerate(order):
        out.append([(names[c], values[names[c]][r], float(rise[r, c])) for c in cols
                    if rise[r, c] >= 0.005])  # half a point at least
    return pd.DataFrame({"reasons": out}, index=x.index)
