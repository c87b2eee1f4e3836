"""The denial model, trained after every load and kept in the store, so no page, pack or command trains one.

What is kept (store tables ``denial_cards`` and ``denial_scores``):
- a **card** per vendor: the model chosen and why, how it was trained, its limits, and its measures on that
  vendor's held-out claims only (with the baseline's on the same claims, per payer, and the audit of the
  vendor's own models). A pooled card (no vendor) holds the measures on every vendor's claims; a reader scoped to
  some vendors never sees it, so nobody reads another vendor's figures;
- every **open claim's score** (not yet billed, or billed and awaiting the payer's first decision): the chance
  of a denial, the dollars at risk (that chance times the amount billed) and the reasons in words.

A reader uses them only while they were made for the store as it stands (queries.outlook_stamp, the latest
load) by the same code (FINGERPRINT); otherwise the page says the model is out of date instead of showing it.
"""

from __future__ import annotations

import datetime as dt
import time
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from opsdash import codec, queries
from opsdash.denials import features as feats
from opsdash.denials import measures, model, vendors
from opsdash.store import Store

FINGERPRINT = codec.code_fingerprint(("denials",), ("duckdb", "numpy", "pandas", "scikit-learn"))
#: The claims columns a model's training, judging and scoring read.
COLUMNS = tuple(c for c in feats.CLAIMS.column_names if c in {
    *feats.columns_read(), "claim_id", "vendor", "received_date", "submitted_date", "adjudicated_date",
    "initial_outcome", "billed_amount", "payer", "procedure_group", "vendor_risk_score", "vendor_risk_model"})
#: Held-out denials a vendor needs before its own measures are shown.
MIN_VENDOR_DENIALS = 10
UNBILLED, AWAITING = "Not yet billed", "Awaiting decision"
NO_REASON = "nothing raises it above a typical claim"
NOT_ENOUGH_WORDS = ("the store does not yet hold enough decided claims, or denials, to train a model and judge it on "
                    "months it did not learn from")

#: Why the model in use is used, without the pooled figures (a vendor's card says it to a scoped reader).
CHOICE_WORDS = {
    model.BOOSTED: "across every vendor's claims, the gradient-boosted model ranked denials better than the baseline "
                   "on the held-out months",
    model.BASELINE: "across every vendor's claims, the gradient-boosted model was no better than the baseline on the "
                    "held-out months, so the baseline is used",
    model.NONE: "across every vendor's claims, neither model ranked denials better than chance on the held-out "
                "months, so no score is shown",
}


@dataclass(frozen=True)
class View:
    """One card: the pooled one (vendor None) or a vendor's, with that vendor's figures only."""

    vendor: str | None
    chosen: str
    why: str
    trained_at: str
    data_through: dt.date | None
    held_out: tuple[dt.date, dt.date] | None
    features: tuple[str, ...]
    limits: tuple[str, ...]
    capacity: float
    model: measures.Judged | None  # the model in use, on the held-out claims
    baseline: measures.Judged | None  # the baseline on the same claims
    by_payer: pd.DataFrame
    audits: tuple[vendors.VendorModel, ...]
    #: (vendor, model, denials) of the vendor models that scored held-out claims, too few denied to judge them
    unjudged: tuple[tuple[str, str, int], ...] = ()


CLASSES = {c.__name__: c for c in (View, measures.Judged, measures.AtCapacity, vendors.VendorModel)}


@dataclass(frozen=True)
class Made:
    stamp: str
    views: list[View]
    scores: pd.DataFrame
    seconds: float

    def words(self) -> str:
        """One line on what was trained, as `opsdash ingest` and `opsdash denials train` say it."""
        pooled = next((v for v in self.views if v.vendor is None), None)
        if pooled is None or pooled.model is None:
            why = pooled.why if pooled is not None else "no claims"
            return f"denial risk: no model ({why}); {self.seconds:.1f} s"
        return (f"denial risk: {model.MODEL_WORDS[pooled.chosen]} kept, {held_out_words(pooled)}; "
                f"{len(self.scores):,} open claims scored in {self.seconds:.1f} s")


def day_words(day: dt.date) -> str:
    return f"{day.day} {day:%b %Y}"


