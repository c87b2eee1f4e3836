"""The contract tables' rows as the vendors' systems hold them, built from the stories (seeded, no I/O).

Each table has its own random stream per vendor (and process), so one table's rows do not change when
another's code does. ``snapshot_*`` give a table as it was known on an earlier day (re-deliveries).
"""

from __future__ import annotations

import datetime as dt
import math
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa

from opsdash import contract
from opsdash.sample.stories import (
    AROUND_THE_CLOCK, AUTH_FACTOR, AUTH_TIGHTENED, BACK_OFFICE_PLAN, CALL_PEAKS, CONTACT_PLAN_TARGET,
    CONTACT_PLAN_THRESHOLD_S, CONTACT_SHRINKAGE, COVERAGE_DENIAL, DENIAL_DRIFT, DENIAL_MECHANISM, DENIAL_REASONS,
    EFFORT_HOURS, ERROR_CATEGORIES, FACILITIES, FACILITY_WEIGHTS, GO_LIVE, GROWTH, HANDLE_MEDIAN_S, HANDLE_SIGMA,
    NEVER_VERIFIED, OPEN_HOURS, OUTAGE, PAYER_WEIGHTS, PAYERS, PRIOR_AUTH_DENIAL, PROCEDURE_GROUPS, QUEUES, SLA_HOURS,
    TRAINING, VENDOR_NAMES, VENDOR_SCORES, VENDORS, VERIFIED_DAYS, WEEKDAY_CALLS, WEEKDAY_WORK, WINTER_SWING,
    Timeline,
)


def _winter(days: pd.DatetimeIndex) -> np.ndarray:
    return 1 + WINTER_SWING * np.cos(2 * np.pi * (days.day_of_year.to_numpy() - 20) / 365.25)


def rng(seed: int, *parts: int) -> np.random.Generator:
    """The random stream of one seed and one part of the data (vendor, table, process ...)."""
    return np.random.default_rng([seed, *parts])


def _daily_counts(rng: np.random.Generator, days: pd.DatetimeIndex, per_day: float, scale: float,
                  weekday: np.ndarray) -> np.ndarray:
    lam = per_day * scale * _winter(days) * weekday[days.day_of_week.to_numpy()]
    growth = np.linspace(*GROWTH, len(days))
    return rng.poisson(lam * growth)


def _ids(prefix: str, n: int, start: int = 1) -> np.ndarray:
    return (prefix + pd.Series(np.arange(start, start + n)).astype(str).str.zfill(8)).to_numpy()


def _pick(rng: np.random.Generator, options: tuple[Any, ...], weights: tuple[float, ...] | list[float], n: int) -> np.ndarray:
    w = np.asarray(weights, dtype=float)
    return np.asarray(options, dtype=object)[rng.choice(len(options), size=n, p=w / w.sum())]


# -- claims ----------------------------------------------------------------------------------

