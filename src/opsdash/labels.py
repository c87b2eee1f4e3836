"""Words for people, names for machines: one registry mapping every column, status, process, queue and period
to a human label and format. Pages, the review pack and the CLI's tables read it; CSV and JSON downloads keep
the machine names and numeric values.

Column kinds decide the format: ``count`` (47,064), ``percent`` (a fraction shown as 79.2%), ``number`` (one
decimal), ``money`` (12,345.00), ``hours`` / ``days`` / ``seconds`` (with the unit), ``date`` (3 Nov 2026),
``timestamp`` (3 Nov 2026 14:05), ``period`` (per grain: Nov 2026, Week of 3 Nov 2026, Q4 2026), ``code``
(a machine token humanised: below_minimum -> Below minimum), ``kpi`` (a KPI id -> its catalogue label) and
``prose`` (opsdash's own sentences, such as a reject's reason, with every machine name in words: see
`prose`) and ``text`` (shown verbatim: vendor, payer and facility names are data, never rewritten).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import pandas as pd

from opsdash import catalog, contract, periods

#: What an empty cell reads as.
EMPTY = "—"
#: What an empty cell reads as where the column's meaning says more than a dash: an event naming no KPI or
#: process applies to every one.
EMPTY_WORDS: dict[str, str] = {"kpi": "Every KPI", "process": "Every process"}


def empty_word(name: str) -> str:
    """How an empty cell of column `name` reads: its meaning where it has one (EMPTY_WORDS), else a dash."""
    return EMPTY_WORDS.get(name, EMPTY)

KINDS = ("count", "percent", "number", "score", "money", "hours", "days", "seconds", "date", "timestamp", "period", "code",
         "kpi", "column", "prose", "text", "bool")


@dataclass(frozen=True)
class Label:
    label: str
    kind: str = "text"
    help: str = ""


#: Words in machine names that people write otherwise.
_WORDS = {"id": "ID", "kpi": "KPI", "sla": "SLA", "qa": "QA", "aht": "AHT", "fte": "FTE", "pct": "%", "csv": "CSV",
          "url": "URL", "cpt": "CPT", "drg": "DRG", "carc": "CARC", "phi": "PHI", "spc": "SPC", "s": "(s)"}


def humanise(token: str) -> str:
    """A machine token as words: below_minimum -> Below minimum, claim_id -> Claim ID, prior_auth -> Prior auth."""
    token = str(token)
    if not re.fullmatch(r"[A-Za-z][A-Za-z0-9]*(?:_[A-Za-z0-9]+)*", token):
        return token
    words = [_WORDS.get(w.lower(), w) for w in token.split("_")]
    text = " ".join(words)
    return text[:1].upper() + text[1:]


#: Codes of the processes and queues of BPO work with their words. Known to every store (an events file naming a
#: process by these words is read as its code, see annotations.code_for), so it is the process registry too.
PROCESSES: dict[str, str] = {
    "prior_auth": "Prior authorisation", "radiology_read": "Radiology read", "claim_follow_up": "Claim follow-up",
    "billing_inquiry": "Billing inquiry", "eligibility": "Eligibility", "coding": "Coding", "billing": "Billing",
    "transcription": "Transcription", "scheduling": "Scheduling",
}


#: The SPC readings (spc.POINT_TYPES, spc.ASSURANCE) in words, after NHS England's Making Data Count: the one
#: wording of the tiles, the icons' titles and legend, the charts' legends, the pack and the CLI.
VARIATION_WORDS: dict[str, str] = {
    "improvement": "Special cause: improvement",
    "concern": "Special cause: concern",
    "neutral": "Special cause: neither improvement nor concern",
    "common_cause": "Common cause: no significant change",
    "too_coarse": "No SPC reading: too coarse",
}
ASSURANCE_WORDS: dict[str, str] = {
    "consistently_pass": "Will consistently meet the target",
    "consistently_fail": "Will consistently miss the target",
    "hit_and_miss": "Will hit and miss the target",
    "too_coarse": "No SPC reading: too coarse",
}
#: What a chart without a variation or assurance reading (no data, no limits, no target) says instead.
NO_VARIATION = "No SPC reading"
NO_ASSURANCE = "No assurance reading"


def variation_words(reading: str | None, side: str | None = None) -> str:
    """A variation reading (spc.variation) in words; a special cause names the side of the mean its latest
    values lie on (spc.latest_side): 'Special cause: concern (values higher)'. None: 'No SPC reading'."""
    words = VARIATION_WORDS.get(reading or "", NO_VARIATION)
    if side in ("higher", "lower") and reading in ("improvement", "concern", "neutral"):
        words += f" (values {side})"
    return words


def assurance_words(reading: str | None, has_target: bool = False) -> str:
    """An assurance reading (spc.assurance) in words; None says why there is none (no target, or no limits)."""
    if reading in ASSURANCE_WORDS:
        return ASSURANCE_WORDS[reading]
    return NO_ASSURANCE if has_target else f"{NO_ASSURANCE}: no target"


#: Tokens of codes (statuses, processes, queues, outcomes, levels, flags) with their words.
VALUES: dict[str, str] = {
    # service-level statuses and flags
    "met": "Met", "missed": "Missed", "below_minimum": "Below minimum", "no_data": "No data",
    "not_scored": "Not scored", "unknown_kpi": "Unknown KPI", "discrepancy": "Discrepancy",
    "no_raw_data": "No raw data", "ok": "Agrees",
    "critical": "Critical", "key": "Key",
    **PROCESSES,
    # priorities, outcomes, claim types
    "stat": "Stat", "urgent": "Urgent", "routine": "Routine",
    "paid": "Paid", "partially_paid": "Partially paid", "denied": "Denied",
    "professional": "Professional", "institutional": "Institutional",
    # SPC readings: their one wording, below
    **VARIATION_WORDS, **ASSURANCE_WORDS,
    # the Overview's rows of what lies ahead (views.with_ahead)
    "staffing_ahead": "Staffing ahead", "projected_miss": "Projected to miss",
    # KPI directions and load states
    "higher": "Higher is better", "lower": "Lower is better",
    "loaded": "Loaded", "failed": "Failed", "refused": "Refused", "running": "Running",
    # a headline KPI's status against the target in force
    "on_target": "On target", "off_target": "Off target", "no_target": "No target",
    # where this hospital's figure lies among the same vendor's other clients (views.benchmark_table)
    "better_than_most": "Better than most", "like_most": "Within the middle half",
    "worse_than_most": "Worse than most", "above_most": "Above most", "below_most": "Below most",
    # units of the catalogue
    "fraction": "%", "count": "Count", "days": "Days", "hours": "Hours", "seconds": "Seconds",
}

#: Columns that are not contract columns, or that people read otherwise than their contract meaning says.
_COLUMNS: dict[str, Label] = {
    "kpi": Label("KPI", "kpi"), "KPI": Label("KPI"), "label": Label("KPI"), "unit": Label("Unit", "code"),
    "direction": Label("Better when", "code"),
    "period_start": Label("Period", "period"), "period_end": Label("Period end", "date"), "period": Label("Period", "period"),
    "month": Label("Month", "period"), "week": Label("Week", "period"),
    "value": Label("Value", "number"), "previous": Label("Previous", "number"), "change": Label("Change", "number"),
    "mean": Label("Mean", "number"), "target": Label("Target", "number"), "minimum": Label("Minimum", "number"),
    "status": Label("Status", "code"), "level": Label("Level", "code"), "signal": Label("Signal", "code"),
    "variation": Label("Variation", "code"), "assurance": Label("Assurance", "code"), "what": Label("What changed"),
    "consecutive_missed": Label("Periods missed in a row", "count"), "through": Label("Data through", "date"),
    "credit_pct": Label("Credit (% of amount at risk)", "percent"), "credit": Label("Credit", "money"),
    "credit_due": Label("Credit due", "money"), "at_risk": Label("Amount at risk", "money"),
    "levels_missed": Label("Levels missed", "count"), "capped": Label("Capped at amount at risk", "bool"),
    "scope": Label("Applies to"), "hours_late": Label("Hours late", "hours"),
    "reported": Label("Reported by vendor", "number"), "measured": Label("Measured by opsdash", "number"),
    "difference": Label("Difference", "number"), "flag": Label("Reconciliation", "code"),
    "rows": Label("Rows", "count"), "share": Label("Share", "percent"), "cumulative_share": Label("Cumulative share", "percent"),
    "numerator": Label("Numerator", "count"), "denominator": Label("Denominator", "count"),
    "table": Label("Table", "code"), "latest event": Label("Latest event", "date"), "days old": Label("Days old", "count"),
    "stale": Label("Stale", "bool"), "hour": Label("Hour of day", "count"),
    "service_level": Label("Service level", "percent"),
    "load_id": Label("Load", "count"), "_load_id": Label("Load", "count"), "_line": Label("Line in file", "count"),
    "file": Label("File"), "rows_read": Label("Rows read", "count"), "rows_loaded": Label("Rows loaded", "count"),
    "rows_rejected": Label("Rows rejected", "count"), "started_at": Label("Started", "timestamp"),
    "finished_at": Label("Finished", "timestamp"), "reject_rate": Label("Rejected", "percent"),
    "opened_at": Label("Opened", "timestamp"), "due_at": Label("Due", "timestamp"),
    "completed_at": Label("Completed", "timestamp"), "still_open": Label("Still open", "bool"),
    "in words": Label("In words"), "last load": Label("Last load", "timestamp"), "n": Label("Items measured", "count"),
    "spc_mean": Label("Mean", "number"), "spc_lpl": Label("Lower process limit", "number"),
    "spc_upl": Label("Upper process limit", "number"), "spc_point_type": Label("SPC reading", "code"),
    "year_ago": Label("Same period last year", "number"),
    # capacity (the Capacity page's tables and downloads)
    "forecast": Label("Forecast", "number"), "lo_80": Label("80% range from", "number"),
    "hi_80": Label("80% range to", "number"), "lo_95": Label("95% range from", "number"),
    "hi_95": Label("95% range to", "number"), "day": Label("Day", "date"),
    "intervals": Label("Half-hours planned", "count"), "intervals_short": Label("Half-hours short", "count"),
    "calls": Label("Calls expected", "number"), "expected_service_level": Label("Expected service level", "percent"),
    "expected_abandonment": Label("Expected abandonment", "percent"), "first_short": Label("First short", "timestamp"),
    "required_hours": Label("Agent-hours needed", "number"),
    "required_hours_hi_80": Label("Agent-hours needed, busy week", "number"),
    "net_hours": Label("Agent-hours planned, net", "number"), "critical": Label("Critical", "bool"),
    "to_day": Label("Projected to", "date"), "met": Label("Items met", "count"), "missed": Label("Items missed", "count"),
    "adherence": Label("Projected adherence", "percent"), "miss_day": Label("Missed from", "date"),
    "adherence_hi_80": Label("Adherence in busy weeks", "percent"),
    "miss_day_hi_80": Label("Missed from, busy weeks", "date"), "from_day": Label("From", "date"),
    "part": Label("Part"), "forecast_accuracy": Label("Forecast accuracy"),
    "here": Label("Here", "number"), "others_median": Label("Other clients' median", "number"),
    "others_p25": Label("Other clients, lower quartile", "number"),
    "others_p75": Label("Other clients, upper quartile", "number"),
    "others": Label("Other clients compared", "count"), "position": Label("Among other clients", "code"),
    "doing_worse": Label("Other clients doing worse", "percent"),
    "scheduled_fte": Label("FTE planned", "number"), "inflow": Label("Items in", "number"),
    "capacity": Label("Capacity (items)", "number"), "backlog": Label("Backlog at end", "number"),
    "overdue": Label("Past due at end", "number"), "breaching": Label("Breaching", "number"),
    "backlog_hi_80": Label("Backlog at end, busy weeks", "number"), "from_day": Label("From", "date"),
    "part": Label("Part"),
    # denial risk (the Claims page's work list and its downloads)
    "stage": Label("Stage"), "risk": Label("Denial risk", "percent"),
    "expected_loss": Label("Dollars at risk", "money"), "reasons": Label("Why (points added to the risk)"),
    "mean_score": Label("Risk given", "percent"), "share_denied": Label("Share denied", "percent"),
    "held_out_claims": Label("Held-out claims", "count"), "risk_model": Label("Model"),
    # a risk model's measures on held-out claims (the Claims and Vendor scorecard pages, the review pack)
    "claims": Label("Claims", "count"), "denials": Label("Denied", "count"), "auroc": Label(
        "AUROC", "score", "The chance a denied claim is given a higher risk than a paid one: 0.5 is a coin toss, 1 "
                          "perfect."),
    "baseline_auroc": Label("AUROC of the baseline", "score",
                            "opsdash's baseline (payer by procedure group denial rates) on the same claims."),
    "auprc": Label("AUPRC", "score", "Average precision over the claims ranked by risk; compare it with the share "
                                     "denied, which a coin toss would score."),
    "brier": Label("Brier score", "score", "The mean squared gap between the risk and what happened: lower is better."),
    "calibration_slope": Label("Calibration slope", "score",
                               "1 when the risks are as spread out as what happens; below 1 they are too extreme "
                               "(over-confident), above 1 too timid."),
    "claims_a_day": Label("Claims worked a day", "number",
                          "The team's work capacity: the riskiest claims it can work each day."),
    "precision_at_capacity": Label("Denied among those worked", "percent"),
    "recall_at_capacity": Label("Denials caught", "percent",
                                "Of every claim denied, the share the day's riskiest claims held."),
    "dollars_caught": Label("Denied dollars caught", "percent",
                            "Of the dollars denied, the share on the claims worked each day."),
    "baseline_dollars_caught": Label("Denied dollars caught by the baseline", "percent"),
    "verdict": Label("Verdict"),
}

_TYPE_KIND = {contract.ColType.DATE: "date", contract.ColType.TIMESTAMP: "timestamp", contract.ColType.BOOL: "bool",
              contract.ColType.INT: "count", contract.ColType.NUMBER: "number"}
#: Contract text columns holding codes (humanised) rather than names (shown verbatim).
CODE_COLUMNS = ("process", "queue", "priority", "claim_type", "initial_outcome", "level", "kpi")


def _contract_columns() -> dict[str, Label]:
    out: dict[str, Label] = {}
    for table in contract.TABLES.values():
        for col in table.columns:
            kind = _TYPE_KIND.get(col.type, "code" if col.name in CODE_COLUMNS else "text")
            if col.name.endswith("_amount"):
                kind = "money"
            out.setdefault(col.name, Label(humanise(col.name), kind, col.meaning))
    out["handle_seconds"] = Label("Handle time (s)", "seconds", out["handle_seconds"].help)
    out["shrinkage"] = Label("Shrinkage", "percent", out["shrinkage"].help)  # a share, read as 30%
    # the denial-risk columns, as a revenue-cycle manager says them
    out["prior_auth_required"] = Label("Prior authorisation required", "bool", out["prior_auth_required"].help)
    out["prior_auth_obtained"] = Label("Prior authorisation obtained", "bool", out["prior_auth_obtained"].help)
    out["eligibility_verified_date"] = Label("Eligibility last verified", "date", out["eligibility_verified_date"].help)
    out["vendor_risk_score"] = Label("Vendor's denial risk", "percent", out["vendor_risk_score"].help)
    out["vendor_risk_model"] = Label("Vendor's risk model", "text", out["vendor_risk_model"].help)
    out["kpi"] = Label("KPI", "kpi")
    return out


COLUMNS: dict[str, Label] = {**_contract_columns(), **_COLUMNS}


def column(name: str) -> Label:
    """The label and kind of a column; an unregistered name is humanised and shown as text."""
    return COLUMNS.get(name) or Label(humanise(name))


def value_word(token: Any) -> str:
    """A code as words: below_minimum -> Below minimum; a KPI id -> its label; other text verbatim."""
    if token is None or (not isinstance(token, str) and pd.isna(token)):
        return EMPTY
    text = str(token)
    if text in catalog.KPIS:
        return catalog.KPIS[text].label
    if text in contract.TABLES:
        return contract.TABLES[text].label
    return VALUES.get(text, humanise(text))


def possessive(name: str) -> str:
    """A name's possessive as written: Helix Health Services' contract, Northwind's contract."""
    return f"{name}'" if name.endswith("s") else f"{name}'s"


