"""The dashboard's pages and URL parameters, as data: app.py builds its navigation from PAGES and
docs/dashboard.md is generated from both (a test checks every page file and bound widget is listed)."""

from __future__ import annotations

from dataclasses import dataclass

from opsdash import catalog


@dataclass(frozen=True)
class Page:
    section: str
    file: str
    title: str
    icon: str
    summary: str
    default: bool = False
    access: str = "all"  # "all" roles, or "admin" only (see access.py)
    filters: bool = True  # the sidebar's shared filters apply to this page (else they are not shown)


PAGES: tuple[Page, ...] = (
    Page("Executive", "pages/overview.py", "Overview", ":material/dashboard:",
         "Headline KPI tiles, status against the target first (latest complete period, target, change against "
         "the previous period, SPC variation and assurance, the running period to date against the same days "
         "before, sparkline), the special-cause signals of the latest complete period worst first, a "
         "headline KPI's trend by vendor, and data freshness with a warning when data is stale.", default=True),
    Page("Executive", "pages/capacity.py", "Capacity", ":material/trending_up:",
         "What is coming, per vendor, from its data cut-off 13 weeks ahead: status first (queues and processes "
         "projected to miss, at the forecast or in busy weeks); volume forecasts with their 80% and 95% ranges and "
         "the accuracy their backtests measured; contact-centre agent-hours needed for the contract's service "
         "level against the plan; back-office backlogs, each contract level month by month, the day a miss would "
         "begin and the FTE that would keep it.", filters=False),
    Page("Operations", "pages/claims.py", "Claims", ":material/receipt_long:",
         "Turnaround median and 90th percentile on an XmR chart with the target, the turnaround distribution, "
         "clean-claim and denial rates by vendor or payer, denial reasons as a Pareto, the unbilled backlog, and "
         "the claims at risk of denial: open claims by dollars at risk with the reasons, the model's accuracy on "
         "months it did not learn from (overall, by vendor and by payer) and whether its risks come true, beside "
         "the vendors' own models, audited on the same claims."),
    Page("Operations", "pages/quality.py", "Quality", ":material/fact_check:",
         "Error, accuracy and critical-error rates by vendor and process, an XmR chart of one process, error "
         "categories as a Pareto."),
    Page("Operations", "pages/sla.py", "SLA & contracts", ":material/handshake:",
         "Every vendor's contract levels month by month (met, missed, below minimum), breaches, credits due "
         "(capped at the amount at risk), consecutive months missed, the overdue backlog, turnaround by "
         "process and priority."),
    Page("Operations", "pages/contact_centre.py", "Contact centre", ":material/support_agent:",
         "Service level, abandonment, speed of answer, handle time and first-contact resolution by vendor and "
         "queue; calls and service level by weekday and hour; the formula and adjustable thresholds."),
    Page("Account management", "pages/scorecard.py", "Vendor scorecard", ":material/assignment:",
         "A vendor's contract levels for a month or an ISO week with the change against the previous one, "
         "credits, SPC signals, reported-against-measured reconciliation, top error categories and denials, "
         "the open claims most at risk of denial and the audit of the vendor's own denial-risk model.",
         filters=False),
    Page("Account management", "pages/alerts.py", "Alerts", ":material/notifications:",
         "The alerts raised for the vendors you may see, newest first, with their state (new, sent, acknowledged): "
         "a special-cause concern, assurance turned to failing, a critical level missed or projected to miss, "
         "credits due, stale data (and, for admins, loads with many rejects); each with its evidence, the chart and "
         "the figures as the alert was raised; acknowledge one with a note (audited). Admins also see the outbox: "
         "every message, its state, attempts and last error.", filters=False),
    Page("Data", "pages/data.py", "Data", ":material/database:",
         "The KPI glossary (definition, unit, direction, target and its source) and the raw records under "
         "the filters."),
    Page("Data", "pages/loads.py", "Loads and rejects", ":material/history:",
         "Rows per table, every load with its lineage (file, SHA-256, mapping, counts, who and when) and the "
         "rejected rows with their reasons.", access="admin", filters=False),
    Page("Data", "pages/upload.py", "Upload", ":material/upload_file:",
         "Drop export files and an optional mapping file: the same loading as `opsdash ingest`, with the "
         "per-file report; every page's figures refresh after it.", access="admin", filters=False),
    Page("Data", "pages/events.py", "Events", ":material/event_note:",
         "The log of go-lives, outages and contract changes drawn on every chart; add or remove an event "
         "(a process change recalculates SPC limits from its period).", access="admin", filters=False),
    Page("Data", "pages/audit.py", "Audit trail", ":material/policy:",
         "Who signed in (or was refused), who downloaded what (page, file, filters, row count), who uploaded "
         "which file (load ids) and who made a review pack; never row data.", access="admin", filters=False),
)