def claims(seed: int, tl: Timeline, scale: float) -> pd.DataFrame:
    """Final state (as of the timeline's as-of date) of every claim, all vendors. Outcomes are drawn from
    ``DENIAL_MECHANISM`` on what is known at submission; the vendors of ``VENDOR_SCORES`` send their own scores."""
    frames = []
    days = tl.days
    as_of = np.datetime64(tl.as_of, "D")
    go_live = np.datetime64(tl.go_live, "D")
    drift0 = np.datetime64(tl.drift_start, "D")
    for vi, v in enumerate(VENDORS):
        if not v.claims_per_day:
            continue
        r = rng(seed, vi, 1)
        counts = _daily_counts(r, days, v.claims_per_day, scale, WEEKDAY_WORK)
        n = int(counts.sum())
        received = np.repeat(days.to_numpy().astype("datetime64[D]"), counts)
        payer_idx = r.choice(len(PAYERS), size=n, p=np.array(PAYER_WEIGHTS) / sum(PAYER_WEIGHTS))
        payer = np.asarray(PAYERS, dtype=object)[payer_idx]
        median = np.full(n, v.turnaround_days)
        clean_p = np.full(n, v.clean_rate)
        if v.key == GO_LIVE.vendor:
            after = received >= go_live
            median[after] = GO_LIVE.turnaround_days
            clean_p[after] = GO_LIVE.clean_rate
        turnaround = np.rint(r.gamma(2.0, median / 1.678)).astype("timedelta64[D]")
        submitted = received + turnaround
        adjudicated = submitted + np.rint(7 + r.gamma(2.0, 4.0, size=n)).astype("timedelta64[D]")
        ctype = np.where(r.random(n) < 0.65, "professional", "institutional").astype(object)
        billed = np.round(np.exp(r.normal(np.where(ctype == "professional", math.log(420), math.log(6800)), 0.6)), 2)
        # what is known at submission: the procedure group, prior authorisation, eligibility
        group = np.empty(n, dtype=object)
        auth_p = np.zeros(n)
        for kind, options in PROCEDURE_GROUPS.items():
            sel = ctype == kind
            names, shares, needs = zip(*options)
            pick = r.choice(len(names), size=int(sel.sum()), p=np.asarray(shares) / sum(shares))
            group[sel] = np.asarray(names, dtype=object)[pick]
            auth_p[sel] = np.asarray(needs)[pick]
        auth_p = auth_p * np.asarray(AUTH_FACTOR)[payer_idx]
        for name, extra in AUTH_TIGHTENED:
            auth_p = auth_p + np.where((payer == name) & (submitted >= drift0) & (auth_p > 0), extra, 0.0)
        required = r.random(n) < np.clip(auth_p, 0, 0.95)
        obtain_p = np.full(n, DENIAL_DRIFT.others_obtain)
        if v.key == DENIAL_DRIFT.vendor:
            months_in = np.clip((submitted - drift0).astype(float) / 30.4, 0, None)
            obtain_p = np.maximum(DENIAL_DRIFT.obtained - DENIAL_DRIFT.lost_per_month * months_in,
                                  DENIAL_DRIFT.obtained_floor)
        obtained = np.where(required, r.random(n) < obtain_p, False)
        verified = submitted - np.rint(r.gamma(*VERIFIED_DAYS, size=n)).astype("timedelta64[D]")
        never = r.random(n) < NEVER_VERIFIED
        df = pd.DataFrame({
            "claim_id": _ids(v.key[:3].upper() + "-C", n),
            "vendor": v.name,
            "payer": payer,
            "claim_type": ctype,
            "received_date": received,
            "submitted_date": submitted,
            "adjudicated_date": adjudicated,
            "billed_amount": billed,
            "procedure_group": group,
            "prior_auth_required": required,
            "prior_auth_obtained": pd.array(np.where(required, obtained, None), dtype="boolean"),
            "eligibility_verified_date": pd.Series(verified).where(~never).to_numpy(),
        })
        truth = DENIAL_MECHANISM.probability(df)
        u = r.random(n)
        denied = u < truth
        partial = (~denied) & (u < truth + 0.08)
        outcome = np.where(denied, "denied", np.where(partial, "partially_paid", "paid")).astype(object)
        reasons = np.empty(n, dtype=object)
        for pi, name in enumerate(PAYERS):
            sel = denied & (payer_idx == pi)
            opts, w = zip(*DENIAL_REASONS[name])
            reasons[sel] = _pick(r, opts, w, int(sel.sum()))
        stale = ((submitted - verified).astype(int) > DENIAL_MECHANISM.stale_cap_days // 2) | never
        reasons[denied & stale & (r.random(n) < 0.5)] = COVERAGE_DENIAL
        reasons[denied & required & ~obtained] = PRIOR_AUTH_DENIAL
        ratio = np.where(outcome == "paid", r.uniform(0.55, 0.85, n),
                         np.where(outcome == "partially_paid", r.uniform(0.2, 0.5, n), 0.0))
        df = df.assign(
            facility=_pick(r, FACILITIES, FACILITY_WEIGHTS, n),
            service_date=received - r.integers(0, 6, n).astype("timedelta64[D]"),
            clean_submission=r.random(n) < clean_p,
            initial_outcome=outcome,
            denial_reason=reasons,
            paid_amount=np.round(billed * ratio, 2),
            vendor_risk_score=np.nan,
            vendor_risk_model=None,
        )
        for spec in VENDOR_SCORES:
            if spec.vendor == v.key:
                df["vendor_risk_score"] = spec.scores(rng(seed, vi, 5), truth)
                df["vendor_risk_model"] = spec.model
        frames.append(df[[c for c in contract.TABLES["claims"].column_names]])
    out = pd.concat(frames, ignore_index=True)
    return snapshot_claims(out, as_of)


def snapshot_claims(df: pd.DataFrame, cutoff: np.datetime64) -> pd.DataFrame:
    """The claims as a vendor would have exported them on ``cutoff``: later events are not known yet (nor an
    authorisation still pending, nor an eligibility check not yet made, nor the vendor's score at submission)."""
    df = df.copy()
    not_sub = df["submitted_date"].to_numpy() > cutoff
    not_adj = df["adjudicated_date"].to_numpy() > cutoff
    df["submitted_date"] = df["submitted_date"].where(~not_sub)
    df["clean_submission"] = df["clean_submission"].astype("boolean").where(~not_sub)
    df["prior_auth_obtained"] = df["prior_auth_obtained"].astype("boolean").where(~not_sub)
    df["eligibility_verified_date"] = df["eligibility_verified_date"].where(
        ~(df["eligibility_verified_date"].to_numpy() > cutoff))
    for c in ("vendor_risk_score", "vendor_risk_model"):
        df[c] = df[c].where(~not_sub)
    for c in ("adjudicated_date", "initial_outcome", "denial_reason", "paid_amount"):
        df[c] = df[c].where(~not_adj)
    return df


# -- work items --------------------------------------------------------------------------------

def work_items(seed: int, tl: Timeline, scale: float) -> pd.DataFrame:
    """Final state of every work item opened by the end of the as-of day, all vendors."""
    frames = []
    days = tl.days
    as_of_ts = np.datetime64(tl.as_of, "D") + np.timedelta64(1, "D") - np.timedelta64(1, "m")
    go_live = np.datetime64(tl.go_live, "D")
    out0 = np.datetime64(tl.outage_start, "D")
    out1 = out0 + np.timedelta64(OUTAGE.days, "D")
    for vi, v in enumerate(VENDORS):
        for pi, (process, per_day, priorities) in enumerate(v.processes):
            r = rng(seed, vi, 2, pi)
            around_clock = process in AROUND_THE_CLOCK
            counts = _daily_counts(r, days, per_day, scale, np.ones(7) if around_clock else WEEKDAY_WORK)
            n = int(counts.sum())
            day = np.repeat(days.to_numpy().astype("datetime64[m]"), counts)
            if around_clock:
                minute = r.integers(0, 24 * 60, n)
            else:
                minute = np.clip(r.normal(11.5 * 60, 150, n), 7 * 60, 19 * 60).astype(int)
            opened = day + minute.astype("timedelta64[m]")
            prio = _pick(r, tuple(p for p, _ in priorities), [w for _, w in priorities], n)
            sla_h = np.array([SLA_HOURS[(process, p)] for p in prio], dtype=float)
            factor = np.exp(r.normal(math.log(0.45), 0.42, n))
            if v.key == GO_LIVE.vendor and process == "coding":
                factor = np.where(opened >= go_live, factor * GO_LIVE.coding_time, factor)
            if v.key == OUTAGE.vendor:
                factor = np.where((opened >= out0) & (opened < out1), factor * r.uniform(*OUTAGE.slowdown, n), factor)
            done_min = np.maximum(1, np.rint(sla_h * 60 * factor)).astype("timedelta64[m]")
            completed = opened + done_min
            due = opened + (sla_h * 60).astype("timedelta64[m]")
            df = pd.DataFrame({
                "item_id": _ids(v.key[:3].upper() + "-" + process[:2].upper(), n),
                "vendor": v.name,
                "process": process,
                "priority": prio,
                "facility": _pick(r, FACILITIES, FACILITY_WEIGHTS, n),
                "opened_at": opened,
                "due_at": due,
                "completed_at": completed,
                "sla_met": completed <= due,
            })
            frames.append(df)
    out = pd.concat(frames, ignore_index=True)
    return snapshot_work_items(out, as_of_ts)


def snapshot_work_items(df: pd.DataFrame, cutoff: np.datetime64) -> pd.DataFrame:
    """The work items as known at ``cutoff``: items opened later are left out, later completions are open."""
    df = df[df["opened_at"].to_numpy() <= cutoff].copy()
    open_ = df["completed_at"].to_numpy() > cutoff
    df["completed_at"] = df["completed_at"].where(~open_)
    df["sla_met"] = df["sla_met"].astype("boolean").where(~open_)
    return df


# -- calls -------------------------------------------------------------------------------------

def calls(seed: int, tl: Timeline, scale: float) -> pd.DataFrame:
    """Every call offered to the contact-centre vendors' queues: busy days wait longer, and more hang up."""
    frames = []
    days = tl.days
    for vi, v in enumerate(VENDORS):
        if not v.calls_per_day:
            continue
        r = rng(seed, vi, 3)
        counts = _daily_counts(r, days, v.calls_per_day, scale, WEEKDAY_CALLS)
        n = int(counts.sum())
        day_idx = np.repeat(np.arange(len(days)), counts)
        day = days.to_numpy().astype("datetime64[s]")[day_idx]
        # Two intraday peaks (mid-morning, early afternoon) inside the opening hours.
        (share, h1, sd1), (_, h2, sd2) = CALL_PEAKS
        peak = np.where(r.random(n) < share, r.normal(h1 * 3600, sd1 * 3600, n), r.normal(h2 * 3600, sd2 * 3600, n))
        offered = day + np.clip(peak, OPEN_HOURS[0] * 3600, OPEN_HOURS[1] * 3600 - 1).astype("timedelta64[s]")
        load = (counts / max(counts.mean(), 1e-9))[day_idx]  # busy days wait longer
        wait = r.exponential(11 * load ** 1.6, n)
        patience = np.where(r.random(n) < 0.05, r.uniform(0, 5, n), r.exponential(400, n))
        abandoned = wait > patience
        queue = _pick(r, tuple(q for q, _ in QUEUES), [w for _, w in QUEUES], n)
        handle_median = pd.Series(queue).map(HANDLE_MEDIAN_S).to_numpy(dtype=float)
        handle = np.round(np.exp(r.normal(np.log(handle_median), HANDLE_SIGMA)), 1)
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
            "first_contact_resolved": pd.Series(r.random(n) < 0.78).astype("boolean").where(~abandoned),
        })
        frames.append(df)
    return pd.concat(frames, ignore_index=True)


