"""Vendor scorecard for the weekly review: contract levels for a vendor and period, changes against the
previous period, SPC signals, reconciliation of what the vendor reported, top error categories and denials, and
the vendor's open claims most at risk of denial with the audit of its own denial-risk model."""

import pandas as pd
import streamlit as st

from opsdash import audit, catalog, periods, views
from opsdash.ui import auth, data, filters, widgets
from opsdash.ui.text import md
from opsdash.views import Filters

PACK_FORMATS = {"pdf": ("Review pack (PDF)", "application/pdf"), "html": ("Review pack (HTML)", "text/html"),
                "xlsx": ("Review pack (Excel)", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")}

st.title("Vendor scorecard")
store = data.require()
f = filters.current()
db, ver = data.source(), data.version()
vendors = data.require_vendors(db, ver)

filters.vet("review", filters.one_of(["month", "week"]), "month or week")
c1, c2, c3 = st.columns(3)
vendor = filters.vendor_box(c1, vendors, f, "sc_vendor")
grain = c2.segmented_control("Review", ["month", "week"], default="month", required=True, key="review",
                             bind="query-params")
grain = grain if grain in ("month", "week") else "month"
latest = data.latest_event(db, ver, vendor) or data.latest_event(db, ver) or pd.Timestamp.today()
options = views.review_periods(latest, grain)
period = filters.linked_selectbox(
    c3, "Period", options, key=f"{grain}_of", words=periods.label_of,
    expected=f"one of the last {len(options)} {grain}s, e.g. {options[0]}",
    help="The latest first; the current period runs to the latest data and is compared with the same days of "
         "the period before.")

# The period's dates come from its name, not from the scorecard: when the scorecard cannot be made (the store
# is busy, a stored value is unreadable), the sections below still know which dates to show.
period_start, period_end = views.review_dates(period, grain, latest)

with widgets.guard("the scorecard"):
    card = data.scorecard(db, ver, vendor, period, grain)
    s = card.summary
    m1, m2, m3, m4 = st.columns(4)
    m1.metric("Levels met", f"{s['levels_met']} of {s['levels_scored']}", border=True,
              help="Contract levels in force this period with data, and how many were met.")
    m2.metric("Critical levels missed", f"{s['critical_missed']}", border=True)
    due = s["credits_due"]
    m3.metric("Credits due", "–" if due is None else f"{s['currency']} {due:,.2f}", border=True,
              help=s["note"] or ("Capped at the amount at risk." if s["credits_capped"] else
                                 "Critical levels missed × credit % × the monthly amount at risk (opsdash.toml)."))
    m4.metric("Levels without data", f"{s['levels_without_data']}", border=True)
    if s["note"]:
        st.caption(s["note"])
    levels, window, before = data.scorecard_levels(db, ver, vendor, period, grain)
    shown = levels[["kpi", "label", "process", "priority", "level", "target", "minimum", "value", "previous",
                    "change", "status", "consecutive_missed", "credit_pct", "credit"]]
    st.subheader(f"{md(vendor)}, {md(window.label)}")
    st.caption(views.compared_words(window, before)
               + " Changes are the difference of the values shown; credits only on missed critical levels. "
               + views.coverage_note(levels["kpi"], levels["through"], window))
    widgets.table(shown, f"scorecard_{vendor}_{period}", {"vendor": vendor, "period": period},
                  f"Scorecard {vendor} {period}", key="sc_table", labels=True, grain=grain,
                  column_config={"kpi": None})

# Shown only where a portfolio benchmark is loaded (opsdash lake benchmarks): the vendor here against the same
# vendor at its other clients, never named.
with widgets.guard("the comparison with other clients"):
    bench, bench_words = data.benchmark_table(db, data.benchmarks_version(db), vendor, period_start)
    if not bench.empty:
        st.subheader("Against the vendor's other clients")
        st.caption(md(bench_words))
        widgets.table(bench, f"benchmark_{vendor}_{period}", {"vendor": vendor, "period": period},
                      f"Benchmark {vendor} {period}", key="sc_benchmark", labels=True, grain="month")

with widgets.guard("the review pack"):
    st.subheader("Review pack")
    key = (db, vendor, period, grain, ver)
    if st.button("Make the review pack", icon=":material/description:", key="sc_make_pack",
                 help="PDF, HTML and Excel files of this vendor and period, with the numbers on this page."):
        with st.spinner(f"Making the review pack for {md(vendor)}, {md(period)}…"):
            st.session_state["sc_pack"] = (key, data.review_pack(db, ver, vendor, period, grain))
            who = auth.grant()
            data.record(audit.Event(user_name=who.user, role=who.role, action="review_pack", page="Vendor scorecard",
                                    what=data.review_pack_stem(vendor, period),
                                    filters={"vendor": vendor, "period": period, "grain": grain}))
    made = st.session_state.get("sc_pack")
    if made and made[0] == key:
        stem = data.review_pack_stem(vendor, period)
        for col, fmt in zip(st.columns(3), [f for f in PACK_FORMATS if f in made[1]]):
            label, mime = PACK_FORMATS[fmt]
            col.download_button(label, made[1][fmt], file_name=f"{stem}.{fmt}", mime=mime, key=f"sc_pack_{fmt}",
                                icon=":material/download:", on_click="ignore")
    else:
        st.caption("Made on request: the scorecard, headline KPIs, signals, charts of the critical levels, breaches "
                   "and reconciliation, ready to send.")

with widgets.guard("SPC signals"):
    st.subheader("SPC signals")
    vf = Filters(None, period_end, grain, (vendor,), ())
    changed = data.what_changed(db, ver, vf)
    if changed.empty:
        st.success(f"No special-cause signal for {md(vendor)} at the latest {grain}.")
    else:
        widgets.table(changed.drop(columns=["KPI", "unit"]), f"signals_{vendor}", vf, f"SPC signals {vendor}",
                      key="sc_signals", labels=True, grain=grain)

with widgets.guard("reconciliation"):
    st.subheader("Reported against measured")
    rec = data.reconcile(db, ver, vendor)
    if rec.empty:
        st.info(f"{md(vendor)} has sent no reported KPIs.")
    else:
        flagged = int((rec["flag"] != "ok").sum())
        st.caption(f"{flagged} of {len(rec)} reported figures differ from the raw data beyond tolerance "
                   "(0.5 points for rates, 1% otherwise); those come first.")
        widgets.table(rec, f"reconciliation_{vendor}", {"vendor": vendor}, f"Reconciliation {vendor}", key="sc_rec",
                      labels=True, kinds={"period_start": "date"})

pf = Filters(period_start, period_end, grain, (vendor,), ())
TOP_LISTS = (("Top error categories", "audits_with_errors", "error_category"),
             ("Top denial reasons", "denied_claims", "denial_reason"))
for col, (title, row_set, column) in zip(st.columns(2), TOP_LISTS):
    with col, widgets.guard(title.lower()):
        st.subheader(title)
        top = data.counts_by(db, ver, row_set, column, pf).head(5)
        if top.empty:
            widgets.no_data(catalog.ROW_SETS[row_set].label.lower(), pf)
        else:
            # The count is headed by what it counts ("Denied claims"), as in the review pack.
            widgets.table(top.rename(columns={"rows": row_set}), f"{title.lower().replace(' ', '_')}_{vendor}", pf,
                          f"{title} {vendor} {period}", key=f"sc_{column}", xlsx=False, labels=True,
                          kinds={row_set: "count"})

# a vendor that sends no claims (a contact centre's) has none at risk and no denial model
with widgets.guard("denial risk"):
    if data.has_rows(db, ver, "claims", vendor):
        st.subheader("Claims at risk of denial")
        kept_ver = data.denials_kept_version(db)
        card = next((c for c in data.denial_views(db, ver, kept_ver) if c.vendor == vendor), None)
        if card is None:
            st.info(f"No denial model is kept for {md(vendor)} and the data as they stand. It is trained after "
                    "every load; after a load made with `--no-outlook` or an upgrade, run `opsdash denials train`.")
        else:
            vf = Filters(vendors=(vendor,))
            scores = views.denial_work_list(data.denial_scores(db, ver, kept_ver), vf)
            head, rest = views.denial_status(card, scores, filtered=False)
            st.markdown(f"**{md(head)}**; {md(rest)}")
            st.caption(md(views.denial_model_words(card)))
            if not scores.empty:
                top = scores.head(views.REVIEW_AT_RISK)
                widgets.table(top, f"claims_at_risk_{vendor}", vf, f"Claims at risk {vendor}", key="sc_risk",
                              labels=True, full=lambda: scores)
                st.caption(f"The {len(top)} open claims with the most dollars at risk, as the data stand (the "
                           "review period does not apply); the downloads hold all of them, and the Claims page "
                           "filters them.")
            widgets.vendor_models([card], (vendor,), vf, "sc_vendor_models")
