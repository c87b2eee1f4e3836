"""The opsdash data contract as data: tables, columns, keys and row rules.

This module is the one source of truth. Validation SQL, the store's schema and
``docs/data-contract.md`` are all derived from these declarations.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field
from enum import StrEnum

from opsdash import periods, phi

CONTRACT_VERSION = 1

#: Longest text value accepted in any column; longer values are row errors.
MAX_TEXT_LENGTH = 2000


#: Dates and timestamps outside this range (inclusive, whole days) are row errors: a service date in year 10000
#: or 0045 BC is a typing slip, not an event. It is the range the pages report (periods.READ_FROM/READ_TO), so a
#: stored row is never one no page shows; a settings file's [ingest] table may narrow it.
DATE_RANGE: tuple[dt.date, dt.date] = (periods.READ_FROM, periods.READ_TO)


#: Characters that show nothing (or nothing different) and would make look-alike vendors, keys and codes:
#: removed from every value before anything else (with C1 controls, and C0 controls other than tab and line
#: breaks). No-break spaces become spaces; text is put in Unicode NFC so "é" typed two ways is one letter.
INVISIBLE_CHARACTERS = ("\u00ad\u034f\u061c\u115f\u1160\u17b4\u17b5\u180e\u200b\u200c\u200d\u200e\u200f"
                        "\u202a\u202b\u202c\u202d\u202e\u2060\u2061\u2062\u2063\u2064\u2066\u2067\u2068"
                        "\u2069\u206a\u206b\u206c\u206d\u206e\u206f\u3164\ufeff\uffa0\ufff9\ufffa\ufffb")
CONTROL_CHARACTERS = "".join(chr(c) for c in [*range(0x00, 0x09), 0x0b, 0x0c, *range(0x0e, 0x20), *range(0x7f, 0xa0)])
NO_BREAK_SPACES = "\u00a0\u2007\u202f"


class ColType(StrEnum):
    TEXT = "text"
    DATE = "date"
    TIMESTAMP = "timestamp"
    BOOL = "bool"
    INT = "int"
    NUMBER = "number"


SQL_TYPES: dict[ColType, str] = {
    ColType.TEXT: "VARCHAR",
    ColType.DATE: "DATE",
    ColType.TIMESTAMP: "TIMESTAMP",
    ColType.BOOL: "BOOLEAN",
    ColType.INT: "BIGINT",
    ColType.NUMBER: "DOUBLE",
}

#: What a value of each type must look like, as said in error messages and docs.
TYPE_EXPECTATIONS: dict[ColType, str] = {
    ColType.TEXT: f"text of at most {MAX_TEXT_LENGTH} characters",
    ColType.DATE: "a date YYYY-MM-DD",
    ColType.TIMESTAMP: "a timestamp YYYY-MM-DD HH:MM[:SS] (ISO 8601, optional UTC offset)",
    ColType.BOOL: "true/false, yes/no, y/n or 1/0",
    ColType.INT: "a whole number",
    ColType.NUMBER: "a decimal number",
}

TRUE_TOKENS = ("true", "yes", "y", "1", "t")
FALSE_TOKENS = ("false", "no", "n", "0", "f")


@dataclass(frozen=True)
class Column:
    name: str
    type: ColType
    required: bool = False
    meaning: str = ""
    default: str | None = None


#: How a comparison reads in messages ("found ..., expected on or after received_date").
COMPARE_WORDS = {">=": "on or after", "<=": "at most"}


@dataclass(frozen=True)
class Compare:
    """``column op other`` must hold when both values are present."""

    column: str
    op: str  # one of >=, <=
    other: str

    @property
    def said(self) -> str:
        return COMPARE_WORDS[self.op]

    def describe(self) -> str:
        return f"`{self.column}` {self.said} `{self.other}`"


@dataclass(frozen=True)
class Bound:
    """A numeric bound on one column: ``column op value``."""

    column: str
    op: str  # one of >=, >, <=, <
    value: float

    def describe(self) -> str:
        return f"`{self.column}` {self.op} {self.value:g}"


@dataclass(frozen=True)
class Needs:
    """When ``column`` has a value, ``other`` must have one too."""

    column: str
    other: str

    def describe(self) -> str:
        return f"`{self.column}` needs `{self.other}`"


@dataclass(frozen=True)
class NotBoth:
    """At most one of the two columns may have a value."""

    column: str
    other: str

    def describe(self) -> str:
        return f"not both `{self.column}` and `{self.other}`"


@dataclass(frozen=True)
class OneOf:
    """The (lower-cased) value must be one of ``values``."""

    column: str
    values: tuple[str, ...]

    def describe(self) -> str:
        return f"`{self.column}` is one of " + ", ".join(f"`{v}`" for v in self.values)


@dataclass(frozen=True)
class KpiId:
    """The (lower-cased) value must be a KPI id of the catalogue. The contract names the rule and the catalogue
    holds the ids: the catalogue reads the contract (its tables' event and time columns), so the contract never
    reads the catalogue, and whoever checks rows looks the ids up there."""

    column: str

    def describe(self) -> str:
        return f"`{self.column}` is a KPI id from the catalogue (docs/kpis.md)"


@dataclass(frozen=True)
class ProcessCode:
    """Not a row rule (nothing is rejected): the value names a process or queue the charts know, a code stored
    in the records of the row's KPI (of any table with processes or queues when it names none) or in the labels
    registry. A code's words (any case) are read as the code; any other value is kept, with a warning in the
    load's record naming its line."""

    column: str
    kpi: str

    def describe(self) -> str:
        return (f"`{self.column}` is a process or queue code (of the records of the KPI `{self.kpi}` names, if any): "
                "its words as the dashboard shows them (`Prior authorisation` for `prior_auth`) are read as the "
                "code, and any other value is kept with a warning in the load's record")


Rule = Compare | Bound | Needs | NotBoth | OneOf | KpiId


@dataclass(frozen=True)
class Happens:
    """An event column: the date or time something happened to a row (received, submitted, answered). Until the
    data cut-off (as-of) reaches it, the event is not known, nor are the columns it `carries` (an outcome is
    known once the claim is adjudicated). Whether it is a DATE or a TIMESTAMP is its column's type."""

    column: str
    carries: tuple[str, ...] = ()


@dataclass(frozen=True)
class Table:
    name: str
    label: str
    description: str
    columns: tuple[Column, ...]
    key: tuple[str, ...]
    rules: tuple[Rule, ...] = field(default=())
    codes: tuple[ProcessCode, ...] = field(default=())  # columns whose values are read as the codes they name
    #: The events of a row, the first its arrival (the row is not known before it); never a due time. Its
    #: latest value is the table's default as-of, and as-of views are generated from these (metrics).
    events: tuple[Happens, ...] = field(default=())
    dated_by: str | None = None  # the date or time that lists a row (the raw-record explorer's filter and order)

    def event_kind(self, column: str) -> ColType:
        """DATE or TIMESTAMP: how an event (or any time column) of the table compares with as-of."""
        kind = self.column(column).type
        if kind not in (ColType.DATE, ColType.TIMESTAMP):
            raise KeyError(f"{self.name}.{column} is no date or time column")
        return kind

    def column(self, name: str) -> Column:
        for c in self.columns:
            if c.name == name:
                return c
        raise KeyError(f"table {self.name} has no column {name!r}")

    @property
    def column_names(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.columns)

    @property
    def required(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.columns if c.required)

    @property
    def time_columns(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.columns if c.type in (ColType.DATE, ColType.TIMESTAMP))


def _c(name: str, type_: ColType, required: bool = False, meaning: str = "", default: str | None = None) -> Column:
    return Column(name, type_, required, meaning, default)


T, D, TS, B, I, N = ColType.TEXT, ColType.DATE, ColType.TIMESTAMP, ColType.BOOL, ColType.INT, ColType.NUMBER

TABLES: dict[str, Table] = {
    t.name: t
    for t in (
        Table(
            "claims",
            "Claims",
            "One row per claim worked by a vendor.",
            (
                _c("claim_id", T, True, "the vendor's claim identifier"),
                _c("vendor", T, True, "BPO partner"),
                _c("facility", T, meaning="hospital or site"),
                _c("payer", T, meaning="payer name"),
                _c("claim_type", T, meaning="e.g. professional, institutional"),
                _c("service_date", D, meaning="date of service"),
                _c("received_date", D, True, "date the work (charges, discharge) reached the vendor"),
                _c("submitted_date", D, meaning="first submission to the payer; empty = not yet billed"),
                _c("clean_submission", B, meaning="first submission passed front-end edits with no manual touch"),
                _c("adjudicated_date", D, meaning="date of the payer's first decision"),
                _c("initial_outcome", T, meaning="the payer's first decision"),
                _c("denial_reason", T, meaning="reason or CARC group for a denial"),
                _c("billed_amount", N, meaning="amount billed"),
                _c("paid_amount", N, meaning="amount paid"),
                _c("procedure_group", T, meaning="the procedure or DRG code group billed (e.g. imaging, DRG 470), "
                   "never a patient's diagnosis free text"),
                _c("prior_auth_required", B, meaning="the payer required prior authorisation for the service"),
                _c("prior_auth_obtained", B, meaning="prior authorisation was obtained before first submission, "
                   "where required (as it stood at submission: an authorisation obtained after a denial is not "
                   "this); empty while pending"),
                _c("eligibility_verified_date", D, meaning="the last date the patient's insurance eligibility was "
                   "verified before first submission (a later date is kept but the denial model ignores it)"),
                _c("vendor_risk_score", N, meaning="the vendor's own predicted probability (0 to 1) that the payer "
                   "denies the claim, as scored at first submission"),
                _c("vendor_risk_model", T, meaning="the name and version of the vendor's model behind "
                   "`vendor_risk_score`"),
            ),
            key=("vendor", "claim_id"),
            events=(Happens("received_date"),
                    Happens("submitted_date", ("clean_submission", "vendor_risk_score", "vendor_risk_model")),
                    Happens("adjudicated_date", ("initial_outcome", "denial_reason", "paid_amount"))),
            dated_by="received_date",
            rules=(
                Compare("submitted_date", ">=", "received_date"),
                Needs("adjudicated_date", "submitted_date"),
                Compare("adjudicated_date", ">=", "submitted_date"),
                OneOf("initial_outcome", ("paid", "partially_paid", "denied")),
                Needs("initial_outcome", "adjudicated_date"),
                Bound("billed_amount", ">=", 0),
                Bound("paid_amount", ">=", 0),
                Bound("vendor_risk_score", ">=", 0),
                Bound("vendor_risk_score", "<=", 1),
                Needs("vendor_risk_model", "vendor_risk_score"),
            ),
        ),
        Table(
            "qa_audits",
            "Quality audits",
            "One row per audited work item (quality sampling).",
            (
                _c("audit_id", T, True, "the vendor's audit identifier"),
                _c("vendor", T, True, "BPO partner"),
                _c("process", T, True, "e.g. coding, billing, transcription, eligibility, prior_auth, scheduling"),
                _c("audit_date", D, True, "date of the audit"),
                _c("facility", T, meaning="hospital or site"),
                _c("opportunities", I, True, "fields or codes checked"),
                _c("errors", I, True, "errors found"),
                _c("critical_errors", I, meaning="errors that are critical"),
                _c("error_category", T, meaning="dominant error category of the item"),
            ),
            key=("vendor", "audit_id"),
            events=(Happens("audit_date"),),
            dated_by="audit_date",
            rules=(
                Bound("opportunities", ">", 0),
                Bound("errors", ">=", 0),
                Compare("errors", "<=", "opportunities"),
                Bound("critical_errors", ">=", 0),
                Compare("critical_errors", "<=", "errors"),
            ),
        ),
        Table(
            "work_items",
            "Work items",
            "One row per SLA-tracked task (eligibility checks, prior authorisations, coding, "
            "transcription, radiology reads, claim follow-up, scheduling requests).",
            (
                _c("item_id", T, True, "the vendor's item identifier"),
                _c("vendor", T, True, "BPO partner"),
                _c("process", T, True, "kind of work, e.g. prior_auth, radiology_read"),
                _c("priority", T, meaning="e.g. stat, urgent, routine"),
                _c("facility", T, meaning="hospital or site"),
                _c("opened_at", TS, True, "when the task was opened"),
                _c("due_at", TS, meaning="contractual due time"),
                _c("completed_at", TS, meaning="when the task was completed; empty = still open"),
                _c("sla_met", B, meaning="the source system's own SLA verdict, used only where due_at is empty"),
            ),
            key=("vendor", "item_id"),
            events=(Happens("opened_at"), Happens("completed_at")),
            dated_by="opened_at",
            rules=(
                Compare("due_at", ">=", "opened_at"),
                Compare("completed_at", ">=", "opened_at"),
            ),
        ),
        Table(
            "calls",
            "Calls",
            "One row per call offered to a patient-access queue.",
            (
                _c("call_id", T, True, "the vendor's call identifier"),
                _c("vendor", T, True, "BPO partner"),
                _c("queue", T, meaning="e.g. scheduling, eligibility, billing_inquiry"),
                _c("offered_at", TS, True, "when the call entered the queue"),
                _c("answered_at", TS, meaning="when the call reached an agent"),
                _c("abandoned_at", TS, meaning="when the caller hung up while queued"),
                _c("handle_seconds", N, meaning="talk + hold + after-call work of an answered call"),
                _c("first_contact_resolved", B, meaning="resolved on this first contact"),
            ),
            key=("vendor", "call_id"),
            events=(Happens("offered_at"), Happens("answered_at", ("handle_seconds", "first_contact_resolved")),
                    Happens("abandoned_at")),
            dated_by="offered_at",
            rules=(
                Compare("answered_at", ">=", "offered_at"),
                Compare("abandoned_at", ">=", "offered_at"),
                NotBoth("answered_at", "abandoned_at"),
                Bound("handle_seconds", ">=", 0),
            ),
        ),
        Table(
            "sla_targets",
            "Service levels",
            "The contract's service levels.",
            (
                _c("vendor", T, True, "a vendor, or `*` for every vendor (a vendor's own row wins)"),
                _c("kpi", T, True, "a KPI id from the catalogue"),
                _c("process", T, meaning="restricts the KPI to one process or queue"),
                _c("priority", T, meaning="restricts a work_items KPI to one priority"),
                _c("target", N, True, "expected service level, in the KPI's unit (rates as fractions)"),
                _c("minimum", N, meaning="minimum service level, beyond target in the worse direction"),
                _c("level", T, meaning="`critical` (carries service credits) or `key` (reported only)", default="key"),
                _c("credit_pct", N, meaning="share (0-1) of the monthly at-risk amount credited on a missed critical level"),
                _c("effective_from", D, True, "first day the level applies"),
                _c("effective_to", D, meaning="last day the level applies; empty = open-ended"),
            ),
            key=("vendor", "kpi", "process", "priority", "effective_from"),
            dated_by="effective_from",
            rules=(
                KpiId("kpi"),
                OneOf("level", ("critical", "key")),
                Bound("credit_pct", ">=", 0),
                Bound("credit_pct", "<=", 1),
                Compare("effective_to", ">=", "effective_from"),
            ),
        ),
        Table(
            "reported_kpis",
            "Vendor-reported KPIs",
            "What a vendor itself reported, for reconciliation.",
            (
                _c("vendor", T, True, "BPO partner"),
                _c("kpi", T, True, "a KPI id from the catalogue"),
                _c("process", T, meaning="as in sla_targets"),
                _c("period_start", D, True, "first day of the reported period"),
                _c("period_end", D, True, "last day of the reported period (inclusive)"),
                _c("value", N, True, "the reported value, in the KPI's unit"),
            ),
            key=("vendor", "kpi", "process", "period_start"),
            dated_by="period_start",
            rules=(KpiId("kpi"), Compare("period_end", ">=", "period_start")),
        ),
        Table(
            "staffing",
            "Staffing plans",
            "The staff a vendor schedules on a process or queue: FTE per day for back-office work, agents per "
            "interval for a contact centre. A plan covers the weeks ahead, to be set against the work coming, "
            "and the weeks behind, kept as sent, against the work done. A plan sent again replaces the "
            "intervals it covers.",
            (
                _c("vendor", T, True, "BPO partner"),
                _c("process", T, True, "the process (back office) or queue (contact centre) the staff work on, "
                   "as the vendor's work items or calls name it"),
                _c("interval_start", TS, True, "start of the planned interval: a date for a daily plan, a date "
                   "and time for a contact-centre interval"),
                _c("interval_minutes", I, meaning="length of the interval in minutes: 1440 for a daily plan, 30 or "
                   "15 for contact-centre intervals", default="1440"),
                _c("scheduled_staff", N, True, "staff scheduled: FTE for a daily plan, agents for a contact-centre "
                   "interval"),
                _c("productive_hours_per_fte", N, meaning="hours an FTE spends on this work in a day (daily plans); "
                   "empty = not stated by the vendor"),
                _c("shrinkage", N, meaning="share (0-1) of the scheduled time lost to breaks, training and absence; "
                   "empty = the scheduled staff are already net of it"),
            ),
            key=("vendor", "process", "interval_start"),
            dated_by="interval_start",
            rules=(
                Bound("interval_minutes", ">", 0),
                Bound("interval_minutes", "<=", 1440),
                Bound("scheduled_staff", ">=", 0),
                Bound("productive_hours_per_fte", ">", 0),
                Bound("productive_hours_per_fte", "<=", 24),
                Bound("shrinkage", ">=", 0),
                Bound("shrinkage", "<", 1),
            ),
        ),
        Table(
            "events",
            "Events",
            "Things that happened to a vendor's work (a go-live, an outage, a contract change), drawn on every "
            "time-series chart of that vendor and listed in its review pack. A process change starts new SPC "
            "limits from the period it falls in (Making Data Count: recalculate only at a known change).",
            (
                _c("vendor", T, True, "BPO partner the event concerns"),
                _c("event_date", D, True, "the day it happened or took effect"),
                _c("kpi", T, meaning="restricts the event to one KPI id from the catalogue; empty = every KPI"),
                _c("process", T, meaning="restricts it to one process or queue; empty = all of them"),
                _c("description", T, True, "what happened, in words (shown on the charts); part of the key, so two "
                   "events of one vendor on one day are both kept"),
                _c("is_process_change", B, meaning="true when the way the work is done changed from that day: "
                   "SPC limits are recalculated there", default="false"),
                _c("source", T, meaning="where the event is recorded, e.g. a go-live notice or a change ticket"),
            ),
            # The description is part of the key: two things that happened to one vendor on one day are two
            # events, while a file sent again replaces its own events instead of adding them twice.
            key=("vendor", "event_date", "kpi", "process", "description"),
            dated_by="event_date",
            rules=(KpiId("kpi"),),
            codes=(ProcessCode("process", "kpi"),),
        ),
    )
}

#: Per table with events, its event columns, arrival first (a due time is none).
EVENT_COLUMNS: dict[str, tuple[str, ...]] = {t.name: tuple(e.column for e in t.events) for t in TABLES.values()
                                             if t.events}

#: Per table, the date or time by which its stored records are filtered and listed, newest first (the Data
#: page's raw records): each table's `dated_by`.
LISTED_BY: dict[str, str] = {t.name: t.dated_by for t in TABLES.values() if t.dated_by}

#: Columns added to every stored row: the load it came from and its line in the file.

LINEAGE_COLUMNS: tuple[tuple[str, str], ...] = (("_load_id", "BIGINT"), ("_line", "BIGINT"))


def normalise_header(name: str) -> str:
    """Header matching: case-insensitive, trimmed, spaces/dashes/underscores alike."""
    return re.sub(r"[\s\-_]+", "_", str(name).strip().lower()).strip("_")


#: Word sequences that name a patient identifier in a header (every concept's, from opsdash.phi, which also
#: normalises accents, punctuation, camelCase, abbreviations, French and Spanish words before matching).
PHI_TOKEN_SEQUENCES: tuple[tuple[str, ...], ...] = tuple(seq for c in phi.CONCEPTS for seq in (*c.words, *c.whole))


def is_phi_header(name: str) -> bool:
    """True when a header names a patient identifier (these columns are never stored); see opsdash.phi."""
    return phi.is_phi_header(name)


#: A value that looks like a US Social Security number (RE2), in any separator or digit width; one of the
#: identifier shapes of opsdash.phi.SHAPES that validation screens every kept text value for.
SSN_PATTERN = phi.pattern("ssn")


def work_id_columns(table: Table) -> tuple[str, ...]:
    """The table's work identifiers (claim_id, audit_id, ...): key columns named ``*_id``. Their plain digit
    runs are claim, ticket and call numbers, so they are screened for separated identifier shapes only."""
    return tuple(k for k in table.key if k.endswith("_id") and table.column(k).type == ColType.TEXT)


def table_for_headers(headers: list[str]) -> tuple[str | None, dict[str, list[str]]]:
    """Infer the table from a file's headers.

    Returns the table name (or None) and, for every table, the required columns
    the headers lack, so a refusal can say what was expected.
    """
    found = {normalise_header(h) for h in headers}
    missing = {name: [c for c in t.required if c not in found] for name, t in TABLES.items()}
    complete = [name for name, m in missing.items() if not m]
    if not complete:
        return None, missing
    # Several tables can be complete (sla_targets and reported_kpis share vendor, kpi):
    # the one with the most matched columns, then the fewest unmatched headers, wins.
    best = max(complete, key=lambda n: (len(found & set(TABLES[n].column_names)), -len(TABLES[n].columns)))
    return best, missing


@dataclass(frozen=True)
class Closest:
    """The table a file's headers come closest to, the required columns they lack, and for each the file's header
    that most likely means it (by spelling and shared words), when one does."""

    table: str
    missing: tuple[str, ...]
    likely: dict[str, str]


def _tokens(name: str) -> set[str]:
    return {t for t in name.split("_") if t}


def header_likeness(column: str, header: str) -> float:
    """How alike a contract column and a normalised header are, 0 to 1: the larger of their spelling similarity
    and the share of words they have in common (``date_received`` is ``received_date``)."""
    import difflib

    a, b = _tokens(column), _tokens(header)
    words = len(a & b) / len(a | b) if a | b else 0.0
    return max(difflib.SequenceMatcher(None, column, header).ratio(), words)


#: Below this likeness a header is not offered as the missing column.
LIKELY_HEADER = 0.5


def closest_table(headers: list[str]) -> Closest | None:
    """For a file no table's required columns fit: the table most of its headers belong to (None when too few
    do to say), the required columns missing, and the likely header for each among the headers no column of
    that table matched. A hint for a refusal, never a guess the loader acts on."""
    norm = {normalise_header(h): h for h in headers if normalise_header(h)}
    found = set(norm)
    if not found:
        return None
    table = max(TABLES.values(), key=lambda t: (len(found & set(t.column_names)),
                                                -len([c for c in t.required if c not in found])))
    matched = found & set(table.column_names)
    # vendor is in every table: a hint needs another of the table's columns too, and half the file's headers.
    if len(matched) < 2 or not matched - {"vendor"} or 2 * len(matched) < len(found):
        return None
    missing = tuple(c for c in table.required if c not in found)
    unmatched = [h for h in norm if h not in matched]
    pairs = sorted(((header_likeness(c, h), c, h) for c in missing for h in unmatched), reverse=True)
    likely: dict[str, str] = {}
    for score, c, h in pairs:  # the best pairs first, each header and each column used once
        if score >= LIKELY_HEADER and c not in likely and norm[h] not in likely.values():
            likely[c] = norm[h]
    return Closest(table.name, missing, {c: likely[c] for c in missing if c in likely})
