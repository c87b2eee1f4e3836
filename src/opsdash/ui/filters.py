"""The sidebar filters every page shares, bound to the URL so a filtered view is a link that reopens as it was.

Widget keys are the URL's parameter names: ``dates`` (two ISO dates), ``grain``, ``vendor`` and ``facility``
(repeated for several values), and per page its own dimensions (``payer``, ``process``, ``queue`` ...).
Drill-down callbacks narrow the same keys, so a narrowed view is a link too.
"""

from __future__ import annotations

import datetime as dt
import html
import math
from collections.abc import Callable, Sequence
from typing import Any

import pandas as pd
import streamlit as st

from opsdash import catalog, periods, queries, views
from opsdash.store import Store
from opsdash.ui import data
from opsdash.ui.text import md
from opsdash.views import Filters

GRAIN_WORDS = periods.GRAINS


@st.cache_data(show_spinner=False, max_entries=20)
def _bounds(db: data.Source, ver: tuple) -> tuple[dt.date, dt.date] | None:
    """The first and last event dates of the rows the pages report on (inside catalog.READ_FROM..READ_TO)."""
    return queries.event_bounds(data._store(db))


# -- links are input: every value in the address is checked before a widget reads it ------------------

def vet(key: str, ok: Callable[[str], bool], expected: str, whole: bool = False, echo: bool = True) -> None:
    """Before the widget bound to `key` reads the address: values that fail `ok` are dropped from it, so the
    widget takes its default (or the values left), and a small notice says what was ignored. A crafted link
    (``answer_s=inf``, a date in year 10000, text that is not an option) never reaches a widget."""
    if key not in st.query_params:
        return
    values = st.query_params.get_all(key)
    bad = [v for v in values if not _safe_ok(ok, v)]
    if not bad:
        return
    good = [] if whole else [v for v in values if v not in bad]  # whole: the values only make sense together
    if good:
        st.query_params[key] = good
    else:
        del st.query_params[key]
    _seed_from(key, good)
    bad = list(dict.fromkeys(bad))
    # Names (vendors, payers...) are not repeated: a link naming a vendor outside the reader's scope shows
    # nothing of it, and "not among the values you can see" says the same whether or not it exists.
    shown = (", ".join(md(v[:60]) for v in bad[:3]) + (" …" if len(bad) > 3 else "") if echo
             else f"({len(bad)} value(s))")
    st.caption(f":material/link_off: Ignored from the link: `{key}` {shown} (expected {md(expected)}).")


def _seed_from(key: str, values: list[str]) -> None:
    """Bound widgets seed from the address as it was when the page opened, a copy Streamlit (1.67) keeps apart
    from st.query_params: correct that copy too. Without it (another Streamlit), the address is still
    corrected and the tests of hostile links say so."""
    try:
        from streamlit.runtime.state.session_state_proxy import get_session_state

        with get_session_state().query_params() as qp:
            initial = qp._initial_query_params
            if values:
                initial[key] = list(values)
            else:
                initial.pop(key, None)
    except (ImportError, AttributeError):
        pass


def _safe_ok(ok: Callable[[str], bool], value: str) -> bool:
    try:
        return bool(ok(value))
    except (ValueError, TypeError, OverflowError):
        return False


def whole_number(lo: int, hi: int) -> Callable[[str], bool]:
    """A check for a whole number from lo to hi, as a link carries it ("30" or "30.0"; never inf, nan, 1e309)."""
    def ok(v: str) -> bool:
        if len(v) > 20:
            return False
        x = float(v)
        return math.isfinite(x) and x.is_integer() and lo <= x <= hi
    return ok


def iso_date_between(lo: dt.date, hi: dt.date) -> Callable[[str], bool]:
    def ok(v: str) -> bool:
        return len(v) == 10 and lo <= dt.date.fromisoformat(v) <= hi
    return ok


def one_of(options: Sequence[str]) -> Callable[[str], bool]:
    allowed = set(map(str, options))
    return lambda v: v in allowed