# -- quality audits -----------------------------------------------------------------------------

def qa_audits(seed: int, tl: Timeline, scale: float) -> pd.DataFrame:
    """Items each vendor's quality team audited: opportunities, errors and the first error's category."""
    frames = []
    days = tl.days
    for vi, v in enumerate(VENDORS):
        for pi, (process, p_err) in enumerate(v.qa_processes):
            r = rng(seed, vi, 4, pi)
            counts = _daily_counts(r, days, 2.5, scale, WEEKDAY_WORK)
            n = int(counts.sum())
            opp = r.integers(8, 31, n) if process != "transcription" else r.integers(40, 160, n)
            p = np.full(n, p_err)
            if v.key == GO_LIVE.vendor and process == "coding":
                after = np.repeat(days.to_numpy(), counts) >= np.datetime64(tl.go_live)
                p = np.where(after, p * GO_LIVE.coding_errors, p)
            errors = r.binomial(opp, p)
            critical = r.binomial(errors, 0.15)
            cats = ERROR_CATEGORIES[process]
            category = _pick(r, cats, [1.0 / (i + 1) for i in range(len(cats))], n)
            frames.append(pd.DataFrame({
                "audit_id": _ids(v.key[:3].upper() + "-A" + process[:2].upper(), n),
                "vendor": v.name,
                "process": process,
                "audit_date": np.repeat(days.to_numpy().astype("datetime64[D]"), counts),
                "facility": _pick(r, FACILITIES, FACILITY_WEIGHTS, n),
                "opportunities": opp,
                "errors": errors,
                "critical_errors": critical,
                "error_category": pd.Series(category).where(errors > 0),
            }))
    return pd.concat(frames, ignore_index=True)