#: Pages in sections (tabs): only the open section is computed and drawn, so a page never draws more than two
#: charts at once (a new visitor's browser spends most of a page's time drawing plotly charts). Per page file:
#: the URL parameter naming the open section (a view is a link) and the sections' titles, the first the default.
SECTIONS: dict[str, tuple[str, tuple[str, ...]]] = {
    "pages/claims.py": ("claims_view", ("Turnaround", "Clean claims and denials", "Denial trend and reasons",
                                        "Unbilled backlog", "Claims at risk")),
    "pages/quality.py": ("quality_view", ("Rates and SPC", "Error categories")),
    "pages/sla.py": ("sla_view", ("Attainment", "Breaches and credits", "Backlog and turnaround")),
    "pages/contact_centre.py": ("calls_view", ("By vendor and queue", "By weekday and hour")),
    "pages/capacity.py": ("capacity_view", ("Work coming", "Contact-centre staffing", "Back-office backlog")),
}

#: Query parameters a link may carry (widgets bound with bind="query-params"; the key is the name).
URL_PARAMETERS: dict[str, str] = {
    "dates": "date range: two ISO dates, e.g. `dates=2026-01-01&dates=2026-06-30` (all data by default)",
    "grain": "`day`, `week`, `month` (default) or `quarter`",
    "vendor": "vendors, repeated for several (all by default)",
    "facility": "facilities, repeated for several (all by default; calls have none)",
    "payer": "Claims page: payers",
    "claim_type": "Claims page: claim types",
    "process": "Quality page: processes",
    "error_category": "Quality page: error categories",
    "queue": "Contact centre page: queues",
    "answer_s": f"Contact centre page: answer threshold in seconds (default {catalog.ANSWER_THRESHOLD_S:g})",
    "short_s": f"Contact centre page: short-abandon window in seconds (default {catalog.SHORT_ABANDON_S:g})",
    "sc_vendor": "Vendor scorecard: the vendor",
    "review": "Vendor scorecard: `month` (default) or `week`",
    "sla_vendor": "SLA & contracts page: the vendor whose attainment grid is shown (default the first)",
    "month_of": "Vendor scorecard: the month, e.g. `2026-10`",
    **{key: f"{next(p.title for p in PAGES if p.file == file)} page: the section shown, one of "
            + ", ".join(f"`{n}`" for n in names) + f" (default `{names[0]}`)"
       for file, (key, names) in SECTIONS.items()},
    "week_of": "Vendor scorecard: the ISO week, e.g. `2026-W43`",
    "cap_vendor": "Capacity page: the vendor (default the first)",
    "cap_series": "Capacity page: the volume forecast shown, as `KPI:process`, e.g. `work_volume:coding` or "
                  "`call_volume:scheduling` (default the vendor's first)",
    "cap_grain": "Capacity page: `week` (default) or `day` forecasts",
    "cap_queue": "Capacity page: the contact-centre queue shown (default the first)",
    "cap_process": "Capacity page: the back-office process shown (default the first)",
}