def count(n: Any) -> str:
    return EMPTY if _missing(n) else f"{float(n):,.0f}"


def percent(x: Any, digits: int = 1) -> str:
    """A fraction as a percentage: 0.7923 -> 79.2%."""
    return EMPTY if _missing(x) else f"{float(x) * 100:.{digits}f}%"


def money(x: Any, currency: str = "") -> str:
    return EMPTY if _missing(x) else (f"{currency} " if currency else "") + f"{float(x):,.2f}"


def date(d: Any) -> str:
    if _missing(d):
        return EMPTY
    d = pd.Timestamp(d)
    return f"{d.day} {d:%b %Y}"


def timestamp(d: Any) -> str:
    if _missing(d):
        return EMPTY
    d = pd.Timestamp(d)
    return f"{d.day} {d:%b %Y %H:%M}"


def _missing(v: Any) -> bool:
    if v is None:
        return True
    try:
        return bool(pd.isna(v))
    except (TypeError, ValueError):
        return False


def cell(value: Any, kind: str, grain: str = "month", kpi: str | None = None) -> str:
    """One value as people read it, by its column's kind (and, for a KPI's value, in the KPI's unit)."""
    if _missing(value):
        return EMPTY
    if kpi in catalog.KPIS and kind == "number":
        return catalog.format_value(catalog.KPIS[kpi], float(value))
    if kind == "count":
        return count(value)
    if kind == "percent":
        return percent(value)
    if kind == "money":
        return money(value)
    if kind == "number":
        return f"{float(value):,.1f}"
    if kind == "score":  # a measure read to three places (AUROC 0.781, Brier score 0.066)
        return f"{float(value):.3f}"
    if kind in ("hours", "days"):
        return f"{float(value):,.1f} {kind}"
    if kind == "seconds":
        return f"{float(value):,.0f} s"
    if kind == "date":
        return date(value)
    if kind == "timestamp":
        return timestamp(value)
    if kind == "period":
        return periods.label(pd.Timestamp(value).date(), grain)
    if kind in ("code", "kpi"):
        return value_word(value)
    if kind == "column":  # a column's machine name, as a value (a reject's column): its label
        return column(str(value)).label
    if kind == "bool":
        return "Yes" if bool(value) else "No"
    if kind == "prose":  # a sentence: it starts with a capital
        text = prose(str(value))
        return text[:1].upper() + text[1:]
    return str(value)


