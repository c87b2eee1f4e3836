"""The review pack's content, computed once and written in every format (HTML, Excel, PDF).

Every number comes from the same functions as the dashboard's Vendor scorecard page (sla.scorecard,
views.tile, views.what_changed, sla.reconcile, views.counts_by), so the pack and the screen agree. Each table
is kept twice: with machine names and numbers (the workbook), and as people read it (labels.py: words,
units, "Nov 2026"; the HTML and the PDF). A summary in words at the top is written from the same figures.
Work-item ids appear in the breaches table; no other row-level data, and never a patient identifier (the
store holds none: the loader drops such columns).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
import unicodedata
from dataclasses import dataclass, field
from typing import Any

import pandas as pd
import plotly.graph_objects as go

from opsdash import catalog, charts, contract, labels, metrics, periods, queries, sla, views
from opsdash.capacity import backoffice, contact
from opsdash.capacity import outlook as capacity
from opsdash.settings import Settings
from opsdash.store import Store

#: Periods of history on each trend chart (the review period is the last).
TREND_PERIODS = {"week": 26, "month": 24}
TOP = 5
BREACHES = 20
#: Blank rows of the actions table beyond those suggested by the misses.
ACTION_ROWS = 4
ANSWER_THRESHOLD_S, SHORT_ABANDON_S = catalog.ANSWER_THRESHOLD_S, catalog.SHORT_ABANDON_S


class ReportError(ValueError):
    """A pack that cannot be made as asked; the message says why and what would work."""


class NoDataError(ReportError):
    """The vendor sent nothing dated in the period."""


@dataclass
class Table:
    """One table of the pack: `frame` with machine names and numbers (for the workbook), `shown` as people
    read it (for HTML and PDF). `kinds` gives the workbook's number format of a column: a labels kind, "kpi"
    (the row's KPI unit) or "kpi_change" (a change in the row's KPI unit)."""

    title: str
    frame: pd.DataFrame
    shown: pd.DataFrame | None = None  # None: the frame as labels.frame writes it
    note: str = ""
    kinds: dict[str, str] = field(default_factory=dict)
    empty: str = "Nothing to show for this period."
    headers: dict[str, str] = field(default_factory=dict)  # the workbook's header of a column, where not its label

    def __post_init__(self) -> None:
        if self.shown is None:
            self.shown = labels.frame(self.frame, drop=("kpi",) if "kpi" in self.frame else ())


@dataclass
class Chart:
    title: str
    figure: go.Figure
    frame: pd.DataFrame


@dataclass(frozen=True)
class Sentence:
    """One sentence of the summary, with a key saying what it is about (levels, missed, credits, ...)."""

    key: str
    text: str


@dataclass
class Pack:
    vendor: str
    period: str
    grain: str
    start: dt.date
    end: dt.date
    generated: dt.datetime
    summary: dict[str, Any]
    freshness: pd.DataFrame
    tables: dict[str, Table]
    charts: list[Chart]
    settings: dict[str, Any]
    raw_levels: pd.DataFrame  # the scorecard's levels with numbers, as sla.scorecard gives them
    window: periods.Window | None = None
    sentences: list[Sentence] = field(default_factory=list)
    about: list[tuple[str, str]] = field(default_factory=list)  # "About this pack": (what, in words)

    @property
    def stem(self) -> str:
        return file_stem(self.vendor, self.period)

    @property
    def period_label(self) -> str:
        """Oct 2026, Week of 3 Nov 2026, or Nov 2026 (to 26 Nov) for a period that runs to date."""
        return self.window.label if self.window else periods.label(self.start, self.grain)


#: Characters of the vendor's name kept in a pack's file name: with the prefix, period, hash and extension the
#: name stays far below the 255 bytes a file system allows, whatever the vendor is called.
STEM_VENDOR_CHARS = 60


def file_stem(vendor: str, period: str) -> str:
    """opsdash-review_<vendor>_<period>, in plain ASCII (accents dropped), stable from run to run. A name
    longer than STEM_VENDOR_CHARS (or with no ASCII letter at all) is cut and followed by 8 hex digits of its
    SHA-256, so two long names sharing a beginning still get two files."""
    ascii_name = unicodedata.normalize("NFKD", vendor).encode("ascii", "ignore").decode()
    safe = re.sub(r"[^A-Za-z0-9.]+", "-", ascii_name).strip("-")
    if len(safe) > STEM_VENDOR_CHARS or not safe:
        digest = hashlib.sha256(vendor.encode("utf-8")).hexdigest()[:8]
        safe = f"{safe[:STEM_VENDOR_CHARS].rstrip('-') or 'vendor'}-{digest}"
    period_safe = re.sub(r"[^A-Za-z0-9-]+", "-", period)[:20]
    return f"opsdash-review_{safe}_{period_safe}"


def build(store: Store, vendor: str, period: str, *, grain: str | None = None,
          settings: Settings | None = None) -> Pack:
    """The pack of a vendor for a week or month (2026-W43, 2026-10): every table, chart and sentence."""
    settings = settings or Settings()
    known = sla.vendors(store)
    if vendor not in known:
        raise ReportError(f"unknown vendor {vendor!r}; expected one of {', '.join(known) or '(none loaded)'}")
    try:
        grain, start, end = sla.parse_period(period, grain)
    except sla.SlaError as exc:
        raise ReportError(str(exc)) from exc
    if grain not in TREND_PERIODS:
        raise ReportError(f"review packs are weekly or monthly, not by {grain}")
    if not _has_rows(store, vendor, start, end):
        raise NoDataError(f"no data for {vendor} in {period} ({start} to {end}): nothing was loaded for that "
                          "vendor in those dates")
    fresh = views.freshness(store)
    window = sla.data_window(store, vendor, start, grain)
    before = periods.like_for_like(window)
    card = sla.scorecard(store, vendor, period, grain=grain, settings=settings)
    currency = settings.currency
    at_risk = settings.at_risk.get(vendor)
    f = views.Filters(None, end, grain, (vendor,))
    tables: dict[str, Table] = {}

    levels = sla.with_previous(store, card, vendor, grain, settings)
    tables["scorecard"] = _scorecard_table(levels, grain, currency, card.summary,
                                           views.coverage_note(levels["kpi"], levels["through"], window))
    headline = _headline(store, vendor, f, start, window, before)
    tables["headline"] = Table(
        "Headline KPIs", headline,
        _with_kpi(headline, labels.frame(headline.drop(columns=["through"]), grain, drop=("kpi",))),
        f"{window.label} against {_phrase(before.label)}"
        + (" (the same days of the previous period)" if window.partial else "")
        + "; changes are the difference of the values shown. SPC readings after NHS Making Data Count. "
        + views.coverage_note(headline["kpi"], headline["through"], window),
        {"value": "kpi", "previous": "kpi", "change": "kpi_change", "target": "kpi"})
    signals = _signals(store, f)
    tables["signals"] = Table(
        "Special-cause signals of the period", signals,
        _with_kpi(signals, labels.frame(signals, grain, drop=("kpi",))),
        "Points outside the process limits or in an unusual run, at the latest complete period (SPC reads whole periods only).",
        {"value": "kpi", "mean": "kpi", "period": "period"}, "No special-cause signal in this period.")
    pf = views.Filters(start, end, grain, (vendor,))
    errors = views.counts_by(store, "audits_with_errors", "error_category", pf).head(TOP)
    errors = errors.rename(columns={"rows": "audits_with_errors"})
    tables["errors"] = Table("Top error categories", errors, _shown_counts(errors, "Audits with errors"),
                             kinds={"audits_with_errors": "count"}, empty="No audit found an error in this period.")
    denials = views.counts_by(store, "denied_claims", "denial_reason", pf).head(TOP).rename(
        columns={"rows": "denied_claims"})
    tables["denials"] = Table("Top denial reasons", denials, _shown_counts(denials, "Denied claims"),
                              kinds={"denied_claims": "count"}, empty="No claim was denied in this period.")
    late = sla.breaches(store, vendor, start, end, limit=BREACHES)
    n_late, n_open = sla.breach_count(store, vendor, start, end)
    cut = late.attrs.get("as_of")
    tables["breaches"] = Table(
        f"SLA breaches of the period ({min(n_late, BREACHES)} of {n_late:,}, latest due first)", late,
        _shown_breaches(late),
        "Work items due in the period and completed after their due time, or still open past it"
        + (f"; an open item's hours late run to the data cut-off, {labels.timestamp(cut)}." if cut is not None else "."),
        {"hours_late": "hours", "due_at": "timestamp", "completed_at": "timestamp", "still_open": "bool"},
        empty="No work item due in the period was late.")
    ev = views.events(store, pf, start, end)
    ev_frame = ev[["event_date", "vendor", "kpi", "process", "description", "is_process_change"]].reset_index(drop=True)
    tables["events"] = Table(
        "Events in the period", ev_frame, pd.DataFrame({
            "Date": [labels.date(d) for d in ev_frame["event_date"]],
            "KPI": [labels.value_word(k) if isinstance(k, str) and k else "Every KPI" for k in ev_frame["kpi"]],
            "Process": [labels.value_word(p) if isinstance(p, str) and p else "Every process" for p in ev_frame["process"]],
            "What happened": ev_frame["description"],
            "Process change": ["Yes" if c else "No" for c in ev_frame["is_process_change"]]}),
        "A process change starts new SPC limits from its period.",
        {"event_date": "date", "is_process_change": "bool"}, empty="No event recorded for the period.")
    rec = sla.reconcile(store, vendor)
    rec = rec[(rec["period_start"] <= end) & (rec["period_end"] >= start)].reset_index(drop=True) if len(rec) else rec
    tables["reconciliation"] = _reconciliation(rec)
    tables["actions"] = _actions(levels, signals)
    look = capacity.outlook(store, vendor)
    heads = capacity.headline_frame(look)
    tables.update(_ahead(look, heads))
    risk_tables, risk_sentences = _denial_risk(store, vendor)
    tables.update(risk_tables)
    used = sorted(set(levels["kpi"]) | set(headline["kpi"]))
    defs = pd.DataFrame([{
        "kpi": k["id"], "definition": labels.prose(k["description"]), "unit": catalog.UNITS.get(k["unit"]) or "count",
        "direction": k["direction"], "target_source": k["target_source"]}
        for k in sorted(catalog.glossary(used), key=lambda k: k["id"])],
        columns=["kpi", "definition", "unit", "direction", "target_source"])
    tables["definitions"] = Table("KPI definitions used", defs, pd.DataFrame({
        "KPI": [labels.value_word(k) for k in defs["kpi"]], "Definition": defs["definition"],
        "Unit": defs["unit"], "Better when": [{"higher": "Higher", "lower": "Lower"}.get(d, "Not scored")
                                              for d in defs["direction"]],
        "Target from": defs["target_source"]}))
    about = [("Vendor", vendor), ("Period", f"{labels.date(start)} to {labels.date(end)}"
                                    + (f", data to {labels.date(window.through)}" if window.partial else "")),
             ("Compared with", before.label + (" (like for like)" if window.partial else "")),
             ("Amount at risk", f"{labels.money(at_risk, currency)} a month" if at_risk is not None
              else f"not set for {vendor}: credits are not computed"),
             ("Service credits", "a missed critical level credits its share of the monthly amount at risk; a "
                                 "month's credits are capped at that amount"),
             ("Calls answered in time", f"within {ANSWER_THRESHOLD_S:g} s; calls abandoned within "
                                        f"{SHORT_ABANDON_S:g} s are not counted as offered")]
    sentences = summarise(vendor, grain, window, before, levels, card.summary, headline, signals, n_late, n_open,
                          cut, at_risk, currency)
    sentences += [Sentence("ahead", f"Ahead: {labels.value_word(h.what)} ({h.part}) {h.words}.")
                  for h in heads[heads["status"] == "miss"].itertuples()]
    sentences += risk_sentences
    return Pack(vendor, period, grain, start, end, dt.datetime.now().replace(microsecond=0), card.summary, fresh,
                tables, _charts(store, levels, vendor, grain, end), {
                    "vendor": vendor, "period": period, "grain": grain, "from": start, "to": end,
                    "answer_threshold_s": ANSWER_THRESHOLD_S, "short_abandon_s": SHORT_ABANDON_S,
                    "currency": currency, "at_risk": at_risk}, card.levels, window, sentences, about)


#: Whole weeks after the data cut-off the pack looks ahead.
AHEAD_WEEKS = 4


def _ahead(look: capacity.Outlook, heads: pd.DataFrame) -> dict[str, Table]:
    """The next four whole weeks after the vendor's data cut-off: each queue's and process's status against the
    contract (`heads`: capacity.outlook.headline_frame) with the accuracy of the forecast it rests on, and their
    weekly figures."""
    out: dict[str, Table] = {}
    since = f"from the data cut-off, {labels.date(look.cut)}" if look.cut else ""
    status = pd.DataFrame({"process": heads["what"], "part": heads["part"],
                           "status": heads["status"].map(capacity.STATUS_WORDS), "from_day": heads["from_day"],
                           "in words": heads["words"], "forecast_accuracy": heads["forecast_accuracy"]})
    out["ahead"] = Table(
        "Next weeks: staffing against the contract", status, None,
        f"13 weeks ahead {since}. Contact centre: the agents the contract's service level needs (Erlang A from the "
        "forecast calls, measured handle time and patience) against the plan net of shrinkage. Back office: the "
        "open items and the forecast work, worked earliest due first at the staff's best recent pace. Busy weeks: "
        "every week at the top of its 80% forecast range, a stress test.",
        {"from_day": "date"}, "No staffing plan reaches past the data cut-off: nothing ahead can be judged.",
        {"forecast_accuracy": "Forecast accuracy"})
    if look.cut is None:
        return out

    weekly = (
        ("ahead_calls", contact.weekly_summary(look.queues), "contact-centre queues",
         "Calls expected from the forecast; half-hours short: the service level expected from the planned agents "
         "misses the target.",
         {"queue": None, "week": "period", "calls": "number", "intervals": "count", "intervals_short": "count",
          "expected_service_level": "percent", "expected_abandonment": "percent"}),
        ("ahead_office", backoffice.weekly_summary(look.projections), "back-office processes",
         "Items in: the forecast; capacity: what the planned staff complete at their best recent pace; backlog and "
         "past due at the week's last day; busy weeks as above.",
         {"process": None, "week": "period", "scheduled_fte": "number", "inflow": "number", "capacity": "number",
          "backlog": "number", "overdue": "number", "backlog_hi_80": "number"}))
    for key, df, what, caption, kinds in weekly:
        if not len(df):
            continue
        weeks = sorted(w for w in df["week"].unique() if w > look.cut)[:AHEAD_WEEKS]
        df = df[df["week"].isin(weeks)].reset_index(drop=True)[list(kinds)]
        out[key] = Table(f"Next {AHEAD_WEEKS} weeks: {what}", df, labels.frame(df, "week"), caption,
                         {c: k for c, k in kinds.items() if k})
    return out


#: The work list's columns in the pack: the vendor is the pack's, the rest is on the Claims page's download.
AT_RISK_COLUMNS = ("claim_id", "stage", "payer", "procedure_group", "billed_amount", "risk", "expected_loss",
                   "reasons")


def _denial_risk(store: Store, vendor: str) -> tuple[dict[str, Table], list[Sentence]]:
    """The vendor's open claims most at risk of denial, as the data stand (the kept model's scores, with the model
    and its held-out accuracy in the note), and the audit of the vendor's own risk model, with their sentences."""
    from opsdash.denials import kept, model

    if not queries.has_rows(store, "claims", vendor):
        return {}, []  # a vendor that sends no claims (a contact centre's) has none at risk and no denial model
    card = next((c for c in kept.views(store) if c.vendor == vendor), None)
    title = "Open claims most at risk of denial"
    audit_title = f"{labels.possessive(vendor)} own denial-risk model, audited"
    if card is None:
        missing = ("No denial model is kept for the data as they stand (it is trained after every load; "
                   "`opsdash denials train` trains it now).")
        return ({"at_risk": Table(title, pd.DataFrame(columns=list(AT_RISK_COLUMNS)), empty=missing),
                 "vendor_models": Table(audit_title, pd.DataFrame(columns=list(views.AUDIT_COLUMNS[1:])),
                                        empty=missing)}, [])
    scores = views.denial_work_list(kept.scores(store), views.Filters(vendors=(vendor,)))
    head, rest = views.denial_status(card, scores, filtered=False)
    top = scores.head(views.REVIEW_AT_RISK)[list(AT_RISK_COLUMNS)].reset_index(drop=True)
    kinds = {"billed_amount": "money", "risk": "percent", "expected_loss": "money"}
    shown = labels.frame(top, kpi_col=None).rename(columns={"Billed amount": "Billed ($)",
                                                            "Dollars at risk": "Dollars at risk ($)"})
    at_risk = Table(
        f"{title} ({len(top)} of {len(scores):,}, most dollars at risk first)" if len(scores) else title, top, shown,
        f"As the data stand, whatever the review period: {head}; {rest} {views.denial_model_words(card)}",
        kinds, empty="No open claim: every claim has had the payer's first decision." if card.chosen != model.NONE
        else f"No risk is shown: {card.why}.", headers={"billed_amount": "Billed ($)",
                                                          "expected_loss": "Dollars at risk ($)"})
    audit = views.vendor_model_audit(card.audits).drop(columns=["vendor"])
    gaps = views.vendor_model_gaps(list(card.audits), list(card.unjudged), card.held_out, (vendor,))
    models = Table(audit_title, audit, None,
                   " ".join([views.audit_rule_words(), *gaps]) if len(audit) else "",
                   {c: labels.column(c).kind for c in audit.columns if labels.column(c).kind != "text"},
                   empty=" ".join(gaps) or "No held-out months to judge a vendor model on yet.")
    if card.chosen == model.NONE:
        said = f"No denial risk is shown for {labels.possessive(vendor)} open claims: {card.why}."
    elif scores.empty:
        said = f"{vendor} has no open claim: every claim has had the payer's first decision."
    else:
        said = f"Claims at risk: {head}."
    sentences = [Sentence("at_risk", said)]
    sentences += [Sentence("vendor_model", f"{labels.possessive(vendor)} own risk model: {a.words}") for a in card.audits]
    return {"at_risk": at_risk, "vendor_models": models}, sentences