# -- the hospital's contract and event log -------------------------------------------------------

def sla_targets(tl: Timeline) -> pd.DataFrame:
    """The contract's service levels; Meridian's turnaround target tightens after its go-live."""
    start = tl.start
    tighten = tl.target_tightened
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
    return pd.DataFrame(rows, columns=list(contract.TABLES["sla_targets"].column_names))


def events(tl: Timeline) -> pd.DataFrame:
    """The hospital's log of what happened to its vendors' work: Meridian's automation go-live is a process
    change (its turnaround falls from about 4 to 2 days there), the others are annotations only."""
    m, h, c = (VENDOR_NAMES[k] for k in ("meridian", "helix", "clearview"))
    rows = [
        (m, tl.go_live, None, None, "Automated claim scrubbing went live", True, "Meridian go-live notice"),
        (m, tl.target_tightened, "claim_turnaround_days", None, "Contract turnaround target tightened from 4 to 3 days",
         False, "contract amendment"),
        (c, tl.outage_start, None, None, "Reading platform outage for a week: reads and transcriptions delayed",
         False, "ClearView incident report"),
        (h, tl.drift_start, "initial_denial_rate", None,
         "Aetna and UnitedHealthcare tightened prior-authorisation rules", False, "payer bulletins"),
    ]
    return pd.DataFrame(rows, columns=list(contract.TABLES["events"].column_names))