def frame(df: pd.DataFrame, grain: str = "month", kpi_col: str | None = "kpi",
          kinds: Mapping[str, str] | None = None, drop: Iterable[str] = (), kpi: str | None = None,
          as_of: Any = None) -> pd.DataFrame:
    """A frame as people read it: every cell written in its column's format (KPI values in their row's unit
    when a `kpi_col` names the KPI, or in `kpi`'s unit for a frame of one KPI), no empty cell reading "None",
    columns renamed to their labels. Given the data cut-off `as_of`, a period it does not cover whole reads
    "Nov 2026 (to 26 Nov)"."""
    kinds = dict(kinds or {})
    out = pd.DataFrame(index=df.index)
    kpis = df[kpi_col] if kpi_col and kpi_col in df else ([kpi] * len(df) if kpi else None)
    for name in df.columns:
        if name in drop:
            continue
        lab = column(name)
        kind = kinds.get(name, lab.kind)
        if name in ("change", "difference") and kpis is not None:
            out[lab.label] = [EMPTY if _missing(v) else
                              (catalog.format_change(catalog.KPIS[k], float(v)) if k in catalog.KPIS else f"{float(v):+,.1f}")
                              for k, v in zip(kpis, df[name])]
            continue
        if kind == "period" and as_of is not None:
            out[lab.label] = [EMPTY if _missing(v) else periods.window(pd.Timestamp(v).date(), grain, as_of).label
                              for v in df[name]]
            continue
        row_kpis = kpis if kpis is not None and kind == "number" else [None] * len(df)
        out[lab.label] = [cell(v, kind, grain, k) for v, k in zip(df[name], row_kpis)]
    return out.reset_index(drop=True)