def _has_rows(store: Store, vendor: str, start: dt.date, end: dt.date) -> bool:
    return any(queries.has_rows(store, table, vendor, start, end) for table in catalog.EVENT_TIMES)


def _scope(process: Any, priority: Any) -> str:
    parts = [labels.value_word(x) for x in (process, priority) if isinstance(x, str) and x]
    return " · ".join(parts) if parts else "All work"


def _scorecard_table(levels: pd.DataFrame, grain: str, currency: str, summary: dict[str, Any],
                     coverage: str = "") -> Table:
    frame = levels[["kpi", "label", "process", "priority", "level", "target", "minimum", "value", "previous", "change",
                    "status", "consecutive_missed", "credit_pct", "credit"]].reset_index(drop=True)
    shown = labels.frame(frame.drop(columns=["label", "process", "priority"]), grain, drop=("kpi",))
    shown.insert(0, "KPI", [labels.value_word(k) if k in catalog.KPIS else str(k) for k in frame["kpi"]])
    shown.insert(1, "Applies to", [_scope(p, q) for p, q in zip(frame["process"], frame["priority"])])
    shown = shown.rename(columns={"Periods missed in a row": f"{grain.capitalize()}s missed in a row",
                                  "Credit": f"Credit due ({currency})"})
    shown[f"{grain.capitalize()}s missed in a row"] = [
        labels.count(n) if s in sla.MISSED else labels.EMPTY for n, s in zip(frame["consecutive_missed"], frame["status"])]
    note = "Status against the level in force in the period; changes are the difference of the values shown. "
    note += ("Credits only on missed critical levels: their share of the monthly amount at risk, the month's total "
             "capped at that amount." if grain == "month" else "Service credits are monthly: see the month's pack.")
    note += f" {coverage}" if coverage else ""
    return Table("Contract service levels", frame, shown, note, empty="No contract level is in force for the period.",
                 kinds={"target": "kpi", "minimum": "kpi", "value": "kpi", "previous": "kpi", "change": "kpi_change",
                  "consecutive_missed": "count", "credit_pct": "percent", "credit": "money"},
                 headers={"credit": f"Credit due ({currency})",
                          "consecutive_missed": f"{grain.capitalize()}s missed in a row"})