# -- staffing plans --------------------------------------------------------------------------------

def _planned_volume(tl: Timeline, days: pd.DatetimeIndex, per_day: float, scale: float,
                    weekday: np.ndarray) -> np.ndarray:
    """The volume a vendor's planners expect each day: the season, the weekday and the trend the history
    grows by, carried on past as-of (what _daily_counts draws from, without the draw)."""
    first, last = pd.Timestamp(tl.days[0]), pd.Timestamp(tl.days[-1])
    slope = (GROWTH[1] - GROWTH[0]) / max((last - first).days, 1)
    growth = GROWTH[0] + slope * (days - first).days.to_numpy()
    return per_day * scale * _winter(days) * weekday[days.day_of_week.to_numpy()] * growth


def _half_hour_shares() -> np.ndarray:
    """Share of a day's calls offered in each half-hour of the opening hours (CALL_PEAKS, clipped to them)."""
    from statistics import NormalDist

    lo, hi = OPEN_HOURS
    edges = np.arange(lo, hi + 0.5, 0.5)
    mass = np.zeros(len(edges) - 1)
    for share, mean, sd in CALL_PEAKS:
        cdf = np.array([NormalDist(mean, sd).cdf(e) for e in edges])
        cdf[0], cdf[-1] = 0.0, 1.0  # calls drawn outside the hours are clipped into the first and last
        mass += share * np.diff(cdf)
    return mass


