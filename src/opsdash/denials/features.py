"""What a denial model may know about a claim: the allow-list, declared once, of facts known at submission.

A feature reads claims columns. The contract declares when each column becomes known (its events: a claim
arrives, is submitted, is adjudicated, and each event carries columns). A feature may read only columns known at
the claim's first submission; one that reads a column arriving later (the outcome, the denial reason, the paid
amount, the adjudication date) is refused where it is declared, so no model can learn from a claim's future.
The vendor's own risk score is known at submission too, but it is what opsdash audits, never what it learns
from: it is refused by name.
"""

from __future__ import annotations

from dataclasses import dataclass

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
    """One input of the model: its name, the claims columns it reads, whether it is a category or a number, and
    how its effect reads to a person ("prior authorisation missing")."""

    name: str
    reads: tuple[str, ...]
    kind: str  # "category" or "number"
    label: str

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


#: The allow-list: every input of opsdash's denial models, in one place.
FEATURES: tuple[Feature, ...] = (
    Feature("payer", ("payer",), "category", "payer"),
    Feature("procedure_group", ("procedure_group",), "category", "procedure group"),
    Feature("claim_type", ("claim_type",), "category", "claim type"),
    Feature("vendor", ("vendor",), "category", "vendor"),
    Feature("facility", ("facility",), "category", "facility"),
    Feature("prior_auth", ("prior_auth_required", "prior_auth_obtained"), "category", "prior authorisation"),
    Feature("eligibility_age_days", ("eligibility_verified_date", "submitted_date"), "number",
            "days since eligibility was verified"),
    Feature("billed_amount", ("billed_amount",), "number", "amount billed"),
    Feature("days_to_submit", ("received_date", "submitted_date"), "number", "days from receipt to submission"),
)
#: Values of the prior-authorisation feature.
AUTH_MISSING, AUTH_OBTAINED, AUTH_NOT_REQUIRED, AUTH_UNKNOWN = "missing", "obtained", "not required", "unknown"
UNKNOWN = "(unknown)"


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
        if f.name == "prior_auth":
            req = claims["prior_auth_required"].astype("boolean")
            got = claims["prior_auth_obtained"].astype("boolean")
            value = np.select([req.isna().to_numpy(), ~req.fillna(False).to_numpy(),
                               got.fillna(False).to_numpy()],
                              [AUTH_UNKNOWN, AUTH_NOT_REQUIRED, AUTH_OBTAINED], AUTH_MISSING)
            out[f.name] = pd.Categorical(value, categories=[AUTH_NOT_REQUIRED, AUTH_OBTAINED, AUTH_MISSING,
                                                            AUTH_UNKNOWN])
        elif f.name == "eligibility_age_days":
            age = (sub - pd.to_datetime(claims["eligibility_verified_date"])).dt.days.astype(float)
            out[f.name] = age.where(age >= 0).to_numpy()  # a verification after submission is not known at it
        elif f.name == "days_to_submit":
            out[f.name] = (sub - pd.to_datetime(claims["received_date"])).dt.days.astype(float).to_numpy()
        elif f.kind == "category":
            out[f.name] = pd.Categorical(claims[f.reads[0]].astype(object).where(claims[f.reads[0]].notna(), UNKNOWN))
        else:
            out[f.name] = pd.to_numeric(claims[f.reads[0]], errors="coerce").astype(float).to_numpy()
    return pd.DataFrame(out, index=claims.index)