def _headline(store: Store, vendor: str, f: views.Filters, start: dt.date, window: periods.Window,
              before: periods.Window) -> pd.DataFrame:
    rows = []
    for kpi_id in views.HEADLINE:
        t = views.tile(store, kpi_id, f)
        value, previous, through = t.value, t.previous, t.window.through if t.window else None
        if t.current is not None and t.current.window.start == start:
            # the KPI's data runs to date in this period (whatever the other tables hold): like for like, the
            # same days at the start of the previous period
            value, previous, through = t.current.value, t.current.previous, t.current.window.through
        elif t.period != start:
            continue  # no value for the period under review (the vendor does not send that kind of data)
        rows.append({"kpi": kpi_id, "value": value, "previous": previous, "through": through,
                     "change": labels.shown_change(kpi_id, value, previous), "target": t.target,
                     "variation": t.variation, "assurance": t.assurance, "in words": t.words})
    return pd.DataFrame(rows, columns=["kpi", "value", "previous", "through", "change", "target", "variation",
                                       "assurance", "in words"])


def _signals(store: Store, f: views.Filters) -> pd.DataFrame:
    """The vendor's signals at the latest complete period, with numbers: value and mean in the KPI's unit."""
    sig = views.what_changed(store, f)
    return sig[["kpi", "period", "value", "mean", "signal", "what"]].reset_index(drop=True)