def linked_selectbox(container: Any, label: str, options: Sequence[str], key: str, words: Callable[[str], str],
                     expected: str, **kw: Any) -> str | None:
    """A select box showing `words` of its options while the link keeps their codes (``month_of=2026-10``).

    Streamlit (1.67) writes a bound box's shown label into the address: with a format_func, ``bind="query-
    params"`` would turn a link's 2026-10 into "Oct 2026". So the box is unbound and this keeps the parameter
    `key` itself: checked like every other link value (vet), read before the box is drawn (the address
    decides, so a link opens where it says), and written when the reader picks. Returns the picked code."""
    vet(key, one_of(options), expected)
    linked = st.query_params.get(key)
    if linked in options and st.session_state.get(key) != linked:
        st.session_state[key] = linked
    return container.selectbox(label, list(options), key=key, format_func=words, on_change=_link, args=(key,), **kw)


def linked_choice(container: Any, label: str, names: Sequence[str], key: str, words: Callable[[str], str],
                  what: str) -> int:
    """A linked_selectbox over `names` (codes) for one of `what`; the index of the one picked (the first when a
    link names none of them)."""
    picked = linked_selectbox(container, label, names, key=key, words=words,
                              expected=f"one of the {what}, e.g. {names[0]}")
    return list(names).index(picked) if picked in names else 0


def vendor_box(container: Any, vendors: Sequence[str], f: Filters, key: str) -> str:
    """A page's own vendor box, in the URL as `key`: the sidebar's first vendor when it names one this reader
    may see, else the first; a link naming a vendor out of reach opens the first, with a notice."""
    vet(key, one_of(vendors), "a vendor you can see", echo=False)
    first = f.vendors[0] if f.vendors and f.vendors[0] in vendors else vendors[0]
    return container.selectbox("Vendor", list(vendors), index=list(vendors).index(first), key=key,
                               bind="query-params")


def _link(key: str) -> None:
    """Callback: the picked code goes into the address, so the view is a link."""
    st.query_params[key] = str(st.session_state[key])


#: Streamlit 1.67's date field applies a typed date when focus leaves it with the mouse or on Escape, not on Enter:
#: its key handler knows only Escape (which applies a complete range and closes the calendar), Alt+ArrowDown and
#: Tab, and leaving by keyboard while the calendar is open applies nothing. This constant script (no text from
#: data) turns Enter in a date field into that Escape.
ENTER_APPLIES_DATES = """<script>
(() => {
  if (document.__opsdashEnterApplies) return;
  document.__opsdashEnterApplies = true;
  document.addEventListener("keydown", (e) => {
    if (e.key !== "Enter" || !e.isTrusted || !e.target.closest?.('[data-testid="stDateInputField"]')) return;
    e.preventDefault();
    e.stopPropagation();
    e.target.dispatchEvent(new KeyboardEvent("keydown", {key: "Escape", code: "Escape", bubbles: true}));
  }, true);
})();
</script>"""


def sidebar(store: Store) -> Filters:
    """Draw the shared filters (once per run, from app.py, on the pages they apply to) and return them. Streamlit
    keeps their keyed state while pages without them are shown, so the next page with them opens as left."""
    db, ver = data.source(), data.version()
    bounds = _bounds(db, ver)
    st.session_state["_bounds"] = bounds
    with st.sidebar:
        if bounds:
            vet("dates", iso_date_between(*bounds), f"dates YYYY-MM-DD from {bounds[0]} to {bounds[1]}", whole=True)
        vet("grain", one_of(GRAIN_WORDS), ", ".join(GRAIN_WORDS))
        vet("vendor", one_of(data.vendors(db, ver)), "vendors you can see", echo=False)
        vet("facility", one_of(_values(db, ver, "claims", "facility")), "facilities you can see", echo=False)
        st.header("Filters")
        start = end = None
        if bounds:
            picked = st.date_input("Date range", value=bounds, min_value=bounds[0], max_value=bounds[1], key="dates",
                                   bind="query-params", format="YYYY-MM-DD",
                                   help="Periods overlapping this range; the whole range by default.")
            if isinstance(picked, (tuple, list)) and len(picked) == 2:
                start, end = picked
                # The whole range means "up to the latest data", exactly as the CLI's defaults.
                start = None if start <= bounds[0] else start
                end = None if end >= bounds[1] else end
        # A select box: four segments (day ... quarter) are wider than the sidebar and wrapped onto two lines.
        # The options are the link's own words (grain=week): a format_func would make links use its labels.
        grain = st.selectbox("Grain", list(GRAIN_WORDS), index=GRAIN_WORDS.index("month"), key="grain",
                             bind="query-params",
                             help="Days, ISO weeks (Monday to Sunday), months or quarters.")
        grain = grain if grain in GRAIN_WORDS else "month"
        vendors = st.multiselect("Vendors", data.vendors(db, ver), key="vendor", bind="query-params",
                                 placeholder="All vendors")
        facilities = st.multiselect("Facilities", _values(db, ver, "claims", "facility"), key="facility",
                                    bind="query-params", placeholder="All facilities",
                                    help="Claims, audits and work items carry a facility; calls do not.")
        st.button("Reset filters", on_click=reset, icon=":material/filter_alt_off:", key="reset_filters")
        if bounds:
            st.html(ENTER_APPLIES_DATES, unsafe_allow_javascript=True)  # last: its empty block adds no gap above
    f = Filters(start, end, grain, tuple(vendors), tuple(facilities))
    st.session_state["_filters"] = f
    return f


