"""Overview for executives: are the partners on target, what changed, is the data fresh."""

import streamlit as st

from opsdash import catalog, charts, views
from opsdash.capacity import outlook
from opsdash.ui import data, filters, widgets
from opsdash.ui.text import md

st.title("Overview")
store = data.require()
f = filters.current()
db, ver = data.source(), data.version()
st.caption(f"Headline KPIs for the latest complete {f.grain} with data, under the filters in the sidebar; a {f.grain} "
           f"still running shows below as \"to date\", against the same days of the {f.grain} before. Each tile leads "
           "with its status against the target in force: a green tick for on target, a purple cross for off target, "
           "a grey dash for no target. Changes for the better are blue, for the worse orange. SPC readings follow "
           "NHS Making Data Count. Hover a tile for the definition, the target's source and the SPC reading in words.")

with widgets.guard("data freshness"):
    stale = views.stale_words(data.freshness(db, ver))
    if stale:
        st.warning("Stale data: " + stale)

with widgets.guard("the headline KPIs"):
    widgets.tiles([data.tile(db, ver, kpi_id, f) for kpi_id in views.HEADLINE], f.grain)

st.subheader("What changed")
st.caption(f"Special-cause signals at the latest complete {f.grain}, by KPI and vendor: concerns first, then each "
           "queue or process projected to miss its contract level in the next 13 weeks (the Capacity page shows why; "
           "none under a facility filter, as they are projected whole), then the other signals, furthest from their "
           "mean first.")
with widgets.guard("what changed"):
    heads, unprojected = data.kept_headlines(db, ver, data.kept_version(db), outlook.FINGERPRINT)
    changed = views.with_ahead(data.what_changed(db, ver, f), heads, f, data.vendor_cuts(db, ver))
    unprojected = [v for v in unprojected if not f.vendors or v in f.vendors]
    if unprojected:
        st.caption(f"Not projected ahead since the latest load: {md(', '.join(unprojected))}. `opsdash outlook` "
                   "projects them all and lists here what would miss; meanwhile the Capacity page projects a vendor "
                   "when opened.")
    if changed.empty:
        st.success(f"No special-cause signal at the latest complete {f.grain}: every headline KPI is within its "
                   "expected variation" + ("." if unprojected else ", and no queue or process is projected to "
                                           "miss its contract level."))
    else:
        shown = changed.drop(columns=["KPI", "unit"])
        st.caption("Select a row to narrow every page to its vendor.")
        widgets.table(shown, "what_changed", f, "What changed", key="ov_changed", labels=True, grain=f.grain,
                      on_select=lambda: filters.drill_vendor_from_row("ov_changed", shown),
                      selection_mode="single-row")

with widgets.guard("the KPIs too coarse for SPC"):
    coarse = data.too_coarse(db, ver, f)
    if not coarse.empty:
        st.caption("No SPC reading (too coarse for process limits, shown as run charts): " + "; ".join(
            f"{md(r.KPI)} of {md(r.vendor)}" for r in coarse.itertuples()) + ".")

st.subheader("Trend of a headline KPI by vendor")
with widgets.guard("the trend"):
    kpi_id = st.selectbox("KPI", views.HEADLINE, format_func=lambda k: catalog.KPIS[k].label, key="ov_kpi")
    kpi = catalog.KPIS[kpi_id]
    df = data.series(db, ver, kpi_id, f, ("vendor",))
    if df["value"].notna().any():
        fig = charts.trend(df, kpi, by="vendor", target=kpi.target, universe=data.vendors(db, ver), grain=f.grain)
        charts.add_events(fig, views.events_on(views.events_for(data.events(db, ver, f), kpi_id, f),
                                                df["period_start"], f.grain))
        st.caption("Select a point to narrow the page to its period.")
        widgets.chart(fig, df, kpi_id, f, key="ov_trend", on_select=lambda: filters.drill_period("ov_trend", f.grain),
                      unit=kpi.unit)
    else:
        widgets.no_data(kpi.label, f)

st.subheader("Data freshness")
with widgets.guard("data freshness"):
    widgets.table(data.freshness(db, ver), "freshness", {}, "Data freshness", key="ov_fresh", xlsx=False, labels=True)
