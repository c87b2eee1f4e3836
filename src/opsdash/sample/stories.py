"""Who the sample's vendors are and what their data must show, as declarations.

Four fictional BPO partners serve three fictional hospitals. The stories planted in the data: winter
volume peaks, Monday call peaks, Meridian's turnaround improving after an automation go-live, Helix's
denial rate drifting upward (prior-authorisation denials) while Helix keeps reporting about 5%, a
ClearView outage week that collapses its reading SLA (left out of ClearView's own report),
payer-specific denial reasons, and staffing plans that cover the coming weeks, Ibérica's short for its
winter peak. ``tables.py`` builds the rows from these; nothing here draws a random number.
"""

from __future__ import annotations

import calendar
import datetime as dt
from dataclasses import dataclass

import numpy as np
import pandas as pd

FACILITIES = ("St Brendan's General Hospital", "Riverside Community Hospital", "Lakeshore Children's Hospital")
FACILITY_WEIGHTS = (0.5, 0.32, 0.18)

PAYERS = ("Medicare", "Medicaid", "BlueCross BlueShield", "Aetna", "UnitedHealthcare", "Cigna")
PAYER_WEIGHTS = (0.32, 0.18, 0.16, 0.12, 0.14, 0.08)
DENIAL_REASONS: dict[str, tuple[tuple[str, float], ...]] = {
    "Medicare": (("CO-50 Not medically necessary", 0.45), ("CO-16 Missing or invalid information", 0.25),
                 ("CO-18 Duplicate claim", 0.15), ("CO-29 Timely filing limit expired", 0.15)),
    "Medicaid": (("CO-27 Coverage terminated", 0.5), ("CO-16 Missing or invalid information", 0.3),
                 ("CO-97 Bundled service", 0.2)),
    "BlueCross BlueShield": (("CO-29 Timely filing limit expired", 0.3), ("CO-16 Missing or invalid information", 0.4),
                             ("CO-18 Duplicate claim", 0.3)),
    "Aetna": (("CO-197 Prior authorization absent", 0.55), ("CO-16 Missing or invalid information", 0.2),
              ("CO-50 Not medically necessary", 0.25)),
    "UnitedHealthcare": (("CO-197 Prior authorization absent", 0.35), ("CO-16 Missing or invalid information", 0.4),
                         ("CO-97 Bundled service", 0.25)),
    "Cigna": (("CO-11 Diagnosis inconsistent with procedure", 0.5), ("CO-16 Missing or invalid information", 0.5)),
}
PRIOR_AUTH_DENIAL = "CO-197 Prior authorization absent"
COVERAGE_DENIAL = "CO-27 Coverage terminated"


