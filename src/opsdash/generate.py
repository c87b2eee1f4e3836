"""Deterministic generator of realistic vendor exports (the bundled sample data and benchmark sets).

Four fictional BPO partners serve three fictional hospitals. The data carries stories an
executive should be able to find: winter volume peaks, Monday call peaks, Meridian's
turnaround improving after an automation go-live, Helix's denial rate drifting upward
(prior-authorisation denials), a ClearView outage week that collapses its reading SLA, and
payer-specific denial reasons. Same seed and as-of date, same bytes.
"""

from __future__ import annotations

import calendar
import datetime as dt
import json
import math
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from opsdash import contract

FACILITIES = ("St Brendan's General Hospital", "Riverside Community Hospital", "Lakeshore Children's Hospital")
FACILITY_WEIGHTS = (0.5, 0.32, 0.18)

PAYERS = ("Medicare", "Medicaid", "BlueCross BlueShield", "Aetna", "UnitedHealthcare", "Cigna")
PAYER_WEIGHTS = (0.32, 0.18, 0.16, 0.12, 0.14, 0.08)
PAYER_DENIAL = (0.055, 0.085, 0.045, 0.065, 0.075, 0.05)
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


@dataclass(frozen=True)
class VendorSpec:
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

SLA_HOURS = {
    ("radiology_read", "stat"): 1, ("radiology_read", "urgent"): 4, ("radiology_read", "routine"): 24,
    ("transcription", "stat"): 4, ("transcription", "routine"): 48,
    ("prior_auth", "stat"): 24, ("prior_auth", "urgent"): 72, ("prior_auth", "routine"): 120,
    ("eligibility", "urgent"): 4, ("eligibility", "routine"): 24,
    ("coding", "urgent"): 24, ("coding", "routine"): 72, ("claim_follow_up", "routine"): 120,
    ("scheduling", "routine"): 24,
}
ERROR_CATEGORIES = {
    "coding": ("wrong code", "missing modifier", "unbundling", "DRG assignment"),
    "billing": ("charge entry", "wrong payer", "demographics"),
    "eligibility": ("wrong plan", "coverage dates", "coordination of benefits"),
    "prior_auth": ("missing clinicals", "wrong CPT", "late submission"),
    "transcription": ("medication", "laterality", "omission", "formatting"),
    "scheduling": ("wrong slot type", "missing referral", "wrong location"),
}
QUEUES = (("scheduling", 0.6), ("billing_inquiry", 0.25), ("eligibility", 0.15))
# How the Latin-1 vendor writes its codes.
IBERICA_QUEUES = {"scheduling": "Citas", "billing_inquiry": "Facturación", "eligibility": "Seguros"}
FAKE_FIRST = ("Alex", "Sam", "Jordan", "Casey", "Riley", "Morgan", "Taylor", "Jamie")
FAKE_LAST = ("Testperson", "Example", "Sample", "Placeholder", "Fictional")

WEEKDAY_WORK = np.array([1.25, 1.1, 1.0, 0.95, 0.9, 0.25, 0.15])  # Mon..Sun, back-office work
WEEKDAY_CALLS = np.array([1.5, 1.15, 1.0, 0.95, 0.85, 0.3, 0.0])  # Monday peak, closed Sunday


@dataclass(frozen=True)
class Timeline:
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
    def outage_start(self) -> dt.date:
        """ClearView's outage: the Monday of a week about four months before as-of."""
        d = self._offset_month(self.months - 5, 8)
        return d + dt.timedelta(days=(7 - d.weekday()) % 7)

    @property
    def drift_start(self) -> dt.date:
        """Helix's denial rate starts drifting upward ten months before as-of."""
        return self._offset_month(self.months - 10, 1)


def _winter(days: pd.DatetimeIndex) -> np.ndarray:
    return 1 + 0.22 * np.cos(2 * np.pi * (days.day_of_year.to_numpy() - 20) / 365.25)


def _rng(seed: int, *parts: int) -> np.random.Generator:
    return np.random.default_rng([seed, *parts])


def _daily_counts(rng: np.random.Generator, days: pd.DatetimeIndex, per_day: float, scale: float,
                  weekday: np.ndarray) -> np.ndarray:
    lam = per_day * scale * _winter(days) * weekday[days.day_of_week.to_numpy()]
    growth = np.linspace(0.95, 1.08, len(days))
    return rng.poisson(lam * growth)


def _ids(prefix: str, n: int, start: int = 1) -> np.ndarray:
    return (prefix + pd.Series(np.arange(start, start + n)).astype(str).str.zfill(8)).to_numpy()


def _pick(rng: np.random.Generator, options: tuple[Any, ...], weights: tuple[float, ...] | list[float], n: int) -> np.ndarray:
    w = np.asarray(weights, dtype=float)
    return np.asarray(options, dtype=object)[rng.choice(len(options), size=n, p=w / w.sum())]


def _to_date(days_since_epoch: np.ndarray) -> pd.Series:
    return pd.Series(pd.to_datetime(days_since_epoch, unit="D"))


# -- claims ----------------------------------------------------------------------------------

