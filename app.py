"""opsdash dashboard entry point: page config, theme, the shared filters and navigation."""

import streamlit as st

from opsdash.ui import data, filters

st.set_page_config(page_title="opsdash", page_icon=":material/monitoring:", layout="wide")

pages = {
    "Executive": [
        st.Page("pages/overview.py", title="Overview", icon=":material/dashboard:", default=True),
    ],
    "Operations": [
        st.Page("pages/claims.py", title="Claims", icon=":material/receipt_long:"),
        st.Page("pages/quality.py", title="Quality", icon=":material/fact_check:"),
        st.Page("pages/sla.py", title="SLA & contracts", icon=":material/handshake:"),
        st.Page("pages/contact_centre.py", title="Contact centre", icon=":material/support_agent:"),
    ],
    "Account management": [
        st.Page("pages/scorecard.py", title="Vendor scorecard", icon=":material/assignment:"),
    ],
    "Data": [
        st.Page("pages/data.py", title="Data", icon=":material/database:"),
        st.Page("pages/loads.py", title="Loads and rejects", icon=":material/history:"),
        st.Page("pages/upload.py", title="Upload", icon=":material/upload_file:"),
    ],
}
page = st.navigation(pages)
store = data.store()
if store is not None:
    filters.sidebar(store)
page.run()