# -- the denial mechanism --------------------------------------------------------------------------
@dataclass(frozen=True)
class DenialMechanism:
    """Why a payer denies a claim at its first decision, planted so that the truth is known: the log-odds of a
    denial is a sum of what is known when the claim is submitted, and the outcome is one draw at that
    probability (the noise). ``probability`` recomputes it from a claim's stored columns, so a test can measure
    the best any model could do (the mechanism's own, Bayes, AUROC) on the very claims a model is scored on.

        log-odds = payer + vendor + procedure group + payer x group
                   + missing_auth        (authorisation required and not obtained)
                   + stale x months      (eligibility last verified more than `fresh_days` before submission,
                                          up to `stale_cap_days`; x medicaid_stale for Medicaid, whose members
                                          churn; never verified counts as `never_verified_days`)
                   + amount x ln(billed / 1000)
    """

    payer: tuple[float, ...] = (-3.35, -2.72, -3.47, -3.03, -2.88, -3.32)  # per PAYERS
    vendor: tuple[tuple[str, float], ...] = (("helix", -0.4),)  # Helix's denials run under 5% before the drift
    group: tuple[tuple[str, float], ...] = (
        ("Office visit (E&M)", 0.0), ("Imaging", 0.3), ("Lab", -0.35), ("Therapy", 0.2),
        ("Inpatient stay (DRG)", 0.35), ("Outpatient surgery", 0.45), ("Emergency", 0.1))
    payer_group: tuple[tuple[str, str, float], ...] = (
        ("Medicare", "Therapy", 0.7), ("Cigna", "Imaging", 0.6), ("Medicaid", "Lab", 0.4))
    missing_auth: float = 2.6
    fresh_days: int = 14
    stale_cap_days: int = 74
    stale_per_30_days: float = 0.8
    medicaid_stale: float = 1.6
    never_verified_days: int = 74
    amount: float = 0.25

    def probability(self, df: pd.DataFrame) -> np.ndarray:
        """The mechanism's denial probability of each claim (columns as stored: payer, vendor key or name,
        procedure_group, prior_auth_required/_obtained, eligibility_verified_date, submitted_date, billed)."""
        payer = df["payer"].to_numpy(dtype=object)
        group = df["procedure_group"].to_numpy(dtype=object)
        logit = np.asarray(self.payer)[[PAYERS.index(p) for p in payer]].astype(float)
        vendor = df["vendor"].map(lambda v: VENDOR_KEYS.get(v, v)).to_numpy(dtype=object)
        for key, effect in self.vendor:
            logit = logit + np.where(vendor == key, effect, 0.0)
        logit = logit + pd.Series(group).map(dict(self.group)).to_numpy(dtype=float)
        for p, g, effect in self.payer_group:
            logit = logit + np.where((payer == p) & (group == g), effect, 0.0)
        required = df["prior_auth_required"].astype("boolean").fillna(False).to_numpy(dtype=bool)
        obtained = df["prior_auth_obtained"].astype("boolean").fillna(False).to_numpy(dtype=bool)
        logit = logit + self.missing_auth * (required & ~obtained)
        days = (pd.to_datetime(df["submitted_date"]) - pd.to_datetime(df["eligibility_verified_date"])).dt.days
        days = days.fillna(self.never_verified_days).to_numpy(dtype=float)
        stale = np.clip(days - self.fresh_days, 0, self.stale_cap_days - self.fresh_days) / 30
        logit = logit + self.stale_per_30_days * stale * np.where(payer == "Medicaid", self.medicaid_stale, 1.0)
        logit = logit + self.amount * np.log(df["billed_amount"].to_numpy(dtype=float) / 1000)
        return 1 / (1 + np.exp(-logit))


#: Procedure groups by claim type: (group, share, chance a payer requires prior authorisation before any
#: payer's factor below).
PROCEDURE_GROUPS = {
    "professional": (("Office visit (E&M)", 0.45, 0.02), ("Imaging", 0.2, 0.45), ("Lab", 0.2, 0.05),
                     ("Therapy", 0.15, 0.35)),
    "institutional": (("Inpatient stay (DRG)", 0.5, 0.6), ("Outpatient surgery", 0.35, 0.7), ("Emergency", 0.15, 0.0)),
}
#: How often each payer requires authorisation where a group may need it (per PAYERS); Aetna and UnitedHealthcare
#: require it for `tightened` more of such claims from the drift's start.
AUTH_FACTOR = (0.4, 0.8, 1.0, 1.1, 1.1, 1.0)
AUTH_TIGHTENED = (("Aetna", 0.2), ("UnitedHealthcare", 0.2))
#: Days from eligibility verification to submission: gamma(shape, scale) days; some claims never verified.
VERIFIED_DAYS = (1.1, 7.0)
NEVER_VERIFIED = 0.02


@dataclass(frozen=True)
class VendorScore:
    """A vendor's own denial-risk model, as the vendor sends its scores at submission: ``good`` is the
    mechanism's log-odds with a little noise; ``poor`` is a weak echo of it; ``over-confident`` ranks well but
    pushes every score to the extremes (its log-odds stretched)."""

    vendor: str
    model: str
    quality: str  # good, poor or over-confident

    def scores(self, rng: np.random.Generator, truth: np.ndarray) -> np.ndarray:
        logit = np.log(truth / (1 - truth))
        if self.quality == "good":
            out = logit + rng.normal(0, 0.15, truth.size)
        elif self.quality == "poor":
            out = 0.3 * logit - 1.9 + rng.normal(0, 1.0, truth.size)
        elif self.quality == "over-confident":
            out = 2.8 * (logit + 2.9) - 2.9 + rng.normal(0, 0.3, truth.size)
        else:
            raise ValueError(f"unknown score quality {self.quality!r}: expected good, poor or over-confident")
        return np.round(1 / (1 + np.exp(-out)), 4)