def claims(seed: int, tl: Timeline, scale: float) -> pd.DataFrame:
    """Final state (as of the timeline's as-of date) of every claim, all vendors."""
    frames = []
    days = tl.days
    as_of = np.datetime64(tl.as_of, "D")
    go_live = np.datetime64(tl.go_live, "D")
    drift0 = np.datetime64(tl.drift_start, "D")
    for vi, v in enumerate(VENDORS):
        if not v.claims_per_day:
            continue
        rng = _rng(seed, vi, 1)
        counts = _daily_counts(rng, days, v.claims_per_day, scale, WEEKDAY_WORK)
        n = int(counts.sum())
        received = np.repeat(days.to_numpy().astype("datetime64[D]"), counts)
        payer_idx = rng.choice(len(PAYERS), size=n, p=np.array(PAYER_WEIGHTS) / sum(PAYER_WEIGHTS))
        median = np.full(n, v.turnaround_days)
        clean_p = np.full(n, v.clean_rate)
        if v.key == "meridian":
            after = received >= go_live
            median[after] = 1.8
            clean_p[after] = 0.97
        turnaround = np.rint(rng.gamma(2.0, median / 1.678)).astype("timedelta64[D]")
        submitted = received + turnaround
        adjudicated = submitted + np.rint(7 + rng.gamma(2.0, 4.0, size=n)).astype("timedelta64[D]")
        deny_p = np.asarray(PAYER_DENIAL)[payer_idx]
        prior_auth_extra = np.zeros(n)
        if v.key == "helix":
            deny_p = deny_p * 0.7  # under the 5% target until the drift starts
            months_in = np.clip((submitted - drift0).astype(float) / 30.4, 0, None)
            prior_auth_extra = np.where(submitted >= drift0, 0.009 * months_in, 0.0)
        u = rng.random(n)
        denied = u < deny_p + prior_auth_extra
        partial = (~denied) & (u < deny_p + prior_auth_extra + 0.08)
        outcome = np.where(denied, "denied", np.where(partial, "partially_paid", "paid")).astype(object)
        reasons = np.empty(n, dtype=object)
        for pi, payer in enumerate(PAYERS):
            sel = denied & (payer_idx == pi)
            opts, w = zip(*DENIAL_REASONS[payer])
            reasons[sel] = _pick(rng, opts, w, int(sel.sum()))
        drift_denial = denied & (u >= deny_p)  # the extra denials of the drift are prior-auth failures
        reasons[drift_denial] = PRIOR_AUTH_DENIAL
        ctype = np.where(rng.random(n) < 0.65, "professional", "institutional").astype(object)
        billed = np.round(np.exp(rng.normal(np.where(ctype == "professional", math.log(420), math.log(6800)), 0.6)), 2)
        ratio = np.where(outcome == "paid", rng.uniform(0.55, 0.85, n),
                         np.where(outcome == "partially_paid", rng.uniform(0.2, 0.5, n), 0.0))
        df = pd.DataFrame({
            "claim_id": _ids(v.key[:3].upper() + "-C", n),
            "vendor": v.name,
            "facility": _pick(rng, FACILITIES, FACILITY_WEIGHTS, n),
            "payer": np.asarray(PAYERS, dtype=object)[payer_idx],
            "claim_type": ctype,
            "service_date": received - rng.integers(0, 6, n).astype("timedelta64[D]"),
            "received_date": received,
            "submitted_date": submitted,
            "clean_submission": rng.random(n) < clean_p,
            "adjudicated_date": adjudicated,
            "initial_outcome": outcome,
            "denial_reason": reasons,
            "billed_amount": billed,
            "paid_amount": np.round(billed * ratio, 2),
        })
        frames.append(df)
    out = pd.concat(frames, ignore_index=True)
    return snapshot_claims(out, as_of)


def snapshot_claims(df: pd.DataFrame, cutoff: np.datetime64) -> pd.DataFrame:
    """The claims as a vendor would have exported them on ``cutoff``: later events are not known yet."""
    df = df.copy()
    not_sub = df["submitted_date"].to_numpy() > cutoff
    not_adj = df["adjudicated_date"].to_numpy() > cutoff
    df["submitted_date"] = df["submitted_date"].where(~not_sub)
    df["clean_submission"] = df["clean_submission"].astype("boolean").where(~not_sub)
    for c in ("adjudicated_date", "initial_outcome", "denial_reason", "paid_amount"):
        df[c] = df[c].where(~not_adj)
    return df


# -- work items --------------------------------------------------------------------------------