def held_out_words(v: View) -> str:
    """How the model in use did on the held-out months, in words (a view with a model)."""
    assert v.model is not None and v.baseline is not None and v.held_out is not None
    last = v.held_out[1] - dt.timedelta(days=1)
    return (f"AUROC {v.model.auroc:.2f} (baseline {v.baseline.auroc:.2f}) on {v.model.claims:,} claims submitted "
            f"{day_words(v.held_out[0])} to {day_words(last)}, which it did not learn from; it said "
            f"{v.model.mean_score:.1%} where {v.model.share_denied:.1%} were denied")


def _as_of(claims: pd.DataFrame) -> pd.Series:
    """Each claim's vendor's latest data day (its latest receipt, submission or decision): a vendor's own data
    decides, as for every figure (metrics.data_cut)."""
    latest = pd.concat([pd.to_datetime(claims[c]) for c in ("received_date", "submitted_date", "adjudicated_date")],
                       axis=1).max(axis=1)
    return latest.groupby(claims["vendor"]).transform("max")


#: Features never given as a reason: which vendor works the claim is no reason a manager can act on, and against
#: the commonest vendor it would compare one vendor with another for a reader scoped to one.
NOT_A_REASON = frozenset({"vendor"})


def reason_words(name: str, value: object, rise: float, billed: bool = True) -> str:
    """One reason as a person reads it, with the points it adds to the score; `billed`: the claim has been
    submitted (else it is scored as it stands, not yet billed)."""
    label = next(f.label for f in feats.FEATURES if f.name == name)
    missing = value is None or (isinstance(value, float) and np.isnan(value))
    yet = "" if billed else " yet"
    if name == "prior_auth":
        words = {feats.AUTH_MISSING: f"prior authorisation required, not obtained{yet}",
                 feats.AUTH_UNKNOWN: "prior authorisation not known",
                 feats.AUTH_OBTAINED: "prior authorisation obtained",
                 feats.AUTH_NOT_REQUIRED: "no prior authorisation needed"}[str(value)]
    elif name == "eligibility_age_days":
        words = f"eligibility not verified{yet}" if missing else (
            f"eligibility verified {value:.0f} days before {'submission' if billed else 'now'}")
    elif name == "billed_amount":
        words = "no amount billed" if missing else f"billed ${value:,.0f}"
    elif name == "days_to_submit":
        words = f"{value:.0f} days from receipt to submission" if billed else f"{value:.0f} days since receipt"
    else:
        words = f"{label} {value}"
    return f"{words} (+{rise * 100:.0f} pts)"


