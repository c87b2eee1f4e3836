"""Events (admins): the log of what happened to the vendors' work, drawn on every chart; add or remove one."""

import datetime as dt
import tempfile
from pathlib import Path

import pandas as pd
import streamlit as st

from opsdash import annotations, audit, catalog, labels, views
from opsdash.ui import auth, boot, data, widgets
from opsdash.ui.text import md

boot.in_app()
st.title("Events")
who = auth.require_admin("Events")
store = data.require()
db, ver = data.source(), data.version()
st.caption("Go-lives, outages, contract changes: each is drawn as a vertical line on every chart of its vendor "
           "(and of its KPI or process, when it names one) and listed in the vendor's review pack. Mark an event "
           "as a process change only when the way the work is done changed: SPC limits are then recalculated "
           "from the period it falls in (Making Data Count: only at a known change, never automatically). "
           "Events also load from files like any export (the events table of the data contract).")

if "ev_flash" in st.session_state:
    st.success(st.session_state.pop("ev_flash"))
log = pd.DataFrame(columns=list(views.EVENT_COLUMNS))
with widgets.guard("the events"):
    log = data.events(db, ver, views.Filters())
    if log.empty:
        st.info("No events recorded yet.")
    else:
        widgets.table(log, "events", {}, "Events", key="ev_table", xlsx=False, labels=True)

st.subheader("Add an event")
vendors: list[str] = []
with widgets.guard("the vendors"):
    vendors = data.vendors(db, ver)
# What the event concerns is picked outside the form, so the processes offered follow the KPI picked.
by_vendor, by_kpi, by_process = st.columns(3)
vendor = by_vendor.selectbox("Vendor", vendors, key="ev_vendor")
kpi = by_kpi.selectbox("KPI (optional)", ["", *catalog.KPIS], key="ev_kpi",
                       format_func=lambda k: catalog.KPIS[k].label if k else "every KPI")
codes: list[str] | None = []
with widgets.guard("the processes and queues"):
    codes = data.process_codes(db, ver, kpi or None)
processes = ["", *(codes or [])]
if st.session_state.get("ev_process") not in processes:  # a process of the KPI picked before
    st.session_state["ev_process"] = ""
process = by_process.selectbox(
    "Process or queue (optional)", processes, key="ev_process", disabled=len(processes) == 1,
    format_func=lambda p: labels.value_word(p) if p else "every process or queue",
    help=(f"{catalog.KPIS[kpi].label} is measured on records without a process or queue." if codes is None else
          "The processes and queues in the records" + (f" of {catalog.KPIS[kpi].label}" if kpi else "")
          + ". An event of one is drawn on the charts of that one (and of every process); empty, on every chart."))
with st.form("ev_add", clear_on_submit=True):
    when = st.date_input("Date it happened or took effect", value=dt.date.today(), key="ev_date",
                         min_value=catalog.READ_FROM, max_value=catalog.READ_TO)
    what = st.text_input("What happened", key="ev_text", max_chars=300)
    change = st.checkbox("Process change: recalculate SPC limits from here", key="ev_change")
    added = st.form_submit_button("Add event", type="primary", icon=":material/add:")
if added:
    if not vendor or not what.strip():
        st.warning("Name the vendor and say what happened.")
    else:
        with widgets.guard("adding an event"), tempfile.TemporaryDirectory(prefix="opsdash-event-") as tmp:
            path = annotations.write_entry(Path(tmp), annotations.entry_csv(
                vendor, when, kpi or None, process or None, what.strip(), change))
            report, = data.load_in_worker([path], None, who.user)
            data.record(audit.Event(user_name=who.user, role=who.role, action="event_edit", page="Events",
                                    what=f"added an event of {vendor} on {when:%Y-%m-%d}: {report.status}",
                                    row_count=report.rows_loaded if report.load_id else None,
                                    load_ids=(report.load_id,) if report.load_id else ()))
            if report.status == "loaded" and report.rows_loaded:
                st.success(f"Event added for {md(vendor)} on {when:%d %b %Y}.")
                for warning in report.warnings:
                    st.warning(md(warning), icon=":material/warning:")
            else:
                st.error(f"The event was not added: {md(report.message or 'its row was rejected')}. The Loads and "
                         "rejects page shows why.")

st.subheader("Remove an event")
with widgets.guard("removing an event"):
    if not log.empty:
        # The options are the events' keys, so the one picked is the one removed, even when the log changed
        # meanwhile or another event of the vendor falls on the same day.
        keys = [annotations.EventKey.of(r) for r in log.to_dict("records")]
        pick = st.selectbox("Event", keys, key="ev_remove_pick",
                            format_func=lambda k: f"{labels.date(k.event_date)} · {k.vendor} · {k.description} "
                                                  f"({labels.value_word(k.kpi) if k.kpi else 'every KPI'}, "
                                                  f"{labels.value_word(k.process) if k.process else 'every process'})")
        if st.button("Remove event", key="ev_remove", icon=":material/delete:") and pick is not None:
            n = data.remove_event(pick)
            data.record(audit.Event(user_name=who.user, role=who.role, action="event_edit", page="Events",
                                    what=f"removed the event of {pick.vendor} on {pick.event_date:%Y-%m-%d} "
                                         f"(KPI {pick.kpi or 'any'}, process {pick.process or 'any'})",
                                    row_count=n))  # never its description: the audit trail holds no row data
            st.session_state["ev_flash"] = f"Removed {n} event(s)."
            st.rerun()
    else:
        st.caption("Nothing to remove.")
