"""A page in sections: tabs of which only the open one runs, bound to the URL (a view is a link)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import streamlit as st

from opsdash import dashboard
from opsdash.ui import filters


def tabs(page: str) -> Sequence[Any]:
    """The sections of `page` (dashboard.SECTIONS) as tabs; each tab's ``.open`` says whether to draw it. A link
    naming no section of the page opens the first, with a notice."""
    key, names = dashboard.SECTIONS[page]
    filters.vet(key, filters.one_of(names), "one of the page's sections: " + ", ".join(names))
    return st.tabs(list(names), key=key, bind="query-params")
