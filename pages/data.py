"""Data: the KPI glossary and a raw-record explorer under the sidebar filters."""

import streamlit as st

from opsdash import contract, labels, views
from opsdash.ui import auth, data, filters, widgets

st.title("Data")
store = data.require()
f = filters.current()
db, ver = data.source(), data.version()

glossary_tab, raw_tab = st.tabs(["KPI glossary", "Raw records"])
with glossary_tab:
    glossary = views.glossary_table()
    # People read the KPI's label; its id (for analysts writing SQL or settings) is in the downloads.
    widgets.table(glossary.drop(columns=["id"]), "kpi_glossary", {}, "KPI glossary", key="dt_glossary",
                  full=lambda: glossary, labels=True)

MAX_DOWNLOAD = 5_000_000  # rows in a raw CSV download
MAX_XLSX = 1_000_000  # Excel's sheet holds 1,048,576 rows
with raw_tab:
    table = st.selectbox("Table", list(contract.LISTED_BY), format_func=lambda t: contract.TABLES[t].label, key="dt_table")
    with widgets.guard("raw records"):
        rows, total = data.raw_rows(db, ver, table, f)
        st.caption(f"{total:,} rows match the sidebar filters (by {labels.column(contract.LISTED_BY[table]).label.lower()})"
                   + (f"; the latest {len(rows):,} are shown, the downloads hold all {total:,}" if total > len(rows)
                      else "") + ".")
        if table == "staffing" and f.end is None and len(rows):
            st.caption(f"Plans run ahead of the data, and the date range is open at its end: the plans' weeks "
                       f"ahead, to {labels.date(rows['interval_start'].max())}, are listed too.")
        raw_downloads = auth.grant().raw_downloads
        if rows.empty:
            widgets.no_data(contract.TABLES[table].label.lower(), f)
        else:
            widgets.table(rows, f"raw_{table}", f, f"Raw {table}", key="dt_raw", xlsx=total <= MAX_XLSX,
                          full=lambda: data.all_raw_rows(db, table, f, MAX_DOWNLOAD),
                          downloadable=raw_downloads, labels=True)
            if not raw_downloads:
                st.caption(":material/lock: Your role does not include raw-record downloads; the figures on the "
                           "other pages can be downloaded. Ask the opsdash administrator if you need the records.")
