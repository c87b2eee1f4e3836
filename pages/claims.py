"""Claims: turnaround with SPC, its distribution, clean-claim and denial rates, denial reasons, unbilled backlog,
and the open claims at risk of denial."""

import streamlit as st

from opsdash import catalog, charts, views
from opsdash.ui import data, filters, icons, sections, widgets
from opsdash.ui.text import md

st.title("Claims")
store = data.require()
f = filters.page_dims(filters.current(), "claims", ["payer", "claim_type"])
db, ver = data.source(), data.version()
universe = data.vendors(db, ver)

turnaround, rates, denials, backlog, at_risk = sections.tabs("pages/claims.py")
with turnaround:
    if turnaround.open:
        with widgets.guard("claim turnaround"):
            measure = st.segmented_control("Measure", ["claim_turnaround_days", "claim_turnaround_p90_days"],
                                           default="claim_turnaround_days", required=True, key="cl_tat",
                                           format_func=lambda k: {"claim_turnaround_days": "Median",
                                                                  "claim_turnaround_p90_days": "90th percentile"}[k])
            kpi = catalog.KPIS[measure]
            view = data.spc_view(db, ver, measure, f)
            if view.has_data:
                fig = charts.spc(view.chart, view.series["period_start"], kpi, target=view.target, events=view.events,
                                 title=views.spc_title(view))
                st.caption(md(view.words()) + " " + md(views.chart_target_words(view, f)) + " "
                           + "Select a point to narrow the page to its period.")
                widgets.chart(fig, view.frame, measure, f, key="cl_spc", on_select=lambda: filters.drill_period("cl_spc", f.grain))
                icons.reading(view)
                icons.legend()
            else:
                widgets.no_data(kpi.label, f)

        with widgets.guard("the turnaround distribution"):
            days = data.distribution(db, ver, f)
            if len(days):
                fig = charts.histogram(days, "days", "claims", title="Claim turnaround distribution (claims submitted in the range)",
                                       x_title="Days from receipt to submission", y_title="Claims (count)")
                widgets.chart(fig, days, "claim_turnaround_distribution", f, key="cl_hist")
            else:
                widgets.no_data("claim turnaround", f)
with rates:
    if rates.open:
        left, right = st.columns(2)
        for col, kpi_id in ((left, "clean_claim_rate"), (right, "initial_denial_rate")):
            with col, widgets.guard(catalog.KPIS[kpi_id].label):
                kpi = catalog.KPIS[kpi_id]
                by = st.segmented_control("By", ["vendor", "payer"], default="vendor", required=True, key=f"cl_by_{kpi_id}")
                whole = data.series(db, ver, kpi_id, f, (by,), None)
                if whole["value"].notna().any():
                    fig = charts.bars(whole, kpi, by, title=f"{kpi.label} by {by} over the range",
                                      universe=universe if by == "vendor" else None, target=kpi.target)
                    widgets.chart(fig, whole, f"{kpi_id}_by_{by}", f, key=f"cl_bar_{kpi_id}",
                                  on_select=(lambda k=kpi_id: filters.drill_vendor(f"cl_bar_{k}", "y")) if by == "vendor" else None)
                    if by == "vendor":
                        st.caption("Select a vendor's dot to narrow every page to it.")
                else:
                    widgets.no_data(kpi.label, f)
with denials:
    if denials.open:
        widgets.vendor_trend("initial_denial_rate", f, "cl_denial_trend", target=catalog.KPIS["initial_denial_rate"].target,
                             drill=True)

        widgets.pareto("denied_claims", "denial_reason", f, "Denial reasons (Pareto), by adjudication date", "cl_pareto")
with backlog:
    if backlog.open:
        widgets.vendor_trend("unbilled_backlog", f, "cl_backlog", title=f"Unbilled claims at the end of each {f.grain}, by vendor")
with at_risk:
    if at_risk.open:
        with widgets.guard("denial risk"):
            kept_ver = data.denials_kept_version(db)
            cards = data.denial_views(db, ver, kept_ver)
            card = views.denial_card(cards, f)
            if card is None:
                st.info("No denial model is kept for the data as it stands. It is trained after every load (a few "
                        "seconds); after a load made with `--no-outlook` or an upgrade, run `opsdash denials train`.")
            else:
                scores = views.denial_work_list(data.denial_scores(db, ver, kept_ver), f)
                head, rest = views.denial_status(card, scores)
                st.markdown(f"**{md(head)}**; {md(rest)}")
                st.caption(md(views.denial_model_words(card)))
                if card.model is not None:
                    curves = views.reliability_curves(card)
                    fig = charts.reliability(curves, title=views.reliability_title(card))
                    widgets.chart(fig, views.reliability_frame(curves), "denial_risk_reliability", f, key="cl_rel")
                    with st.expander("Accuracy by vendor and by payer, on the held-out months"):
                        by_vendor = views.denial_accuracy_by_vendor(cards, f)
                        if len(by_vendor):
                            widgets.table(by_vendor, "denial_risk_accuracy_by_vendor", f,
                                          "Denial risk accuracy by vendor", key="cl_acc_vendor", labels=True)
                        if unmeasured := views.denial_unmeasured(cards, f):
                            st.caption(md(unmeasured))
                        by_payer = views.denial_accuracy_by_payer(card, f)
                        widgets.table(by_payer, "denial_risk_accuracy_by_payer", f, "Denial risk accuracy by payer",
                                      key="cl_acc_payer", labels=True)
                        st.caption(f"On the held-out claims of {md(views.card_whose(card))}; the facility and claim-type "
                                   f"filters do not apply. Each vendor at its own team's capacity (claims worked a "
                                   f"day). A payer's AUROC is shown where it had at least {views.MIN_PAYER_DENIALS} "
                                   f"denials and a paid claim among them.")
                if not scores.empty:
                    widgets.table(scores, "claims_at_risk", f, "Open claims by dollars at risk", key="cl_risk",
                                  labels=True)
                    st.caption("Open claims: not yet billed, or billed and awaiting the payer's first decision; the "
                               "date range does not apply. A claim not yet billed is scored as it stands (an "
                               "authorisation still pending counts as not obtained): its risk is what submitting it "
                               "now would face, and has no outcome yet to be checked against. Reasons: the points "
                               "each fact adds to the risk against a typical claim.")
                widgets.vendor_models(cards, views.audited_vendors(cards, card, f), f, "cl_vendor_models")
