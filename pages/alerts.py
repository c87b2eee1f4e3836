"""Alerts: the signals raised for the vendors this user may see, with their evidence; acknowledge one with a
note; for admins, the outbox of every message and how its sending went."""

import json

import pandas as pd
import streamlit as st

from opsdash import audit, catalog, charts, labels
from opsdash.alerts.evaluate import STATE_WORDS
from opsdash.alerts.rules import BY_ID
from opsdash.ui import auth, boot, data, widgets
from opsdash.ui.text import md

#: Each state by colour and by word (st.badge colours; the word is what a colour-blind reader goes by).
STATE_BADGES = {"new": ("orange", ":material/notifications_active:"), "sent": ("blue", ":material/send:"),
                "acknowledged": ("green", ":material/check_circle:")}

boot.in_app()
st.title("Alerts")
who = auth.grant()
store = data.require()
src = data.source()
ver: tuple = ()
with widgets.guard("the alerts"):
    ver = data.alerts_version()
st.caption("Each signal worth acting on is raised once, under its rule, vendor, subject and period, by "
           "`opsdash alerts run` (run it from cron or a systemd timer; docs/alerts.md lists the rules). Subscribers "
           "hear of it by e-mail or webhook, never of a vendor they may not see here. New: not yet sent to anyone; "
           "sent: in a message that went; acknowledged: someone here said it is in hand.")
if "al_flash" in st.session_state:
    st.success(st.session_state.pop("al_flash"))

shown = pd.DataFrame()
with widgets.guard("the alerts"):
    shown = data.alerts(src, ver)
if not who.admin and "vendor" in shown:  # alerts about loads and their files are for admins, as the Loads and
    shown = shown[shown["vendor"].notna()]  # rejects page is
if shown.empty:
    st.info("No alert has been raised for the vendors you may see. `opsdash alerts run` raises them from the "
            "store as it stands.")
else:
    # Newest first; of one run's alerts, in the rules' order (SPC signals first, as in docs/alerts.md).
    order = {r: i for i, r in enumerate(BY_ID)}
    shown = (shown.assign(_rule=shown["rule"].map(order))
             .sort_values(["raised_at", "_rule"], ascending=[False, True], kind="stable").drop(columns="_rule"))
    counts = shown["state"].value_counts()
    st.markdown("&nbsp;&nbsp;".join(
        f":{STATE_BADGES[state][0]}-badge[{STATE_BADGES[state][1]} {int(counts.get(state, 0)):,} {word.lower()}]"
        for state, word in STATE_WORDS.items()))

    table = pd.DataFrame({
        "raised_at": shown["raised_at"], "state": shown["state"].map(STATE_WORDS),
        "rule": shown["rule"].map(lambda r: BY_ID[r].label if r in BY_ID else r),
        "vendor": shown["vendor"].fillna("(loads)"), "title": shown["title"],
        "acked_by": shown["acked_by"], "ack_note": shown["ack_note"]})
    widgets.table(table, "alerts", {}, "Alerts", key="al_table", labels=True,
                  kinds={"raised_at": "timestamp", "state": "text", "rule": "text", "title": "text", "acked_by": "text",
                         "ack_note": "text"},
                  headers={"raised_at": "Raised (UTC)", "rule": "Rule", "title": "Alert", "acked_by": "Acknowledged by",
                           "ack_note": "Note"})

    st.subheader("Evidence")
    keys = list(shown["key"])
    by_key = shown.set_index("key")
    pick = st.selectbox("Alert", keys, key="al_pick",
                        format_func=lambda k: f"{STATE_WORDS.get(by_key.at[k, 'state'], '')} · {by_key.at[k, 'title']}")
    if pick is not None:
        a = by_key.loc[pick]
        colour, icon = STATE_BADGES.get(a["state"], ("gray", None))
        st.badge(STATE_WORDS.get(a["state"], str(a["state"])), color=colour, icon=icon)
        st.markdown(f"**{md(a['title'])}**")
        st.write(md(a["words"]))
        evidence = json.loads(a["evidence"] or "{}")
        figures = pd.DataFrame(evidence.get("figures", []), columns=["label", "shown"])
        if len(figures):
            st.dataframe(figures.rename(columns={"label": "Figure", "shown": "Value"}), hide_index=True,
                         key="al_figures")
        spc = evidence.get("chart")
        if spc and spc.get("kpi") in catalog.KPIS:
            kpi = catalog.KPIS[spc["kpi"]]
            frame = pd.DataFrame({c: spc[c] for c in ("value", "mean", "lpl", "upl", "point_type", "coarse") if c in spc})
            frame = frame.astype({c: float for c in ("value", "mean", "lpl", "upl") if c in frame})
            when = pd.to_datetime(pd.Series(spc["periods"]))
            fig = charts.spc(frame, list(when), kpi, target=spc.get("target"),
                             title=f"{kpi.label} of {a['vendor']}: the chart as the alert was raised")
            widgets.chart(fig, frame.assign(period_start=when), "alert_chart", {}, key="al_chart", unit=kpi.unit)
        if pd.notna(a["acked_by"]):
            st.caption(f"Acknowledged by {md(a['acked_by'])} on {labels.timestamp(a['acked_at'])} (UTC): "
                       f"{md(a['ack_note'] or 'no note')}")
        with st.form("al_ack", clear_on_submit=True):
            note = st.text_input("Note (what is being done, who has it)", key="al_note", max_chars=500)
            done = st.form_submit_button("Acknowledge", type="primary", icon=":material/check:")
        if done:
            if not note.strip():
                st.warning("Say in a note what is being done about it.")
            else:
                with widgets.guard("acknowledging the alert"):
                    n = data.acknowledge_alert(pick, who.user, note.strip())
                    data.record(audit.Event(user_name=who.user, role=who.role, action="alert_ack", page="Alerts",
                                            what=f"acknowledged: {a['title']}", row_count=n))
                    st.session_state["al_flash"] = "Acknowledged." if n else "That alert is no longer in the store."
                    st.rerun()

if who.admin:
    st.subheader("Outbox")
    st.caption("Every message is written here before it is sent. Failed: tried again with backoff by the next "
               "runs; withheld: its person may no longer see what it holds (the reason is the last error); dead: "
               "given up after its last try or refused for good.")
    box = pd.DataFrame()
    with widgets.guard("the outbox"):
        box = data.outbox(src, ver)
    if box.empty:
        st.info("No message has been written yet.")
    else:
        widgets.table(box, "outbox", {}, "Outbox", key="al_outbox", labels=True,
                      kinds={"created_at": "timestamp", "next_try": "timestamp", "sent_at": "timestamp",
                             "attempts": "count", "subject": "text", "recipient": "text", "last_error": "text",
                             "state": "code"})
