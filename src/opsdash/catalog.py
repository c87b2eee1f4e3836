"""The KPI catalogue as data: every number opsdash shows comes from one of these declarations.

A declaration holds SQL fragments over its table's columns. They use only column names and the
named parameters ``$as_of``, ``$answer_threshold_s`` and ``$short_abandon_s`` (bound at query
time, never pasted). Adding a KPI of an existing kind is one more entry here and nothing else.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from opsdash import contract, periods
from opsdash.periods import READ_FROM, READ_TO

#: Kinds of KPI the engine knows how to compute.
KINDS = ("count", "ratio", "quantile", "mean", "backlog")
GRAINS = periods.GRAINS  # declared in periods: SQL step, pandas offset, codes and labels of each
UNITS = {"count": "", "days": "days", "hours": "hours", "seconds": "s", "fraction": "%"}
DIRECTIONS = ("higher", "lower", "neutral")


@dataclass(frozen=True)
class Kpi:
    id: str
    label: str
    description: str  # what it measures and the formula, in words
    table: str
    period: str  # SQL: the time that places a row in a period
    period_words: str
    kind: str
    unit: str
    direction: str
    numerator: str | None = None  # ratio: a SQL condition counted over rows, or with sums=True an amount summed;
    # the numerator may use `_den`, the row's denominator term (a numerator row must be a denominator row)
    denominator: str | None = None
    sums: bool = False
    value: str | None = None  # quantile/mean: SQL value per row
    quantile: float | None = None
    discrete: bool = False  # quantile of few distinct values (whole days): computed from a frequency table
    rows: str | None = None  # SQL condition: which rows the KPI looks at
    backlog_in: str | None = None  # backlog: time a row joins the backlog
    backlog_out: str | None = None  # backlog: time a row leaves it (NULL = still in)
    target: float | None = None
    target_source: str = ""
    # A ratio whose conditions need as-of may still be computed from a daily roll-up (see rollups.py): the
    # row values it keeps (column, SQL with no parameter) and the conditions over them (may use $as_of, `_den`).
    rollup_keys: tuple[tuple[str, str], ...] = ()
    rollup_numerator: str | None = None
    rollup_denominator: str | None = None

    @property
    def is_ratio(self) -> bool:
        return self.kind == "ratio"


#: Call thresholds in seconds, declared once (the defaults every page, command, pack and document uses; a
#: request may set its own): a call answered within the answer threshold counts for the service level; one
#: abandoned within the short-abandon window is left out of every call KPI but volume (the ICMI formula).
ANSWER_THRESHOLD_S = 30.0
SHORT_ABANDON_S = 5.0
CALL_THRESHOLDS = {"answer_threshold_s": ANSWER_THRESHOLD_S, "short_abandon_s": SHORT_ABANDON_S}

# Calls left out of every call KPI but volume: abandoned within the short-abandon window.
NOT_SHORT_ABANDON = "NOT coalesce(epoch(abandoned_at - offered_at) <= $short_abandon_s, false)"
ANSWERED_OR_ABANDONED = "(answered_at IS NOT NULL OR abandoned_at IS NOT NULL)"

# SLA adherence per item (kpis.md): with a due time, assessable once completed or due by as_of, met when
# completed by the due time; without one, the source system's sla_met, assessable once completed (or always
# when the export had no completed_at column at all).
SLA_ASSESSABLE = ("CASE WHEN due_at IS NOT NULL THEN completed_at IS NOT NULL OR due_at <= $as_of "
                  "WHEN sla_met IS NOT NULL THEN completed_at IS NOT NULL "
                  "OR list_contains($loads_without_completed_at, _load_id) ELSE false END")
SLA_MET = "CASE WHEN due_at IS NOT NULL THEN coalesce(completed_at <= due_at, false) ELSE coalesce(sla_met, false) END"
# The same, for the table as it stands, split into what a load can compute once and what as-of decides: items
# judged whatever as-of is (completed, or without completed_at in their export) and open items' due times.
SLA_ROLLUP_KEYS = (
    ("_met", SLA_MET),
    ("_done", "CASE WHEN due_at IS NOT NULL THEN completed_at IS NOT NULL "
              "WHEN sla_met IS NOT NULL THEN completed_at IS NOT NULL OR _load_id IN (SELECT load_id FROM loads "
              "WHERE table_name = 'work_items' AND NOT list_contains(columns_present, 'completed_at')) ELSE false END"),
    ("_due", "CASE WHEN completed_at IS NULL THEN due_at END"),
)

KPIS: dict[str, Kpi] = {k.id: k for k in (
    # -- claims ---------------------------------------------------------------------------------
    Kpi("claim_volume", "Claims received", "Number of claims received in the period.",
        "claims", "received_date", "received_date", "count", "count", "neutral"),
    Kpi("claim_turnaround_days", "Claim turnaround (median)",
        "Median days from received_date to submitted_date, over claims submitted in the period.",
        "claims", "submitted_date", "submitted_date", "quantile", "days", "lower",
        value="date_diff('day', received_date, submitted_date)", quantile=0.5, rows="submitted_date IS NOT NULL",
        discrete=True, target_source="contract"),
    Kpi("claim_turnaround_p90_days", "Claim turnaround (90th percentile)",
        "90th percentile (continuous) of days from received_date to submitted_date, over claims submitted in the period.",
        "claims", "submitted_date", "submitted_date", "quantile", "days", "lower",
        value="date_diff('day', received_date, submitted_date)", quantile=0.9, rows="submitted_date IS NOT NULL",
        discrete=True),
    Kpi("clean_claim_rate", "Clean claim rate",
        "Claims whose first submission was clean, divided by claims with clean_submission recorded, by submitted_date.",
        "claims", "submitted_date", "submitted_date", "ratio", "fraction", "higher",
        numerator="clean_submission = true", denominator="clean_submission IS NOT NULL",
        target=0.95, target_source="HFMA MAP Key CL-1 definition; 95% is the common industry target"),
    Kpi("initial_denial_rate", "Initial denial rate",
        "Claims whose payer's first decision was a denial, divided by claims with a first decision, by adjudicated_date.",
        "claims", "adjudicated_date", "adjudicated_date", "ratio", "fraction", "lower",
        numerator="initial_outcome = 'denied'", denominator="initial_outcome IS NOT NULL",
        target=0.05, target_source="HFMA Claim Integrity Task Force definition; under 5% is the common target"),
    Kpi("unbilled_backlog", "Unbilled backlog at period end",
        "Claims received by the period's end (or as-of, when earlier) and not submitted by then.",
        "claims", "received_date", "period end", "backlog", "count", "lower",
        backlog_in="received_date", backlog_out="submitted_date"),
    # -- quality audits ---------------------------------------------------------------------------
    Kpi("error_rate", "Error rate (per opportunity)",
        "Sum of errors divided by sum of opportunities, over items audited in the period.",
        "qa_audits", "audit_date", "audit_date", "ratio", "fraction", "lower",
        numerator="errors", denominator="opportunities", sums=True),
    Kpi("accuracy_rate", "Accuracy (items without error)",
        "Audited items with no error divided by items audited, by audit_date.",
        "qa_audits", "audit_date", "audit_date", "ratio", "fraction", "higher",
        numerator="errors = 0", denominator="true",
        target=0.95, target_source="coding accuracy benchmark (AHIMA/AAPC)"),
    Kpi("critical_error_rate", "Items with a critical error",
        "Audited items with at least one critical error divided by items with critical_errors recorded, by audit_date.",
        "qa_audits", "audit_date", "audit_date", "ratio", "fraction", "lower",
        numerator="critical_errors > 0", denominator="critical_errors IS NOT NULL"),
    # -- work items -------------------------------------------------------------------------------
    Kpi("work_volume", "Work items opened", "Number of work items opened in the period.",
        "work_items", "opened_at", "opened_at", "count", "count", "neutral"),
    Kpi("sla_adherence", "SLA adherence",
        "Items that met their SLA divided by items that can be judged. With a due time: judged once completed "
        "or once due by as-of, met when completed by the due time, placed in the due time's period. Without one: "
        "the source system's sla_met, judged once completed, placed in the completion's period (or the opening's).",
        "work_items", "coalesce(due_at, completed_at, opened_at)", "due_at, else completed_at, else opened_at",
        "ratio", "fraction", "higher",
        numerator=f"_den AND ({SLA_MET})", denominator=SLA_ASSESSABLE,
        target=0.95, target_source="contract", rollup_keys=SLA_ROLLUP_KEYS,
        rollup_numerator="_den AND _met", rollup_denominator="_done OR coalesce(_due <= $as_of, false)"),
    Kpi("turnaround_hours", "Turnaround (median)",
        "Median hours from opened_at to completed_at, over items completed in the period.",
        "work_items", "completed_at", "completed_at", "quantile", "hours", "lower",
        value="epoch(completed_at - opened_at) / 3600.0", quantile=0.5, rows="completed_at IS NOT NULL"),
    Kpi("overdue_backlog", "Open items past due at period end",
        "Items opened by the period's end (or as-of, when earlier), due before it and not completed by then.",
        "work_items", "due_at", "period end", "backlog", "count", "lower",
        backlog_in="due_at", backlog_out="completed_at"),
    # -- calls ------------------------------------------------------------------------------------
    Kpi("call_volume", "Calls offered", "Number of calls offered to the queue in the period (short abandons included).",
        "calls", "offered_at", "offered_at", "count", "count", "neutral"),
    Kpi("service_level", "Service level",
        "Calls answered within the answer threshold divided by calls answered or abandoned, short abandons left out "
        "(ICMI formula), by offered_at.",
        "calls", "offered_at", "offered_at", "ratio", "fraction", "higher",
        numerator="answered_at IS NOT NULL AND epoch(answered_at - offered_at) <= $answer_threshold_s",
        denominator=ANSWERED_OR_ABANDONED, rows=NOT_SHORT_ABANDON,
        target=0.80, target_source="80/20 convention; contract"),
    Kpi("abandonment_rate", "Abandonment rate",
        "Calls abandoned divided by calls answered or abandoned, short abandons left out, by offered_at.",
        "calls", "offered_at", "offered_at", "ratio", "fraction", "lower",
        numerator="abandoned_at IS NOT NULL", denominator=ANSWERED_OR_ABANDONED, rows=NOT_SHORT_ABANDON,
        target=0.05, target_source="HFMA patient-access guidance"),
    Kpi("average_speed_of_answer_s", "Average speed of answer",
        "Mean seconds from offered_at to answered_at, over answered calls, by offered_at.",
        "calls", "offered_at", "offered_at", "mean", "seconds", "lower",
        value="epoch(answered_at - offered_at)", rows=f"answered_at IS NOT NULL AND {NOT_SHORT_ABANDON}"),
    Kpi("average_handle_time_s", "Average handle time",
        "Mean handle_seconds over answered calls that have it, by offered_at.",
        "calls", "offered_at", "offered_at", "mean", "seconds", "lower",
        value="handle_seconds", rows=f"answered_at IS NOT NULL AND handle_seconds IS NOT NULL AND {NOT_SHORT_ABANDON}"),
    Kpi("first_contact_resolution_rate", "First-contact resolution",
        "Calls resolved at first contact divided by calls with first_contact_resolved recorded, short abandons "
        "left out, by offered_at.",
        "calls", "offered_at", "offered_at", "ratio", "fraction", "higher",
        numerator="first_contact_resolved = true", denominator="first_contact_resolved IS NOT NULL",
        rows=NOT_SHORT_ABANDON),
)}

#: Columns a KPI may be broken down or filtered by, per table (the only identifiers user input can pick).
DIMENSIONS: dict[str, tuple[str, ...]] = {
    "claims": ("vendor", "facility", "payer", "claim_type", "initial_outcome", "denial_reason"),
    "qa_audits": ("vendor", "process", "facility", "error_category"),
    "work_items": ("vendor", "process", "priority", "facility"),
    "calls": ("vendor", "queue"),
}

#: Event times of each table: their latest value is the default as-of (never a due time). Read from the
#: contract's declaration (contract.Table.events, with what each carries and its kind).
EVENT_TIMES: dict[str, tuple[str, ...]] = contract.EVENT_COLUMNS

#: READ_FROM..READ_TO (periods): the dates opsdash reports on; a row with a date or time outside them is in no
#: figure. The same window, for load times and audit events (system tables, shown but never filtered out).
WINDOW_WORDS = f"{READ_FROM:%Y-%m-%d} to {READ_TO:%Y-%m-%d}"


@dataclass(frozen=True)
class RowSet:
    """Rows a page counts by category (a Pareto, a top-five list), chosen by name: the condition is declared
    here, never passed from a page."""

    id: str
    table: str
    label: str  # for people: "Denied claims"
    rows: str  # SQL condition over the table's row
    time_column: str  # the date that places a row in the filters' range


ROW_SETS: dict[str, RowSet] = {r.id: r for r in (
    RowSet("denied_claims", "claims", "Denied claims", "initial_outcome = 'denied'", "adjudicated_date"),
    RowSet("audits_with_errors", "qa_audits", "Audits with errors", "errors > 0", "audit_date"),
)}

#: Every date ("date") and time ("timestamp") column of the contract's tables, read from the contract.
TIME_COLUMNS: dict[str, dict[str, str]] = {
    t.name: {c.name: str(c.type) for c in t.columns if c.type in (contract.ColType.DATE, contract.ColType.TIMESTAMP)}
    for t in contract.TABLES.values()}


def time_columns(table: str) -> tuple[str, ...]:
    """The date and time columns of a contract table (every one is checked against the window)."""
    return tuple(TIME_COLUMNS[table])


def within(column: str, table: str) -> str:
    """SQL: the column is null or inside the window. Dates compare as dates and times as times, so no value
    is ever converted (a DATE of year 5881580 cannot become a TIMESTAMP)."""
    if TIME_COLUMNS[table][column] == "date":
        return f"({column} IS NULL OR {column} BETWEEN DATE '{READ_FROM}' AND DATE '{READ_TO}')"
    return (f"({column} IS NULL OR ({column} >= TIMESTAMP '{READ_FROM} 00:00:00' "
            f"AND {column} < TIMESTAMP '{READ_TO + dt.timedelta(days=1)} 00:00:00'))")


def timestamp_within(column: str) -> str:
    """SQL: a TIMESTAMP column of a system table (loads, audit) inside the window."""
    return (f"({column} >= TIMESTAMP '{READ_FROM} 00:00:00' "
            f"AND {column} < TIMESTAMP '{READ_TO + dt.timedelta(days=1)} 00:00:00')")


def in_window(table: str) -> str:
    """SQL over a contract table's row: every date and time column is null or inside the window."""
    return " AND ".join(within(c, table) for c in time_columns(table)) or "true"