def _digits(kpi: catalog.Kpi) -> int:
    """Decimals a KPI's value is printed with (catalog.format_value): rates in points, counts and seconds whole."""
    return 1 if kpi.unit == "fraction" else 0 if kpi.unit in ("count", "seconds") else 1


def as_shown(kpi_id: str, value: Any) -> float | None:
    """A KPI value rounded as it is printed (0.79234 -> 0.792 for 79.2%, 3.04 days -> 3.0), so that sums and
    differences of printed values can be computed from it; None when missing or not a catalogued KPI."""
    kpi = catalog.KPIS.get(kpi_id)
    if kpi is None or _missing(value):
        return None
    scale = 100 if kpi.unit == "fraction" else 1
    return float(f"{float(value) * scale:.{_digits(kpi)}f}") / scale


def shown_change(kpi_id: str, value: Any, previous: Any) -> float | None:
    """`value - previous` as the printed values say it (13.4% against 8.7% is +4.7 points, whatever the
    unrounded values were), in the KPI's unit; None when either is missing."""
    a, b = as_shown(kpi_id, value), as_shown(kpi_id, previous)
    if a is None or b is None:
        return None
    kpi = catalog.KPIS[kpi_id]
    scale = 100 if kpi.unit == "fraction" else 1
    return round(a * scale - b * scale, _digits(kpi)) / scale


