"""opsdash dashboard entry point: page config, sign-in, the shared filters and navigation."""

import time

import streamlit as st

from opsdash.dashboard import PAGES
from opsdash.ui import auth, boot, data, filters, widgets

st.set_page_config(page_title="opsdash", page_icon=":material/monitoring:", layout="wide")

grant = auth.sign_in()  # stops here until someone with access is signed in (or in local mode)
pages: dict[str, list] = {}
for p in PAGES:
    if auth.allowed(p.access, grant):  # a page a role may not see is not in its navigation, nor at its address
        pages.setdefault(p.section, []).append(st.Page(p.file, title=p.title, icon=p.icon, default=p.default))
page = st.navigation(pages)
auth.banner(grant)
store = data.store()
if store is not None:
    filters.sidebar(store)
    widgets.outside_notice(grant.admin)
st.session_state[boot.IN_APP] = True  # pages check it (see ui/boot.py)
st.session_state[boot.PAGE] = page.title
started = time.perf_counter()
try:
    page.run()
finally:
    st.session_state[boot.IN_APP] = False
    boot.log_run(page.title, time.perf_counter() - started)  # only when OPSDASH_RUN_LOG names a file