def work_items(seed: int, tl: Timeline, scale: float) -> pd.DataFrame:
    frames = []
    days = tl.days
    as_of_ts = np.datetime64(tl.as_of, "D") + np.timedelta64(1, "D") - np.timedelta64(1, "m")
    go_live = np.datetime64(tl.go_live, "D")
    out0 = np.datetime64(tl.outage_start, "D")
    out1 = out0 + np.timedelta64(7, "D")
    for vi, v in enumerate(VENDORS):
        for pi, (process, per_day, priorities) in enumerate(v.processes):
            rng = _rng(seed, vi, 2, pi)
            around_clock = process in ("radiology_read", "transcription")
            counts = _daily_counts(rng, days, per_day, scale, np.ones(7) if around_clock else WEEKDAY_WORK)
            n = int(counts.sum())
            day = np.repeat(days.to_numpy().astype("datetime64[m]"), counts)
            if around_clock:
                minute = rng.integers(0, 24 * 60, n)
            else:
                minute = np.clip(rng.normal(11.5 * 60, 150, n), 7 * 60, 19 * 60).astype(int)
            opened = day + minute.astype("timedelta64[m]")
            prio = _pick(rng, tuple(p for p, _ in priorities), [w for _, w in priorities], n)
            sla_h = np.array([SLA_HOURS[(process, p)] for p in prio], dtype=float)
            factor = np.exp(rng.normal(math.log(0.45), 0.42, n))
            if v.key == "meridian" and process == "coding":
                factor = np.where(opened >= go_live, factor * 0.7, factor)
            if v.key == "clearview":
                factor = np.where((opened >= out0) & (opened < out1), factor * rng.uniform(3, 9, n), factor)
            done_min = np.maximum(1, np.rint(sla_h * 60 * factor)).astype("timedelta64[m]")
            completed = opened + done_min
            due = opened + (sla_h * 60).astype("timedelta64[m]")
            df = pd.DataFrame({
                "item_id": _ids(v.key[:3].upper() + "-" + process[:2].upper(), n),
                "vendor": v.name,
                "process": process,
                "priority": prio,
                "facility": _pick(rng, FACILITIES, FACILITY_WEIGHTS, n),
                "opened_at": opened,
                "due_at": due,
                "completed_at": completed,
                "sla_met": completed <= due,
            })
            frames.append(df)
    out = pd.concat(frames, ignore_index=True)
    return snapshot_work_items(out, as_of_ts)


def snapshot_work_items(df: pd.DataFrame, cutoff: np.datetime64) -> pd.DataFrame:
    df = df[df["opened_at"].to_numpy() <= cutoff].copy()
    open_ = df["completed_at"].to_numpy() > cutoff
    df["completed_at"] = df["completed_at"].where(~open_)
    df["sla_met"] = df["sla_met"].astype("boolean").where(~open_)
    return df


# -- calls -------------------------------------------------------------------------------------

def calls(seed: int, tl: Timeline, scale: float) -> pd.DataFrame:
    frames = []
    days = tl.days
    for vi, v in enumerate(VENDORS):
        if not v.calls_per_day:
            continue
        rng = _rng(seed, vi, 3)
        counts = _daily_counts(rng, days, v.calls_per_day, scale, WEEKDAY_CALLS)
        n = int(counts.sum())
        day_idx = np.repeat(np.arange(len(days)), counts)
        day = days.to_numpy().astype("datetime64[s]")[day_idx]
        # Two intraday peaks (mid-morning, early afternoon) inside 08:00-18:00.
        peak = np.where(rng.random(n) < 0.65, rng.normal(10 * 3600, 4500, n), rng.normal(14.5 * 3600, 4500, n))
        offered = day + np.clip(peak, 8 * 3600, 18 * 3600 - 1).astype("timedelta64[s]")
        load = (counts / max(counts.mean(), 1e-9))[day_idx]  # busy days wait longer
        wait = rng.exponential(11 * load ** 1.6, n)
        patience = np.where(rng.random(n) < 0.05, rng.uniform(0, 5, n), rng.exponential(400, n))
        abandoned = wait > patience
        queue = _pick(rng, tuple(q for q, _ in QUEUES), [w for _, w in QUEUES], n)
        handle_median = np.where(queue == "billing_inquiry", 360.0, np.where(queue == "eligibility", 300.0, 240.0))
        handle = np.round(np.exp(rng.normal(np.log(handle_median), 0.45)), 1)
        answered_at = offered + np.rint(wait).astype("timedelta64[s]")
        abandoned_at = offered + np.rint(patience).astype("timedelta64[s]")
        df = pd.DataFrame({
            "call_id": _ids(v.key[:3].upper() + "-K", n),
            "vendor": v.name,
            "queue": queue,
            "offered_at": offered,
            "answered_at": pd.Series(answered_at).where(~abandoned),
            "abandoned_at": pd.Series(abandoned_at).where(abandoned),
            "handle_seconds": pd.Series(handle).where(~abandoned),
            "first_contact_resolved": pd.Series(rng.random(n) < 0.78).astype("boolean").where(~abandoned),
        })
        frames.append(df)
    return pd.concat(frames, ignore_index=True)


# -- quality audits -----------------------------------------------------------------------------

def qa_audits(seed: int, tl: Timeline, scale: float) -> pd.DataFrame:
    frames = []
    days = tl.days
    for vi, v in enumerate(VENDORS):
        for pi, (process, p_err) in enumerate(v.qa_processes):
            rng = _rng(seed, vi, 4, pi)
            counts = _daily_counts(rng, days, 2.5, scale, WEEKDAY_WORK)
            n = int(counts.sum())
            opp = rng.integers(8, 31, n) if process != "transcription" else rng.integers(40, 160, n)
            p = np.full(n, p_err)
            if v.key == "meridian" and process == "coding":
                p = np.where(np.repeat(days.to_numpy(), counts) >= np.datetime64(tl.go_live), p * 0.55, p)
            errors = rng.binomial(opp, p)
            critical = rng.binomial(errors, 0.15)
            cats = ERROR_CATEGORIES[process]
            category = _pick(rng, cats, [1.0 / (i + 1) for i in range(len(cats))], n)
            frames.append(pd.DataFrame({
                "audit_id": _ids(v.key[:3].upper() + "-A" + process[:2].upper(), n),
                "vendor": v.name,
                "process": process,
                "audit_date": np.repeat(days.to_numpy().astype("datetime64[D]"), counts),
                "facility": _pick(rng, FACILITIES, FACILITY_WEIGHTS, n),
                "opportunities": opp,
                "errors": errors,
                "critical_errors": critical,
                "error_category": pd.Series(category).where(errors > 0),
            }))
    return pd.concat(frames, ignore_index=True)