def _with_kpi(frame: pd.DataFrame, shown: pd.DataFrame) -> pd.DataFrame:
    """The people's table with the KPI's label first."""
    shown.insert(0, "KPI", [labels.value_word(k) for k in frame["kpi"]])
    return shown


def _shown_counts(df: pd.DataFrame, what: str) -> pd.DataFrame:
    out = labels.frame(df, kpi_col=None)
    return out.rename(columns={out.columns[-1]: what}) if len(out.columns) else out


def _shown_breaches(df: pd.DataFrame) -> pd.DataFrame:
    shown = labels.frame(df.drop(columns=["still_open"]), kpi_col=None)
    shown["Completed"] = ["Open" if o else c for o, c in zip(df["still_open"].astype(bool), shown["Completed"])]
    shown["Hours late"] = [h + (" (open)" if o else "") for o, h in zip(df["still_open"].astype(bool), shown["Hours late"])]
    return shown


def _reconciliation(rec: pd.DataFrame) -> Table:
    cols = ["kpi", "process", "period_start", "period_end", "reported", "measured", "difference", "flag"]
    frame = (rec[cols] if len(rec) else pd.DataFrame(columns=cols)).copy()
    frame["difference"] = [labels.shown_change(k, r, m) if k in catalog.KPIS else d
                           for k, r, m, d in zip(frame["kpi"], frame["reported"], frame["measured"], frame["difference"])]
    shown = labels.frame(frame.drop(columns=["period_start", "period_end"]), drop=("kpi",))
    shown.insert(0, "KPI", [labels.value_word(k) for k in frame["kpi"]])
    shown["Process"] = [_scope(p, None) for p in frame["process"]]
    shown.insert(2, "Period", [_dates(a, b) for a, b in zip(frame["period_start"], frame["period_end"])])
    shown["Difference"] = [labels.EMPTY if pd.isna(d) or k not in catalog.KPIS
                           else catalog.format_change(catalog.KPIS[k], float(d))
                           for k, d in zip(frame["kpi"], frame["difference"])]
    return Table("Reported against measured", frame, shown,
                 "Discrepancies first: beyond 0.5 points for rates, 1% otherwise. The difference is of the values "
                 "shown.", {"reported": "kpi", "measured": "kpi", "difference": "kpi_change",
                            "period_start": "date", "period_end": "date"},
                 empty="The vendor reported no figures for this period.")