def staffing(seed: int, tl: Timeline, scale: float) -> pd.DataFrame:
    """Every vendor's staffing plan over ``Timeline.plan_days``: daily FTE for back-office processes, agents per
    half-hour for the contact centre's queues (Erlang C for the planners' expected calls), Ibérica short of
    agents in its training weeks (stories.TRAINING). Plans are rounded as planners round them, not drawn."""
    from opsdash.capacity import erlang

    days = tl.plan_days()
    frames = []
    for v in VENDORS:
        if v.key not in BACK_OFFICE_PLAN:
            continue
        hours, shrinkage = BACK_OFFICE_PLAN[v.key]
        for process, per_day, _ in v.processes:
            weekday = np.ones(7) if process in AROUND_THE_CLOCK else WEEKDAY_WORK
            work_h = _planned_volume(tl, days, per_day, scale, weekday) * EFFORT_HOURS[process]
            fte = work_h / ((hours or 7.5) * (1 - (shrinkage or 0.0)))
            frames.append(pd.DataFrame({
                "vendor": v.name, "process": process, "interval_start": days, "interval_minutes": 1440,
                "scheduled_staff": np.ceil(fte * 1.05 * 2) / 2,  # half-FTE steps, a twentieth spare
                "productive_hours_per_fte": hours, "shrinkage": shrinkage}))
    shares = _half_hour_shares()
    slots = pd.timedelta_range(f"{OPEN_HOURS[0]}h", periods=len(shares), freq="30min")
    train0 = pd.Timestamp(tl.training_start)
    train1 = train0 + pd.Timedelta(weeks=TRAINING.weeks)
    for v in VENDORS:
        if not v.calls_per_day:
            continue
        open_days = days[WEEKDAY_CALLS[days.day_of_week.to_numpy()] > 0]
        daily = _planned_volume(tl, open_days, v.calls_per_day, scale, WEEKDAY_CALLS)
        for queue, queue_share in QUEUES:
            calls = np.outer(daily * queue_share, shares).ravel()
            aht = HANDLE_MEDIAN_S[queue] * np.exp(HANDLE_SIGMA ** 2 / 2)  # the lognormal's mean
            need = erlang.required_agents_c(erlang.offered_load(calls, 1800, aht), aht, CONTACT_PLAN_THRESHOLD_S,
                                            CONTACT_PLAN_TARGET)
            start = (open_days.to_numpy()[:, None] + slots.to_numpy()[None, :]).ravel()
            training = (start >= train0.to_datetime64()) & (start < train1.to_datetime64())
            frames.append(pd.DataFrame({
                "vendor": v.name, "process": queue, "interval_start": start, "interval_minutes": 30,
                # scheduled for the usual shrinkage, also in the training weeks: the story's shortfall
                "scheduled_staff": np.ceil(np.maximum(need, 1) / (1 - CONTACT_SHRINKAGE)),
                "productive_hours_per_fte": None,
                "shrinkage": np.where(training, TRAINING.shrinkage, CONTACT_SHRINKAGE)}))
    out = pd.concat(frames, ignore_index=True)
    return out[list(contract.TABLES["staffing"].column_names)]


def to_arrow(table: str, df: pd.DataFrame) -> pa.Table:
    """A table's rows with the contract's columns, in its order, as Arrow (dates as dates)."""
    out = pa.Table.from_pandas(df[list(contract.TABLES[table].column_names)], preserve_index=False)
    for c in contract.TABLES[table].columns:  # dates as dates, not midnight timestamps
        if c.type == contract.ColType.DATE:
            i = out.schema.get_field_index(c.name)
            out = out.set_column(i, c.name, out.column(i).cast(pa.date32()))
    return out


def write_csv(table: pa.Table, path: Path) -> Path:
    """An Arrow table as a plain CSV with its column names as headers, quoting only where needed."""
    import pyarrow.csv as pacsv

    pacsv.write_csv(table, path, pacsv.WriteOptions(quoting_style="needed"))
    return path
