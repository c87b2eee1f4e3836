"""What has been loaded: rows per table, every load with its lineage, and the rejected rows."""

import streamlit as st

from opsdash import catalog
from opsdash.contract import TABLES
from opsdash.ui import data, widgets

st.title("Loads and rejects")
st.caption("Every file loaded into the store, with what was kept, rejected and dropped.")
store = data.require()
db, ver = data.source(), data.version()
counts = data.row_counts(db, ver)
items = list(counts.items())
for start in range(0, len(items), widgets.METRICS_PER_ROW):  # a few per row, so every title reads whole
    row = items[start:start + widgets.METRICS_PER_ROW]
    for col, (table, n) in zip(st.columns(widgets.METRICS_PER_ROW), row):
        col.metric(TABLES[table].label, f"{n:,}", help=f"rows stored in `{table}`: {TABLES[table].description}")
st.subheader("Loads")
widgets.table(data.load_history(db, ver), "loads", {}, "Loads", key="ld_loads", labels=True,
              kinds={"Table": "code", "Load": "count", "Rows read": "count", "Loaded": "count", "Rejected": "count", "Replaced": "count", "Loaded at": "timestamp"})
outside, _per_table = data.outside_window(db, ver)
if not outside.empty:
    st.subheader("Rows left out: dates outside the reported range")
    st.caption(f"Stored rows with a date or time outside {catalog.WINDOW_WORDS} are in no figure, chart or download "
               "(new loads reject such values). By table, column and load, with the earliest and latest value as "
               "stored; correct the export and load it again, or remove the load.")
    widgets.table(outside, "rows_outside_dates", {}, "Rows left out: dates outside the reported range",
                  key="ld_outside", xlsx=False, labels=True, kinds={"column": "column", "load": "count"})
st.subheader("Rejected rows")
rejects = data.rejected_rows(db, ver)
if rejects.empty:
    st.success("No rejected rows.")
else:
    widgets.table(rejects, "rejects", {}, "Rejected rows", key="ld_rejects", labels=True,
                  kinds={"Load": "count", "Line": "count", "Column": "column", "Kind": "code",
                         "Reason": "prose"})