#: The column a target's `process` restricts, per table.
PROCESS_COLUMN = {"work_items": "process", "qa_audits": "process", "calls": "queue"}


def glossary(ids: Iterable[str] | None = None) -> list[dict[str, Any]]:
    """The KPI glossary, one row per KPI (every one, or those of `ids` that are catalogued, in catalogue order):
    the facts each place that explains KPIs (Data page, review pack, docs, `opsdash kpis`) formats its own way.
    Keys: id, label, description, table, period_words, kind, unit, direction, target, target_source, breakdowns."""
    wanted = set(KPIS) if ids is None else set(ids)
    return [{"id": k.id, "label": k.label, "description": k.description, "table": k.table,
             "period_words": k.period_words, "kind": k.kind, "unit": k.unit, "direction": k.direction,
             "target": k.target, "target_source": k.target_source, "breakdowns": DIMENSIONS[k.table]}
            for k in KPIS.values() if k.id in wanted]


def get(kpi_id: str) -> Kpi:
    try:
        return KPIS[kpi_id]
    except KeyError:
        raise KeyError(f"unknown KPI {kpi_id!r}; expected one of {', '.join(KPIS)}") from None


def format_value(kpi: Kpi, value: float | None) -> str:
    """A value as a person reads it: percentages with one decimal, days and hours with one, counts with separators."""
    if value is None or value != value:
        return "–"
    if kpi.unit == "fraction":
        return f"{value * 100:.1f}%"
    if kpi.unit == "count":
        return f"{value:,.0f}"
    if kpi.unit == "seconds":
        return f"{value:,.0f} s"
    return f"{value:,.1f} {kpi.unit}"


def format_change(kpi: Kpi, change: float | None) -> str | None:
    """A change as people read it, signed: points for rates (+1.2 pts), whole numbers for counts, one decimal
    with the unit otherwise. None when there is no change to tell."""
    if change is None or change != change:
        return None
    change = float(change)
    if kpi.unit == "fraction":
        return f"{change * 100:+.1f} pts"
    if kpi.unit == "count":
        return f"{change:+,.0f}"
    return f"{change:+,.1f} {UNITS.get(kpi.unit, kpi.unit)}"
