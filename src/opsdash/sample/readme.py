"""The sample folder's README.md: what is in it, what it shows and which rows are bad on purpose.

It states no measured figure: the stories are told by their dates (from the manifest) and by the figures
the stories declare (what Helix reports), so the page cannot disagree with what the dashboard computes.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

from opsdash.sample.stories import (DENIAL_DRIFT, DENIAL_MECHANISM, PLAN_WEEKS_AHEAD, PLAN_WEEKS_BEHIND, TRAINING,
                                   VENDOR_NAMES, VENDOR_SCORES)


def text(manifest: dict[str, Any], folders: list[str]) -> str:
    """The README of a sample written with `manifest`; `folders` holds each data file's folder (one per file)."""
    g, s = manifest["generator"], manifest["stories"]
    counts = Counter(folders)
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
        *[f"| `{k}` | {n} |" for k, n in sorted(counts.items())],
        "",
        "## What the data shows",
        "- Winter volume peaks in claims, work items and calls; Monday peaks in calls.",
        f"- Meridian Revenue Partners automated claim scrubbing on {s['meridian_automation_go_live']}: turnaround and",
        "  coding errors fall from then on, and the contract tightened its turnaround target about three months later.",
        f"- Helix Health Services' initial denial rate drifts upward from {s['helix_denial_drift_start']} (prior-authorisation",
        "  denials, CO-197, mostly Aetna and UnitedHealthcare, which require authorisation more often from then, while",
        "  Helix obtains fewer of those required); Helix keeps reporting about "
        f"{DENIAL_DRIFT.reported_cap:.0%} for the last {_words(DENIAL_DRIFT.reported_months)} months.",
        f"- ClearView Diagnostics Reading had an outage in the week of {s['clearview_outage_week_start']}: radiology reads and",
        "  transcriptions missed their SLAs; ClearView's own report for that month leaves the outage out.",
        "- Denial reasons differ by payer (CO-50 medical necessity at Medicare, CO-27 coverage at Medicaid, ...).",
        f"- Staffing plans run {_words(PLAN_WEEKS_BEHIND)} weeks behind as-of and {_words(PLAN_WEEKS_AHEAD)} ahead. Ibérica's "
        f"annual training takes {TRAINING.shrinkage:.0%}",
        f"  of its agents' time for {_words(TRAINING.weeks)} weeks from {s['iberica_training_weeks_start']}, in the winter call "
        "peak, and its plan",
        "  keeps the agents it schedules in other weeks: its queues are short of staff for the peak.",
        "",
        "## Why claims are denied (the planted mechanism)",
        "Every claim's first decision is one draw at a probability that depends only on what is known when the",
        "claim is submitted, so the best any denial model could do is known. Its log-odds add up:",
        "- the payer, and the vendor (a little lower at Helix);",
        "- the procedure group (`procedure_group`), and a few payer x group pairs "
        + ", ".join(f"({p} x {g})" for p, g, _ in DENIAL_MECHANISM.payer_group) + ";",
        f"- {DENIAL_MECHANISM.missing_auth:g} where prior authorisation was required and not obtained;",
        f"- {DENIAL_MECHANISM.stale_per_30_days:g} a month where eligibility was last verified more than "
        f"{DENIAL_MECHANISM.fresh_days} days before submission",
        f"  (up to {DENIAL_MECHANISM.stale_cap_days} days, and {DENIAL_MECHANISM.medicaid_stale:g} times that at Medicaid; "
        "never verified counts as the most);",
        f"- {DENIAL_MECHANISM.amount:g} per unit of ln(billed amount / 1,000).",
        "",
        "The coefficients are declared in `opsdash.sample.stories.DenialMechanism`, whose `probability` recomputes",
        "any claim's from its columns. Vendors' own scores at submission (`vendor_risk_score`):",
        *[f"- {VENDOR_NAMES[v.vendor]}: {v.model}, a deliberately {v.quality} model." for v in VENDOR_SCORES],
        "",
        "## Formats",
        "- Meridian: comma-separated UTF-8 with the contract's headers.",
        "- Helix: headers in Title Case, UTF-8 with a byte-order mark, Y/N and upper-case codes, ISO 8601",
        "  timestamps with `Z`, and two patient-identifier columns that are dropped on load.",
        "- ClearView: Parquet work items.",
        "- Ibérica: semicolon-separated Latin-1, Spanish headers, day-first dates and decimal commas, read",
        "  through the `mapping.toml` beside the files; its staffing plan is a workforce-management export",
        "  (date and interval start in two columns, one row per queue and half-hour).",
        "- Staffing plans of the others: daily FTE in the contract's layout (Helix leaves the interval length",
        "  to its default of a day; ClearView sends net FTE, without productive hours or shrinkage).",
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


NUMBER_WORDS = ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten")


def _words(n: int) -> str:
    return NUMBER_WORDS[n] if n < len(NUMBER_WORDS) else str(n)
