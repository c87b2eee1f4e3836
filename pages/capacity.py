"""Capacity: what is coming for one vendor, 13 weeks from its data cut-off - volume forecasts with their ranges
and backtest accuracy, contact-centre agents needed against the plan, back-office backlogs against the
contract's levels. Status first."""

import streamlit as st

from opsdash import catalog, charts, labels
from opsdash.capacity import backoffice, contact, outlook
from opsdash.ui import data, filters, sections, widgets
from opsdash.ui.text import md

st.title("Capacity")
store = data.require()
db, ver = data.source(), data.version()
vendors = data.require_vendors(db, ver)
vendor = filters.vendor_box(st, vendors, filters.current(), "cap_vendor")
o = None
with widgets.guard(f"the outlook of {vendor}"):
    o = data.outlook(db, ver, vendor, outlook.FINGERPRINT)
if o is None:
    st.stop()
st.caption(f"{md(vendor)}: 13 weeks ahead from its data cut-off, {labels.date(o.cut)}. Every forecast is backtested "
           "on its own history and its accuracy is shown beside it. Staff needs come from the contract's service "
           "levels in force; plans from the vendor's staffing files. \"Busy weeks\" is a stress test: every week's "
           "volume at the top of its 80% forecast range (a run of such weeks is rarer than any one of them).")

ICONS = {"miss": ":red-badge[:material/error: Projected to miss]",
         "busy": ":orange-badge[:material/warning: At risk in busy weeks]",
         "ok": ":green-badge[:material/check_circle: On target]",
         "unknown": ":gray-badge[:material/help: Not judged]"}
with widgets.guard("the outlook"):
    heads = outlook.headlines(o)
    if not heads:
        st.info(f"No staffing plan of {md(vendor)} reaches past its data cut-off, so no staffing can be judged. "
                "Load its staffing plans (data contract: staffing) to see them here.")
    for h in heads:
        st.markdown(f"{ICONS[h.status]} **{md(labels.value_word(h.what))}** ({h.part}): {md(h.words)}")

work, calls, office = sections.tabs("pages/capacity.py")
with work:
    if work.open:
        with widgets.guard("the forecasts"):
            codes = outlook.series_codes(o)
            if not codes:
                st.info(f"No volumes of {md(vendor)} to forecast.")
            else:
                c1, c2 = st.columns([3, 1])
                code = filters.linked_selectbox(c1, "Volume", codes, key="cap_series", words=outlook.series_words,
                                                expected="one of the vendor's volumes, e.g. " + codes[0])
                filters.vet("cap_grain", filters.one_of(["week", "day"]), "week or day")
                grain = c2.segmented_control("Forecast by", ["week", "day"], default="week", required=True,
                                             key="cap_grain", bind="query-params") or "week"
                picked = outlook.pick(o, code or codes[0], grain)
                if picked is None:
                    st.info(f"No {grain}ly forecast of this volume.")
                else:
                    kpi_id, hist, fc = picked
                    kpi = catalog.KPIS[kpi_id]
                    if fc.status != "ok":
                        st.info(md(fc.reason))
                    else:
                        words = outlook.series_words(code or codes[0])
                        lines = outlook.accuracy_words(fc)
                        st.markdown(f"**How accurate:** {md(lines[1])}")
                        fig = charts.forecast(hist, fc.points, title=f"{words}: measured and forecast by {grain}",
                                              y_title=f"{kpi.label} ({kpi.unit})", grain=grain)
                        widgets.chart(fig, outlook.forecast_frame(fc), f"forecast_{kpi_id}_{grain}", {}, key="cap_fc")
                        for line in (lines[0], *lines[2:]):
                            st.caption(md(line))

with calls:
    if calls.open:
        with widgets.guard("contact-centre staffing"):
            queues = o.queues
            if not queues:
                st.info(f"No contact-centre plan of {md(vendor)} after its data cut-off.")
            else:
                q = queues[filters.linked_choice(st, "Queue", [q.queue for q in queues], "cap_queue",
                                                 labels.value_word, "vendor's queues")]
                for note in q.notes:
                    st.caption(md(note))
                if not q.intervals.empty:
                    weekly = contact.weekly_summary([q])
                    fig = charts.staffing(weekly, title=f"Agent-hours per week, {labels.value_word(q.queue)}")
                    widgets.chart(fig, weekly, f"staffing_{q.queue}", {}, key="cap_staff")
                    st.caption(md(outlook.queue_words(q)))
                    widgets.table(outlook.queue_table(weekly), f"staffing_weeks_{q.queue}", {},
                                  "Contact-centre staffing by week", key="cap_staff_weeks", labels=True, grain="week",
                                  full=lambda: q.intervals)

with office:
    if office.open:
        with widgets.guard("the back-office projection"):
            projected = o.projections
            if not projected:
                st.info(f"No back-office plan of {md(vendor)} after its data cut-off.")
            else:
                p = projected[filters.linked_choice(st, "Process", [p.process for p in projected], "cap_process",
                                                    labels.value_word, "vendor's processes")]
                st.markdown(f"**{md(labels.value_word(p.process))}**: {md(backoffice.summary_words(p))}")
                for note in p.notes:
                    st.caption(md(note))
                if not p.daily.empty:
                    st.caption(md(outlook.projection_words(p)))
                    fig = charts.backlog(p.daily, title=f"Items open ahead, {labels.value_word(p.process)}")
                    widgets.chart(fig, p.daily, f"backlog_{p.process}", {}, key="cap_backlog")
                    if not p.months.empty:
                        widgets.table(outlook.levels_frame(p), f"levels_{p.process}", {},
                                      "Contract levels projected by month", key="cap_levels", labels=True,
                                      kinds={"target": "percent"})