def _dates(a: Any, b: Any) -> str:
    """A reported period in words: Oct 2026 for a whole month, 1 Oct 2026 to 15 Oct 2026 otherwise."""
    a, b = pd.Timestamp(a).date(), pd.Timestamp(b).date()
    if a.day == 1 and b == periods.end(a, "month"):
        return periods.label(a, "month")
    return f"{labels.date(a)} to {labels.date(b)}"


def _actions(levels: pd.DataFrame, signals: pd.DataFrame) -> Table:
    """Rows to fill in during the meeting: one suggested per missed level and per signal of concern, then blank."""
    suggested = [f"Recover {labels.value_word(r.kpi)}"
                 + ("" if _scope(r.process, r.priority) == "All work" else f" ({_scope(r.process, r.priority)})") + " to "
                 f"{catalog.format_value(catalog.KPIS[r.kpi], float(r.target))}"
                 for r in levels.itertuples() if r.status in sla.MISSED and r.kpi in catalog.KPIS]
    suggested += [f"Explain the {labels.value_word(r.kpi)} signal ({labels.value_word(r.signal).lower()})"
                  for r in signals.itertuples() if r.signal == "concern"]
    actions = suggested + [""] * ACTION_ROWS
    frame = pd.DataFrame({"action": actions, "owner": [""] * len(actions), "due": [""] * len(actions)})
    return Table("Actions agreed", frame, frame.rename(columns={"action": "Action", "owner": "Owner", "due": "Due"}),
                 "One row suggested per level missed and per signal of concern; to complete in the meeting.",
                 empty="")