DENIAL_MECHANISM = DenialMechanism()
#: The sample's vendors that send their own scores (the audit's subjects).
VENDOR_SCORES = (VendorScore("meridian", "Meridian ClaimIQ 3.2", "good"),
                 VendorScore("helix", "Helix DenialShield 2.0", "over-confident"))


@dataclass(frozen=True)
class VendorSpec:
    """One vendor's volumes and quality before any story changes them."""

    key: str
    name: str
    claims_per_day: float = 0.0
    turnaround_days: float = 0.0  # median days received -> submitted
    clean_rate: float = 0.0
    processes: tuple[tuple[str, float, tuple[tuple[str, float], ...]], ...] = ()  # process, items/day, priorities
    qa_processes: tuple[tuple[str, float], ...] = ()  # process, error probability per opportunity
    calls_per_day: float = 0.0


VENDORS = (
    VendorSpec("meridian", "Meridian Revenue Partners", claims_per_day=45, turnaround_days=4.5, clean_rate=0.945,
               processes=(("coding", 14, (("urgent", 0.2), ("routine", 0.8))),
                          ("claim_follow_up", 8, (("routine", 1.0),))),
               qa_processes=(("coding", 0.0032), ("billing", 0.0022))),
    VendorSpec("helix", "Helix Health Services", claims_per_day=35, turnaround_days=3.2, clean_rate=0.945,
               processes=(("eligibility", 16, (("urgent", 0.3), ("routine", 0.7))),
                          ("prior_auth", 7, (("stat", 0.1), ("urgent", 0.3), ("routine", 0.6)))),
               qa_processes=(("eligibility", 0.0022), ("prior_auth", 0.0026))),
    VendorSpec("clearview", "ClearView Diagnostics Reading",
               processes=(("radiology_read", 20, (("stat", 0.2), ("urgent", 0.25), ("routine", 0.55))),
                          ("transcription", 12, (("stat", 0.15), ("routine", 0.85)))),
               qa_processes=(("transcription", 0.0004),)),
    VendorSpec("iberica", "Ibérica Salud Contact Services", calls_per_day=60,
               processes=(("scheduling", 10, (("routine", 1.0),)),),
               qa_processes=(("scheduling", 0.0024),)),
)
VENDOR_NAMES = {v.key: v.name for v in VENDORS}
VENDOR_KEYS = {v.name: v.key for v in VENDORS}

SLA_HOURS = {
    ("radiology_read", "stat"): 1, ("radiology_read", "urgent"): 4, ("radiology_read", "routine"): 24,
    ("transcription", "stat"): 4, ("transcription", "routine"): 48,
    ("prior_auth", "stat"): 24, ("prior_auth", "urgent"): 72, ("prior_auth", "routine"): 120,
    ("eligibility", "urgent"): 4, ("eligibility", "routine"): 24,
    ("coding", "urgent"): 24, ("coding", "routine"): 72, ("claim_follow_up", "routine"): 120,
    ("scheduling", "routine"): 24,
}
AROUND_THE_CLOCK = ("radiology_read", "transcription")  # processes worked day and night, every day
ERROR_CATEGORIES = {
    "coding": ("wrong code", "missing modifier", "unbundling", "DRG assignment"),
    "billing": ("charge entry", "wrong payer", "demographics"),
    "eligibility": ("wrong plan", "coverage dates", "coordination of benefits"),
    "prior_auth": ("missing clinicals", "wrong CPT", "late submission"),
    "transcription": ("medication", "laterality", "omission", "formatting"),
    "scheduling": ("wrong slot type", "missing referral", "wrong location"),
}
QUEUES = (("scheduling", 0.6), ("billing_inquiry", 0.25), ("eligibility", 0.15))
# How the Latin-1 vendor writes its codes (its mapping files, mappings/iberica_*.toml, read them back).
IBERICA_QUEUES = {"scheduling": "Citas", "billing_inquiry": "Facturación", "eligibility": "Seguros"}
FAKE_FIRST = ("Alex", "Sam", "Jordan", "Casey", "Riley", "Morgan", "Taylor", "Jamie")
FAKE_LAST = ("Testperson", "Example", "Sample", "Placeholder", "Fictional")