# -- contracts and what vendors report -----------------------------------------------------------

def sla_targets(tl: Timeline) -> pd.DataFrame:
    start = tl.start
    tighten = tl.go_live + dt.timedelta(days=92)
    tighten = tighten.replace(day=1)
    m, h, c, i = (VENDOR_NAMES[k] for k in ("meridian", "helix", "clearview", "iberica"))
    rows = [
        ("*", "clean_claim_rate", None, None, 0.95, 0.90, "key", None, start, None),
        ("*", "accuracy_rate", None, None, 0.95, 0.92, "key", None, start, None),
        (m, "claim_turnaround_days", None, None, 4.0, 6.0, "critical", 0.05, start, tighten - dt.timedelta(days=1)),
        (m, "claim_turnaround_days", None, None, 3.0, 5.0, "critical", 0.05, tighten, None),
        (m, "clean_claim_rate", None, None, 0.95, 0.92, "critical", 0.03, start, None),
        (m, "accuracy_rate", "coding", None, 0.95, 0.90, "critical", 0.04, start, None),
        (m, "sla_adherence", "coding", None, 0.90, 0.85, "key", None, start, None),
        (h, "initial_denial_rate", None, None, 0.05, 0.08, "critical", 0.05, start, None),
        (h, "sla_adherence", "prior_auth", None, 0.95, 0.90, "critical", 0.04, start, None),
        (h, "sla_adherence", "eligibility", None, 0.95, 0.90, "key", None, start, None),
        (c, "sla_adherence", "radiology_read", "stat", 0.95, 0.90, "critical", 0.08, start, None),
        (c, "sla_adherence", "radiology_read", "routine", 0.95, 0.90, "key", None, start, None),
        (c, "sla_adherence", "transcription", None, 0.95, 0.90, "critical", 0.03, start, None),
        (c, "turnaround_hours", "radiology_read", None, 8.0, 12.0, "key", None, start, None),
        (i, "service_level", "scheduling", None, 0.80, 0.70, "critical", 0.05, start, None),
        (i, "abandonment_rate", None, None, 0.05, 0.08, "critical", 0.03, start, None),
        (i, "average_speed_of_answer_s", None, None, 30.0, 45.0, "key", None, start, None),
        (i, "sla_adherence", "scheduling", None, 0.90, 0.85, "key", None, start, None),
    ]
    cols = ["vendor", "kpi", "process", "priority", "target", "minimum", "level", "credit_pct",
            "effective_from", "effective_to"]
    return pd.DataFrame(rows, columns=cols)


def events(tl: Timeline) -> pd.DataFrame:
    """The hospital's log of what happened to its vendors' work: Meridian's automation go-live is a process
    change (its turnaround falls from about 4 to 2 days there), the others are annotations only."""
    tighten = (tl.go_live + dt.timedelta(days=92)).replace(day=1)
    m, h, c = (VENDOR_NAMES[k] for k in ("meridian", "helix", "clearview"))
    rows = [
        (m, tl.go_live, None, None, "Automated claim scrubbing went live", True, "Meridian go-live notice"),
        (m, tighten, "claim_turnaround_days", None, "Contract turnaround target tightened from 4 to 3 days", False,
         "contract amendment"),
        (c, tl.outage_start, None, None, "Reading platform outage for a week: reads and transcriptions delayed",
         False, "ClearView incident report"),
        (h, tl.drift_start, "initial_denial_rate", None,
         "Aetna and UnitedHealthcare tightened prior-authorisation rules", False, "payer bulletins"),
    ]
    return pd.DataFrame(rows, columns=list(contract.TABLES["events"].column_names))


def _month_periods(tl: Timeline) -> list[tuple[dt.date, dt.date]]:
    """Complete months only: a vendor reports a month once it is over."""
    out = []
    for ms in tl.month_starts():
        me = ms.replace(day=calendar.monthrange(ms.year, ms.month)[1])
        if me < tl.as_of:
            out.append((ms, me))
    return out


