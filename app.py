"""opsdash dashboard entry point: page config, theme and navigation."""

import streamlit as st

st.set_page_config(page_title="opsdash", page_icon=":material/monitoring:", layout="wide")

pages = {
    "Data": [st.Page("pages/loads.py", title="Loads and rejects", icon=":material/upload_file:", default=True)],
}
st.navigation(pages).run()
