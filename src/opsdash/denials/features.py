"""What a denial model may know about a claim: the allow-list, declared once, of facts known at submission.

A feature reads claims columns. The contract declares when each column becomes known (its events: a claim
arrives, is submitted, is adjudicated, and each event carries columns). A feature may read only columns known at
the claim's first submission; one that reads a column arriving later (the outcome, the denial reason, the paid
amount, the adjudication date) is refused where it is declared, so no model can learn from a claim's future.
The vendor's own risk score is known at submission too, but it is what opsdash audits, never what it learns
from: it is refused by name.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from opsdash import contract

CLAIMS = contract.TABLES["claims"]
#: The event at which a claim is scored: every feature must be known by then.
SCORED_AT = "submitted_date"
#: Known at submission but never learnt from: the vendor's own model is the subject of the audit.
NEVER = frozenset({"vendor_risk_score", "vendor_risk_model"})


class LeakError(ValueError):
    """A feature would read what is not known when a claim is submitted."""


def known_at_submission() -> frozenset[str]:
    """The claims columns known when a claim is first submitted: every column except the events after submission
    and the columns they carry (read from the contract's declared events, in their order)."""
    events = [e.column for e in CLAIMS.events]
    later = events[events.index(SCORED_AT) + 1:]
    unknown = set(later) | {c for e in CLAIMS.events if e.column in later for c in e.carries}
    return frozenset(CLAIMS.column_names) - unknown


@dataclass(frozen=True)
class Feature:
    """One input of the model: its name, the claims columns it reads, whether it is a category or a number, how
    its effect reads to a person ("prior authorisation missing"), and, for a feature made from its columns, how:
    `derive` is handed those columns only (``frame``), so it cannot read anything the declaration does not name."""

    name: str
    reads: tuple[str, ...]
    kind: str  # "category" or "number"
    label: str
    derive: Callable[[pd.DataFrame], Any] | None = None  # None: the one column read, as it is

    def __post_init__(self) -> None:
        allowed = known_at_submission()
        for column in self.reads:
            if column not in CLAIMS.column_names:
                raise LeakError(f"feature {self.name!r} reads {column!r}, which is no claims column")
            if column in NEVER:
                raise LeakError(f"feature {self.name!r} reads {column!r}: the vendor's own score is audited, "
                                "never learnt from")
            if column not in allowed:
                raise LeakError(f"feature {self.name!r} reads {column!r}, which is not known when a claim is "
                                f"submitted (the contract's events carry it later); a model may read only "
                                f"{', '.join(sorted(allowed))}")
        if self.kind not in ("category", "number"):
            raise ValueError(f"feature {self.name!r}: kind {self.kind!r} is neither category nor number")
        if self.derive is None and len(self.reads) != 1:
            raise ValueError(f"feature {self.name!r} reads {len(self.reads)} columns: say how they make one value")


#: Values of the prior-authorisation feature.
AUTH_MISSING, AUTH_OBTAINED, AUTH_NOT_REQUIRED, AUTH_UNKNOWN = "missing", "obtained", "not required", "unknown"
UNKNOWN = "(unknown)"


def _prior_auth(c: pd.DataFrame) -> pd.Categorical:
    req = c["prior_auth_required"].astype("boolean")
    got = c["prior_auth_obtained"].astype("boolean")
    value = np.select([req.isna().to_numpy(), ~req.fillna(False).to_numpy(), got.fillna(False).to_numpy()],
                      [AUTH_UNKNOWN, AUTH_NOT_REQUIRED, AUTH_OBTAINED], AUTH_MISSING)
    return pd.Categorical(value, categories=[AUTH_NOT_REQUIRED, AUTH_OBTAINED, AUTH_MISSING, AUTH_UNKNOWN])


def _days(later: str, earlier: str, negative: bool = True) -> Callable[[pd.DataFrame], np.ndarray]:
    """Whole days from column `earlier` to column `later` (NaN where either is unknown, or where the days are
    negative unless `negative`)."""
    def days(c: pd.DataFrame) -> np.ndarray:
        d = (pd.to_datetime(c[later]) - pd.to_datetime(c[earlier])).dt.days.astype(float)
        return (d if negative else d.where(d >= 0)).to_numpy()
    return days


#: The allow-list: every input of opsdash's denial models, in one place.
FEATURES: tuple[Feature, ...] = (
    Feature("payer", ("payer",), "category", "payer"),
    Feature("procedure_group", ("procedure_group",), "category", "procedure group"),
    Feature("claim_type", ("claim_type",), "category", "claim type"),
    Feature("vendor", ("vendor",), "category", "vendor"),
    Feature("facility", ("facility",), "category", "facility"),
    Feature("prior_auth", ("prior_auth_required", "prior_auth_obtained"), "category", "prior authorisation",
            _prior_auth),
    # a verification after submission is not known at it
    Feature("eligibility_age_days", ("eligibility_verified_date", "submitted_date"), "number",
            "days since eligibility was verified", _days("submitted_date", "eligibility_verified_date", False)),
    Feature("billed_amount", ("billed_amount",), "number", "amount billed"),
    Feature("days_to_submit", ("received_date", "submitted_date"), "number", "days from receipt to submission",
            _days("submitted_date", "received_date")),
)


def columns_read(features: tuple[Feature, ...] = FEATURES) -> list[str]:
    """The claims columns the features read, each once, in the contract's order."""
    wanted = {c for f in features for c in f.reads}
    return [c for c in CLAIMS.column_names if c in wanted]


def frame(claims: pd.DataFrame, at: pd.Series | pd.Timestamp | None = None,
          features: tuple[Feature, ...] = FEATURES) -> pd.DataFrame:
    """The features of each claim as a model reads them (categories as pandas categories, numbers as floats,
    NaN where unknown). A claim not yet submitted is described as if submitted on `at` (the as-of day): its
    eligibility age and days to submit are counted to then."""
    sub = pd.to_datetime(claims["submitted_date"]) if "submitted_date" in claims else None
    if at is not None and sub is not None:
        sub = sub.fillna(pd.Timestamp(at) if not isinstance(at, pd.Series) else at)
    out = {}
    for f in features:
        cols = claims[list(f.reads)]  # the declared columns only
        if sub is not None and "submitted_date" in f.reads:
            cols = cols.assign(submitted_date=sub)
        if f.derive is not None:
            out[f.name] = f.derive(cols)
        elif f.kind == "category":
            out[f.name] = pd.Categorical(cols[f.reads[0]].astype(object).where(cols[f.reads[0]].notna(), UNKNOWN))
        else:
            out[f.name] = pd.to_numeric(cols[f.reads[0]], errors="coerce").astype(float).to_numpy()
    return pd.DataFrame(out, index=claims.index)
