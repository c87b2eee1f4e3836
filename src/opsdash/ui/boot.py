"""Pages always run inside app.py's navigation (shared filters, page titles, sections).

Streamlit keeps an older multipage mode for apps with a ``pages/`` folder: until some session has called
``st.navigation``, a link straight to a page (``/claims?vendor=...``) opened first on a fresh server runs
that page's file alone, without app.py. A page that finds itself run that way switches the old mode off
and reruns, so app.py runs and shows the same page with everything around it.
"""

from __future__ import annotations

import streamlit as st

IN_APP = "_in_app"
PAGE = "_page_title"  # for the audit trail


def in_app() -> None:
    if st.session_state.get(IN_APP):
        return
    try:
        from streamlit.runtime.pages_manager import PagesManager
    except ImportError:  # a Streamlit without the old mode
        return
    if PagesManager.uses_pages_directory:
        PagesManager.uses_pages_directory = False
        st.rerun()


def log_run(page: str, seconds: float) -> None:
    """For the load test: append the page's server-side run time to $OPSDASH_RUN_LOG (unset: nothing)."""
    import json
    import os

    target = os.environ.get("OPSDASH_RUN_LOG")
    if target:
        with open(target, "a", encoding="utf-8") as f:
            f.write(json.dumps({"page": page, "seconds": round(seconds, 4)}) + "\n")
