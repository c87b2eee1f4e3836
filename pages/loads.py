"""What has been loaded: rows per table, every load with its counts, and the rejected rows."""

import streamlit as st

from opsdash.contract import TABLES
from opsdash.store import default_db_path
from opsdash.ui import data

st.title("Loads and rejects")
st.caption("Every file loaded into the store, with what was kept, rejected and dropped.")

if data.store() is not None:
    path = str(default_db_path())
    counts = data.row_counts(path)
    for col, (table, n) in zip(st.columns(len(counts)), counts.items()):
        col.metric(TABLES[table].label, f"{n:,}", help=f"rows stored in `{table}`: {TABLES[table].description}")
    st.subheader("Loads")
    st.dataframe(data.load_history(path), hide_index=True, use_container_width=True)
    st.subheader("Rejected rows")
    rejects = data.rejected_rows(path)
    if rejects.empty:
        st.success("No rejected rows.")
    else:
        st.dataframe(rejects, hide_index=True, use_container_width=True)