def _phrase(label: str) -> str:
    """A period's label inside a sentence: Oct 2026, the week of 26 Oct 2026."""
    return "the w" + label[1:] if label.startswith("Week of") else label


def _plural(n: int, word: str) -> str:
    return f"{n:,} {word}" + ("" if n == 1 else "s")


def _join(items: list[str]) -> str:
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]


def summarise(vendor: str, grain: str, window: periods.Window, before: periods.Window, levels: pd.DataFrame,
              summary: dict[str, Any], headline: pd.DataFrame, signals: pd.DataFrame, n_late: int, n_open: int,
              cut: Any, at_risk: float | None, currency: str) -> list[Sentence]:
    """The summary in words, each sentence from the figures of the tables below it: the levels met, each level
    missed, the credits due, the signals of concern, what improved, and the late work."""
    if summary["levels_scored"]:
        out = [Sentence("levels", f"{vendor} met {summary['levels_met']} of "
                                  f"{_plural(summary['levels_scored'], 'contract service level')} in "
                                  f"{_phrase(window.label)}.")]
    else:
        out = [Sentence("levels", f"No contract service level with data is in force for {vendor} in {_phrase(window.label)}.")]
    if summary["levels_without_data"]:
        out.append(Sentence("no_data", f"{_plural(summary['levels_without_data'], 'level')} had no data for the "
                                       f"{grain}."))
    missed = levels[levels["status"].isin(sla.MISSED) & levels["kpi"].isin(list(catalog.KPIS))]
    for r in missed.itertuples():
        kpi = catalog.KPIS[r.kpi]
        scope = _scope(r.process, r.priority)
        below = (f", below the minimum of {catalog.format_value(kpi, float(r.minimum))}"
                 if r.status == "below_minimum" else "")
        streak = int(r.consecutive_missed or 1)
        out.append(Sentence("missed", f"Missed: {kpi.label}{'' if scope == 'All work' else f' ({scope})'} at "
                                      f"{catalog.format_value(kpi, float(r.value))} against a target of "
                                      f"{catalog.format_value(kpi, float(r.target))}{below}; "
                                      f"{labels.value_word(r.level).lower()} level, "
                                      f"{_plural(streak, grain)} in a row."))
    if not len(missed):
        out.append(Sentence("missed", "No contract service level was missed."))
    critical = missed[missed["level"] == "critical"]
    if grain != "month":
        out.append(Sentence("credits", f"Service credits are settled by month: see the "
                                       f"{periods.label(periods.start_of(window.start, 'month'), 'month')} pack."))
    elif critical.empty:
        out.append(Sentence("credits", "No service credit is due: no critical level was missed."))
    elif at_risk is None:
        out.append(Sentence("credits", f"{_plural(len(critical), 'critical level')} missed; no amount at risk is "
                                       f"set for {vendor}, so the credit due is not computed."))
    else:
        capped = " (capped at the amount at risk)" if summary.get("credits_capped") else ""
        so_far = f" so far (the month runs to {labels.date(window.through)})" if window.partial else ""
        out.append(Sentence("credits", f"Service credits due{so_far}: "
                                       f"{labels.money(summary['credits_due'], currency)}"
                                       f"{capped}, for {_plural(len(critical), 'critical level')} missed "
                                       f"({labels.percent(summary['credit_pct_total'])} of the "
                                       f"{labels.money(at_risk, currency)} at risk a month)."))
    concerns = signals[signals["signal"] == "concern"]
    if len(concerns):
        out.append(Sentence("signals", "Signals of concern: " + _join([
            f"{labels.value_word(r.kpi)} at {catalog.format_value(catalog.KPIS[r.kpi], r.value)} against a mean "
            f"of {catalog.format_value(catalog.KPIS[r.kpi], r.mean)}" for r in concerns.itertuples()]) + "."))
    else:
        out.append(Sentence("signals", f"No special-cause signal of concern in the latest {grain}."))
    better = []
    for r in headline.itertuples():
        kpi = catalog.KPIS[r.kpi]
        if r.change is None or pd.isna(r.change) or r.change == 0 or kpi.direction == "neutral":
            continue
        if (r.change > 0) == (kpi.direction == "higher"):
            better.append(f"{kpi.label} ({catalog.format_change(kpi, r.change)} to {catalog.format_value(kpi, r.value)})")
    out.append(Sentence("improved", f"Improved on {_phrase(before.label)}: {_join(better)}." if better
                        else f"No headline KPI improved on {_phrase(before.label)}."))
    if n_late:
        still = f", {n_open:,} of them still open at {labels.timestamp(cut)}" if n_open else ""
        out.append(Sentence("breaches", f"{_plural(n_late, 'work item')} due in the {grain} "
                                        f"{'was' if n_late == 1 else 'were'} late{still}."))
    return out