_TOKEN = re.compile(r"\b[a-z][a-z0-9]*(?:_[a-z0-9]+)+\b")


def prose(text: str) -> str:
    """Free text of opsdash's own (a KPI's definition, a 'placed by' note) with every machine name in it
    written in words: 'days from received_date to submitted_date' -> 'days from received date to submitted
    date'; a KPI id becomes its label. Never for text from data (that is shown verbatim)."""
    def word(m: re.Match[str]) -> str:
        token = m[0]
        if token in catalog.KPIS:
            return catalog.KPIS[token].label.lower()
        words = VALUES.get(token) or (COLUMNS[token].label if token in COLUMNS else humanise(token))
        return words if words[:2].isupper() else words[:1].lower() + words[1:]
    return _TOKEN.sub(word, str(text))


def machine_tokens() -> set[str]:
    """The contract's and catalogue's machine names with an underscore (column, enum and KPI ids): none of them
    may appear in anything a person reads."""
    tokens = {c.name for t in contract.TABLES.values() for c in t.columns}
    tokens |= set(catalog.KPIS) | set(VALUES) | set(_COLUMNS)
    for t in contract.TABLES.values():
        for rule in t.rules:
            tokens |= set(getattr(rule, "values", ()) or ())
    return {t for t in tokens if "_" in t.strip("_")}