def reset() -> None:
    """Callback: every filter back to its default (the whole range, monthly, all vendors and facilities), which
    also takes them out of the address."""
    if st.session_state.get("_bounds"):
        st.session_state["dates"] = st.session_state["_bounds"]
    st.session_state["grain"] = "month"
    for key in ("vendor", "facility", *PAGE_KEYS):
        if key in st.session_state:
            st.session_state[key] = []


def current() -> Filters:
    """The filters drawn this run (pages run after app.py has drawn them)."""
    return st.session_state.get("_filters", Filters())


def _values(db: data.Source, ver: tuple, table: str, column: str) -> list[str]:
    values: set[str] = set()
    for t, dims in catalog.DIMENSIONS.items():
        if column in dims:
            values |= set(data.dimension_values(db, ver, t, column))
    return sorted(values)


#: The pages' own filter keys (see page_dims), cleared by reset.
PAGE_KEYS = ("payer", "claim_type", "process", "error_category", "queue")


def page_dims(f: Filters, table: str, columns: Sequence[str], labels: dict[str, str] | None = None) -> Filters:
    """A page's own dimension filters, in the sidebar under the shared ones."""
    db, ver = data.source(), data.version()
    picked: dict[str, list[str]] = {}
    with st.sidebar:
        for col in columns:
            vet(col, one_of(data.dimension_values(db, ver, table, col)), f"values of {col} you can see", echo=False)
            label = (labels or {}).get(col, col.replace("_", " ").capitalize())
            picked[col] = st.multiselect(label, data.dimension_values(db, ver, table, col), key=col,
                                         bind="query-params", placeholder=f"All ({label.lower()})")
    return f.with_extra(**picked)


# -- drill-down ---------------------------------------------------------------------------------------

def _selected_points(chart_key: str) -> list[dict[str, Any]]:
    state = st.session_state.get(chart_key)
    try:
        return list(state.selection.points)  # type: ignore[union-attr]
    except AttributeError:
        try:
            return list(state["selection"]["points"])  # type: ignore[index]
        except (KeyError, TypeError):
            return []


def picked_values(points: list[dict[str, Any]], field: str = "x") -> list[str]:
    """The distinct values a chart selection picked (e.g. vendors from bars' x)."""
    # Chart categories are drawn escaped (charts.text): the picked value is the text itself again.
    return sorted({html.unescape(str(p[field])) for p in points if p.get(field) is not None})


def drill_vendor(chart_key: str, field: str = "x") -> None:
    """Callback: narrow the vendor filter to the vendors picked in a chart."""
    picked = picked_values(_selected_points(chart_key), field)
    if picked:
        st.session_state["vendor"] = picked


def narrow_to_period(period_start: dt.date, grain: str) -> None:
    """Narrow the date range to one period."""
    st.session_state["dates"] = (period_start, views.period_end(period_start, grain))


def drill_period(chart_key: str, grain: str) -> None:
    """Callback: narrow the date range to the period picked in a chart."""
    points = _selected_points(chart_key)
    if points and points[0].get("x"):
        narrow_to_period(pd.Timestamp(points[0]["x"]).date(), grain)


def drill_vendor_from_row(table_key: str, frame: pd.DataFrame) -> None:
    """Callback: narrow the vendor filter to the vendor of the row picked in a table."""
    state = st.session_state.get(table_key)
    try:
        rows = list(state.selection.rows)  # type: ignore[union-attr]
    except AttributeError:
        return
    picked = picked_values([{"x": frame.iloc[i]["vendor"]} for i in rows if 0 <= i < len(frame)])
    if picked:
        st.session_state["vendor"] = picked
