"""opsdash dashboard entry point: page config, theme, the shared filters and navigation."""

import streamlit as st

from opsdash.dashboard import PAGES
from opsdash.ui import boot, data, filters

st.set_page_config(page_title="opsdash", page_icon=":material/monitoring:", layout="wide")

pages: dict[str, list] = {}
for p in PAGES:
    pages.setdefault(p.section, []).append(st.Page(p.file, title=p.title, icon=p.icon, default=p.default))
page = st.navigation(pages)
store = data.store()
if store is not None:
    filters.sidebar(store)
st.session_state[boot.IN_APP] = True  # pages check it (see ui/boot.py)
try:
    page.run()
finally:
    st.session_state[boot.IN_APP] = False