#: The unit a download's header names for a column of KPI values, by the catalogue's unit.
UNIT_SUFFIX = {"fraction": "fraction", "days": "days", "hours": "hours", "seconds": "seconds", "count": "count"}


def download_frame(df: pd.DataFrame, unit: str | None = None, kpi_col: str = "kpi") -> pd.DataFrame:
    """A frame for a CSV or Excel download: machine names, numbers as numbers, and the unit in the header of
    every column a person could misread: percent columns as ``<name>_fraction`` (0.7923, not 79.2%), and the
    KPI value columns as ``<name>_<unit>`` (value_fraction, value_days) when all rows share one unit (`unit`,
    or the unit of every KPI named in `kpi_col`). Rows of several units keep a ``unit`` column instead."""
    if unit is None and kpi_col in df and len(df):
        units = {catalog.KPIS[k].unit for k in df[kpi_col].dropna().unique() if k in catalog.KPIS}
        unit = units.pop() if len(units) == 1 and "unit" not in df else None
        if len(units) > 1 and "unit" not in df:
            df = df.copy()
            df.insert(list(df.columns).index(kpi_col) + 1, "unit",
                      [catalog.KPIS[k].unit if k in catalog.KPIS else None for k in df[kpi_col]])
    names = {}
    for name in df.columns:
        kind = column(str(name)).kind
        if kind == "percent" and not str(name).endswith("_fraction"):
            names[name] = f"{name}_fraction"
        elif kind == "number" and unit in UNIT_SUFFIX and name in ("value", "previous", "change", "mean", "target",
                                                                    "minimum", "year_ago"):
            names[name] = f"{name}_{UNIT_SUFFIX[unit]}"
    return df.rename(columns=names)
