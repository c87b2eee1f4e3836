"""Quality: error, accuracy and critical-error rates by vendor and process, error categories, SPC by process."""

import streamlit as st

from opsdash import catalog, charts, labels, views
from opsdash.ui import data, filters, icons, sections, widgets
from opsdash.ui.text import md

st.title("Quality")
store = data.require()
f = filters.page_dims(filters.current(), "qa_audits", ["process", "error_category"])
db, ver = data.source(), data.version()
universe = data.vendors(db, ver)
RATES = ("error_rate", "accuracy_rate", "critical_error_rate")

rates, categories = sections.tabs("pages/quality.py")
with rates:
    if rates.open:
        st.subheader("Rates by vendor and process")
        with widgets.guard("quality rates"):
            kpi_id = st.segmented_control("Rate", RATES, default="accuracy_rate", required=True, key="qa_rate",
                                          format_func=lambda k: catalog.KPIS[k].label)
            kpi = catalog.KPIS[kpi_id]
            st.caption(labels.prose(kpi.description))
            df = data.series(db, ver, kpi_id, f, ("vendor", "process"), None)
            if df["value"].notna().any():
                fig = charts.bars(df.dropna(subset=["value"]), kpi, "process", colour_by="vendor", universe=universe,
                                  target=kpi.target, title=f"{kpi.label} by process and vendor over the range")
                widgets.chart(fig, df, f"{kpi_id}_by_vendor_process", f, key="qa_bars")
            else:
                widgets.no_data(kpi.label, f)

        st.subheader("SPC of one process")
        with widgets.guard("the SPC chart"):
            processes = data.dimension_values(db, ver, "qa_audits", "process")
            if processes:
                process = st.selectbox("Process", processes, key="qa_process", format_func=labels.value_word)
                one = f.with_extra(process=(process,))
                view = data.spc_view(db, ver, kpi_id, one, kpi.target)
                if view.has_data:
                    st.caption(md(view.words()))
                    fig = charts.spc(view.chart, view.series["period_start"], kpi, target=view.target, events=view.events,
                                     title=views.spc_title(view, labels.value_word(process)))
                    widgets.chart(fig, view.frame, f"{kpi_id}_{process}_spc", one, key="qa_spc")
                    icons.reading(view)
                    icons.legend()
                else:
                    widgets.no_data(f"{kpi.label} of {labels.value_word(process)}", one)
with categories:
    if categories.open:
        widgets.pareto("audits_with_errors", "error_category", f, "Error categories (Pareto) of audits with errors",
                       "qa_pareto")
