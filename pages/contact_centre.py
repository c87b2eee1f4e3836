"""Contact centre: service level, abandonment, speed of answer, handle time and first-contact resolution by
vendor and queue; volume and service level by hour and weekday; thresholds adjustable."""

import streamlit as st

from opsdash import catalog, charts, labels
from opsdash.ui import data, filters, sections, widgets

st.title("Contact centre")
store = data.require()
f = filters.page_dims(filters.current(), "calls", ["queue"])
db, ver = data.source(), data.version()
universe = data.vendors(db, ver)

with st.sidebar:
    filters.vet("answer_s", filters.whole_number(0, 600), "a whole number of seconds from 0 to 600")
    filters.vet("short_s", filters.whole_number(0, 60), "a whole number of seconds from 0 to 60")
    answer = st.number_input("Answer threshold (seconds)", min_value=0, max_value=600,
                             value=int(catalog.ANSWER_THRESHOLD_S), step=5,
                             key="answer_s", bind="query-params")
    short = st.number_input("Short-abandon window (seconds)", min_value=0, max_value=60,
                            value=int(catalog.SHORT_ABANDON_S), step=1,
                            key="short_s", bind="query-params")
st.info(f"**Service level** = calls answered within {answer} s ÷ calls answered or abandoned, leaving out calls "
        f"abandoned within {short} s (the ICMI formula). **Abandonment** = calls abandoned ÷ calls answered or "
        "abandoned, same exclusion. Both thresholds can be changed in the sidebar.")
thr = {"answer_threshold_s": float(answer), "short_abandon_s": float(short)}

CALL_KPIS = ("service_level", "abandonment_rate", "average_speed_of_answer_s", "average_handle_time_s",
             "first_contact_resolution_rate")
queues, hours = sections.tabs("pages/contact_centre.py")
with queues:
    if queues.open:
        with widgets.guard("call KPIs"):
            kpi_id = st.segmented_control("KPI", CALL_KPIS, default="service_level", required=True, key="cc_kpi",
                                          format_func=lambda k: catalog.KPIS[k].label)
            kpi = catalog.KPIS[kpi_id]
            st.caption(labels.prose(kpi.description))
            widgets.vendor_trend(kpi_id, f, "cc_trend", target=kpi.target, drill=True, **thr)
            by_queue = data.series(db, ver, kpi_id, f, ("vendor", "queue"), None, **thr)
            if by_queue["value"].notna().any():
                fig = charts.bars(by_queue.dropna(subset=["value"]), kpi, "queue", colour_by="vendor", universe=universe,
                                  target=kpi.target, title=f"{kpi.label} by queue and vendor over the range")
                widgets.chart(fig, by_queue, f"{kpi_id}_by_queue", f, key="cc_queue")
with hours:
    if hours.open:
        with widgets.guard("calls by hour"):
            grid = data.calls_by_hour(db, ver, f, float(answer), float(short))
            if grid.empty:
                widgets.no_data("calls", f)
            else:
                left, right = st.columns(2)
                with left:
                    widgets.chart(charts.hour_weekday(grid, "offered", title="Calls offered by weekday and hour",
                                                      value_title="Calls offered (count)", fraction=False),
                                  grid, "calls_by_hour", f, key="cc_hour_volume")
                with right:
                    widgets.chart(charts.hour_weekday(grid, "service_level", title=f"Service level ({answer} s) by weekday and hour",
                                                      value_title="Service level (%)", fraction=True),
                                  grid, "service_level_by_hour", f, key="cc_hour_sl")