# -- seasons ---------------------------------------------------------------------------------------
WEEKDAY_WORK = np.array([1.25, 1.1, 1.0, 0.95, 0.9, 0.25, 0.15])  # Mon..Sun, back-office work
WEEKDAY_CALLS = np.array([1.5, 1.15, 1.0, 0.95, 0.85, 0.3, 0.0])  # Monday peak, closed Sunday
WINTER_SWING = 0.22  # volumes swing this far above and below the mean, highest around 20 January
GROWTH = (0.95, 1.08)  # volume multiplier at the first and the last day of the history


# -- the planted stories -----------------------------------------------------------------------------
@dataclass(frozen=True)
class GoLive:
    """Meridian automates claim scrubbing (at ``Timeline.go_live``): claims go out faster and cleaner,
    coding is faster and more accurate, and the contract tightens its turnaround target a while later."""

    vendor: str = "meridian"
    turnaround_days: float = 1.8  # median days received -> submitted from the go-live
    clean_rate: float = 0.97
    coding_time: float = 0.7  # coding items take this share of their time before
    coding_errors: float = 0.55  # coding audits find this share of the errors before
    target_tightened_after: dt.timedelta = dt.timedelta(days=92)  # then the 1st of that month


@dataclass(frozen=True)
class DenialDrift:
    """Helix's denials stay under the 5% target until ``Timeline.drift_start``, then prior-authorisation
    denials climb every month: Aetna and UnitedHealthcare require authorisation more often, and Helix obtains
    fewer of the authorisations required (the mechanism denies a claim without one far more often). Helix goes
    on reporting under 5% for its last months."""

    vendor: str = "helix"
    obtained: float = 0.97  # share of required authorisations Helix obtains before the drift ...
    lost_per_month: float = 0.05  # ... falling this much a month since the drift started
    obtained_floor: float = 0.45
    others_obtain: float = 0.985  # every other vendor, throughout
    reported_cap: float = 0.049  # what Helix reports at most ...
    reported_months: int = 4  # ... for its last complete months


@dataclass(frozen=True)
class Outage:
    """ClearView's reading platform is down for a week (from ``Timeline.outage_start``): its items take several
    times longer; ClearView's report for that month leaves the outage out."""

    vendor: str = "clearview"
    days: int = 7
    slowdown: tuple[float, float] = (3, 9)  # items take uniformly this many times longer
    reported_floor: float = 0.962  # the radiology SLA adherence ClearView reports for the outage month


@dataclass(frozen=True)
class Training:
    """Ibérica moves to a new booking system, with training, in the weeks of the winter call peak (from
    ``Timeline.training_start``): a larger share of every agent's time goes to it, but the plan keeps the agents it
    would have scheduled anyway, so the contact centre is under-staffed for the peak. The capacity view should
    find it before it happens."""

    vendor: str = "iberica"
    weeks: int = 6
    shrinkage: float = 0.55  # share of scheduled time lost during the training weeks (0.30 otherwise)


# -- staffing plans ---------------------------------------------------------------------------------
#: Weeks of plan behind as-of (kept as sent: throughput per staffed hour) and ahead (the capacity view's horizon).
PLAN_WEEKS_BEHIND, PLAN_WEEKS_AHEAD = 26, 13
#: Hours of work one item of a process takes an analyst (back office), from which the daily FTE are planned.
EFFORT_HOURS = {"coding": 0.35, "claim_follow_up": 0.5, "eligibility": 0.2, "prior_auth": 0.75,
                "radiology_read": 0.3, "transcription": 0.35, "scheduling": 0.15}