def open_claims(claims: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The open claims (no first decision yet) and their features, a claim not yet billed described as if
    submitted on its own vendor's latest data day."""
    is_open = claims["initial_outcome"].isna()
    at = _as_of(claims)[is_open].reset_index(drop=True)  # each open claim's own day, in the open claims' order
    open_ = claims[is_open].reset_index(drop=True)
    return open_, feats.frame(open_, at=at)


def _scores(trained: model.Trained, claims: pd.DataFrame) -> pd.DataFrame:
    open_, x = open_claims(claims)
    if trained.used is None or open_.empty:
        return pd.DataFrame(columns=list(queries.SCORE_COLUMNS))
    risk = trained.predict(x)
    decided = claims[claims["initial_outcome"].notna() & claims["submitted_date"].notna()]
    why = model.reasons(trained, x, model.reference_values(feats.frame(decided)), skip=NOT_A_REASON)
    return pd.DataFrame({
        "vendor": open_["vendor"], "claim_id": open_["claim_id"],
        "stage": np.where(open_["submitted_date"].isna(), UNBILLED, AWAITING),
        "facility": open_["facility"], "payer": open_["payer"], "claim_type": open_["claim_type"],
        "procedure_group": open_["procedure_group"],
        "received_date": pd.to_datetime(open_["received_date"]).dt.date,
        "submitted_date": pd.to_datetime(open_["submitted_date"]).dt.date,
        "billed_amount": open_["billed_amount"].astype(float), "risk": risk,
        "expected_loss": risk * open_["billed_amount"].astype(float).fillna(0.0),
        "reasons": ["; ".join(reason_words(n, v, r, billed) for n, v, r in rs) or NO_REASON
                    for rs, billed in zip(why["reasons"], open_["submitted_date"].notna(), strict=True)],
    })


def _vendor_view(v: str, trained: model.Trained, audits: list[vendors.VendorModel],
                 unjudged: list[tuple[str, str, int]]) -> View:
    ev, card = trained.evaluation, trained.card
    part = ev.test[ev.test["vendor"] == v]
    denied = model.denied_of(part)
    mine = tuple(a for a in audits if a.vendor == v)
    judged = base = None
    by_payer = pd.DataFrame()
    capacity = ev.given or (model.capacity_of(part) if len(part) else 0.0)  # the vendor's team's
    if denied.sum() >= MIN_VENDOR_DENIALS and card.chosen != model.NONE:
        day = pd.to_datetime(part["submitted_date"]).dt.date.to_numpy()
        amount = part["billed_amount"].to_numpy(dtype=float)
        used = f"{card.chosen}_score"
        judged = measures.judge(part[used].to_numpy(), denied, day, capacity, amount)
        base = measures.judge(part["baseline_score"].to_numpy(), denied, day, capacity, amount)
        by_payer = model.breakdown(part.reset_index(drop=True), denied, ("payer",))
    return View(v, card.chosen, CHOICE_WORDS[card.chosen], card.trained_at, card.data_through, card.held_out,
                card.features, card.limits, capacity, judged, base, by_payer, mine,
                tuple(u for u in unjudged if u[0] == v))


def make(store: Store, settings: model.Settings = model.DEFAULT, capacity: float | None = None) -> Made:
    """Train, judge and score over every claim the reader sees (a full reader after a load)."""
    started = time.perf_counter()
    stamp = queries.outlook_stamp(store)
    claims = queries.claims_columns(store, COLUMNS)
    known = sorted(claims["vendor"].dropna().unique())
    try:
        trained = model.train(claims, settings, capacity)
    except model.NotEnough as exc:
        now = dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        # the reason's figures are every vendor's: a vendor's card says it without them
        views = [View(v, model.NONE, str(exc) if v is None else NOT_ENOUGH_WORDS, now, None, None,
                      tuple(f.label for f in feats.FEATURES), model.LIMITS, 0.0, None, None, pd.DataFrame(), ())
                 for v in (None, *known)]
        return Made(stamp, views, pd.DataFrame(columns=list(queries.SCORE_COLUMNS)), time.perf_counter() - started)
    ev, card = trained.evaluation, trained.card
    audits, unjudged = vendors.audit(ev, settings), vendors.unjudged(ev)
    pooled = View(None, card.chosen, card.why, card.trained_at, card.data_through, card.held_out, card.features,
                  card.limits, ev.capacity, None if card.chosen == model.NONE else
                  (ev.boosted if card.chosen == model.BOOSTED else ev.baseline), ev.baseline, ev.by, tuple(audits),
                  tuple(unjudged))
    views = [pooled, *(_vendor_view(v, trained, audits, unjudged) for v in known)]
    return Made(stamp, views, _scores(trained, claims), time.perf_counter() - started)


def keep(store: Store, made: Made | None = None) -> bool:
    """Keep the cards and scores (made here unless given); nothing is written, and False returned, when the store
    is no longer the one they were made for."""
    made = made if made is not None else make(store)
    if made.stamp != queries.outlook_stamp(store):
        return False
    cards = [(v.vendor, made.seconds, codec.encode(v)) for v in made.views]
    queries.keep_denials(store, made.stamp, FINGERPRINT, cards, made.scores)
    return True


def keep_after_load(path: Path, writer: Callable[[], Store], wait: float = 60.0,
                    capacity: float | None = None) -> Made | None:
    """After a load (or `opsdash denials train`): made over a read-only connection (a dashboard goes on reading),
    kept through `writer()`. None when another load changed the store meanwhile (nothing kept)."""
    with Store(path, read_only=True, wait=wait) as reader:
        made = make(reader, model.DEFAULT, capacity)
    with writer() as store:
        return made if keep(store, made) else None


def views(store: Store) -> list[View]:
    """The kept cards the reader may see, made for the store as it stands by this code (empty otherwise, or if
    one cannot be read back: the caller says the model is out of date)."""
    out = []
    for _vendor, body in queries.kept_denial_cards(store, queries.outlook_stamp(store), FINGERPRINT):
        try:
            out.append(codec.decode(body, CLASSES))
        except (codec.CodecError, ValueError, TypeError, KeyError, zlib.error):
            return []
    return out


def scores(store: Store) -> pd.DataFrame:
    """The kept scores of the open claims the reader may see, highest dollars at risk first."""
    return queries.kept_denial_scores(store, queries.outlook_stamp(store), FINGERPRINT)
