"""What has been loaded: rows per table, every load with its lineage, and the rejected rows."""

import streamlit as st

from opsdash.contract import TABLES
from opsdash.ui import data, widgets

st.title("Loads and rejects")
st.caption("Every file loaded into the store, with what was kept, rejected and dropped.")
store = data.require()
db, ver = data.source(), data.version()
counts = data.row_counts(db, ver)
for col, (table, n) in zip(st.columns(len(counts)), counts.items()):
    col.metric(TABLES[table].label, f"{n:,}", help=f"rows stored in `{table}`: {TABLES[table].description}")
st.subheader("Loads")
widgets.table(data.load_history(db, ver), "loads", {}, "Loads", key="ld_loads")
st.subheader("Rejected rows")
rejects = data.rejected_rows(db, ver)
if rejects.empty:
    st.success("No rejected rows.")
else:
    widgets.table(rejects, "rejects", {}, "Rejected rows", key="ld_rejects")