#: Per back-office vendor: (productive hours per FTE, shrinkage) as its plan states them; None where the vendor's
#: plan leaves the column empty (ClearView sends net FTE and no hours).
BACK_OFFICE_PLAN = {"meridian": (7.5, 0.15), "helix": (7.0, 0.18), "clearview": (None, None)}
#: The contact centre's planning: answer-time target the plan aims at and the shrinkage it assumes.
CONTACT_PLAN_TARGET, CONTACT_PLAN_THRESHOLD_S, CONTACT_SHRINKAGE = 0.85, 30, 0.30
#: Calls' handle-time medians (seconds) per queue and the spread of their logs (tables.calls draws them so).
HANDLE_MEDIAN_S = {"scheduling": 240.0, "billing_inquiry": 360.0, "eligibility": 300.0}
HANDLE_SIGMA = 0.45
#: Intraday arrivals of calls: (share, mean hour, standard deviation in hours), inside OPEN_HOURS.
CALL_PEAKS = ((0.65, 10.0, 1.25), (0.35, 14.5, 1.25))
OPEN_HOURS = (8, 18)
# How Ibérica's workforce-management export names its queues (its mapping file reads them back).
IBERICA_WFM_QUEUES = {"scheduling": "CITAS", "billing_inquiry": "FACTURACION", "eligibility": "SEGUROS"}


GO_LIVE = GoLive()
TRAINING = Training()
DENIAL_DRIFT = DenialDrift()
OUTAGE = Outage()


@dataclass(frozen=True)
class Timeline:
    """The months the sample covers, ending in the as-of date's month, and the stories' dates."""

    as_of: dt.date
    months: int

    @property
    def start(self) -> dt.date:
        y, m = self.as_of.year, self.as_of.month - (self.months - 1)
        while m < 1:
            y, m = y - 1, m + 12
        return dt.date(y, m, 1)

    @property
    def days(self) -> pd.DatetimeIndex:
        return pd.date_range(self.start, self.as_of, freq="D")

    def month_starts(self) -> list[dt.date]:
        return [d.date() for d in pd.date_range(self.start, self.as_of, freq="MS")]

    def _offset_month(self, k: int, day: int) -> dt.date:
        ms = self.month_starts()
        d = ms[min(max(k, 0), len(ms) - 1)]
        return d.replace(day=min(day, calendar.monthrange(d.year, d.month)[1]))

    @property
    def go_live(self) -> dt.date:
        """Meridian's automation go-live: a Monday in the middle of the history."""
        d = self._offset_month(self.months // 2, 15)
        return d + dt.timedelta(days=(7 - d.weekday()) % 7)

    @property
    def target_tightened(self) -> dt.date:
        """The first day of Meridian's tighter turnaround target, about three months after its go-live."""
        return (self.go_live + GO_LIVE.target_tightened_after).replace(day=1)

    @property
    def outage_start(self) -> dt.date:
        """ClearView's outage: the Monday of a week about four months before as-of."""
        d = self._offset_month(self.months - 5, 8)
        return d + dt.timedelta(days=(7 - d.weekday()) % 7)

    @property
    def drift_start(self) -> dt.date:
        """Helix's denial rate starts drifting upward ten months before as-of."""
        return self._offset_month(self.months - 10, 1)

    @property
    def training_start(self) -> dt.date:
        """Ibérica's training: the first Monday at least 38 days after as-of (the plan's weeks ahead hold it)."""
        d = self.as_of + dt.timedelta(days=38)
        return d + dt.timedelta(days=(7 - d.weekday()) % 7)

    def plan_days(self) -> pd.DatetimeIndex:
        """The days staffing plans cover: from the Monday PLAN_WEEKS_BEHIND weeks before as-of to
        PLAN_WEEKS_AHEAD weeks after it."""
        first = self.as_of - dt.timedelta(weeks=PLAN_WEEKS_BEHIND, days=self.as_of.weekday())
        return pd.date_range(first, self.as_of + dt.timedelta(weeks=PLAN_WEEKS_AHEAD), freq="D")

    def complete_months(self) -> list[tuple[dt.date, dt.date]]:
        """First and last day of each month that is over by as-of: a vendor reports a month once it is over."""
        out = []
        for ms in self.month_starts():
            me = ms.replace(day=calendar.monthrange(ms.year, ms.month)[1])
            if me < self.as_of:
                out.append((ms, me))
        return out