def reported_kpis(tl: Timeline, cl: pd.DataFrame, wi: pd.DataFrame, ca: pd.DataFrame) -> pd.DataFrame:
    """What each vendor reports monthly: mostly honest, with a few flattering figures."""
    rows: list[tuple[Any, ...]] = []
    as_of = pd.Timestamp(tl.as_of) + pd.Timedelta(days=1)
    periods = _month_periods(tl)
    last4 = {p[0] for p in periods[-4:]}
    outage_month = tl.outage_start.replace(day=1)
    for ms, me in periods:
        lo, hi = pd.Timestamp(ms), pd.Timestamp(me) + pd.Timedelta(days=1)
        for key in ("meridian", "helix"):
            c = cl[cl["vendor"] == VENDOR_NAMES[key]]
            sub = c[(c["submitted_date"] >= lo) & (c["submitted_date"] < hi)]
            clean = sub["clean_submission"].dropna()
            if len(clean):
                rows.append((VENDOR_NAMES[key], "clean_claim_rate", None, ms, me, round(float(clean.mean()), 4)))
        c = cl[cl["vendor"] == VENDOR_NAMES["helix"]]
        adj = c[(c["adjudicated_date"] >= lo) & (c["adjudicated_date"] < hi)]["initial_outcome"].dropna()
        if len(adj):
            actual = float((adj == "denied").mean())
            # Helix keeps reporting about 5% while the measured rate drifts upward.
            value = min(actual, 0.049) if ms in last4 else actual
            rows.append((VENDOR_NAMES["helix"], "initial_denial_rate", None, ms, me, round(value, 4)))
        w = wi[(wi["vendor"] == VENDOR_NAMES["clearview"]) & (wi["process"] == "radiology_read")]
        w = w[(w["due_at"] >= lo) & (w["due_at"] < hi)]
        assessable = w[w["completed_at"].notna() | (w["due_at"] <= as_of)]
        if len(assessable):
            met = (assessable["completed_at"] <= assessable["due_at"]).fillna(False)
            actual = float(met.mean())
            # ClearView leaves its outage out of the month it reports ("force majeure").
            value = max(actual, 0.962) if ms == outage_month else actual
            rows.append((VENDOR_NAMES["clearview"], "sla_adherence", "radiology_read", ms, me, round(value, 4)))
        k = ca[(ca["offered_at"] >= lo) & (ca["offered_at"] < hi)]
        short = (k["abandoned_at"] - k["offered_at"]).dt.total_seconds() <= 5
        k = k[~short.fillna(False)]
        den = k["answered_at"].notna().sum() + k["abandoned_at"].notna().sum()
        if den:
            within = ((k["answered_at"] - k["offered_at"]).dt.total_seconds() <= 30).sum()
            rows.append((VENDOR_NAMES["iberica"], "service_level", None, ms, me, round(float(within / den), 4)))
            rows.append((VENDOR_NAMES["iberica"], "abandonment_rate", None, ms, me,
                         round(float(k["abandoned_at"].notna().sum() / den), 4)))
    return pd.DataFrame(rows, columns=["vendor", "kpi", "process", "period_start", "period_end", "value"])


# -- writing files as vendors send them ---------------------------------------------------------

def _month_ranges(tl: Timeline) -> list[tuple[str, pd.Timestamp, pd.Timestamp]]:
    out = []
    for ms in tl.month_starts():
        me = ms.replace(day=calendar.monthrange(ms.year, ms.month)[1])
        out.append((ms.strftime("%Y-%m"), pd.Timestamp(ms), pd.Timestamp(min(me, tl.as_of))))
    return out


def _quarter_ranges(tl: Timeline) -> list[tuple[str, pd.Timestamp, pd.Timestamp]]:
    out: dict[str, tuple[pd.Timestamp, pd.Timestamp]] = {}
    for label, lo, hi in _month_ranges(tl):
        q = f"{lo.year}-Q{(lo.month - 1) // 3 + 1}"
        out[q] = (out[q][0] if q in out else lo, hi)
    return [(q, lo, hi) for q, (lo, hi) in out.items()]


def _in(s: pd.Series, lo: pd.Timestamp, hi: pd.Timestamp) -> pd.Series:
    return (s >= lo) & (s < hi + pd.Timedelta(days=1))


def _end_of(hi: pd.Timestamp) -> np.datetime64:
    return np.datetime64(hi + pd.Timedelta(days=1) - pd.Timedelta(minutes=1), "m")


def _fmt_bool(s: pd.Series, yes: str, no: str) -> pd.Series:
    b = s.astype("boolean")
    return pd.Series(np.where(b.isna(), None, np.where(b.fillna(False), yes, no)), index=s.index, dtype=object)


