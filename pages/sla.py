"""SLA & contracts: attainment month by month, breaches, credits, consecutive misses, overdue backlog,
turnaround by process and priority."""

import pandas as pd
import streamlit as st

from opsdash import catalog, charts, sla, views
from opsdash.settings import load as load_settings
from opsdash.ui import data, filters, sections, widgets
from opsdash.ui.text import md

st.title("SLA & contracts")
store = data.require()
f = filters.current()
db, ver = data.source(), data.version()
universe = data.vendors(db, ver)

start, end = views.sla_months(f.start, f.end, data.latest_event(db, ver))
st.caption(f"Months {start:%b %Y} to {end:%b %Y} (the last {views.SLA_MONTHS} months unless the date range says otherwise). "
           "Each level is scored with the target in force that month; vendor rows override all-vendor (*) rows.")

attainment, breaches_tab, backlog = sections.tabs("pages/sla.py")
att = pd.DataFrame()
if attainment.open or breaches_tab.open:
    with widgets.guard("contract attainment"):
        att = data.attainment(db, ver, start, end, f.vendors)
        if att.empty:
            widgets.no_data("contract service levels", f)
        else:
            att["service level"] = views.level_names(att)

with attainment:
    if attainment.open and not att.empty:
        with widgets.guard("contract attainment"):
            att["shown"] = [catalog.format_value(catalog.KPIS[k], v) for k, v in zip(att["kpi"], att["value"])]
            st.caption(md(views.attainment_summary(att, end, data.vendor_cuts(db, ver))) + " Pick a vendor to see its levels month by month.")
            scored = sorted(att["vendor"].unique())
            filters.vet("sla_vendor", filters.one_of(scored), "a vendor with contract levels in the selection",
                        echo=False)
            vendor = scored[0] if len(scored) == 1 else st.selectbox(
                "Vendor", scored, key="sla_vendor", bind="query-params",
                help="One vendor's grid at a time; the other tabs and the downloads cover every vendor selected.")
            part = att[att["vendor"] == vendor]
            fig = charts.heatmap(part, row="service level", column="month", status="status", text="shown",
                                 title=f"{vendor}: service levels by month", x_title="Month", y_title="Service level")
            widgets.chart(fig, part.drop(columns=["shown"]), f"sla_attainment_{vendor}", f, key="sla_heat")

with breaches_tab:
    if breaches_tab.open and not att.empty:
        with widgets.guard("breaches and credits"):
            st.subheader("Breaches")
            breaches = views.missed_levels(att)
            if breaches.empty:
                st.success("No level missed in these months.")
            else:
                shown = breaches[["kpi", "vendor", "month", "service level", "target", "minimum", "value", "status",
                                  "consecutive_missed", "credit_pct", "credit"]]
                widgets.table(shown, "sla_breaches", f, "SLA breaches", key="sla_breaches", labels=True,
                              column_config={"kpi": None})

            st.subheader("Credits due")
            settings = load_settings()
            credits = sla.credits_due(att, settings)
            if credits.empty:
                st.success("No critical level missed: no credits due.")
            else:
                if not settings.at_risk:
                    st.info("No at-risk amounts are set (opsdash.toml), so credits show as percentages only.")
                widgets.table(credits, "sla_credits", f, f"Service credits due ({settings.currency})",
                              key="sla_credits", labels=True,
                              headers={"at_risk": f"Amount at risk ({settings.currency})",
                                       "credit_due": f"Credit due ({settings.currency})"})

            st.subheader("Consecutive months missed")
            streaks = views.missed_in_a_row(att)
            if streaks.empty:
                st.success(f"No level missed in {att['month'].max():%B %Y}.")
            else:
                widgets.table(streaks[["vendor", "service level", "status", "consecutive_missed"]], "sla_consecutive", f,
                              "Consecutive months missed", key="sla_streaks", labels=True)

with backlog:
    if backlog.open:
        st.subheader("Overdue backlog")
        widgets.vendor_trend("overdue_backlog", f, "sla_overdue",
                             title=f"Open items past due at the end of each {f.grain}, by vendor")

        st.subheader("Turnaround by process and priority")
        with widgets.guard("turnaround by process"):
            kpi = catalog.KPIS["turnaround_hours"]
            df = data.series(db, ver, "turnaround_hours", f, ("process", "priority"), None)
            if df["value"].notna().any():
                fig = charts.bars(df.dropna(subset=["value"]), kpi, "process", colour_by="priority",
                                  title="Median turnaround by process and priority over the range")
                widgets.chart(fig, df, "turnaround_by_process_priority", f, key="sla_tat")
            else:
                widgets.no_data(kpi.label, f)
