"""Audit trail (admins): who signed in, downloaded, uploaded or made a review pack; never row data."""

import streamlit as st

from opsdash.ui import auth, data, widgets

st.title("Audit trail")
st.caption("Every sign-in (and refusal), download, upload and review pack, newest first. Events hold the page, "
           "file name, filters and row count, never the rows themselves.")
auth.require_admin("Audit records")
store = data.require()
pending = data.pending_events()
trail = data.audit_trail(data.source(), data.audit_version())
if pending:
    st.info(f"{pending:,} recent event(s) are kept beside the store and join this table at its next write.")
if trail.empty:
    st.info("No events recorded yet.")
else:
    widgets.table(trail, "audit_trail", {}, "Audit trail", key="au_trail", labels=True,
                  kinds={"When (UTC)": "timestamp", "Rows": "count"})