def _zip_fixed(path: Path) -> None:
    """Rewrite a zip (xlsx) with fixed entry times so the same data gives the same bytes."""
    import zipfile

    with zipfile.ZipFile(path) as z:
        entries = [(i.filename, z.read(i.filename)) for i in z.infolist()]
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
        for name, data in entries:
            if name == "docProps/core.xml":  # openpyxl stamps the save time here
                data = re.sub(rb"(<dcterms:modified[^>]*>)[^<]*", rb"\g<1>2026-01-01T00:00:00Z", data)
            info = zipfile.ZipInfo(name, date_time=(2026, 1, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED
            z.writestr(info, data)


def _write_xlsx(df: pd.DataFrame, path: Path, title: str) -> None:
    import openpyxl

    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = title
    ws.append(list(df.columns))
    for row in df.itertuples(index=False):
        ws.append([None if (v is None or (isinstance(v, float) and math.isnan(v))) else v for v in row])
    ws.freeze_panes = "A2"
    wb.properties.created = dt.datetime(2026, 1, 1)
    wb.properties.modified = dt.datetime(2026, 1, 1)
    wb.save(path)
    _zip_fixed(path)


class _Writer:
    def __init__(self, out: Path) -> None:
        self.out = out
        self.files: list[Path] = []
        self.deliberate: list[dict[str, Any]] = []

    def path(self, rel: str) -> Path:
        p = self.out / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        self.files.append(p)
        return p

    def csv(self, df: pd.DataFrame, rel: str, **kw: Any) -> None:
        df.to_csv(self.path(rel), index=False, lineterminator="\n", **kw)

    def spoil(self, df: pd.DataFrame, rel: str, pos: int, column: str, value: Any, why: str,
              reported_column: str | None = None) -> pd.DataFrame:
        """Make one row deliberately bad and remember where (header = line 1)."""
        df = df.copy()
        df[column] = df[column].astype(object)
        df.iloc[pos, df.columns.get_loc(column)] = value
        self.deliberate.append({"file": rel, "line": pos + 2, "column": reported_column or column, "why": why})
        return df


def write_sample(out: Path, seed: int, months: int, scale: float, as_of: dt.date | None = None) -> list[Path]:
    """Write every vendor's exports, the contract and the vendors' own reports, plus MANIFEST.json and README.md."""
    tl = Timeline(as_of or dt.date.today(), months)
    w = _Writer(Path(out))
    cl, wi, ca, qa = claims(seed, tl, scale), work_items(seed, tl, scale), calls(seed, tl, scale), qa_audits(seed, tl, scale)
    months_ = _month_ranges(tl)
    quarters = _quarter_ranges(tl)

    # Claims: monthly, every claim with an event in the month, as known at the month's end (re-deliveries).
    for mi, (label, lo, hi) in enumerate(months_):
        hit = (_in(cl["received_date"], lo, hi) | _in(cl["submitted_date"], lo, hi) | _in(cl["adjudicated_date"], lo, hi))
        snap = snapshot_claims(cl[hit], np.datetime64(hi.date(), "D"))
        m = snap[snap["vendor"] == VENDOR_NAMES["meridian"]].reset_index(drop=True)
        rel = f"meridian/claims/meridian_claims_{label}.csv"
        if mi == 5 and len(m) > 40:
            m = w.spoil(m, rel, 17, "submitted_date", (m.loc[17, "received_date"] - pd.Timedelta(days=2)),
                        "submitted two days before it was received (keying error)")
        if mi == 11 and len(m) > 40:
            m = w.spoil(m, rel, 30, "billed_amount", -abs(float(m.loc[30, "billed_amount"])), "a reversal sent as a claim")
        m = m.assign(clean_submission=_fmt_bool(m["clean_submission"], "true", "false"))
        w.csv(m, rel, date_format="%Y-%m-%d")

        h = snap[snap["vendor"] == VENDOR_NAMES["helix"]].reset_index(drop=True)
        rng = _rng(seed, 99, mi)
        h = h.assign(
            clean_submission=_fmt_bool(h["clean_submission"], "Y", "N"),
            initial_outcome=h["initial_outcome"].str.upper(),
            patient_name=[f"{FAKE_FIRST[a]} {FAKE_LAST[b]}" for a, b in
                          zip(rng.integers(0, len(FAKE_FIRST), len(h)), rng.integers(0, len(FAKE_LAST), len(h)))],
            mrn=[f"MRN{x:07d}" for x in rng.integers(0, 10_000_000, len(h))],
        )
        h.columns = [c.replace("_", " ").title().replace("Id", "ID") if c != "mrn" else "MRN" for c in h.columns]
        rel = f"helix/claims/Helix_Claims_{label}.csv"
        if mi == 8 and len(h) > 40:
            h = w.spoil(h, rel, 12, "Denial Reason", "appeal filed, pt SSN 123-45-6789 on file",
                        "free text carrying a Social Security number", reported_column="denial_reason")
        w.csv(h, rel, date_format="%Y-%m-%d", encoding="utf-8-sig")

    # Work items: quarterly, items opened or completed in the quarter, as known at its end.
    for label, lo, hi in quarters:
        hit = _in(wi["opened_at"], lo, hi) | _in(wi["completed_at"], lo, hi)
        snap = snapshot_work_items(wi[hit], _end_of(hi))
        for key in ("meridian", "helix"):
            part = snap[snap["vendor"] == VENDOR_NAMES[key]].drop(columns=["sla_met"])
            if key == "helix":  # ISO 8601 with a UTC designator
                for c in ("opened_at", "due_at", "completed_at"):
                    part[c] = part[c].dt.strftime("%Y-%m-%dT%H:%M:%SZ")
            w.csv(part, f"{key}/work_items/{key}_work_items_{label}.csv", date_format="%Y-%m-%d %H:%M:%S")
        cv = snap[snap["vendor"] == VENDOR_NAMES["clearview"]].drop(columns=["sla_met"]).reset_index(drop=True)
        cv.to_parquet(w.path(f"clearview/work_items/clearview_reads_{label}.parquet"), index=False)
        ib = snap[snap["vendor"] == VENDOR_NAMES["iberica"]]
        ib = pd.DataFrame({
            "Nº Solicitud": ib["item_id"].str.replace("IBE-SC", "SOL-", regex=False),
            "Proceso": "Citación",
            "Prioridad": "Normal",
            "Centro": ib["facility"],
            "Fecha apertura": ib["opened_at"].dt.strftime("%d/%m/%Y %H:%M"),
            "Fecha cierre": ib["completed_at"].dt.strftime("%d/%m/%Y %H:%M").fillna("-"),
            "Cumple SLA": _fmt_bool(ib["sla_met"], "Sí", "No").fillna("-"),
        })
        w.csv(ib, f"iberica/work_items/solicitudes_{label}.csv", sep=";", encoding="latin-1")

    # Calls: monthly, Ibérica's own format (Latin-1, semicolons, day-first dates, decimal commas).
    for mi, (label, lo, hi) in enumerate(months_):
        k = ca[_in(ca["offered_at"], lo, hi)].reset_index(drop=True)
        ts = "%d/%m/%Y %H:%M:%S"
        k = pd.DataFrame({
            "Nº Llamada": k["call_id"].str.replace("IBE-K", "LL", regex=False),
            "Cola": k["queue"].map(IBERICA_QUEUES),
            "Hora entrada": k["offered_at"].dt.strftime(ts),
            "Hora atención": k["answered_at"].dt.strftime(ts).fillna("-"),
            "Hora abandono": k["abandoned_at"].dt.strftime(ts).fillna("-"),
            "Duración (s)": k["handle_seconds"].map(lambda x: "-" if pd.isna(x) else f"{x:.1f}".replace(".", ",")),
            "Resuelto 1er contacto": _fmt_bool(k["first_contact_resolved"], "Sí", "No").fillna("-"),
            "Agente": "",
        })
        rel = f"iberica/calls/llamadas_{label}.csv"
        if mi == 3 and len(k) > 40:
            answered = k.index[k["Hora atención"] != "-"][5]
            k = w.spoil(k, rel, int(answered), "Hora abandono", k.loc[answered, "Hora atención"],
                        "a call recorded as both answered and abandoned", reported_column="answered_at")
        w.csv(k, rel, sep=";", encoding="latin-1")

    # Quality audits: quarterly per vendor (Ibérica's with semicolons).
    for label, lo, hi in quarters:
        part = qa[_in(qa["audit_date"], lo, hi)]
        for key in ("meridian", "helix", "clearview", "iberica"):
            v = part[part["vendor"] == VENDOR_NAMES[key]]
            w.csv(v, f"{key}/qa_audits/{key}_qa_{label}.csv", date_format="%Y-%m-%d",
                  sep=";" if key == "iberica" else ",", encoding="latin-1" if key == "iberica" else "utf-8")

    targets = sla_targets(tl)
    _write_xlsx(targets, w.path("contracts/sla_targets.xlsx"), "Service levels")
    rep = reported_kpis(tl, cl, wi, ca)
    for key, name in VENDOR_NAMES.items():
        part = rep[rep["vendor"] == name]
        if len(part):
            w.csv(part, f"reported/{key}_reported_kpis.csv", date_format="%Y-%m-%d")

    ev = events(tl)
    w.csv(ev.assign(is_process_change=_fmt_bool(ev["is_process_change"], "true", "false")), "contracts/events.csv",
          date_format="%Y-%m-%d")

    _write_mappings(w.out)
    manifest = {
        "generator": {"seed": seed, "months": months, "scale": scale, "as_of": tl.as_of.isoformat()},
        "vendors": {v.key: v.name for v in VENDORS},
        "stories": {
            "meridian_automation_go_live": tl.go_live.isoformat(),
            "clearview_outage_week_start": tl.outage_start.isoformat(),
            "helix_denial_drift_start": tl.drift_start.isoformat(),
        },
        "deliberate_rejects": w.deliberate,
    }
    (w.out / "MANIFEST.json").write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
    (w.out / "README.md").write_text(_sample_readme(manifest, w), encoding="utf-8")
    return w.files


MAPPINGS = {
    "iberica/calls/mapping.toml": '''# Ibérica Salud Contact Services: call log export.
# Semicolon-separated, Latin-1, day-first timestamps, decimal commas, Spanish headers and codes.
table = "calls"
null_tokens = ["-"]
decimal_separator = ","

[formats]
timestamp = "%d/%m/%Y %H:%M:%S"

[columns]
call_id = "Nº Llamada"
vendor = { const = "Ibérica Salud Contact Services" }
queue = "Cola"
offered_at = "Hora entrada"
answered_at = "Hora atención"
abandoned_at = "Hora abandono"
handle_seconds = "Duración (s)"
first_contact_resolved = "Resuelto 1er contacto"

[values.queue]
"Citas" = "scheduling"
"Facturación" = "billing_inquiry"
"Seguros" = "eligibility"

[values.first_contact_resolved]
"Sí" = "true"
"No" = "false"
''',
    "iberica/work_items/mapping.toml": '''# Ibérica Salud Contact Services: scheduling requests.
# No due time in the export: the vendor's own SLA verdict ("Cumple SLA") is used.
table = "work_items"
null_tokens = ["-"]

[formats]
timestamp = "%d/%m/%Y %H:%M"

[columns]
item_id = "Nº Solicitud"
vendor = { const = "Ibérica Salud Contact Services" }
process = "Proceso"
priority = "Prioridad"
facility = "Centro"
opened_at = "Fecha apertura"
completed_at = "Fecha cierre"
sla_met = "Cumple SLA"

[values.process]
"Citación" = "scheduling"

[values.priority]
"Normal" = "routine"
"Urgente" = "urgent"

[values.sla_met]
"Sí" = "true"
"No" = "false"
''',
}


def _write_mappings(out: Path) -> None:
    for rel, text in MAPPINGS.items():
        p = out / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(text, encoding="utf-8")


def _sample_readme(manifest: dict[str, Any], w: _Writer) -> str:
    g, s = manifest["generator"], manifest["stories"]
    folders: dict[str, int] = {}
    for f in w.files:
        rel = f.relative_to(w.out).parent.as_posix()
        folders[rel] = folders.get(rel, 0) + 1
    lines = [
        "# Sample data",
        "",
        "Fictional exports from four fictional BPO partners serving three fictional hospitals. Nothing here",
        "describes a real organisation or person (patient names and MRNs in Helix's files are invented, and",
        "opsdash drops those columns on load).",
        "",
        f"Written by `opsdash generate --out sample_data --seed {g['seed']} --months {g['months']} "
        f"--scale {g['scale']:g} --as-of {g['as_of']}`; this page is written by the same command.",
        "",
        "| folder | files |",
        "|---|---|",
        *[f"| `{k}` | {n} |" for k, n in sorted(folders.items())],
        "",
        "## What the data shows",
        f"- Winter volume peaks in claims, work items and calls; Monday peaks in calls.",
        f"- Meridian Revenue Partners automated claim scrubbing on {s['meridian_automation_go_live']}: turnaround and",
        "  coding errors fall from then on, and the contract tightened its turnaround target about three months later.",
        f"- Helix Health Services' initial denial rate drifts upward from {s['helix_denial_drift_start']} (prior-authorisation",
        "  denials, CO-197, mostly Aetna and UnitedHealthcare); Helix keeps reporting about 5% for the last four months.",
        f"- ClearView Diagnostics Reading had an outage in the week of {s['clearview_outage_week_start']}: radiology reads and",
        "  transcriptions missed their SLAs; ClearView's own report for that month leaves the outage out.",
        "- Denial reasons differ by payer (CO-50 medical necessity at Medicare, CO-27 coverage at Medicaid, ...).",
        "",
        "## Formats",
        "- Meridian: comma-separated UTF-8 with the contract's headers.",
        "- Helix: headers in Title Case, UTF-8 with a byte-order mark, Y/N and upper-case codes, ISO 8601",
        "  timestamps with `Z`, and two patient-identifier columns that are dropped on load.",
        "- ClearView: Parquet work items.",
        "- Ibérica: semicolon-separated Latin-1, Spanish headers, day-first dates and decimal commas, read",
        "  through the `mapping.toml` beside the files.",
        "- The contract's service levels are an Excel workbook (`contracts/sla_targets.xlsx`).",
        "- The hospital's event log (`contracts/events.csv`): Meridian's go-live is marked as a process change, so",
        "  its SPC charts start new limits there; the outage, the tightened target and the payers' new rules are",
        "  annotations only.",
        "",
        "## Rows made bad on purpose",
        "Loading must reject exactly these rows (and nothing else):",
        "",
        "| file | line | column | why |",
        "|---|---|---|---|",
        *[f"| `{d['file']}` | {d['line']} | {d['column']} | {d['why']} |" for d in manifest["deliberate_rejects"]],
        "",
    ]
    return "\n".join(lines)


def flat_table(table: str, seed: int, months: int, scale: float, as_of: dt.date | None = None) -> "pa.Table":
    """One table's final state with the contract's columns, as Arrow (dates as dates)."""
    import pyarrow as pa

    tl = Timeline(as_of or dt.date.today(), months)
    makers = {"claims": claims, "work_items": work_items, "calls": calls, "qa_audits": qa_audits}
    if table in makers:
        df = makers[table](seed, tl, scale)
    elif table == "sla_targets":
        df = sla_targets(tl)
    elif table == "events":
        df = events(tl)
    else:
        df = reported_kpis(tl, claims(seed, tl, scale), work_items(seed, tl, scale), calls(seed, tl, scale))
    out = pa.Table.from_pandas(df[list(contract.TABLES[table].column_names)], preserve_index=False)
    for c in contract.TABLES[table].columns:  # dates as dates, not midnight timestamps
        if c.type == contract.ColType.DATE:
            i = out.schema.get_field_index(c.name)
            out = out.set_column(i, c.name, out.column(i).cast(pa.date32()))
    return out


def write_csv(table: "pa.Table", path: Path) -> Path:
    import pyarrow.csv as pacsv

    pacsv.write_csv(table, path, pacsv.WriteOptions(quoting_style="needed"))
    return path


def write_flat(out: Path, seed: int, months: int, scale: float, as_of: dt.date | None,
               tables: list[str]) -> list[Path]:
    """One CSV per table with the contract's headers and the final state of every row (benchmarks)."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    return [write_csv(flat_table(t, seed, months, scale, as_of), out / f"{t}.csv") for t in tables]