def _charts(store: Store, levels: pd.DataFrame, vendor: str, grain: str, end: dt.date) -> list[Chart]:
    out = []
    critical = levels[levels["level"] == "critical"]
    for lv in critical.itertuples():
        kpi = catalog.KPIS.get(lv.kpi)
        if kpi is None:
            continue
        where = sla.restriction(kpi, vendor, lv.process, lv.priority)
        first = periods.shift(end, grain, 1 - TREND_PERIODS[grain])
        df = metrics.series(store, kpi.id, grain=grain, where=where, start=first, end=end)
        if not df["value"].notna().any():
            continue
        one = views.Filters(vendors=(vendor,)).with_extra(**{k: v for k, v in where.items() if k != "vendor"})
        ev = views.events_on(views.events_for(views.events(store, one), kpi.id, one), df["period_start"], grain)
        chart = views.xmr_for(kpi, df, ev, grain)
        scope = _scope(lv.process, lv.priority)
        title = (f"{kpi.label}{'' if scope == 'All work' else ' · ' + scope}: {grain}ly XmR chart, target "
                 f"{catalog.format_value(kpi, lv.target)}")
        fig = charts.spc(chart, df["period_start"], kpi, target=float(lv.target), title=title, events=ev)
        out.append(Chart(title, fig, df.join(chart[["mean", "lpl", "upl", "point_type"]].add_prefix("spc_"))))
    return out


def table_label(name: str) -> str:
    """A data table's name for people (work_items -> Work items)."""
    t = contract.TABLES.get(name)
    return t.label if t else labels.humanise(name)
