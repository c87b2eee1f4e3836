"""opsdash dashboard entry point: page config, sign-in, the shared filters and navigation."""

import logging
import time
from importlib import resources

import streamlit as st

from opsdash.dashboard import PAGES
from opsdash.ui import auth, boot, data, filters, widgets

# The page icon is a file of the package, sent inline: a Material icon name here would make every browser fetch the
# icon from fonts.gstatic.com, and nothing may leave a hospital's network.
st.set_page_config(page_title="opsdash", page_icon=str(resources.files("opsdash.ui") / "icon.svg"), layout="wide")

grant = auth.sign_in()  # stops here until someone with access is signed in (or in local mode)
pages: dict[str, list] = {}
for p in PAGES:
    if auth.allowed(p.access, grant):  # a page a role may not see is not in its navigation, nor at its address
        pages.setdefault(p.section, []).append(st.Page(p.file, title=p.title, icon=p.icon, default=p.default))
page = st.navigation(pages)
auth.banner(grant)
store = data.store()
if store is not None:
    if next((p.filters for p in PAGES if p.title == page.title), True):  # not drawn where they change nothing
        filters.sidebar(store)
    widgets.outside_notice(grant.admin)
st.session_state[boot.IN_APP] = True  # pages check it (see ui/boot.py)
st.session_state[boot.PAGE] = page.title
started = time.perf_counter()
try:
    page.run()
except Exception:  # noqa: BLE001 - st.stop and st.rerun are not Exceptions, so they pass
    # Sections guard themselves; this is the net under them: a plain message here, the details in the log.
    logging.getLogger("opsdash").exception("page %s failed", page.title)
    st.error("This page could not be shown because of an unexpected error. The details are in the dashboard's "
             "log; the other pages still work.", icon=":material/error:")
finally:
    st.session_state[boot.IN_APP] = False
    boot.log_run(page.title, time.perf_counter() - started)  # only when OPSDASH_RUN_LOG names a file
